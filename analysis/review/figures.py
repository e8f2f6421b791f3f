"""The figures of a build and the read side of ``_build/review/``.

Identity: a figure or table is addressed ``<notebook>/<parameter-set>#<label>`` (docs/conventions.md);
the label is the ``#| label: fig-...`` (or ``tbl-...``) option at the top of the code cell that draws it.
``_build/review/index.json`` lists every figure the last build produced; its packet folder
``_build/review/<notebook>/<set>/<label>/`` holds what a reviewer reads (written by :mod:`.packets`).

Imports :mod:`analysis.cells` and :mod:`.slicing` only; records and packets import this module.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..cells import cell_labels, output_checksum
from ..errors import ReviewError
from ..files import file_sha256_bytes
from ..paths import Layout
from .slicing import Slicer

FIGURE_ID = re.compile(r"^(?P<notebook>[A-Za-z0-9_.-]+)/(?P<set>[A-Za-z0-9_.-]+)#(?P<label>(?:fig|tbl)-[A-Za-z0-9_-]+)$")
FIGURE_ID_MAX = 300  # characters; ids are made of notebook, set and label names


def one_line_csv(text: str) -> str:
    """CSV text whose cells hold no line break (a label drawn on two lines reads ``a b``): one row a line.

    Text without a line break inside a cell is returned unchanged, byte for byte."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not any("\n" in cell or "\r" in cell for row in rows for cell in row):
        return text
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([" ".join(cell.split()) if ("\n" in cell or "\r" in cell) else cell for cell in row])
    return out.getvalue()


@dataclass
class Figure:
    """One labelled figure or table cell of one executed notebook run."""

    id: str
    run: str
    label: str
    kind: str  # "figure" or "table"
    caption: str | None
    cell_index: int
    source: str
    sha256: str | None
    png: bytes | None = None
    text: tuple[str, str] | None = None  # (mime, text) for tables and SVG figures
    record: dict | None = None  # the rows it plots, from analysis.figures.record
    cell: dict = field(default_factory=dict, repr=False, compare=False)  # cells.cell_labels entry: options, outputs
    run_record: dict = field(default_factory=dict)
    slicer: Slicer | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def derivation(self) -> str | None:
        """The code that derives and draws it (see :func:`analysis.review.slicing.derivation`); sliced
        only when asked for."""
        return self.slicer.derivation(self.label) if self.slicer is not None else None

    @property
    def notebook(self) -> str:
        return self.run.split("/")[0]

    @property
    def parameter_set(self) -> str:
        return self.run.split("/")[1]

    def datasets(self) -> list[str]:
        """Datasets the figure's data come from: its figure record's, else every input of its run."""
        if self.record and self.record.get("datasets"):
            return list(self.record["datasets"])
        return [i["dataset"] for i in self.run_record.get("inputs", [])]

    @property
    def declared(self) -> bool:
        """True when the notebook named the figure's datasets (figures.record(..., datasets=[...]))."""
        return bool(self.record and self.record.get("datasets") and self.record.get("declared", True))

    def inputs(self) -> list[dict]:
        """The run's inputs (dataset, path, sha256) that the figure's rows come from."""
        wanted = set(self.datasets())
        return [i for i in self.run_record.get("inputs", []) if i["dataset"] in wanted]

    @functools.cached_property
    def data_csv(self) -> str | None:
        """The plotted rows as the packet's ``data.csv`` holds them (one row a line), or None."""
        return one_line_csv(self.record["csv"]) if self.record else None

    @property
    def data_sha256(self) -> str | None:
        return file_sha256_bytes(self.data_csv.encode("utf-8")) if self.data_csv is not None else None


def figures_of_run(layout: Layout, address: str, run_record: dict | None = None) -> list[Figure]:
    """Every ``fig-``/``tbl-`` labelled cell of run ``address``'s executed notebook, in cell order."""
    from ..figures import recorded_in

    path = layout.executed_notebook(address)
    if not path.is_file():
        return []
    nb = json.loads(path.read_text(encoding="utf-8"))
    records = recorded_in(nb)
    slicer = Slicer(nb)
    out = []
    for label, cell in cell_labels(nb).items():
        if not (label.startswith("fig-") or label.startswith("tbl-")):
            continue
        kind = "figure" if label.startswith("fig-") else "table"
        caption = cell["options"].get("fig-cap" if kind == "figure" else "tbl-cap")
        sha, png, text = output_checksum(label, cell["outputs"])
        out.append(Figure(
            id=f"{address}#{label}", run=address, label=label, kind=kind,
            caption=str(caption) if caption else None, cell_index=cell["index"], source=cell["source"],
            sha256=sha, png=png, text=text, record=records.get(label), run_record=run_record or {}, slicer=slicer,
            cell=cell,
        ))
    return sorted(out, key=lambda f: f.cell_index)


def inventory(layout: Layout, manifest_runs: dict[str, dict]) -> list[Figure]:
    """All figures and tables of the build's runs (run order, then cell order)."""
    figures = []
    for address in sorted(manifest_runs):
        figures += figures_of_run(layout, address, manifest_runs[address])
    return figures


def parse_figure_id(figure_id: str) -> tuple[str, str, str]:
    """Split ``<notebook>/<set>#<label>`` into its parts; ReviewError if it does not have that form."""
    match = FIGURE_ID.match(figure_id.strip()) if len(figure_id) <= FIGURE_ID_MAX else None
    if not match:
        shown = figure_id if len(figure_id) <= 80 else figure_id[:60] + f"... ({len(figure_id)} characters)"
        raise ReviewError(
            f"{shown!r} is not a figure id",
            hint="a figure id looks like <notebook>/<parameter-set>#fig-<label> (or #tbl-<label>), "
                 "e.g. alpha/default#fig-shares; `python -m analysis review list` shows them all",
        )
    return match["notebook"], match["set"], match["label"]


# --- the read side of _build/review/ ----------------------------------------------------------------------
def index_path(layout: Layout) -> Path:
    return layout.review_packets_dir / "index.json"


def read_index(layout: Layout) -> dict | None:
    """The figure index of the last build (``_build/review/index.json``); None if the project was never built.

    ReviewError naming the file when it is missing after a build, damaged, or not an index; the next
    ``build`` writes it again.
    """
    path = index_path(layout)
    rel = layout.relative(path)
    fix = "run `python -m analysis build` to write it again (only the report sources and review packets are rewritten)"
    if not path.is_file():
        if path.exists() or layout.manifest.is_file():
            what = "is not a file" if path.exists() else "is missing"
            raise ReviewError(f"{rel} (the figure index of the last build) {what}", hint=fix)
        return None
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ReviewError(f"{rel} (the figure index of the last build) is damaged: not UTF-8 text", hint=fix) from exc
    except ValueError as exc:
        where = f" at line {exc.lineno}, column {exc.colno}" if hasattr(exc, "lineno") else ""
        raise ReviewError(f"{rel} (the figure index of the last build) is damaged: not valid JSON{where}", hint=fix) from exc
    except OSError as exc:
        raise ReviewError(f"cannot read {rel}: {exc.strerror or exc}", hint="check the file's permissions") from exc
    if not (isinstance(index, dict) and isinstance(index.get("figures"), dict)
            and all(isinstance(e, dict) and "packet" in e and "sha256" in e for e in index["figures"].values())):
        raise ReviewError(f"{rel} (the figure index of the last build) is damaged: it does not list the figures", hint=fix)
    return index


def index_intact(layout: Layout) -> bool:
    """True when ``_build/review/index.json`` is there and reads as a figure index (else the build rewrites it)."""
    try:
        return read_index(layout) is not None
    except ReviewError:
        return False


def packet_dir(layout: Layout, figure: Figure) -> Path:
    return layout.review_packets_dir / figure.notebook / figure.parameter_set / figure.label


def current_data(layout: Layout, entry: dict) -> bytes | None:
    """The plotted rows (CSV bytes) of an index entry, from its review packet; None without a figure record."""
    if not entry.get("has_data"):
        return None
    path = layout.root / entry["packet"] / "data.csv"
    return path.read_bytes() if path.is_file() else None


def figure_inputs(layout: Layout, entry: dict) -> dict[str, str]:
    """The datasets a figure's rows come from, with the sha256 the build read (from its packet's inputs.json)."""
    path = layout.root / entry["packet"] / "inputs.json"
    inputs = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
    return {i["dataset"]: i["sha256"] for i in inputs}


def figure_input_paths(layout: Layout, entry: dict) -> dict[str, str]:
    """The data file of each dataset a figure's rows come from (from its packet's inputs.json)."""
    path = layout.root / entry["packet"] / "inputs.json"
    inputs = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
    return {i["dataset"]: i["path"] for i in inputs}
