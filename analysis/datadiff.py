"""Compare a data file with its last accepted version, and accept a reviewed change.

The *last accepted version* of a dataset is the content whose sha256 equals the hash in
``data/datapackage.json``. It is looked up in git history first (every committed version of the
file, newest first), then in the content-addressed store ``_build/.state/accepted/<sha256>.csv``
that ``accept`` and every successful ``load`` fill.

A diff is by value and by primary key: rows added, rows removed, and rows whose values changed
(``old -> new`` per field). Numbers compare as numbers, so ``0.30`` and ``0.3`` are the same value.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .catalog import MAX_DATA_ROWS, Catalog, accepted_store_path, dump_descriptor, primary_key, remember_accepted
from .files import atomic_write_bytes, file_sha256, file_sha256_bytes
from .errors import CatalogError, DataIntegrityError, SchemaError

GIT_HISTORY_LIMIT = 200  # commits of one file searched for its accepted version


# Reading tables ----------------------------------------------------------------------------------

def read_table(data: bytes, where: str) -> tuple[list[str], list[dict[str, str]]]:
    """Parse CSV bytes (UTF-8, header row) into (columns, rows as dicts of raw strings)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SchemaError(f"{where} is not UTF-8 text (byte {exc.start}: {exc.reason})",
                          hint="save the file as UTF-8 (docs/conventions.md)") from exc
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        records = []
        for record in reader:
            if record:
                records.append(record)
                if len(records) > MAX_DATA_ROWS + 1:
                    raise SchemaError(f"{where} has more than {MAX_DATA_ROWS} rows, more than a data file may have",
                                      hint="restore the file (git checkout -- FILE); a table this large does not belong "
                                           "in the catalog")
    except csv.Error as exc:
        raise SchemaError(f"{where} is not a readable CSV file: {exc}") from exc
    if not records:
        return [], []
    columns = records[0]
    rows = []
    for values in records[1:]:
        padded = values + [""] * (len(columns) - len(values))
        row = dict(zip(columns, padded))
        for i, extra in enumerate(values[len(columns):]):
            row[f"(extra column {len(columns) + i + 1})"] = extra
        rows.append(row)
    return columns, rows


def comparable(value: str | None, ftype: str):
    """The value as compared in a diff: numbers as numbers, everything else as the exact string."""
    if value is None:
        return None
    if ftype in {"number", "integer", "year"} and value.strip():
        try:
            return float(value)
        except ValueError:
            return value
    return value


# The diff ----------------------------------------------------------------------------------------

@dataclass
class RowChange:
    """A row present in both versions whose values differ: ``{field: (old, new)}``."""

    key: tuple[str, ...]
    changes: dict[str, tuple[str | None, str | None]]


@dataclass
class TableDiff:
    """Value diff of one dataset: the new file against its baseline (the last accepted version)."""

    name: str
    new_label: str
    baseline_label: str
    baseline_found: bool
    key_fields: list[str]
    added: list[dict] = field(default_factory=list)
    removed: list[dict] = field(default_factory=list)
    changed: list[RowChange] = field(default_factory=list)
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)
    identical_bytes: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def has_value_changes(self) -> bool:
        """True if any row or column was added, removed or changed."""
        return bool(self.added or self.removed or self.changed or self.columns_added or self.columns_removed)

    def summary(self) -> str:
        """'2 added, 0 removed, 1 changed' (plus column changes)."""
        text = f"{len(self.added)} added, {len(self.removed)} removed, {len(self.changed)} changed"
        if self.columns_added:
            text += f"; columns added: {', '.join(self.columns_added)}"
        if self.columns_removed:
            text += f"; columns removed: {', '.join(self.columns_removed)}"
        return text

    def render(self) -> str:
        """Human-readable diff: one line per added, removed or changed row."""
        lines = [f"{self.name}: {self.new_label} vs {self.baseline_label}"]
        lines += [f"  note: {n}" for n in self.notes]
        if self.identical_bytes:
            lines.append("  no change: the file is byte-identical to the accepted version")
            return "\n".join(lines)
        if not self.has_value_changes:
            lines.append("  no value changes (the bytes differ only in formatting)")
            return "\n".join(lines)
        lines.append(f"  key: {', '.join(self.key_fields)}")
        for col in self.columns_added:
            lines.append(f"  + column {col}")
        for col in self.columns_removed:
            lines.append(f"  - column {col}")
        for row in self.removed:
            lines.append(f"  - removed  {self._key_text(row)}: {self._values_text(row)}")
        for change in self.changed:
            diffs = "; ".join(f"{f}: {_show(old)} -> {_show(new)}" for f, (old, new) in change.changes.items())
            lines.append(f"  ~ changed  {' | '.join(change.key)}: {diffs}")
        for row in self.added:
            lines.append(f"  + added    {self._key_text(row)}: {self._values_text(row)}")
        lines.append(f"  {self.summary()}")
        return "\n".join(lines)

    def _key_text(self, row: dict) -> str:
        return " | ".join(row.get(k, "") for k in self.key_fields)

    def _values_text(self, row: dict) -> str:
        return ", ".join(f"{k}={_show(v)}" for k, v in row.items() if k not in self.key_fields and v != "")


def _show(value: str | None) -> str:
    if value is None:
        return "(absent)"
    return repr(value) if value == "" or value != value.strip() else value


def diff_tables(name: str, entry: dict, old: bytes | None, new: bytes, *, new_label: str, baseline_label: str) -> TableDiff:
    """Value diff of ``new`` against ``old`` (None: no baseline, every row is added), keyed by primary key."""
    types = {f["name"]: f.get("type", "string") for f in entry["schema"]["fields"]}
    new_cols, new_rows = read_table(new, new_label)
    old_cols, old_rows = read_table(old, baseline_label) if old is not None else (list(new_cols), [])
    key = primary_key(entry)
    result = TableDiff(name, new_label, baseline_label, old is not None, key,
                       identical_bytes=old is not None and old == new)
    result.columns_added = [c for c in new_cols if c not in old_cols]
    result.columns_removed = [c for c in old_cols if c not in new_cols]
    if not key or any(k not in new_cols or k not in old_cols for k in key):
        if key:
            result.notes.append(f"primary key ({', '.join(key)}) is not in both versions' columns; rows are matched by all their values")
        key = [c for c in new_cols if c in old_cols]
        result.key_fields = key

    def index(rows: list[dict]) -> tuple[dict[tuple, dict], dict[tuple, list[dict]]]:
        """Rows by key (first occurrence) and the further rows with the same key."""
        out: dict[tuple, dict] = {}
        extra: dict[tuple, list[dict]] = {}
        for row in rows:
            k = tuple(str(comparable(row.get(c), types.get(c, "string"))) for c in key)
            if k in out:
                extra.setdefault(k, []).append(row)
            else:
                out[k] = row
        return out, extra

    (old_index, old_extra), (new_index, new_extra) = index(old_rows), index(new_rows)
    for k, rows in new_extra.items():  # a duplicated row is an added row, not a formatting change
        surplus = rows[len(old_extra.get(k, [])):]
        result.added += surplus
        if surplus:
            result.notes.append(f"{new_label}: key {' | '.join(rows[0].get(c, '') for c in key)} occurs "
                                f"{1 + len(rows)} times (added duplicate row)")
    for k, rows in old_extra.items():
        result.removed += rows[len(new_extra.get(k, [])):]
    shared_cols = [c for c in new_cols if c in old_cols]
    for k, row in new_index.items():
        if k not in old_index:
            result.added.append(row)
            continue
        before = old_index[k]
        changes = {}
        for col in shared_cols:
            ftype = types.get(col, "string")
            if comparable(before.get(col), ftype) != comparable(row.get(col), ftype):
                changes[col] = (before.get(col), row.get(col))
        for col in result.columns_added:
            if row.get(col, ""):
                changes[col] = (None, row.get(col))
        for col in result.columns_removed:
            if before.get(col, ""):
                changes[col] = (before.get(col), None)
        if changes:
            result.changed.append(RowChange(tuple(row.get(c, "") for c in key), changes))
    result.removed += [row for k, row in old_index.items() if k not in new_index]
    return result


# The last accepted version -----------------------------------------------------------------------

def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, timeout=60)


def find_in_git(root: Path, rel: str, sha256: str) -> tuple[bytes, str] | None:
    """The first committed (or staged) version of ``rel`` whose sha256 matches: (bytes, where) or None."""
    try:
        top = _git(root, "rev-parse", "--show-toplevel")
    except (OSError, subprocess.TimeoutExpired):
        return None  # no git program: fall back to the store
    if top.returncode != 0:
        return None
    log = _git(root, "log", f"-n{GIT_HISTORY_LIMIT}", "--format=%H", "--", rel)
    commits = log.stdout.decode().split() if log.returncode == 0 else []
    for rev, label in [(f":./{rel}", "the git index"), *((f"{c}:./{rel}", f"git commit {c[:10]}") for c in commits)]:
        shown = _git(root, "show", rev)
        if shown.returncode == 0 and file_sha256_bytes(shown.stdout) == sha256:
            return shown.stdout, label
    return None


def accepted_version(catalog: Catalog, name: str) -> tuple[bytes | None, str]:
    """The bytes of dataset ``name``'s last accepted version and where they were found.

    Returns (None, explanation) if neither git history nor the accepted-file store holds them.
    """
    entry = catalog.entry(name)
    if not str(entry.get("hash", "")).startswith("sha256:"):
        return None, "the catalog records no accepted checksum for it"
    sha = entry["hash"].split(":", 1)[1]
    layout = catalog.layout
    path = catalog.path(name)
    if path.is_file() and file_sha256(path) == sha:
        remember_accepted(layout, path, sha)
        return path.read_bytes(), "the working file (unchanged)"
    found = find_in_git(layout.root, layout.relative(path), sha)
    if found:
        return found
    stored = accepted_store_path(layout, sha)
    if stored.is_file():
        data = stored.read_bytes()
        if file_sha256_bytes(data) == sha:
            return data, layout.relative(stored)
    return None, (f"no copy of the accepted version (sha256 {sha[:12]}...) in git history or "
                  f"{layout.relative(stored.parent)}/")


def diff_dataset(catalog: Catalog, name: str, new_path: Path | None = None) -> TableDiff:
    """Value diff of dataset ``name``'s working file (or ``new_path``) against its last accepted version."""
    entry = catalog.entry(name)
    path = Path(new_path) if new_path is not None else catalog.data_file(name)
    rel = catalog.layout.relative(path)
    if not path.is_file():
        raise DataIntegrityError(f"{rel} (dataset {name}) is missing",
                                 hint=f"restore it with: git checkout -- {rel}")
    sha = str(entry.get("hash", "")).partition(":")[2]
    old, origin = accepted_version(catalog, name)
    if old is None:
        diff = diff_tables(name, entry, None, path.read_bytes(), new_label=rel, baseline_label="nothing")
        diff.notes.append(origin + "; every row is shown as added")
        return diff
    return diff_tables(name, entry, old, path.read_bytes(), new_label=rel,
                       baseline_label=f"accepted version sha256 {sha[:12]}... (from {origin})")


# Accepting ---------------------------------------------------------------------------------------

def normalise(data: bytes) -> tuple[bytes, str]:
    """The file's bytes without a UTF-8 BOM and with \\n line ends, and what was changed ('' if nothing)."""
    changes = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        changes.append("byte-order mark removed")
    if b"\r\n" in data:
        data = data.replace(b"\r\n", b"\n")
        changes.append("CRLF line ends changed to \\n")
    return data, "; ".join(changes)


@dataclass
class Accepted:
    """What ``accept`` did for one dataset."""

    name: str
    diff: TableDiff
    changed: bool  # False: the file already had the accepted hash (nothing re-recorded)
    sha256: str
    bytes: int


def accept(catalog: Catalog, names: list[str], *, today: str | None = None,
           touch_unchanged: bool = False) -> list[Accepted]:
    """Re-record hash, bytes and obtained.accessed of reviewed data files in data/datapackage.json.

    Every file is checked against its schema first; if any is missing or fails, SchemaError (or
    DataIntegrityError) lists every failure and nothing is written. Files whose bytes already match
    the catalog are left alone unless ``touch_unchanged`` (a refresh that found the source
    unchanged records the new access date). The descriptor is written once, atomically.
    """
    if not names:
        raise CatalogError("no dataset to accept", hint="name datasets (python -m analysis data list) or pass --all")
    layout = catalog.layout
    before_text = layout.datapackage.read_bytes()
    names = list(dict.fromkeys(names))
    for name in names:
        catalog.entry(name)  # unknown names fail before anything else
    missing = [layout.relative(catalog.data_file(n)) for n in names if not catalog.data_file(n).is_file()]
    if missing:
        raise DataIntegrityError(f"cannot accept: {', '.join(missing)} missing",
                                 hint="restore the file (git checkout -- <file>) or remove the dataset from the catalog")
    contents = {n: catalog.path(n).read_bytes() for n in names}
    normalised = {n: normalise(data) for n, data in contents.items()}
    failures = []
    for name in names:
        problems = catalog.schema_problems(name)
        if problems:
            failures.append(f"{layout.relative(catalog.path(name))} (dataset {name}):\n      " + "\n      ".join(problems))
    if failures:
        raise SchemaError(
            "refused to accept: these files do not match their schema in data/datapackage.json "
            "(nothing was changed):\n    " + "\n    ".join(failures),
            hint="fix the file (or the schema, if its structure changed deliberately), then accept again",
        )
    today = today or dt.date.today().isoformat()
    results, rewrite = [], {}
    for name in names:
        data = contents[name]
        if catalog.path(name).read_bytes() != data:
            raise DataIntegrityError(f"{layout.relative(catalog.path(name))} changed while it was being accepted "
                                     "(nothing was changed)", hint="run the accept again")
        diff = diff_dataset(catalog, name)
        data, what = normalised[name]
        if what:  # docs/conventions.md: UTF-8 without BOM, \n line ends; written with the descriptor below
            rewrite[name] = data
            diff.notes.append(f"formatting normalised in {layout.relative(catalog.path(name))}: {what}")
        sha = file_sha256_bytes(data)
        entry = catalog.entry(name)
        changed = (entry.get("hash") != f"sha256:{sha}" or entry.get("bytes") != len(data)
                   or "accessed" not in entry["obtained"])
        if changed or touch_unchanged:
            entry["hash"], entry["bytes"] = f"sha256:{sha}", len(data)
            entry["obtained"]["accessed"] = today
        results.append(Accepted(name, diff, changed, sha, len(data)))
    if any(r.changed for r in results) or touch_unchanged or rewrite:
        if layout.datapackage.read_bytes() != before_text:
            raise CatalogError(f"{layout.relative(layout.datapackage)} changed while accepting (nothing was written)",
                               hint="run the accept again")
        for name, data in rewrite.items():
            atomic_write_bytes(catalog.path(name), data)
        new_text = dump_descriptor(catalog.descriptor).encode("utf-8")
        if new_text != before_text:
            atomic_write_bytes(layout.datapackage, new_text)
    for r in results:
        remember_accepted(layout, catalog.path(r.name), r.sha256)
    return results
