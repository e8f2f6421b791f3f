"""Peer review of figures: records written by `review add`, refused for figures the build did not draw,
and a figure whose checksum changes after review shows as "needs review again" in `status` and the report."""

from __future__ import annotations

import yaml
from report_helpers import FIGURE, build, generated, index, report_mini, review_records, set_value

from analysis.review import (
    STATUS_AGAIN, STATUS_APPROVED, STATUS_CHANGES, STATUS_NONE, cell_options, close_matches, derivation, status_of,
)


def test_review_flow_from_record_to_needs_review_again(tmp_path):
    project = report_mini(tmp_path / "mini")
    build(project)
    before = index(project)["figures"][FIGURE]["sha256"]

    proc = project.cli("review", "add", FIGURE, "--reviewer", "Ada Lovelace", "--decision", "approved",
                       "--comment", "axes, units and rows match the data")
    assert proc.returncode == 0, proc.stderr
    [path] = review_records(project)
    assert path.parent == project.path("reviews/alpha/default/fig-shares")
    record = yaml.safe_load(path.read_text())
    assert record["figure"] == FIGURE and record["reviewer"] == "Ada Lovelace"
    assert record["decision"] == "approved" and record["comment"] == "axes, units and rows match the data"
    assert record["figure_sha256"] == before and str(record["date"])[:4].isdigit()
    # the rows the reviewer saw are kept with the review, content-addressed
    packet_data = project.path("_build/review/alpha/default/fig-shares/data.csv").read_bytes()
    assert project.path(f"reviews/_data/{record['data_sha256']}.csv").read_bytes() == packet_data
    sha = project.manifest()["runs"]["alpha/default"]["inputs"][0]["sha256"]
    assert record["datasets"] == {"src-one.values": sha}  # the figure's own datasets, as read

    # the report sources are refreshed at once, and list shows the status
    assert "**Review:** approved by Ada Lovelace" in generated(project, "_claims.qmd")
    listing = project.cli("review", "list", check=True).stdout
    assert f"{FIGURE}  approved by Ada Lovelace" in listing and "alpha/later#fig-shares    not reviewed" in listing
    assert "figures: 2 (1 approved, 1 not reviewed)" in project.cli("status", check=True).stdout

    # the data change so that the figure changes: it needs review again
    set_value(project, "data/raw/src-one/values.csv", "CHN", 2020, 0.27)
    build(project)
    after = index(project)["figures"][FIGURE]["sha256"]
    assert after != before
    status = project.cli("status", check=True).stdout
    assert "needs review again (1)" in status
    assert f"  {FIGURE}: needs review again (last review: approved by Ada Lovelace" in status
    assert f"now sha256 {after[:12]}" in status
    assert "    ~ changed  CHN | 2020 | share | fraction | Table 1: value: 0.25 -> 0.27" in status
    packet_readme = project.path("_build/review/alpha/default/fig-shares/README.md").read_text()
    assert "What changed in the plotted rows since that review:" in packet_readme and "value: 0.25 -> 0.27" in packet_readme
    claims = generated(project, "_claims.qmd")
    assert "**Review:** **needs review again (last review: approved by Ada Lovelace" in claims
    escaped = FIGURE.replace("#", "\\#")  # Markdown text, not a code span, in the appendix table
    assert f"| {escaped} | yes | `{after[:12]}` | needs review again" in generated(project, "_reviews.qmd")
    assert "1 needs review again" in generated(project, "_summary.qmd")
    assert "needs review again" in project.cli("review", "list", FIGURE, check=True).stdout
    assert project.path("_build/review/alpha/default/fig-shares/README.md").read_text().count("needs review again") == 1
    # what changed since the approval: the plotted rows as approved against the current ones
    from analysis.paths import Layout
    from analysis.review import data_change, load_reviews

    [approval] = load_reviews(Layout(project.root))[FIGURE]
    change = data_change(Layout(project.root), FIGURE, approval, index(project)["figures"][FIGURE])
    assert change.lines() == ["~ changed  CHN | 2020 | share | fraction | Table 1: value: 0.25 -> 0.27"]

    # a new review of the new figure settles it
    project.cli("review", "add", FIGURE, "--reviewer", "Grace Hopper", "--decision", "changes-requested",
                "--comment", "label the y axis as a share", check=True)
    assert len(review_records(project)) == 2
    status = project.cli("status", check=True).stdout
    assert "needs review again" not in status
    assert f"changes requested  {FIGURE}: label the y axis as a share" in status
    assert "**Review:** **changes requested by Grace Hopper" in generated(project, "_claims.qmd")
    assert project.cli("check-report").returncode == 0


def test_review_of_a_figure_the_build_did_not_draw_is_refused(built_mini):
    project = built_mini  # refused reviews write nothing
    proc = project.cli("review", "add", "alpha/default#fig-share", "--reviewer", "Ada", "--decision", "approved")
    assert proc.returncode == 1
    assert "the last build produced no figure alpha/default#fig-share" in proc.stderr
    assert "did you mean: alpha/default#fig-shares" in proc.stderr
    proc = project.cli("review", "add", "beta/default#fig-shares", "--reviewer", "Ada", "--decision", "approved")
    assert proc.returncode == 1 and "alpha/default#fig-shares" in proc.stderr
    proc = project.cli("review", "add", "not a figure id", "--reviewer", "Ada", "--decision", "approved")
    assert proc.returncode == 1 and "is not a figure id" in proc.stderr
    proc = project.cli("review", "add", FIGURE, "--reviewer", "Ada", "--decision", "changes-requested")
    assert proc.returncode == 1 and "needs a comment" in proc.stderr
    proc = project.cli("review", "add", FIGURE, "--reviewer", "Ada", "--decision", "maybe")
    assert proc.returncode == 2  # argparse: invalid choice
    assert review_records(project) == [] and not project.path("reviews").exists()


def test_review_before_any_build_is_refused(tmp_path):
    project = report_mini(tmp_path / "mini")
    proc = project.cli("review", "add", FIGURE, "--reviewer", "Ada", "--decision", "approved")
    assert proc.returncode == 1 and "never built" in proc.stderr and "build" in proc.stderr
    assert review_records(project) == []


def test_malformed_review_record_is_named(built_mini):
    from analysis.errors import ReviewError
    from analysis.paths import Layout
    from analysis.review import load_reviews

    layout = Layout(built_mini.root)
    bad = built_mini.path("reviews/alpha/default/fig-shares/20260101T000000Z-x.yml")
    bad.parent.mkdir(parents=True)
    try:
        bad.write_text("figure: alpha/default#fig-shares\nreviewer: X\ndecision: perhaps\n")
        try:
            load_reviews(layout)
        except ReviewError as exc:
            assert "reviews/alpha/default/fig-shares/20260101T000000Z-x.yml" in str(exc) and "missing" in str(exc)
        else:
            raise AssertionError("a malformed record was accepted")
    finally:
        import shutil

        shutil.rmtree(built_mini.path("reviews"))


def record(date, decision="approved", sha="a" * 64):
    return {"figure": FIGURE, "reviewer": "R", "date": date, "decision": decision, "comment": "", "figure_sha256": sha}


def test_status_rules():
    assert status_of("a" * 64, []).state == STATUS_NONE
    assert status_of("a" * 64, [record("2026-01-01T00:00:00+00:00")]).state == STATUS_APPROVED
    assert status_of("b" * 64, [record("2026-01-01T00:00:00+00:00")]).state == STATUS_AGAIN
    later_changes = [record("2026-01-02T00:00:00+00:00", "changes-requested"), record("2026-01-01T00:00:00+00:00")]
    assert status_of("a" * 64, later_changes).state == STATUS_CHANGES  # the latest record decides
    approved_new = [record("2026-01-01T00:00:00+00:00", sha="b" * 64), record("2026-01-03T00:00:00+00:00")]
    assert status_of("a" * 64, approved_new).state == STATUS_APPROVED
    assert status_of(None, [record("2026-01-01T00:00:00+00:00")]).state == STATUS_AGAIN


def test_cell_options_and_close_matches():
    assert cell_options("#| label: fig-x\n#| fig-cap: \"A: b\"\nplot()") == {"label": "fig-x", "fig-cap": "A: b"}
    assert cell_options("plot()\n#| label: fig-late") == {}
    known = ["alpha/default#fig-shares", "alpha/later#fig-shares", "beta/default#tbl-summary"]
    assert close_matches("alpha/default#fig-share", known)[0] == "alpha/default#fig-shares"
    assert "beta/default#tbl-summary" in close_matches("beta/default#fig-gone", known)


NOTEBOOK = {"cells": [
    {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "year = 2010\nunused = 1\n"},
    {"cell_type": "code", "metadata": {}, "source": [
        "%matplotlib inline\n", "import analysis\n", "import pandas as pd\n", "from analysis import figures\n",
        "one = analysis.load('src-one.values')\n", "two = analysis.load('src-two.values')\n"]},
    {"cell_type": "markdown", "metadata": {}, "source": "## Method"},
    {"cell_type": "code", "metadata": {}, "source": [
        "rows = one[one.year <= year].copy()\n", "rows['pct'] = rows['value'] * 100\n",
        "other = two.groupby('entity').sum()\n", "for r in []:\n", "    rows.loc[len(rows)] = r\n"]},
    {"cell_type": "code", "metadata": {}, "source": "#| label: fig-x\nax = rows.plot()\n"},
    {"cell_type": "code", "metadata": {}, "source": "figures.record('fig-x', rows, datasets=[one])\nfigures.record('fig-y', other, datasets=[two])\n"},
]}


def test_derivation_is_the_def_use_slice_of_the_plotted_rows():
    text = derivation(NOTEBOOK, "fig-x")
    kept = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert kept == [
        "year = 2010",
        "import analysis",
        "one = analysis.load('src-one.values')",
        "rows = one[one.year <= year].copy()",
        "rows['pct'] = rows['value'] * 100",
        "for r in []:",
        "    rows.loc[len(rows)] = r",
        "figures.record('fig-x', rows, datasets=[one])",
    ]
    assert "# --- cell 0 (parameters)" in text and "# --- cell 3" in text
    other = derivation(NOTEBOOK, "fig-y")
    assert "two = analysis.load('src-two.values')" in other and "src-one" not in other and "year" not in other
    assert derivation(NOTEBOOK, "fig-z") is None


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
