"""Review records and the status they give a figure.

Records (committed): one YAML file per review, at
``reviews/<notebook>/<set>/<label>/<YYYYMMDDTHHMMSSZ>-<reviewer-slug>.yml`` with the keys ``figure``,
``reviewer``, ``date``, ``decision`` (``approved`` or ``changes-requested``), ``comment`` and
``figure_sha256`` (the figure's checksum when it was reviewed), plus ``data_sha256``, ``datasets``
(the datasets its rows come from, with their sha256) and ``report_version``. The plotted rows the
reviewer saw are kept, content-addressed, as ``reviews/_data/<data_sha256>.csv``; the data file is
written first and the record last (each atomically), after every check, so a failure never leaves a
record without its data, nor half a review. One file per record means two reviewers never edit the
same file. The latest record decides the status:

* ``approved`` / ``changes requested``: the latest decision, for the figure as it is now;
* ``needs review again``: the figure's checksum changed since the latest review;
* ``not reviewed``: no record.

Imports :mod:`.figures` (the index) and :mod:`analysis.datadiff`; never :mod:`.packets`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

import yaml

from ..errors import ReviewError
from ..files import atomic_write_bytes, dump_yaml, file_sha256_bytes, parse_yaml, seen_valid
from ..paths import Layout
from .figures import current_data, figure_input_paths, figure_inputs, index_path, one_line_csv, parse_figure_id, read_index

APPROVED, CHANGES_REQUESTED = "approved", "changes-requested"
DECISIONS = (APPROVED, CHANGES_REQUESTED)
STATUS_APPROVED = "approved"
STATUS_CHANGES = "changes requested"
STATUS_AGAIN = "needs review again"
STATUS_NONE = "not reviewed"
STATUSES = (STATUS_APPROVED, STATUS_CHANGES, STATUS_AGAIN, STATUS_NONE)
RECORD_KEYS = ("figure", "reviewer", "date", "decision", "comment", "figure_sha256")
DATA_DIR = "_data"  # reviews/_data/<sha256>.csv: the plotted rows each review saw

#: Field limits, the same for ``review add`` and the app's form. The reviewer's name is part of the
#: record's file name (as a slug of at most SLUG_MAX characters).
REVIEWER_MAX = 100
SLUG_MAX = 40
COMMENT_MAX = 4000
#: How many changed rows of a dataset are shown under "needs review again" (``data diff`` shows them all).
DATASET_LINES_MAX = 20


def status_key(state: str) -> str:
    """The progress key of a status: ``needs review again`` -> ``needs-review-again``."""
    return state.replace(" ", "-")


#: The keys of :func:`progress` (CONTRACTS.md section 5), in the order a reviewer reads them.
PROGRESS_KEYS = tuple(status_key(s) for s in (STATUS_APPROVED, STATUS_CHANGES, STATUS_NONE, STATUS_AGAIN))


@dataclass
class ReviewStatus:
    """A figure's review status and the record it rests on (None when not reviewed)."""

    state: str
    latest: dict | None = None
    records: list[dict] = field(default_factory=list)

    def detail(self) -> str:
        """Who reviewed what when ('' when not reviewed): the words after the status."""
        if self.latest is None:
            return ""
        who = f"{self.latest['reviewer']} on {str(self.latest['date'])[:10]}"
        if self.state == STATUS_AGAIN:
            return (f"(last review: {decision_text(self.latest['decision'])} by {who}, "
                    f"of figure sha256 {str(self.latest['figure_sha256'])[:12]})")
        return f"by {who}"

    def describe(self) -> str:
        """One line: the status, and who reviewed what when."""
        return f"{self.state} {self.detail()}".strip()

    @property
    def key(self) -> str:
        return status_key(self.state)


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
            text = path.read_text(encoding="utf-8")
            record = parse_yaml(text, source=rel)
        except yaml.YAMLError as exc:  # the strict loader's error names the file, line and what is wrong
            raise ReviewError(getattr(exc, "message", f"{rel} is not valid YAML: {exc}"),
                              hint="fix or remove the file; records are written by `review add`") from None
        if not isinstance(record, dict):
            raise ReviewError(f"{rel}: expected a mapping with keys {', '.join(RECORD_KEYS)}")
        missing = [k for k in RECORD_KEYS if k not in record]
        if missing:
            raise ReviewError(f"{rel}: missing {', '.join(missing)}", hint="records are written by `python -m analysis review add`")
        if record["decision"] not in DECISIONS:
            raise ReviewError(f"{rel}: decision {record['decision']!r} is not one of {', '.join(DECISIONS)}")
        if not seen_valid(layout, "review", text):  # typed: analysis.schemas.ReviewRecord, once per file version
            from .. import schemas

            schemas.check(schemas.ReviewRecord, record, source=rel, text=text, error=ReviewError,
                          place=schemas.review_place, hint="records are written by `python -m analysis review add`")
            seen_valid(layout, "review", text, remember=True)
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


def by_reviewer(reviews: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Every record by reviewer name, newest first."""
    out: dict[str, list[dict]] = {}
    for records in reviews.values():
        for r in records:
            out.setdefault(str(r["reviewer"]), []).append(r)
    return {name: sorted(rs, key=lambda r: str(r["date"]), reverse=True) for name, rs in sorted(out.items())}


# --- progress ------------------------------------------------------------------------------------------
def count_progress(states: Iterable[str]) -> dict:
    """Progress counts of the report's figures from their statuses (the one place they are counted)."""
    states = list(states)
    counts = {"report_figures": len(states)}
    counts.update({key: sum(1 for s in states if status_key(s) == key) for key in PROGRESS_KEYS})
    return counts


def progress(layout: Layout) -> dict:
    """Review progress of the figures the report shows (CONTRACTS.md section 5)::

        {"report_figures": N, "approved": a, "changes-requested": c, "not-reviewed": n, "needs-review-again": r}

    From the last build's index and the committed records; all zero before any build. ``review list``,
    the app's index and the report's methods section show these counts.
    """
    index = read_index(layout)
    if index is None:
        return count_progress([])
    reviews = load_reviews(layout)
    return count_progress(status_of(e.get("sha256"), reviews.get(fid, [])).state
                          for fid, e in index["figures"].items() if e.get("in_report"))


def progress_text(counts: dict) -> str:
    """'3 of 42 report figures approved, 1 changes requested, 37 not reviewed, 1 needs review again'."""
    n = counts["report_figures"]
    return (f"{counts['approved']} of {n} report figure{'s' if n != 1 else ''} approved, "
            f"{counts['changes-requested']} changes requested, {counts['not-reviewed']} not reviewed, "
            f"{counts['needs-review-again']} need{'s' if counts['needs-review-again'] == 1 else ''} review again")


# --- recording a review ----------------------------------------------------------------------------------
def slug(text: str) -> str:
    """The reviewer's part of a record's file name: lower-case letters, digits and dashes, at most SLUG_MAX."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower())[:SLUG_MAX].strip("-") or "reviewer"


def close_matches(figure_id: str, known: list[str]) -> list[str]:
    """Figure ids that look like ``figure_id`` (same label, same run, or similar spelling)."""
    label = figure_id.partition("#")[2]
    run = figure_id.partition("#")[0]
    similar = difflib.get_close_matches(figure_id, known, n=5, cutoff=0.6)
    same = [k for k in known if (label and k.endswith("#" + label)) or (run and k.startswith(run + "#"))]
    return list(dict.fromkeys(similar + same))[:8]


def check_fields(*, reviewer: str, decision: str, comment: str) -> tuple[str, str, str]:
    """The review's fields, normalised: (reviewer, decision, comment). ReviewError says what is wrong."""
    decision = (decision or "").strip().lower().replace(" ", "-").replace("_", "-")
    reviewer, comment = (reviewer or "").strip(), (comment or "").strip()
    if not reviewer:
        raise ReviewError("the reviewer's name is empty", hint="pass --reviewer 'Your Name'")
    if len(reviewer) > REVIEWER_MAX:
        raise ReviewError(f"the reviewer's name has {len(reviewer)} characters; at most {REVIEWER_MAX} are allowed",
                          hint="give a shorter name")
    if any(not c.isprintable() for c in reviewer):
        raise ReviewError("the reviewer's name must be one line of text, without tabs or control characters")
    if not decision:
        raise ReviewError(f"no decision was chosen: choose {APPROVED} or {CHANGES_REQUESTED}")
    if decision not in DECISIONS:
        raise ReviewError(f"decision {decision[:40]!r} is not one of {', '.join(DECISIONS)}")
    if decision == CHANGES_REQUESTED and not comment:
        raise ReviewError("a changes-requested review needs a comment saying what to change", hint="pass --comment '...'")
    if len(comment) > COMMENT_MAX:
        raise ReviewError(f"the comment has {len(comment)} characters; at most {COMMENT_MAX} are allowed",
                          hint="shorten it, or put the details in an issue and link it")
    return reviewer, decision, comment


class Recorded(NamedTuple):
    """What :func:`add_review` did: the record's path, and False when the same review was already recorded."""

    path: Path
    new: bool


def add_review(layout: Layout, figure_id: str, *, reviewer: str, decision: str, comment: str = "",
               when: datetime | None = None, seen_sha256: str | None = None) -> Recorded:
    """Write one review record for a figure of the last build.

    All or nothing: every check comes before the first write. Refuses (ReviewError, nothing written)
    bad fields (see :func:`check_fields`), a figure id the last build did not produce, a figure with no
    output, a figure rebuilt since the reviewer saw it (``seen_sha256``, given by the app), a damaged
    figure index, and folders that cannot be written. The same review recorded again (same reviewer,
    decision, comment and figure checksum as the figure's latest record) writes nothing and returns the
    earlier record with ``new=False``.
    """
    reviewer, decision, comment = check_fields(reviewer=reviewer, decision=decision, comment=comment)
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
    if seen_sha256 is not None and seen_sha256 != entry["sha256"]:
        raise ReviewError("the figure was rebuilt since this page was opened: look at it again, then review it")
    latest = status_of(entry["sha256"], load_reviews(layout).get(figure_id, [])).latest
    if latest is not None and (latest["reviewer"], latest["decision"], str(latest.get("comment") or ""),
                               latest["figure_sha256"]) == (reviewer, decision, comment, entry["sha256"]):
        return Recorded(layout.root / latest["_file"], False)
    data = current_data(layout, entry)
    data_sha = file_sha256_bytes(data) if data is not None else None
    stamp = (when or datetime.now(timezone.utc)).astimezone(timezone.utc)
    record = {
        "figure": figure_id,
        "reviewer": reviewer,
        "date": stamp.isoformat(timespec="seconds"),
        "decision": decision,
        "comment": comment,
        "figure_sha256": entry["sha256"],
        "data_sha256": data_sha,
        "datasets": figure_inputs(layout, entry),
        "report_version": index.get("project_version"),
    }
    folder = record_dir(layout, figure_id)
    base = f"{stamp.strftime('%Y%m%dT%H%M%SZ')}-{slug(reviewer)}"
    path, n = folder / f"{base}.yml", 1
    while path.exists():
        n += 1
        path = folder / f"{base}-{n}.yml"
    _check_build_lock(layout)
    _check_writable(layout.reviews_dir)
    _check_writable(layout.generated_report_dir)  # the report sources are rewritten after the record
    try:
        if data is not None:  # the data first: a record never points at rows that were not kept
            kept = approved_data_path(layout, data_sha)
            if not (kept.is_file() and file_sha256_bytes(kept.read_bytes()) == data_sha):
                atomic_write_bytes(kept, data)
        atomic_write_bytes(path, dump_yaml(record).encode("utf-8"))  # never an alias: parse_yaml refuses them
    except OSError as exc:
        raise ReviewError(f"could not write the review of {figure_id} under {layout.relative(layout.reviews_dir)}/: "
                          f"{exc.strerror or exc}", hint="make the folder writable, then add the review again; "
                          "no record was written") from exc
    return Recorded(path, True)


def _check_build_lock(layout: Layout) -> None:
    """ReviewError unless the build's lock file is a file or absent (the report sources are rewritten under it)."""
    lock = layout.build_lock
    if lock.exists() and not lock.is_file():
        rel = layout.relative(lock)
        raise ReviewError(f"{rel} is not a file (it should be the build's lock file); nothing was recorded",
                          hint=f"remove it (`rm -r {rel}`; no build is using it), then add the review again")


def _check_writable(folder: Path) -> None:
    """FileError naming ``folder`` unless a file can be created in it (or, if absent, in its nearest parent)."""
    import tempfile

    from ..errors import from_os_error

    target = folder
    while not target.exists() and target.parent != target:
        target = target.parent
    try:
        with tempfile.TemporaryFile(dir=target):
            pass
    except OSError as exc:
        error = from_os_error(exc, target, "writing to")
        raise type(error)(f"{error.message} (nothing was recorded)", hint=error.hint) from None


def approved_data_path(layout: Layout, sha256: str) -> Path:
    """Where the plotted rows a review saw are kept: ``reviews/_data/<sha256>.csv`` (committed)."""
    return layout.reviews_dir / DATA_DIR / f"{sha256}.csv"


# --- what changed since the last review ------------------------------------------------------------------
@dataclass
class DatasetChange:
    """A dataset the figure's rows come from whose file changed since the review."""

    name: str
    path: str | None
    before_sha256: str
    after_sha256: str | None
    rows: list[str] = field(default_factory=list)  # the changed rows as `data diff` prints them
    note: str | None = None  # why the rows cannot be shown

    def heading(self) -> str:
        where = f" ({self.path})" if self.path else ""
        now = self.after_sha256[:12] if self.after_sha256 else "no longer read"
        return f"{self.name}{where}: sha256 {self.before_sha256[:12]} when reviewed, now {now}"


@dataclass
class DataChange:
    """The plotted rows of a figure as reviewed against those of the current build, and the datasets behind
    them that changed."""

    before_sha256: str | None
    after_sha256: str | None
    note: str | None = None  # why no row diff could be made
    columns: list[str] = field(default_factory=list)
    key: list[str] = field(default_factory=list)
    added: list[dict] = field(default_factory=list)
    removed: list[dict] = field(default_factory=list)
    changed: list[dict] = field(default_factory=list)  # {"key": {...}, "changes": {col: (old, new)}}
    datasets: list[DatasetChange] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return self.note is None and not (self.added or self.removed or self.changed)

    def lines(self) -> list[str]:
        """The change of the plotted rows as ``data diff`` prints it: one line per removed, changed or added row."""
        if self.note:
            return [self.note]
        if self.same:
            return ["the plotted rows are unchanged (the image changed for another reason: code, style or versions)"]
        out = [f"- removed  {_row_text(r, self.key)}" for r in self.removed]
        out += [f"~ changed  {' | '.join(c['key'].values())}: "
                + "; ".join(f"{col}: {old} -> {new}" for col, (old, new) in c["changes"].items()) for c in self.changed]
        out += [f"+ added    {_row_text(r, self.key)}" for r in self.added]
        return out

    def dataset_names(self) -> list[str]:
        return [d.name for d in self.datasets]


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
    """What changed since the review ``record``: the datasets behind the figure whose files changed (with
    their changed rows) and the plotted rows (kept under reviews/_data/) against the current build's."""
    from ..datadiff import diff_tables, read_table

    before_sha = (record or {}).get("data_sha256")
    now = current_data(layout, entry)
    after_sha = file_sha256_bytes(now) if now is not None else None
    if record is None:
        return DataChange(None, after_sha, note="not reviewed yet")
    datasets = dataset_changes(layout, record, entry)
    if not before_sha:
        return DataChange(None, after_sha, datasets=datasets,
                          note="the review kept no data (recorded before reviews kept the plotted rows)")
    kept = approved_data_path(layout, before_sha)
    if not kept.is_file():
        return DataChange(before_sha, after_sha, datasets=datasets,
                          note=f"{layout.relative(kept)} is missing (restore it from git)")
    if now is None:
        return DataChange(before_sha, None, datasets=datasets, note="the current build records no rows for this figure")
    old = one_line_csv(kept.read_text(encoding="utf-8")).encode("utf-8")
    columns, old_rows = read_table(old, layout.relative(kept))
    new_columns, new_rows = read_table(now, f"{figure_id} data.csv")
    all_columns = list(dict.fromkeys(new_columns + columns))
    key = _guess_key([c for c in new_columns if c in columns], old_rows, new_rows)
    schema = {"fields": [{"name": c, "type": "string" if c in key else "number"} for c in all_columns], "primaryKey": key}
    diff = diff_tables(figure_id, {"schema": schema}, old, now, new_label="current build", baseline_label="as reviewed")
    return DataChange(
        before_sha, after_sha, columns=all_columns, key=diff.key_fields, added=diff.added, removed=diff.removed,
        changed=[{"key": dict(zip(diff.key_fields, c.key)), "changes": c.changes} for c in diff.changed],
        datasets=datasets,
    )


def dataset_changes(layout: Layout, record: dict, entry: dict) -> list[DatasetChange]:
    """The datasets a review recorded whose sha256 differs from what the current build read, each with its
    changed rows as ``data diff`` shows them (when the reviewed version is in git or the accepted store)."""
    reviewed = record.get("datasets") or {}
    if not isinstance(reviewed, dict):
        return []
    now, paths = figure_inputs(layout, entry), figure_input_paths(layout, entry)
    out = []
    for name, before in sorted(reviewed.items()):
        after = now.get(name)
        if after == before:
            continue
        change = DatasetChange(name, paths.get(name), str(before), after)
        if after is None:
            change.note = "the figure no longer reads it"
        else:
            change.rows, change.note = _dataset_rows(layout, name, paths.get(name), str(before))
        out.append(change)
    return out


def _dataset_rows(layout: Layout, name: str, rel: str | None, before_sha: str) -> tuple[list[str], str | None]:
    """The changed rows of dataset ``name`` between the version with ``before_sha`` and its current file."""
    from ..catalog import Catalog, accepted_store_path
    from ..datadiff import diff_tables, find_in_git
    from ..errors import ClaimcheckError

    if rel is None or not (layout.root / rel).is_file():
        return [], f"{rel or name} is not in the project any more"
    old = None
    stored = accepted_store_path(layout, before_sha)
    if stored.is_file() and file_sha256_bytes(stored.read_bytes()) == before_sha:
        old = stored.read_bytes()
    else:
        found = find_in_git(layout.root, rel, before_sha)
        old = found[0] if found else None
    if old is None:
        return [], (f"the version reviewed (sha256 {before_sha[:12]}) is neither in git history nor in "
                    f"{layout.relative(accepted_store_path(layout, before_sha).parent)}/, so its rows cannot be compared")
    try:
        entry = Catalog.read_only(layout).entry(name)
        diff = diff_tables(name, entry, old, (layout.root / rel).read_bytes(), new_label=rel, baseline_label="as reviewed")
    except (ClaimcheckError, OSError) as exc:
        return [], f"its rows cannot be compared: {exc}"
    lines = [line.strip() for line in diff.render().splitlines()[1:]
             if line.strip().startswith(("- removed", "~ changed", "+ added", "+ column", "- column"))]
    if len(lines) > DATASET_LINES_MAX:
        lines = lines[:DATASET_LINES_MAX] + [f"... and {len(lines) - DATASET_LINES_MAX} more ({diff.summary()})"]
    return lines, None


# --- text for `status` and `build` --------------------------------------------------------------------------
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
    lines.append(f"review progress: {progress_text(progress(layout))}")
    again = [fid for fid, s in states.items() if s.state == STATUS_AGAIN]
    if again:
        lines.append(f"needs review again ({len(again)}): the figure changed since its last review")
        for fid in again:
            lines.append(f"  {fid}: {states[fid].describe()}; now sha256 {str(index['figures'][fid]['sha256'])[:12]}")
            change = data_change(layout, fid, states[fid].latest, index["figures"][fid])
            if change.datasets:
                lines.append(f"    datasets changed since the review: {', '.join(change.dataset_names())}")
            lines += [f"    {line}" for line in change.lines()[:5]]
    changes = [fid for fid, s in states.items() if s.state == STATUS_CHANGES]
    for fid in changes:
        lines.append(f"changes requested  {fid}: {states[fid].latest.get('comment', '')}")
    return lines


def again_notice(layout: Layout) -> str | None:
    """For ``build``: how many approved figures changed since their approval and where to see them (None if none)."""
    index = read_index(layout)
    if index is None:
        return None
    reviews = load_reviews(layout)
    again = [fid for fid, e in index["figures"].items()
             if (s := status_of(e.get("sha256"), reviews.get(fid, []))).state == STATUS_AGAIN
             and s.latest["decision"] == APPROVED]
    if not again:
        return None
    n = len(again)
    return (f"Review: {n} approved figure{'s' if n != 1 else ''} changed since approval and need{'s' if n == 1 else ''} "
            f"review again ({', '.join(again[:3])}{', ...' if n > 3 else ''}): `python -m analysis status` lists what changed, "
            "`python -m analysis review serve` shows it figure by figure.")
