"""Figures of a build, their review packets and their peer-review records.

Identity: a figure or table is addressed ``<notebook>/<parameter-set>#<label>`` (docs/conventions.md);
the label is the ``#| label: fig-...`` (or ``tbl-...``) option at the top of the code cell that draws it.

Checksum: the sha256 of the cell's image/png output bytes (base64-decoded; several images are hashed
in order). A table (``tbl-``) is hashed on its text/markdown output, else text/html, else text/plain.

Review packets (written by the build): ``_build/review/<notebook>/<set>/<label>/`` holds everything a
reviewer needs without running anything: ``figure.png`` (or ``table.md``/``table.html``), ``data.csv``
(the rows the figure plots, from ``analysis.figures.record``), ``derivation.py`` (the statements of the
run's code cells that build those rows: a def-use slice, see :func:`derivation`), ``cell.py`` (the cell
that draws it), ``parameters.json``, ``inputs.json`` (the datasets the plotted rows come from, with
path and sha256), ``provenance.json`` and ``README.md``. ``_build/review/index.json`` lists every
figure the last build produced.

Review records (committed): one YAML file per review, at
``reviews/<notebook>/<set>/<label>/<YYYYMMDDTHHMMSSZ>-<reviewer>.yml`` with the keys ``figure``,
``reviewer``, ``date``, ``decision`` (``approved`` or ``changes-requested``), ``comment`` and
``figure_sha256`` (the figure's checksum when it was reviewed), plus ``data_sha256``, ``datasets``
(the datasets its rows come from, with their sha256) and ``report_version``. The plotted rows the reviewer saw are kept, content-addressed, as
``reviews/_data/<data_sha256>.csv``; the data file is written first and the record last (each
atomically), so a failure never leaves a record without its data. One file per record means two
reviewers never edit the same file. The latest record decides the status:

* ``approved`` / ``changes requested``: the latest decision, for the figure as it is now;
* ``needs review again``: the figure's checksum changed since the latest review;
* ``not reviewed``: no record.
"""

from __future__ import annotations

import ast
import base64
import difflib
import functools
import hashlib
import json
import re
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import yaml

from .files import (atomic_write_bytes, compact_json, dump_yaml, file_sha256_bytes, parse_yaml, write_if_changed,
                    write_json_if_changed)
from .errors import ReviewError
from .paths import Layout

APPROVED, CHANGES_REQUESTED = "approved", "changes-requested"
DECISIONS = (APPROVED, CHANGES_REQUESTED)
STATUS_APPROVED = "approved"
STATUS_CHANGES = "changes requested"
STATUS_AGAIN = "needs review again"
STATUS_NONE = "not reviewed"
STATUSES = (STATUS_APPROVED, STATUS_CHANGES, STATUS_AGAIN, STATUS_NONE)
RECORD_KEYS = ("figure", "reviewer", "date", "decision", "comment", "figure_sha256")
DATA_DIR = "_data"  # reviews/_data/<sha256>.csv: the plotted rows each review saw

FIGURE_ID = re.compile(r"^(?P<notebook>[A-Za-z0-9_.-]+)/(?P<set>[A-Za-z0-9_.-]+)#(?P<label>(?:fig|tbl)-[A-Za-z0-9_-]+)$")
RECORD_MIMES = ("application/vnd.claimcheck.figure+json", "application/vnd.claimcheck.claim+json")
TABLE_MIMES = ("text/markdown", "text/html", "text/plain")


# --- notebook cells ----------------------------------------------------------------------------------
def cell_source(cell: dict) -> str:
    """A notebook cell's source as one string."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def cell_options(source: str) -> dict:
    """The Quarto cell options (``#| key: value`` lines at the top of a code cell) as a mapping."""
    lines = []
    for line in source.splitlines():
        if not line.startswith("#|"):
            break
        lines.append(line[2:].removeprefix(" "))
    if not lines:
        return {}
    return dict(_options("\n".join(lines)))


@functools.lru_cache(maxsize=4096)
def _options(text: str) -> tuple:
    """Parsed ``#|`` option lines, once per distinct text (every run of a notebook has the same cells)."""
    try:
        parsed = parse_yaml(text)
        if isinstance(parsed, dict):
            return tuple(parsed.items())
    except yaml.YAMLError:
        pass
    options = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            options[key.strip()] = value.strip()
    return tuple(options.items())


def cell_labels(notebook_json: dict) -> dict[str, dict]:
    """Labelled code cells of a notebook: label -> {"index", "options", "source", "outputs"}."""
    found = {}
    for index, cell in enumerate(notebook_json.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        source = cell_source(cell)
        options = cell_options(source)
        label = options.get("label")
        if isinstance(label, str) and label:
            found[label] = {"index": index, "options": options, "source": source, "outputs": cell.get("outputs", [])}
    return found


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def output_checksum(label: str, outputs: list[dict]) -> tuple[str | None, bytes | None, tuple[str, str] | None]:
    """(sha256, png bytes, (mime, table text)) of a labelled cell's outputs; sha256 is None without output."""
    datas = [o.get("data", {}) for o in outputs if o.get("output_type") in ("display_data", "execute_result")]
    datas = [d for d in datas if not any(m in d for m in RECORD_MIMES)]
    if label.startswith("fig-"):
        images = [base64.b64decode(_text(d["image/png"])) for d in datas if "image/png" in d]
        if images:
            png = b"".join(images)
            return hashlib.sha256(png).hexdigest(), images[0], None
        svgs = [_text(d["image/svg+xml"]) for d in datas if "image/svg+xml" in d]
        if svgs:
            text = "".join(svgs)
            return hashlib.sha256(text.encode()).hexdigest(), None, ("image/svg+xml", text)
        return None, None, None
    for mime in TABLE_MIMES:
        parts = [_text(d[mime]) for d in datas if mime in d]
        if parts:
            text = "".join(parts)
            return hashlib.sha256(text.encode()).hexdigest(), None, (mime, text)
    return None, None, None


# --- how the plotted rows are derived ---------------------------------------------------------------
def _parse(source: str) -> ast.Module | None:
    """A code cell as a module; IPython magics and shell lines are blanked (line numbers stay)."""
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _defs_and_uses(stmt: ast.stmt) -> tuple[set[str], set[str], set[str]]:
    """(names bound, names changed in place, names read) by one top-level statement."""
    bound, mutated, used = set(), set(), set()
    for node in ast.walk(stmt):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Store):
                bound.add(node.id)
            elif isinstance(node.ctx, ast.Load):
                used.add(node.id)
        elif isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, ast.Store):
            mutated.add(_root_name(node))  # df["x"] = ..., obj.attr = ...
        elif isinstance(node, ast.AugAssign):
            mutated.add(_root_name(node.target))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute):
            mutated.add(_root_name(node.value.func.value))  # rows.append(...), df.sort_values(..., inplace=True)
    mutated.discard(None)
    return bound - mutated, mutated, used


def _record_calls(stmt: ast.stmt) -> dict:
    """The ``record("<label>", rows, ...)`` calls in a statement, by label (the first of each)."""
    calls = {}
    for node in ast.walk(stmt):
        if not isinstance(node, ast.Call) or not node.args or not isinstance(node.args[0], ast.Constant):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else (func.id if isinstance(func, ast.Name) else None)
        if name == "record" and isinstance(node.args[0].value, str):
            calls.setdefault(node.args[0].value, node)
    return calls


@functools.lru_cache(maxsize=4096)
def _statements(source: str) -> tuple | None:
    """Each top-level statement of a cell with (bound, mutated, used) names and its record calls.

    Cached by source: the runs of one notebook share every cell but the injected parameters, and
    the review inventory slices every figure of every run.
    """
    tree = _parse(source)
    if tree is None:
        return None
    return tuple((stmt, *_defs_and_uses(stmt), _record_calls(stmt)) for stmt in tree.body)


class Slicer:
    """The parsed code cells of one notebook, each top-level statement with the names it binds, changes
    and reads, computed once for every figure of the notebook."""

    def __init__(self, notebook_json: dict):
        self.notebook_json = notebook_json

    @functools.cached_property
    def cells(self) -> list[tuple]:
        """(cell index, source without magics, tags, [(stmt, bound, mutated, used, record calls)]) per code cell."""
        cells = []
        for index, cell in enumerate(self.notebook_json.get("cells", [])):
            if cell.get("cell_type") != "code":
                continue
            source = _blank_magics(cell_source(cell))
            statements = _statements(source)
            if statements is not None:
                cells.append((index, source, cell.get("metadata", {}).get("tags", []), statements))
        return cells

    def derivation(self, label: str) -> str | None:
        """See :func:`derivation`."""
        target = None
        for position, (_, _, _, statements) in enumerate(self.cells):
            for stmt_no, (stmt, *_, calls) in enumerate(statements):
                call = calls.get(label)
                if call is not None:
                    target = (position, stmt_no, stmt, call)
                    break
            if target:
                break
        if target is None:
            return None
        position, stmt_no, stmt, call = target
        data = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "data"), None)
        needed = {n.id for n in ast.walk(data) if isinstance(n, ast.Name)} if data is not None else set()
        kept: list[tuple[int, ast.stmt]] = [(position, stmt)]
        for pos in range(position, -1, -1):
            statements = self.cells[pos][3]
            stop = stmt_no if pos == position else len(statements)
            for candidate, bound, mutated, used, _ in reversed(statements[:stop]):
                if (bound | mutated) & needed:
                    kept.append((pos, candidate))
                    needed = (needed - bound) | used
        out, current = [], None
        for pos, node in sorted(kept, key=lambda item: (item[0], item[1].lineno)):
            index, source, tags, _ = self.cells[pos]
            if pos != current:
                what = (" (parameters)" if "parameters" in tags
                        else " (injected parameters)" if "injected-parameters" in tags else "")
                out += (["", ""] if out else []) + [f"# --- cell {index}{what}"]
                current = pos
            lines = source.splitlines()
            out.append("\n".join(lines[node.lineno - 1:node.end_lineno]))
        return "\n".join(out) + "\n"


def derivation(notebook_json: dict, label: str) -> str | None:
    """The code that builds figure ``label``'s plotted rows: a def-use slice of the run's code cells.

    Starting from the rows passed to ``figures.record(label, rows, ...)``, walks the code cells
    backwards and keeps every top-level statement that binds or changes a name still needed (its own
    names become needed in turn): the loads, the parameters and each computation, in cell order,
    each group headed by its cell number. None when the record call is not found.
    """
    return Slicer(notebook_json).derivation(label)


def _blank_magics(source: str) -> str:
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


# --- the figures of a build ------------------------------------------------------------------------
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
    run_record: dict = field(default_factory=dict)
    slicer: "Slicer | None" = field(default=None, repr=False, compare=False)  # None: the label has no record call

    @functools.cached_property
    def derivation(self) -> str | None:
        """The code that builds the plotted rows (see :func:`derivation`); sliced only when asked for."""
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

    @property
    def data_sha256(self) -> str | None:
        return file_sha256_bytes(self.record["csv"].encode("utf-8")) if self.record else None


def figures_of_run(layout: Layout, address: str, run_record: dict | None = None) -> list[Figure]:
    """Every ``fig-``/``tbl-`` labelled cell of run ``address``'s executed notebook, in cell order."""
    from .figures import recorded_in

    path = layout.executed_notebook(address)
    if not path.is_file():
        return []
    nb = json.loads(path.read_text(encoding="utf-8"))
    records = recorded_in(nb)
    slicer = Slicer(nb) if records else None
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
            sha256=sha, png=png, text=text, record=records.get(label), run_record=run_record or {},
            slicer=slicer if label in records else None,
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
    match = FIGURE_ID.match(figure_id.strip())
    if not match:
        raise ReviewError(
            f"{figure_id!r} is not a figure id",
            hint="a figure id looks like <notebook>/<parameter-set>#fig-<label> (or #tbl-<label>), "
                 "e.g. alpha/default#fig-shares; `python -m analysis review list` shows them all",
        )
    return match["notebook"], match["set"], match["label"]


# --- review records --------------------------------------------------------------------------------
@dataclass
class ReviewStatus:
    """A figure's review status and the record it rests on (None when not reviewed)."""

    state: str
    latest: dict | None = None
    records: list[dict] = field(default_factory=list)

    def describe(self) -> str:
        """One line: the status, and who reviewed what when."""
        if self.latest is None:
            return self.state
        who = f"{self.latest['reviewer']} on {str(self.latest['date'])[:10]}"
        if self.state == STATUS_AGAIN:
            return (f"{self.state} (last review: {decision_text(self.latest['decision'])} by {who}, "
                    f"of figure sha256 {str(self.latest['figure_sha256'])[:12]})")
        return f"{self.state} by {who}"


def decision_text(decision: str) -> str:
    return STATUS_CHANGES if decision == CHANGES_REQUESTED else decision


def status_of(sha256: str | None, records: list[dict]) -> ReviewStatus:
    """The review status of a figure whose current checksum is ``sha256``, given its records (any order)."""
    if not records:
        return ReviewStatus(STATUS_NONE)
    ordered = sorted(records, key=lambda r: (str(r["date"]), r.get("_file", "")))
    latest = ordered[-1]
    if sha256 is None or latest["figure_sha256"] != sha256:
        return ReviewStatus(STATUS_AGAIN, latest, ordered)
    state = STATUS_APPROVED if latest["decision"] == APPROVED else STATUS_CHANGES
    return ReviewStatus(state, latest, ordered)


def record_dir(layout: Layout, figure_id: str) -> Path:
    notebook, set_name, label = parse_figure_id(figure_id)
    return layout.reviews_dir / notebook / set_name / label


def load_reviews(layout: Layout) -> dict[str, list[dict]]:
    """Every committed review record, by figure id. ReviewError names a malformed file."""
    out: dict[str, list[dict]] = {}
    if not layout.reviews_dir.is_dir():
        return out
    for path in sorted(layout.reviews_dir.rglob("*.yml")):
        rel = layout.relative(path)
        try:
            record = parse_yaml(path.read_text(encoding="utf-8"), source=rel)
        except yaml.YAMLError as exc:
            raise ReviewError(getattr(exc, "message", f"{rel} is not valid YAML: {exc}"),
                              hint="fix or remove the file; records are written by `review add`") from None
        if not isinstance(record, dict):
            raise ReviewError(f"{rel}: expected a mapping with keys {', '.join(RECORD_KEYS)}")
        missing = [k for k in RECORD_KEYS if k not in record]
        if missing:
            raise ReviewError(f"{rel}: missing {', '.join(missing)}", hint="records are written by `python -m analysis review add`")
        if record["decision"] not in DECISIONS:
            raise ReviewError(f"{rel}: decision {record['decision']!r} is not one of {', '.join(DECISIONS)}")
        expected_dir = record_dir(layout, str(record["figure"]))
        if path.parent != expected_dir:
            raise ReviewError(
                f"{rel}: records figure {record['figure']} but lies outside {layout.relative(expected_dir)}/",
                hint="move the file to the folder of the figure it reviews",
            )
        record = {**record, "date": str(record["date"]), "_file": rel}
        out.setdefault(str(record["figure"]), []).append(record)
    return out


def statuses(layout: Layout, figures: dict[str, str | None], reviews: dict[str, list[dict]] | None = None) -> dict[str, ReviewStatus]:
    """Review status of every figure in ``figures`` (id -> current sha256)."""
    reviews = load_reviews(layout) if reviews is None else reviews
    return {fid: status_of(sha, reviews.get(fid, [])) for fid, sha in figures.items()}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "reviewer"


def close_matches(figure_id: str, known: list[str]) -> list[str]:
    """Figure ids that look like ``figure_id`` (same label, same run, or similar spelling)."""
    label = figure_id.partition("#")[2]
    run = figure_id.partition("#")[0]
    similar = difflib.get_close_matches(figure_id, known, n=5, cutoff=0.6)
    same = [k for k in known if (label and k.endswith("#" + label)) or (run and k.startswith(run + "#"))]
    return list(dict.fromkeys(similar + same))[:8]


def add_review(layout: Layout, figure_id: str, *, reviewer: str, decision: str, comment: str = "",
               when: datetime | None = None) -> Path:
    """Write one review record for a figure of the last build; return its path.

    Refuses (ReviewError, nothing written) a figure id the last build did not produce, an unknown
    decision, an empty reviewer name, or a "changes-requested" decision without a comment.
    """
    decision = decision.strip().lower().replace(" ", "-").replace("_", "-")
    if decision not in DECISIONS:
        raise ReviewError(f"decision {decision!r} is not one of {', '.join(DECISIONS)}")
    if not reviewer.strip():
        raise ReviewError("the reviewer's name is empty", hint="pass --reviewer 'Your Name'")
    if decision == CHANGES_REQUESTED and not comment.strip():
        raise ReviewError("a changes-requested review needs a comment saying what to change", hint="pass --comment '...'")
    index = read_index(layout)
    if index is None:
        raise ReviewError(
            f"no figures to review: {layout.relative(index_path(layout))} does not exist (the project was never built)",
            hint="run `python -m analysis build` first; reviews refer to the figures of the last build",
        )
    figure_id = figure_id.strip()
    parse_figure_id(figure_id)
    figures = index["figures"]
    if figure_id not in figures:
        matches = close_matches(figure_id, sorted(figures))
        listing = ("; did you mean: " + ", ".join(matches)) if matches else ""
        raise ReviewError(
            f"the last build produced no figure {figure_id}{listing}",
            hint="use an id from `python -m analysis review list` (ids are <notebook>/<parameter-set>#<label>)",
        )
    entry = figures[figure_id]
    if entry.get("sha256") is None:
        raise ReviewError(f"figure {figure_id} has no output in the last build, so there is nothing to review",
                          hint="make the notebook cell draw the figure, build, then review")
    data = current_data(layout, entry)
    data_sha = file_sha256_bytes(data) if data is not None else None
    when = when or datetime.now(timezone.utc)
    stamp = when.astimezone(timezone.utc)
    record = {
        "figure": figure_id,
        "reviewer": reviewer.strip(),
        "date": stamp.isoformat(timespec="seconds"),
        "decision": decision,
        "comment": comment.strip(),
        "figure_sha256": entry["sha256"],
        "data_sha256": data_sha,
        "datasets": figure_inputs(layout, entry),
        "report_version": index.get("project_version"),
    }
    folder = record_dir(layout, figure_id)
    base = f"{stamp.strftime('%Y%m%dT%H%M%SZ')}-{_slug(reviewer)}"
    path, n = folder / f"{base}.yml", 1
    while path.exists():
        n += 1
        path = folder / f"{base}-{n}.yml"
    _check_writable(layout.generated_report_dir)  # all or nothing: the sources updated after the record must be writable
    try:
        if data is not None:  # the data first: a record never points at rows that were not kept
            kept = approved_data_path(layout, data_sha)
            if not (kept.is_file() and file_sha256_bytes(kept.read_bytes()) == data_sha):
                atomic_write_bytes(kept, data)
        atomic_write_bytes(path, dump_yaml(record).encode("utf-8"))
    except OSError as exc:
        raise ReviewError(f"could not write the review of {figure_id} under {layout.relative(layout.reviews_dir)}/: "
                          f"{exc.strerror or exc}", hint="make the folder writable, then add the review again; "
                          "no record was written") from exc
    return path


def approved_data_path(layout: Layout, sha256: str) -> Path:
    """Where the plotted rows a review saw are kept: ``reviews/_data/<sha256>.csv`` (committed)."""
    return layout.reviews_dir / DATA_DIR / f"{sha256}.csv"


def figure_inputs(layout: Layout, entry: dict) -> dict[str, str]:
    """The datasets a figure's rows come from, with the sha256 the build read (from its packet's inputs.json)."""
    path = layout.root / entry["packet"] / "inputs.json"
    inputs = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
    return {i["dataset"]: i["sha256"] for i in inputs}


def current_data(layout: Layout, entry: dict) -> bytes | None:
    """The plotted rows (CSV bytes) of an index entry, from its review packet; None without a figure record."""
    if not entry.get("has_data"):
        return None
    path = layout.root / entry["packet"] / "data.csv"
    return path.read_bytes() if path.is_file() else None


@dataclass
class DataChange:
    """The plotted rows of a figure as reviewed against those of the current build."""

    before_sha256: str | None
    after_sha256: str | None
    note: str | None = None  # why no row diff could be made
    columns: list[str] = field(default_factory=list)
    key: list[str] = field(default_factory=list)
    added: list[dict] = field(default_factory=list)
    removed: list[dict] = field(default_factory=list)
    changed: list[dict] = field(default_factory=list)  # {"key": {...}, "changes": {col: (old, new)}}

    @property
    def same(self) -> bool:
        return self.note is None and not (self.added or self.removed or self.changed)

    def lines(self) -> list[str]:
        """The change as ``data diff`` prints it: one line per removed, changed or added row."""
        if self.note:
            return [self.note]
        if self.same:
            return ["the plotted rows are unchanged (the image changed for another reason: code, style or versions)"]
        out = [f"- removed  {_row_text(r, self.key)}" for r in self.removed]
        out += [f"~ changed  {' | '.join(c['key'].values())}: "
                + "; ".join(f"{col}: {old} -> {new}" for col, (old, new) in c["changes"].items()) for c in self.changed]
        out += [f"+ added    {_row_text(r, self.key)}" for r in self.added]
        return out


def _row_text(row: dict, key: list[str]) -> str:
    head = " | ".join(str(row.get(k, "")) for k in key)
    rest = ", ".join(f"{k}={v}" for k, v in row.items() if k not in key and v != "")
    return f"{head}: {rest}" if head and rest else head or rest


def _guess_key(columns: list[str], *tables: list[dict]) -> list[str]:
    """Columns that identify a plotted row: those holding no fractional numbers, if unique in every table."""
    def fractional(value: str) -> bool:
        try:
            return not float(value).is_integer()
        except ValueError:
            return False

    key = [c for c in columns if not any(fractional(r.get(c, "")) for t in tables for r in t)]
    if key and all(len({tuple(r.get(c) for c in key) for r in t}) == len(t) for t in tables):
        return key
    return []


def data_change(layout: Layout, figure_id: str, record: dict | None, entry: dict) -> DataChange:
    """What changed in a figure's plotted rows since the review ``record`` (kept under reviews/_data/)."""
    from .datadiff import diff_tables, read_table

    before_sha = (record or {}).get("data_sha256")
    now = current_data(layout, entry)
    after_sha = file_sha256_bytes(now) if now is not None else None
    if record is None:
        return DataChange(None, after_sha, note="not reviewed yet")
    if not before_sha:
        return DataChange(None, after_sha, note="the review kept no data (recorded before reviews kept the plotted rows)")
    kept = approved_data_path(layout, before_sha)
    if not kept.is_file():
        return DataChange(before_sha, after_sha, note=f"{layout.relative(kept)} is missing (restore it from git)")
    if now is None:
        return DataChange(before_sha, None, note="the current build records no rows for this figure")
    old = kept.read_bytes()
    columns, old_rows = read_table(old, layout.relative(kept))
    new_columns, new_rows = read_table(now, f"{figure_id} data.csv")
    all_columns = list(dict.fromkeys(new_columns + columns))
    key = _guess_key([c for c in new_columns if c in columns], old_rows, new_rows)
    schema = {"fields": [{"name": c, "type": "string" if c in key else "number"} for c in all_columns], "primaryKey": key}
    diff = diff_tables(figure_id, {"schema": schema}, old, now, new_label="current build", baseline_label="as reviewed")
    return DataChange(
        before_sha, after_sha, columns=all_columns, key=diff.key_fields, added=diff.added, removed=diff.removed,
        changed=[{"key": dict(zip(diff.key_fields, c.key)), "changes": c.changes} for c in diff.changed],
    )


def _check_writable(folder: Path) -> None:
    """FileError naming ``folder`` unless a file can be created in it (or, if absent, in its nearest parent)."""
    import tempfile

    from .errors import from_os_error

    target = folder
    while not target.exists() and target.parent != target:
        target = target.parent
    try:
        with tempfile.TemporaryFile(dir=target):
            pass
    except OSError as exc:
        error = from_os_error(exc, target, "writing to")
        raise type(error)(f"{error.message} (nothing was recorded)", hint=error.hint) from None


# --- the index and the packets ---------------------------------------------------------------------
def index_path(layout: Layout) -> Path:
    return layout.review_packets_dir / "index.json"


def read_index(layout: Layout) -> dict | None:
    """The figure index of the last build (``_build/review/index.json``), or None."""
    path = index_path(layout)
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def packet_dir(layout: Layout, figure: Figure) -> Path:
    return layout.review_packets_dir / figure.notebook / figure.parameter_set / figure.label


def _write_bytes(path: Path, data: bytes) -> None:
    if path.exists() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write_packets(layout: Layout, figures: list[Figure], *, manifest: dict, catalog, build: dict,
                  review_status: dict[str, ReviewStatus], in_report: set[str]) -> dict:
    """Write one review packet per figure and the index; remove packets of figures that are gone."""
    from .catalog import credit

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
            "in_report": fig.id in in_report, "status": status.state,
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
            write_if_changed(folder / "data.csv", fig.record["csv"])
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
    """The packet writer's own source: a change to how packets are written rewrites them all."""
    return file_sha256_bytes(Path(__file__).read_bytes())


def _packet_key(fig: Figure, status: "ReviewStatus", credits: list[str], build: dict) -> str:
    """sha256 of everything one packet is written from (its figure, run, review status, credits, version).

    The derivation is not computed for the key: it follows from the run's code cells and parameters
    (both in its run record) and from this module's source."""
    return file_sha256_bytes(compact_json([
        _packet_code_sha256(), fig.id, fig.kind, fig.caption, fig.cell_index, fig.source, fig.sha256,
        fig.data_sha256, fig.slicer is not None, fig.declared, fig.datasets(), fig.run_record,
        status.state, status.latest, status.records, credits, build.get("version"),
    ]).encode("utf-8"))


def _derivation_header(fig: Figure) -> str:
    return (f"# How the rows of {fig.id} are derived: the statements of run {fig.run}'s code cells that build\n"
            "# the rows passed to figures.record (a def-use slice, in cell order; parameters as injected).\n\n")


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
        f"| `derivation.py` | {'the code that builds the plotted rows, from the loads on' if 'derivation' in files else 'missing: no figures.record call for this label'} |",
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
        *(["What changed in the plotted rows since that review:", "", "```", *change.lines(), "```", ""] if change else []),
        "To record a review:",
        "",
        "```",
        f"python -m analysis review add '{fig.id}' --reviewer 'Your Name' --decision approved --comment '...'",
        f"python -m analysis review add '{fig.id}' --reviewer 'Your Name' --decision changes-requested --comment 'what to change'",
        "```",
        "",
    ]
    return "\n".join(lines)


def status_lines(layout: Layout) -> list[str]:
    """Lines for ``status``: review counts for the last build's figures, then every figure needing review again."""
    index = read_index(layout)
    if index is None:
        return ["figures: none built yet"]
    reviews = load_reviews(layout)
    states = {fid: status_of(e.get("sha256"), reviews.get(fid, [])) for fid, e in index["figures"].items()}
    counts = {s: sum(1 for x in states.values() if x.state == s) for s in STATUSES}
    lines = [f"figures: {len(states)} ("
             + ", ".join(f"{n} {s}" for s, n in counts.items() if n) + (")" if states else "none)")]
    again = [fid for fid, s in states.items() if s.state == STATUS_AGAIN]
    if again:
        lines.append(f"needs review again ({len(again)}): the figure changed since its last review")
        for fid in again:
            lines.append(f"  {fid}: {states[fid].describe()}; now sha256 {str(index['figures'][fid]['sha256'])[:12]}")
            change = data_change(layout, fid, states[fid].latest, index["figures"][fid])
            lines += [f"    {line}" for line in change.lines()[:5]]
    changes = [fid for fid, s in states.items() if s.state == STATUS_CHANGES]
    for fid in changes:
        lines.append(f"changes requested  {fid}: {states[fid].latest.get('comment', '')}")
    return lines
