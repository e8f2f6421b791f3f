"""Review packets (analysis.review.packets): what a reviewer reads without running anything, rewritten
only when what it is written from changes (and whenever a module it follows from changes), with the
plotted rows one row a line, and the index listing the report's figures in report order."""

from __future__ import annotations

import json

from report_helpers import FIGURE, build, built_report, index, report_mini, set_value  # noqa: F401 (built_report: a session fixture)

from analysis.review import packets
from analysis.review.figures import one_line_csv


def test_the_index_lists_the_report_figures_in_report_order_with_their_claim(built_report):
    figures = index(built_report)["figures"]
    shown = sorted((e["report_position"], fid) for fid, e in figures.items() if e["in_report"])
    assert shown and shown[0][1] == FIGURE and figures[FIGURE]["report_claim"] == "usa-share-2010"
    assert all(e["report_position"] is None and e["report_claim"] is None for e in figures.values() if not e["in_report"])


def test_the_packet_key_hashes_every_module_a_packet_follows_from(tmp_path, monkeypatch):
    from analysis.review import slicing

    names = {m.__name__ for m in packets.PACKET_MODULES}
    assert {"analysis.cells", "analysis.review.slicing", "analysis.review.figures", "analysis.review.records"} <= names
    before = packets._packet_code_sha256()
    changed = tmp_path / "slicing.py"  # the slicer as someone edited it
    changed.write_text(open(slicing.__file__, encoding="utf-8").read() + "\n# a change\n", encoding="utf-8")
    monkeypatch.setattr(slicing, "__file__", str(changed))
    packets._packet_code_sha256.cache_clear()
    try:
        assert packets._packet_code_sha256() != before  # every packet (and its derivation.py) is written again
    finally:
        monkeypatch.undo()
        packets._packet_code_sha256.cache_clear()


def test_plotted_rows_are_one_row_a_line():
    text = 'basis,share_pct\n"2011\nNSF world estimate\n(SEI 2014)",31.2\nplain,1\n'
    assert one_line_csv(text) == "basis,share_pct\n2011 NSF world estimate (SEI 2014),31.2\nplain,1\n"
    untouched = 'a,b\n"x, y",1\n'
    assert one_line_csv(untouched) is untouched  # no line break inside a cell: the bytes stay as they are


def test_a_packet_is_rewritten_when_its_inputs_change_and_restored_when_a_file_is_gone(tmp_path):
    import json

    project = report_mini(tmp_path / "mini")
    build(project)
    packet = project.path("_build/review/alpha/default/fig-shares")
    keys = json.loads(project.path("_build/.state/packet-inputs.json").read_text())
    assert set(keys) == set(index(project)["figures"])  # one key per figure, outside the packets
    provenance = json.loads((packet / "provenance.json").read_text())
    # build-wide facts (date, commit, data checksum) are in the index once, not in every packet
    assert provenance["report"] == {"version": index(project)["project_version"]}
    assert index(project)["build"]["data_sha256"]

    from analysis.paths import Layout
    from analysis.report import regenerate

    readme = (packet / "README.md").read_text()
    (packet / "provenance.json").unlink()
    assert regenerate(Layout(project.root))  # what a review submission or a changed input does
    assert json.loads((packet / "provenance.json").read_text()) == provenance  # a missing file: written again
    assert (packet / "README.md").read_text() == readme

    set_value(project, "data/raw/src-one/values.csv", "CHN", 2020, 0.27)  # the figure's rows change
    build(project)
    after = json.loads(project.path("_build/.state/packet-inputs.json").read_text())
    assert after[FIGURE] != keys[FIGURE]
    assert "0.27" in (packet / "data.csv").read_text()


def test_imports_point_one_way_cells_slicing_figures_records_packets_and_the_app_never_writes_packets():
    """The import direction (module docstrings): no module imports one to its right, lazily or not."""
    import ast
    from pathlib import Path

    import analysis

    package = Path(analysis.__file__).parent
    order = ["cells", "review/slicing", "review/figures", "review/records", "review/packets"]

    def imported(rel: str) -> set[str]:
        tree = ast.parse((package / f"{rel}.py").read_text(encoding="utf-8"))
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = (node.module or "").split(".")
                names |= {".".join(base + [a.name]) for a in node.names} | {".".join(base)}
        return names

    for i, rel in enumerate(order):
        later = {Path(r).name for r in order[i + 1:]}
        assert not any(name.split(".")[-1] in later for name in imported(rel)), (rel, imported(rel))
    for rel in ("review_app/__init__", "review_app/views"):
        assert not any(name.endswith("packets") for name in imported(rel)), rel
