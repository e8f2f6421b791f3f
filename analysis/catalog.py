"""The data catalog: ``data/datapackage.json`` (a Frictionless Data Package) and its raw files.

``load(name)`` is the one way notebooks read data. It verifies the file's sha256 against the
catalog, validates it against its Table Schema and returns a DataFrame typed by that schema. Every
load is logged so the build knows which run read which file.

This module also owns the catalog's outputs for the report: ``credit(entry)`` (the one-line
"Data: ..." caption credit) and ``bibtex(catalog)`` / ``bibliography_keys(catalog)`` (one BibTeX
entry per source, ``report/references.bib``). Comparing, accepting and refreshing data files lives
in ``analysis.datadiff`` and ``analysis.refresh``.
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .files import atomic_write_bytes, file_sha256, file_sha256_bytes
from .errors import CatalogError, DataIntegrityError, FileError, SchemaError, UndeclaredDatasetError, from_os_error
from . import runlog
from .paths import Layout

LOAD_LOG_ENV = runlog.LOG_ENV
ALLOWED_ENV = "CLAIMCHECK_ALLOWED_DATASETS"
RUN_ENV = "CLAIMCHECK_RUN"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*\.[a-z0-9][a-z0-9_]*$")
REQUIRED_KEYS = ("name", "path", "title", "sources", "licenses", "hash", "bytes", "schema", "obtained", "confidence")
OBTAINED_METHODS = ("transcribed", "downloaded")
CONFIDENCE_LEVELS = ("high", "medium", "low")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SHA256_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")
ACCEPT_COMMAND = "python -m analysis data accept"
#: Limits on one data file (the largest real one is about 20 kB and 150 rows): anything larger is refused
#: before it is parsed, so no data file can make a command use gigabytes of memory.
MAX_DATA_FILE_BYTES = 16 * 1024 * 1024
MAX_DATA_ROWS = 200_000

loaded: list[dict] = []  # loads made in this process (interactive sessions)


def dump_descriptor(descriptor: dict) -> str:
    """The text of datapackage.json: indent 2, UTF-8 kept as is, trailing newline (stable diffs)."""
    return json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n"



_READ_ONLY: dict[str, tuple[tuple, "Catalog"]] = {}  # datapackage.json path -> (its stat key, checked catalog)


@dataclass
class Catalog:
    """The parsed datapackage.json of a project."""

    layout: Layout
    descriptor: dict

    @classmethod
    def load(cls, layout: Layout | None = None, *, accepting: bool = False) -> "Catalog":
        """Parse and check the descriptor's structure (no data files are read).

        ``accepting`` (``data accept``) lets a resource lack its hash, bytes and obtained.accessed: accepting records them.
        """
        layout = layout or Layout.find()
        path = layout.datapackage
        if not path.is_file():
            raise CatalogError(f"{layout.relative(path)} does not exist", hint="restore it from git")
        try:
            from .files import MAX_PROJECT_FILE_BYTES, read_text

            if path.stat().st_size > MAX_PROJECT_FILE_BYTES:
                read_text(path, limit=MAX_PROJECT_FILE_BYTES)  # refuses it, naming the file and the limit
            descriptor = json.loads(path.read_text(encoding="utf-8"))
        except RecursionError:
            raise CatalogError(f"{layout.relative(path)} is not valid JSON: its arrays or objects are nested too deeply "
                               "to read", hint="restore it (git diff data/datapackage.json shows what changed)") from None
        except UnicodeDecodeError as exc:
            raise CatalogError(
                f"{layout.relative(path)} is not UTF-8 text (byte {exc.start}: {exc.reason})",
                hint="save the file as UTF-8 (git diff data/datapackage.json shows what changed)",
            ) from exc
        except json.JSONDecodeError as exc:
            raise CatalogError(
                f"{layout.relative(path)} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                hint="fix the JSON syntax (git diff data/datapackage.json shows what changed)",
            ) from exc
        if not isinstance(descriptor, dict):
            raise CatalogError(f"{layout.relative(path)}: expected a JSON object with a 'resources' list")
        catalog = cls(layout, descriptor)
        catalog.check_structure(accepting=accepting)
        return catalog

    @classmethod
    def read_only(cls, layout: Layout | None = None) -> "Catalog":
        """The checked catalog, parsed once per version of datapackage.json in this process.

        For readers only (loads, rules, reports): a notebook loads a dozen datasets and the build
        evaluates rules for every parameter set; each used to re-parse and re-check the 1 MB
        descriptor. Commands that change the descriptor (``data accept``) use :meth:`load`.
        """
        layout = layout or Layout.find()
        try:
            stat = layout.datapackage.stat()
        except OSError:
            return cls.load(layout)  # let the load say what is missing
        key = (str(layout.datapackage), stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if _READ_ONLY.get(str(layout.datapackage), (None,))[0] != key:
            _READ_ONLY[str(layout.datapackage)] = (key, cls.load(layout))
        return _READ_ONLY[str(layout.datapackage)][1]

    @property
    def resources(self) -> dict[str, dict]:
        """Resource descriptors by dataset name, in catalog order."""
        listed = self.descriptor.get("resources", [])
        key = (id(listed), len(listed))
        if getattr(self, "_resources_key", None) != key:  # rebuilt only when the list itself changes
            self._resources = {r["name"]: r for r in listed}
            self._resources_key = key
        return self._resources

    def check_structure(self, *, accepting: bool = False) -> None:
        """Names unique and well formed, paths following the address scheme, required keys present.

        Also checks what docs/conventions.md requires of provenance: every source has a locator,
        ``obtained.method`` is transcribed/downloaded, ``obtained.accessed`` is an ISO date,
        ``confidence`` starts with high/medium/low, and an optional ``refresh`` names a publisher interface
        and its query (``analysis.publishers.check_spec``).
        """
        rel = self.layout.relative(self.layout.datapackage)
        resources = self.descriptor.get("resources")
        if not isinstance(resources, list) or not resources:
            raise CatalogError(f"{rel}: expected a non-empty 'resources' list")
        seen = set()
        for i, res in enumerate(resources):
            if not isinstance(res, dict):
                raise CatalogError(f"{rel}: resource #{i + 1}: expected an object, found {type(res).__name__}")
            where = f"{rel}: resource #{i + 1} ({res.get('name', 'unnamed')})"
            missing = [k for k in REQUIRED_KEYS if k not in res and not (accepting and k in ("hash", "bytes"))]
            if missing:
                raise CatalogError(f"{where}: missing {', '.join(missing)}", hint="see docs/conventions.md")
            name = res["name"]
            if not isinstance(name, str) or not NAME_PATTERN.match(name):
                raise CatalogError(f"{where}: name must look like '<source-id>.<table>' (lower case)")
            if name in seen:
                raise CatalogError(f"{where}: duplicate resource name {name!r}")
            seen.add(name)
            expected = self.layout.dataset_file(name).relative_to(self.layout.data_dir).as_posix()
            if res["path"] != expected:
                raise CatalogError(f"{where}: path {res['path']!r} should be {expected!r} (address scheme)")
            if accepting and not ({"hash", "bytes"} <= set(res)):
                pass  # recorded by the accept
            elif not SHA256_HASH.match(str(res["hash"])):
                raise CatalogError(f"{where}: hash must be 'sha256:<64 lower-case hex digits>', found {res['hash']!r}",
                                   hint=f"record it with `{ACCEPT_COMMAND} {name}`")
            if accepting and not ({"hash", "bytes"} <= set(res)):
                pass
            elif not isinstance(res["bytes"], int) or isinstance(res["bytes"], bool) or res["bytes"] < 0:
                raise CatalogError(f"{where}: bytes must be a non-negative integer, found {res['bytes']!r}",
                                   hint=f"record it with `{ACCEPT_COMMAND} {name}`")
            sources = res["sources"]
            if not isinstance(sources, list) or not sources or not all(isinstance(s, dict) and s.get("locator") for s in sources):
                raise CatalogError(f"{where}: every source needs a locator (table, figure, page or section)")
            if not all(s.get("title") for s in sources):
                raise CatalogError(f"{where}: every source needs a title")
            obtained = res["obtained"]
            if not isinstance(obtained, dict) or obtained.get("method") not in OBTAINED_METHODS:
                method = obtained.get("method") if isinstance(obtained, dict) else obtained
                raise CatalogError(f"{where}: obtained.method must be one of {', '.join(OBTAINED_METHODS)}, found {method!r}")
            if accepting and "accessed" not in obtained:
                pass  # recorded by the accept
            elif not ISO_DATE.match(str(obtained.get("accessed", ""))):
                raise CatalogError(f"{where}: obtained.accessed must be an ISO date YYYY-MM-DD, found {obtained.get('accessed')!r}")
            confidence = res["confidence"]
            if not isinstance(confidence, str) or confidence.split(":", 1)[0].strip() not in CONFIDENCE_LEVELS:
                raise CatalogError(f"{where}: confidence must start with high, medium or low, then the reason; found {confidence!r}")
            schema = res["schema"]
            if not isinstance(schema, dict) or not isinstance(schema.get("fields"), list) or not schema["fields"]:
                raise CatalogError(f"{where}: schema must have a non-empty 'fields' list")
            names = [f.get("name") for f in schema["fields"] if isinstance(f, dict)]
            missing_key = [k for k in primary_key(res) if k not in names]
            if missing_key:
                raise CatalogError(f"{where}: primaryKey names {', '.join(missing_key)}, which the schema's fields do not define")
            if "refresh" in res:
                check_refresh_spec(res["refresh"], where)

    def entry(self, name: str) -> dict:
        """The resource descriptor of dataset ``name``; CatalogError naming the catalog if unknown."""
        try:
            return self.resources[name]
        except KeyError:
            from .names import did_you_mean

            raise CatalogError(
                f"no dataset named {name!r} in {self.layout.relative(self.layout.datapackage)}"
                f"{did_you_mean(name, self.resources)}",
                hint="check the name (python -m analysis data list), or catalog a new file with "
                     "`python -m analysis data add data/raw/<source-id>/<table>.csv ...`",
            ) from None

    def path(self, name: str) -> Path:
        """The data file of dataset ``name``."""
        return self.layout.data_dir / self.entry(name)["path"]

    def data_file(self, name: str) -> Path:
        """The data file of dataset ``name``, refused (DataIntegrityError naming the dataset) if it is a
        symbolic link or lies behind one (data files are regular files inside data/, as git tracks them),
        or if it is larger than :data:`MAX_DATA_FILE_BYTES`. It may be missing: callers say so."""
        path = self.path(name)
        rel = path.relative_to(self.layout.root).as_posix()  # not resolved: a link's own place
        here = self.layout.data_dir
        for part in path.relative_to(here).parts:
            here = here / part
            if here.is_symlink():
                try:
                    target = os.readlink(here)
                except OSError:
                    target = "?"
                via = "" if here == path else f" (its folder {here.relative_to(self.layout.root).as_posix()} is one)"
                raise DataIntegrityError(
                    f"{rel} (dataset {name}) is a symbolic link{via} to {target}: data files must be regular files "
                    "inside data/, not links to files elsewhere (nothing was read or changed)",
                    hint=f"put the file itself in its place (cp --remove-destination \"$(readlink -f {rel})\" {rel}), "
                         f"review it with `python -m analysis data diff {name}` and accept it with "
                         f"`{ACCEPT_COMMAND} {name}`; or restore it with `git checkout -- {rel}`")
        try:
            size = path.stat().st_size
        except OSError:
            return path
        if size > MAX_DATA_FILE_BYTES:
            raise DataIntegrityError(
                f"{rel} (dataset {name}) is {size / 2**20:.0f} MB, larger than the {MAX_DATA_FILE_BYTES // 2**20} MB a data "
                "file may be (nothing was read)",
                hint=f"restore it with `git checkout -- {rel}`; a table this large does not belong in the catalog")
        return path

    def save(self) -> None:
        """Write the descriptor back to data/datapackage.json atomically, formatting kept stable."""
        atomic_write_bytes(self.layout.datapackage, dump_descriptor(self.descriptor).encode("utf-8"))

    def verify_checksum(self, name: str) -> str:
        """Return the file's sha256, or raise DataIntegrityError if it differs from the catalog."""
        entry, path = self.entry(name), self.data_file(name)
        rel = self.layout.relative(path)
        if not path.is_file():
            raise DataIntegrityError(
                f"{rel} (dataset {name}) is missing",
                hint=f"restore it with `python -m analysis data revert {name}` (or `git checkout -- {rel}`)",
            )
        try:
            actual = file_sha256(path)
        except OSError as exc:
            raise from_os_error(exc, path, "reading") from None
        expected = entry["hash"].split(":", 1)[1]
        if actual != expected:
            raise DataIntegrityError(
                f"{rel} (dataset {name}) does not match its accepted checksum\n"
                f"    expected sha256 {expected}\n    actual   sha256 {actual}",
                hint=(
                    f"if the edit is deliberate, review it with `python -m analysis data diff {name}` and "
                    f"accept it with `{ACCEPT_COMMAND} {name}`; to undo it, `python -m analysis data revert {name}` "
                    "(restores the file and its catalog entry together)"
                ),
            )
        return actual

    def schema_problems(self, name: str, path: Path | None = None, *, limit: int = 20) -> list[str]:
        """Frictionless validation of a file against dataset ``name``'s Table Schema; one line per problem.

        ``path`` defaults to the dataset's own file; pass another file (a staged download, an old
        version) to check it against the same schema. The checksum is not part of this check.
        """
        from frictionless import Resource, system

        entry = {k: v for k, v in self.entry(name).items() if k not in {"hash", "bytes", "refresh"}}
        basepath = self.layout.data_dir
        if path is not None:
            path = Path(path).resolve()
            basepath = path.parent
            entry["path"] = path.name
        else:
            self.data_file(name)
        target = basepath / entry["path"]
        if not target.is_file():
            return [f"file {self.layout.relative(target)} does not exist"]
        try:
            data = target.read_bytes()
        except OSError as exc:
            raise from_os_error(exc, target, "reading") from None
        lines = data.count(b"\n")
        if len(data) > MAX_DATA_FILE_BYTES or lines > MAX_DATA_ROWS:
            return [f"file {self.layout.relative(target)} is larger than a data file may be "
                    f"({len(data) / 2**20:.1f} MB, {lines} lines; at most {MAX_DATA_FILE_BYTES // 2**20} MB "
                    f"and {MAX_DATA_ROWS} rows)"]
        with system.use_context(trusted=False):
            report = Resource(entry, basepath=str(basepath)).validate(limit_errors=limit)
        lines = non_finite_numbers(entry, data, limit=limit)
        if report.valid:
            return lines
        key = primary_key(entry)
        for task in report.tasks:
            for err in task.errors[:limit]:
                lines.append(describe_frictionless_error(err, key, task.labels if hasattr(task, "labels") else None))
        for err in report.errors[:limit]:
            lines.append(getattr(err, "message", str(err)))
        return lines

    def validate(self, name: str, path: Path | None = None) -> None:
        """Validate a data file against its Table Schema with Frictionless; raise SchemaError on the first problems."""
        lines = self.schema_problems(name, path)
        if not lines:
            return
        rel = self.layout.relative(path if path is not None else self.path(name))
        raise SchemaError(
            f"{rel} (dataset {name}) does not match its schema in data/datapackage.json:\n    " + "\n    ".join(lines),
            hint="fix the file (or the schema, if the data's structure changed deliberately) and accept it",
        )


def non_finite_numbers(entry: dict, data: bytes, *, limit: int = 20) -> list[str]:
    """Problems for NaN and infinite values in the schema's number fields, which Frictionless accepts
    ("NaN", "inf", "-Infinity", "1e999"): a number the data print is finite, and an empty cell is the
    way to say a value is missing."""
    import csv
    import io
    import math

    fields = [f.get("name") for f in entry.get("schema", {}).get("fields", []) if f.get("type") == "number"]
    if not fields:
        return []
    try:
        text = data.decode("utf-8-sig")
        reader = csv.DictReader(io.StringIO(text, newline=""))
        problems = []
        for row_number, row in enumerate(reader, start=2):
            for name in fields:
                cell = (row.get(name) or "").strip()
                try:
                    value = float(cell)
                except ValueError:
                    continue
                if not math.isfinite(value):
                    problems.append(f"constraint-error: row {row_number}, field {name!r}, value {cell!r}: not a finite "
                                    "number (leave the cell empty for a missing value)")
                    if len(problems) >= limit:
                        return problems
        return problems
    except (UnicodeDecodeError, csv.Error):
        return []  # Frictionless names what is wrong with the file


def primary_key(entry: dict) -> list[str]:
    """The schema's primary key as a list of field names (empty if none)."""
    key = entry.get("schema", {}).get("primaryKey") or []
    return [key] if isinstance(key, str) else list(key)


def check_refresh_spec(spec, where: str) -> None:
    """A resource's ``refresh`` property must name a publisher interface and its query (docs/refresh.md)."""
    from .publishers import check_spec

    check_spec(spec, where)


# Refreshable series: a table with a ``refresh`` property and its dated snapshots ------------------

SNAPSHOT_SOURCE = re.compile(r"^(?P<series>[a-z0-9][a-z0-9-]*?)-(?P<month>\d{4}-\d{2})$")


def series_key(name: str, entry: dict) -> tuple[str, str] | None:
    """``(series, table)`` of a refreshable resource: its snapshots are ``<series>-<YYYY-MM>.<table>``.

    ``refresh.series`` and ``refresh.table`` name them; by default the resource's own source id (without
    a ``-YYYY-MM`` snapshot date) and table. None for a resource without ``refresh``."""
    spec = entry.get("refresh")
    if not isinstance(spec, dict):
        return None
    source, _, table = name.partition(".")
    match = SNAPSHOT_SOURCE.match(source)
    return spec.get("series") or (match.group("series") if match else source), spec.get("table") or table


def series_members(catalog: "Catalog", name: str) -> list[str]:
    """Every resource of the refreshable series dataset ``name`` belongs to, oldest first: the tables
    that carry the refresh spec in catalog order, then the dated snapshots by month. ``[name]`` for a
    resource that is not refreshable."""
    key = series_key(name, catalog.entry(name))
    if key is None:
        return [name]
    series, table = key
    bases, snapshots = [], []
    for other, entry in catalog.resources.items():
        if series_key(other, entry) != key:
            continue
        source, _, other_table = other.partition(".")
        match = SNAPSHOT_SOURCE.match(source)
        if match and match.group("series") == series and other_table == table:
            snapshots.append((match.group("month"), other))
        else:
            bases.append(other)
    return bases + [n for _, n in sorted(snapshots)]


def newest(name: str, *, layout: Layout | None = None) -> str:
    """The newest member of dataset ``name``'s refreshable series (``name`` itself if it has none).

    Notebooks read "the latest data" as ``analysis.load(newest("<table>"))``: the last dated snapshot
    accepted with ``python -m analysis data refresh``, or the table itself before the first refresh."""
    return series_members(Catalog.read_only(layout), name)[-1]


def describe_frictionless_error(err, key: list[str] | None = None, labels: list[str] | None = None) -> str:
    """One line naming the row, field and value of a Frictionless validation error."""
    parts = []
    row = getattr(err, "row_number", None)
    if row:
        parts.append(f"row {row}")
    field = getattr(err, "field_name", None)
    if field:
        parts.append(f"field {field!r}")
    cell = getattr(err, "cell", None)
    if cell is not None and row:
        parts.append(f"value {cell!r}")
    label = getattr(err, "label", None)
    if label and not row:
        parts.append(f"column {label!r}")
    if err.type == "primary-key" and key:
        cells = getattr(err, "cells", None) or []
        if labels and len(cells) >= len(labels):
            values = [cells[labels.index(k)] if k in labels else "?" for k in key]
            parts.append(f"duplicate primary key ({', '.join(key)}) = ({', '.join(values)})")
        else:
            parts.append(f"duplicate primary key ({', '.join(key)})")
    where = ", ".join(parts)
    return f"{err.type}: {where}: {err.note or err.message}" if where else f"{err.type}: {err.message}"


PANDAS_TYPES = {"integer": "Int64", "number": "float64", "boolean": "string", "string": "string", "year": "Int64"}


def accepted_store_path(layout: Layout, sha256: str) -> Path:
    """Content-addressed copy of an accepted data file: ``_build/.state/accepted/<sha256>.csv``."""
    return layout.state_dir / "accepted" / f"{sha256}.csv"


def remember_accepted(layout: Layout, path: Path, sha256: str) -> None:
    """Keep a copy of an accepted file's bytes, so a later diff can compare against it."""
    target = accepted_store_path(layout, sha256)
    if target.exists():
        return
    try:
        data = Path(path).read_bytes()
        if file_sha256_bytes(data) == sha256:
            atomic_write_bytes(target, data)
    except (OSError, FileError):
        pass  # the store is a convenience: a read-only or full _build/ must not stop a load



def load(name: str, *, layout: Layout | None = None):
    """Load dataset ``name`` as a pandas DataFrame typed by its schema, after checksum and schema checks.

    Types: integer/year -> Int64, number -> float64, string -> string, boolean -> boolean,
    date/datetime -> datetime64; other types (yearmonth, ...) stay strings. ``frame.attrs`` holds
    the dataset name, its sha256 and its caption credit. The file's checksum is verified on every
    load; the schema validation and typing are done once per (file hash, schema hash) and the typed
    table is kept under ``_build/.state/tables/`` (see :func:`typed_table`).

    Raises DataIntegrityError (changed or missing file), SchemaError (file does not match its schema),
    UndeclaredDatasetError (the running notebook may not read this dataset) or CatalogError.
    """
    allowed = os.environ.get(ALLOWED_ENV)
    if allowed is not None and name not in allowed.split(","):
        run = os.environ.get(RUN_ENV, "this notebook")
        if name not in Catalog.read_only(layout).resources:  # renamed or mistyped: the notebook must change
            notebook = run.partition("/")[0]
            raise CatalogError(
                f"{run} loaded dataset {name!r}, which is not in data/datapackage.json",
                hint=f"fix the name in notebooks/{notebook}.ipynb (python -m analysis data list shows the names)",
            )
        raise UndeclaredDatasetError(
            f"{run} loaded dataset {name!r}, which project.yml does not declare for it",
            hint=f"add {name} to the notebook's 'datasets' list in project.yml",
        )
    catalog = Catalog.read_only(layout)
    sha = catalog.verify_checksum(name)
    frame = typed_table(catalog, name, sha)
    path = catalog.path(name)
    remember_accepted(catalog.layout, path, sha)
    frame.attrs.update({"dataset": name, "sha256": sha, "credit": credit(catalog.entry(name))})
    record = {"dataset": name, "path": catalog.layout.relative(path), "sha256": sha}
    loaded.append(record)
    runlog.append(record)
    return frame


# Validated once: typed tables cached by file hash + schema hash --------------------------------

TABLE_FORMAT = 2  # bump when read_typed() (or the validation before it) changes what it produces
NOT_READ_BY_VALIDATION = {"hash", "bytes", "refresh", "obtained", "sources", "licenses", "title", "description", "confidence"}


def table_cache_path(catalog: Catalog, name: str, sha256: str) -> Path:
    """Where the typed table of dataset ``name`` with file hash ``sha256`` is cached.

    The name hashes the file's bytes, its catalog entry without the checksum and provenance fields
    (so: name, path, schema, dialect, format, encoding...), the pandas version and :data:`TABLE_FORMAT`:
    any change to one of them is a miss. ``data accept`` re-dating ``obtained.accessed`` is not.
    """
    entry = {k: v for k, v in catalog.entry(name).items() if k not in NOT_READ_BY_VALIDATION}
    schema = json.dumps([entry, _pandas_version(), TABLE_FORMAT], sort_keys=True, ensure_ascii=False)
    schema_sha = file_sha256_bytes(schema.encode("utf-8"))
    return catalog.layout.state_dir / "tables" / f"{name}-{sha256[:32]}-{schema_sha[:32]}.pickle"


@functools.lru_cache(maxsize=1)
def _pandas_version() -> str:
    """pandas' installed version, without importing pandas (the build process does not need it)."""
    from importlib import metadata

    return metadata.version("pandas")


def cached_table(catalog: Catalog, name: str, sha256: str):
    """The cached typed table for this file and schema, or None (missing, damaged or unreadable).

    The cache file starts with the sha256 of its pickle: a damaged file that would still unpickle
    (a flipped digit in a number) is never trusted."""
    import pickle

    path = table_cache_path(catalog, name, sha256)
    try:
        data = path.read_bytes()
        head, _, payload = data.partition(b"\n")
        if head != f"sha256:{file_sha256_bytes(payload)}".encode():
            return None
        return pickle.loads(payload)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError, TypeError):
        return None


def store_table(catalog: Catalog, name: str, sha256: str, frame) -> None:
    """Keep a validated typed table (best effort: a read-only ``_build/`` must not stop a load)."""
    import pickle

    try:
        payload = pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL)
        atomic_write_bytes(table_cache_path(catalog, name, sha256),
                           f"sha256:{file_sha256_bytes(payload)}\n".encode() + payload)
    except (OSError, FileError):
        pass


def typed_table(catalog: Catalog, name: str, sha256: str):
    """The typed table of a dataset whose checksum ``sha256`` was just verified: validated once, then cached."""
    frame = cached_table(catalog, name, sha256)
    if frame is None:
        catalog.validate(name)
        frame = read_typed(catalog, name)
        store_table(catalog, name, sha256, frame)
    return frame


def read_typed(catalog: Catalog, name: str):
    """Read a dataset's CSV into a DataFrame typed by its Table Schema (no checks)."""
    import pandas as pd

    path = catalog.path(name)
    fields = catalog.entry(name)["schema"]["fields"]
    dtypes = {f["name"]: PANDAS_TYPES.get(f.get("type", "string"), "string") for f in fields}
    dates = [f["name"] for f in fields if f.get("type") in {"date", "datetime"}]
    for col in dates:
        dtypes[col] = "string"
    frame = pd.read_csv(path, dtype=dtypes, keep_default_na=False, na_values=[""], encoding="utf-8")
    for col in dates:
        frame[col] = pd.to_datetime(frame[col])
    for f in fields:
        if f.get("type") == "boolean":
            true = set(f.get("trueValues", ["true", "True", "TRUE", "1"]))
            false = set(f.get("falseValues", ["false", "False", "FALSE", "0"]))
            frame[f["name"]] = frame[f["name"]].map(
                lambda v: True if v in true else False if v in false else pd.NA).astype("boolean")
    return frame


def credit(entry: dict) -> str:
    """One-line data credit for a figure caption: 'Data: Publisher (year), Title, locator.'"""
    parts = []
    for source in entry.get("sources", []):
        bits = [source.get("publisher", "").strip(), f"({source['year']})" if source.get("year") else ""]
        head = " ".join(b for b in bits if b)
        body = ", ".join(b for b in (source.get("title", ""), source.get("locator", "")) if b)
        parts.append(f"{head}, {body}" if head else body)
    return "Data: " + "; ".join(parts) + "."


# Bibliography ------------------------------------------------------------------------------------

BIB_HEADER = (
    "% Generated from data/datapackage.json by `python -m analysis data bib`. Do not edit by hand:\n"
    "% change the catalog's sources, then re-generate. One entry per source; key = <source-id>.\n"
)
REPORT_SOURCE_IDS = re.compile(r"^(crs-r\d|rand-rr-|gao-\d|nsf-nsb-)")  # numbered report series
_BIB_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%", "$": r"\$",
                "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def source_id(dataset: str) -> str:
    """The ``<source-id>`` part of a dataset address (before the dot)."""
    return dataset.partition(".")[0]


def bibliography_keys(catalog: Catalog) -> dict[str, str]:
    """Citation key of every dataset: ``{dataset: key}``; cite it in the report as ``[@key]``."""
    return {name: source_id(name) for name in sorted(catalog.resources)}


def bib_escape(text: str) -> str:
    """Escape BibTeX/LaTeX special characters in a field value."""
    return "".join(_BIB_SPECIAL.get(ch, ch) for ch in str(text))


_NAME_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"}
_NAME_PARTICLES = {"van", "von", "de", "da", "del", "der", "di", "du", "le", "la", "st.", "ter", "den"}


def bib_authors(author) -> str:
    """Authors as a BibTeX name list: personal names as ``Last, Suffix, First`` ("Sargent, Jr., John F."),
    so that citations say "Sargent" and never "Jr."; a one-word or group name as a corporate author in
    braces ("{NASA}"). ``author`` is a list, or one string separated by ``;``, ``,`` or `` and ``;
    an affiliation in brackets is dropped and "X for the Y collaboration" gives X and {Y collaboration}."""
    if isinstance(author, list):
        pieces = [str(a) for a in author]
    else:
        pieces = re.split(r";\s*|,\s*|\s+and\s+", str(author))
    names: list[str] = []
    for piece in (p.strip() for p in pieces):
        if not piece:
            continue
        if piece.lower() in _NAME_SUFFIXES and names:
            names[-1] = names[-1] + " " + piece  # "Sargent, Jr." written with a comma
            continue
        names.append(piece)
    out = []
    for name in names:
        name = re.sub(r"\s*\([^)]*\)", "", name).strip()
        group = None
        m = re.match(r"^(.*?)\s+for\s+the\s+(.+)$", name, flags=re.I)
        if m:
            name, group = m.group(1).strip(), m.group(2).strip()
        if name:
            out.append(bib_person(name))
        if group:
            out.append("{" + bib_escape(group[0].upper() + group[1:]) + "}")
    return " and ".join(out)


_CORPORATE_WORDS = {"laboratory", "institute", "institution", "university", "office", "department", "agency",
                    "council", "foundation", "association", "organization", "organisation", "commission",
                    "service", "center", "centre", "society", "board", "staff", "committee", "collaboration"}


def bib_person(name: str) -> str:
    """One name in BibTeX form: 'John F. Sargent Jr.' -> 'Sargent, Jr., John F.'; one word -> '{Word}'."""
    tokens = name.split()
    if len(tokens) == 1 or name.isupper() or _CORPORATE_WORDS & {t.strip(",.").lower() for t in tokens}:
        return "{" + bib_escape(name) + "}"
    suffix = None
    if tokens[-1].lower() in _NAME_SUFFIXES:
        suffix = tokens.pop()
    start = len(tokens) - 1
    while start > 1 and tokens[start - 1].lower() in _NAME_PARTICLES:
        start -= 1
    last, first = " ".join(tokens[start:]), " ".join(tokens[:start])
    parts = [last] + ([suffix] if suffix else []) + ([first] if first else [])
    return bib_escape(", ".join(parts))


def bib_entry_type(key: str, source: dict) -> str:
    """@article for a journal article, @techreport for a numbered report, else @misc.

    An explicit ``type`` in the source ('article', 'report'/'techreport', 'misc', ...) wins; otherwise
    a ``journal`` makes an article, and a ``number`` or a report-series source id a techreport.
    """
    explicit = str(source.get("type", "")).lower()
    if explicit:
        return {"report": "techreport"}.get(explicit, explicit)
    if source.get("journal"):
        return "article"
    if source.get("number") or REPORT_SOURCE_IDS.match(key):
        return "techreport"
    return "misc"


def bibtex(catalog: Catalog) -> str:
    """BibTeX text with one entry per distinct source id, sorted by key; deterministic.

    Fields: title, author (the source's authors, or its publisher as a corporate author),
    publisher/institution/journal, year, url, urldate (latest obtained.accessed) and note (the
    locators of every table read from this source; where the source has no URL, the copy it was
    seen in). When the tables of one source id carry different titles (chapter vs. table), the
    most common title is used, ties going to the shortest.
    """
    by_key: dict[str, list[dict]] = {}
    for name, entry in sorted(catalog.resources.items()):
        by_key.setdefault(source_id(name), []).append(entry)
    out = [BIB_HEADER]
    for key in sorted(by_key):
        entries = by_key[key]
        firsts = [e["sources"][0] for e in entries]
        titles = [s["title"] for s in firsts]
        title = min(titles, key=lambda t: (-titles.count(t), len(t), t))
        source = next(s for s in firsts if s["title"] == title)
        kind = bib_entry_type(key, source)
        fields: list[tuple[str, str]] = [("title", "{" + bib_escape(title) + "}")]
        publisher = str(source.get("publisher", "")).strip()
        if source.get("author"):
            fields.append(("author", bib_authors(source["author"])))
        elif publisher:
            fields.append(("author", "{" + bib_escape(publisher) + "}"))
        if publisher:
            if kind == "techreport":
                fields.append(("institution", bib_escape(publisher)))
            elif kind == "article":
                fields.append(("journal", bib_escape(source.get("journal") or publisher)))
            else:
                fields.append(("publisher", bib_escape(publisher)))
        if source.get("number"):
            fields.append(("number", bib_escape(source["number"])))
        if source.get("year"):
            fields.append(("year", bib_escape(source["year"])))
        url = next((s["path"] for s in firsts if s["title"] == title and s.get("path")), None)
        url = url or next((s["path"] for s in firsts if s.get("path")), None)
        if url:
            fields.append(("url", str(url).replace("{", "%7B").replace("}", "%7D")))
        accessed = sorted({e["obtained"].get("accessed") for e in entries if e["obtained"].get("accessed")})
        if accessed:
            fields.append(("urldate", accessed[-1]))
        notes = []
        for s in firsts:
            if s.get("locator") and s["locator"] not in notes:
                notes.append(s["locator"])
        if not url:
            for e in entries:
                for seen in e["obtained"].get("seen_in") or []:
                    text = f"seen in {seen.get('title', '')} ({seen['path']})" if seen.get("path") else ""
                    if text and text not in notes:
                        notes.append(text)
        fields.append(("note", bib_escape("; ".join(notes))))
        body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields)
        out.append(f"@{kind}{{{key},\n{body}\n}}\n")
    return "\n".join(out)


def write_bibliography(catalog: Catalog, path: Path | None = None) -> tuple[Path, bool]:
    """Write ``bibtex(catalog)`` to ``report/references.bib`` (atomically); return (path, changed)."""
    path = Path(path) if path else catalog.layout.report_dir / "references.bib"
    text = bibtex(catalog)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return path, False
    atomic_write_bytes(path, text.encode("utf-8"))
    return path, True
