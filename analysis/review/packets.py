"""Review packets: what a reviewer reads without running anything, written by the build.

``_build/review/<notebook>/<set>/<label>/`` holds ``figure.png`` (or ``table.md``/``table.html``),
``data.csv`` (the rows the figure plots, from ``analysis.figures.record``, one row a line),
``derivation.py`` (the statements of the run's code cells that its rows and its drawing depend on: see
:mod:`.slicing`), ``cell.py`` (the cell that draws it), ``parameters.json``, ``inputs.json`` (the
datasets the plotted rows come from, with path and sha256), ``provenance.json`` and ``README.md``.
``_build/review/index.json`` lists every figure the last build produced, the report's figures with
their position in the report and the claim they are shown under.

A packet is rewritten only when what it is written from changes (its key, kept in
``_build/.state/packet-inputs.json``), and the key includes the source of every module a packet's
text follows from (this one, :mod:`.figures`, :mod:`.slicing`, :mod:`.records`, :mod:`analysis.cells`).

Imports :mod:`.figures` and :mod:`.records`; nothing imports this module but the report generator.
"""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path

from .. import cells
from ..files import compact_json, file_sha256_bytes, write_if_changed, write_json_if_changed
from ..paths import Layout
from . import figures as figures_module
from . import records, slicing
from .figures import Figure, index_path, packet_dir
from .records import STATUS_AGAIN, STATUS_NONE, ReviewStatus, data_change

#: The modules whose source a packet's text follows from: a change to any of them rewrites every packet.
PACKET_MODULES = (cells, slicing, figures_module, records)


def _write_bytes(path: Path, data: bytes) -> None:
    if path.exists() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write_packets(layout: Layout, figures: list[Figure], *, manifest: dict, catalog, build: dict,
                  review_status: dict[str, ReviewStatus], in_report: list[str],
                  shown_under: dict[str, str] | None = None) -> dict:
    """Write one review packet per figure and the index; remove packets of figures that are gone.

    ``in_report`` lists the figures the report shows, in report order; ``shown_under`` gives the claim
    each is shown under (figures shown only with their run have none)."""
    from ..catalog import credit

    position = {fid: n for n, fid in reversed(list(enumerate(in_report)))}  # the first place it is shown
    shown_under = shown_under or {}

    root = layout.review_packets_dir
    entries = {}
    keep = set()
    keys_path = layout.state_dir / "packet-inputs.json"  # figure id -> sha256 of what its packet was written from
    written = _packet_keys(keys_path) if root.is_dir() else {}
    keys: dict[str, str] = {}
    for fig in figures:
        folder = packet_dir(layout, fig)
        keep.add(folder)
        run = fig.run_record
        inputs = fig.inputs()
        status = review_status.get(fig.id, ReviewStatus(STATUS_NONE))
        credits = [credit(catalog.resources[d]) for d in fig.datasets() if d in catalog.resources]
        entries[fig.id] = {
            "run": fig.run, "label": fig.label, "kind": fig.kind, "caption": fig.caption, "sha256": fig.sha256,
            "packet": layout.relative(folder), "datasets": fig.datasets(), "datasets_declared": fig.declared,
            "has_data": fig.record is not None, "data_sha256": fig.data_sha256,
            "in_report": fig.id in position, "report_position": position.get(fig.id),
            "report_claim": shown_under.get(fig.id), "status": status.state,
        }
        key = _packet_key(fig, status, credits, build)
        if (status.state != STATUS_AGAIN and written.get(fig.id) == key
                and all((folder / name).is_file() for name in ("README.md", "provenance.json", "cell.py"))):
            keys[fig.id] = key
            continue  # written from these very inputs by an earlier build
        written.pop(fig.id, None)
        files = {}
        if fig.png is not None:
            _write_bytes(folder / "figure.png", fig.png)
            files["figure"] = "figure.png"
        elif fig.text is not None:
            mime, text = fig.text
            name = {"text/markdown": "table.md", "text/html": "table.html", "image/svg+xml": "figure.svg"}.get(mime, "table.txt")
            write_if_changed(folder / name, text)
            files["figure"] = name
        if fig.record is not None:
            write_if_changed(folder / "data.csv", fig.data_csv)
            files["data"] = "data.csv"
        else:
            (folder / "data.csv").unlink(missing_ok=True)
        write_if_changed(folder / "cell.py", fig.source.rstrip("\n") + "\n")
        if fig.derivation:
            write_if_changed(folder / "derivation.py", _derivation_header(fig) + fig.derivation)
            files["derivation"] = "derivation.py"
        else:
            (folder / "derivation.py").unlink(missing_ok=True)
        write_json_if_changed(folder / "parameters.json", {
            "run": fig.run, "parameter_set": fig.parameter_set, "parameters": run.get("parameters", {})})
        write_json_if_changed(folder / "inputs.json", inputs)
        provenance = {
            "figure": fig.id,
            "kind": fig.kind,
            "caption": fig.caption,
            "sha256": fig.sha256,
            "notebook": run.get("notebook", f"notebooks/{fig.notebook}.ipynb"),
            "notebook_code_sha256": run.get("notebook_code_sha256"),
            "cell_index": fig.cell_index,
            "executed_notebook": (run.get("outputs") or [{}])[0],
            "parameter_set": fig.parameter_set,
            "parameters": run.get("parameters", {}),
            "datasets": fig.datasets(),
            "datasets_declared": fig.declared,
            "data_sha256": fig.data_sha256,
            "inputs": inputs,
            "run": {k: run.get(k) for k in ("started", "finished", "duration_seconds")},
            "versions": run.get("versions", {}),
            "report": {"version": build.get("version")},  # the build itself (date, commit, data sha256): index.json
        }
        write_json_if_changed(folder / "provenance.json", provenance)
        change = None
        if status.state == STATUS_AGAIN:
            change = data_change(layout, fig.id, status.latest, {"has_data": fig.record is not None,
                                                                  "packet": layout.relative(folder)})
        write_if_changed(folder / "README.md", _packet_readme(fig, files, run, inputs, credits, status, build, change))
        keys[fig.id] = key
    if root.is_dir():  # packets of figures that no longer exist
        for label_dir in sorted(p for p in root.glob("*/*/*") if p.is_dir()):
            if label_dir not in keep:
                shutil.rmtree(label_dir)
    index = {"project_version": build.get("version"), "build_finished": manifest.get("build_finished"), "build": build,
             "figures": entries}
    write_json_if_changed(index_path(layout), index)
    write_json_if_changed(keys_path, keys)
    return index


def _packet_keys(path: Path) -> dict:
    """The packet keys of the last build ({} if missing or damaged: every packet is then rewritten)."""
    try:
        keys = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return keys if isinstance(keys, dict) else {}


@functools.lru_cache(maxsize=1)
def _packet_code_sha256() -> str:
    """The source of every module a packet follows from: a change to how packets are written, figures
    read, rows sliced or changes described rewrites them all."""
    sources = [Path(__file__).read_bytes()] + [Path(m.__file__).read_bytes() for m in PACKET_MODULES]
    return file_sha256_bytes(b"\0".join(sources))


def _packet_key(fig: Figure, status: "ReviewStatus", credits: list[str], build: dict) -> str:
    """sha256 of everything one packet is written from (its figure, run, review status, credits, version).

    The derivation is not computed for the key: it follows from the run's code cells and parameters
    (both in its run record) and from the source of the modules in PACKET_MODULES."""
    return file_sha256_bytes(compact_json([
        _packet_code_sha256(), fig.id, fig.kind, fig.caption, fig.cell_index, fig.source, fig.sha256,
        fig.data_sha256, fig.slicer is not None, fig.declared, fig.datasets(), fig.run_record,
        status.state, status.latest, status.records, credits, build.get("version"),
    ]).encode("utf-8"))


def _derivation_header(fig: Figure) -> str:
    return (f"# How {fig.id} is derived and drawn: the statements of run {fig.run}'s code cells that\n"
            "# the rows passed to figures.record and the cell that draws it depend on, and nothing else\n"
            "# (a def-use slice, in cell order; parameters as injected).\n\n")


def _packet_readme(fig: Figure, files: dict, run: dict, inputs: list[dict], credits: list[str],
                   status: ReviewStatus, build: dict, change: "DataChange | None" = None) -> str:
    params = run.get("parameters", {})
    lines = [
        f"# Review packet: {fig.id}",
        "",
        f"{fig.kind.capitalize()} `{fig.label}` of notebook run `{fig.run}` (report version {build.get('version')}).",
        "",
        f"Caption: {fig.caption or '(none: add `#| fig-cap:` to the cell)'}",
        "",
    ]
    if files.get("figure", "").endswith((".png", ".svg")):
        lines += [f"![{fig.label}]({files['figure']})", ""]
    lines += [
        "| file | what it is |",
        "|---|---|",
        f"| `{files.get('figure', '(no output)')}` | the {fig.kind} as the build drew it (sha256 `{fig.sha256}`) |",
        f"| `data.csv` | {'the rows it plots' if 'data' in files else 'missing: the notebook does not call analysis.figures.record(' + repr(fig.label) + ', data)'} |",
        f"| `derivation.py` | {'the code its plotted rows and its drawing depend on, from the loads on, and nothing else' if 'derivation' in files else 'missing: the notebook cell could not be read'} |",
        f"| `cell.py` | the notebook cell that draws it (cell {fig.cell_index} of `{run.get('notebook')}`) |",
        "| `parameters.json` | the parameter set of the run |",
        "| `inputs.json` | the data files the plotted rows come from, with sha256"
        + ("" if fig.declared else " (not declared by the notebook: every dataset the run loaded)") + " |",
        "| `provenance.json` | checksums, run times and package versions |",
        "",
        "Parameters: " + (", ".join(f"`{k} = {v!r}`" for k, v in params.items()) or "none"),
        "",
        "Inputs:",
        "",
        *[f"- `{i['dataset']}`: `{i['path']}` (sha256 `{i['sha256'][:12]}`)" for i in inputs],
        "",
        *[f"{c}" for c in credits],
        "",
        f"Review status when this packet was written: **{status.describe()}**.",
        "",
        *(_change_lines(change) if change else []),
        "To record a review:",
        "",
        "```",
        f"python -m analysis review add '{fig.id}' --reviewer 'Your Name' --decision approved --comment '...'",
        f"python -m analysis review add '{fig.id}' --reviewer 'Your Name' --decision changes-requested --comment 'what to change'",
        "```",
        "",
    ]
    return "\n".join(lines)




def _change_lines(change: records.DataChange) -> list[str]:
    """README lines for a figure that needs review again: the datasets that changed, then the plotted rows."""
    lines = []
    if change.datasets:
        lines += ["Datasets whose rows changed since that review:", ""]
        for d in change.datasets:
            lines += [f"- `{d.heading()}`", "", "  ```", *[f"  {row}" for row in d.rows or [d.note or ""]], "  ```", ""]
    return lines + ["What changed in the plotted rows since that review:", "", "```", *change.lines(), "```", ""]
