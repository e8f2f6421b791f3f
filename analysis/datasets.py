"""Adding a dataset to the catalog, and undoing a change to one.

``add_dataset`` writes the resource of a new file ``data/raw/<source-id>/<table>.csv`` into
``data/datapackage.json``: its name from the address scheme, a Table Schema inferred by Frictionless
(``describe``) and then brought to the project's conventions (``docs/conventions.md``: required key
columns, enums for entity/measure/unit, shares between 0 and 1, non-negative amounts, a unique primary
key), the citation, ``obtained`` with today's date, and the checksum. Nobody writes that JSON by hand.

``revert_dataset`` puts a dataset's file *and* its catalog entry back together: to the last committed
version (git ``HEAD``) or, with ``accepted``, the file alone to the version the catalog accepts.
``undo_advice`` is what the build says when a file no longer matches its accepted checksum: exactly
what else to revert, or ``data revert``.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .catalog import NAME_PATTERN, Catalog, dump_descriptor, remember_accepted
from .datadiff import TableDiff, accepted_version, diff_tables, normalise, read_table
from .errors import CatalogError, DataIntegrityError, SchemaError
from .files import atomic_write_bytes, file_sha256_bytes

REVERT_COMMAND = "python -m analysis data revert"
LICENSES = {
    "other-at": "Copyright of the publisher; figures quoted for fact-checking",
    "public-domain-us-gov": "U.S. Government work (public domain)",
    "CC-BY-4.0": "Creative Commons Attribution 4.0",
    "CC0-1.0": "CC0 1.0",
}
#: Columns of a raw table whose values come from a schema enum (docs/conventions.md).
ENUM_COLUMNS = ("entity", "measure", "unit", "currency", "price_basis", "qualifier", "status", "kind")
#: Columns required in every row where the file fills them.
REQUIRED_COLUMNS = ("entity", "year", "measure", "value", "unit", "locator")
#: The usual primary key, then columns that widen it when a source prints two values for one key.
KEY_COLUMNS = ("entity", "year", "measure")
WIDER_KEY = ("date", "as_of", "base_year", "event", "baseline", "milestone", "status", "vintage", "estimator",
             "scope", "price_basis", "currency", "kind", "fact_id", "locator")


# Adding ------------------------------------------------------------------------------------------

@dataclass
class Added:
    """What ``add_dataset`` wrote: the entry, and what a reviewer should look at."""

    name: str
    entry: dict
    notes: list[str] = field(default_factory=list)


def dataset_for_file(catalog: Catalog, path_arg: str) -> tuple[str, Path]:
    """The dataset name a new file's path gives (``data/raw/<source-id>/<table>.csv`` -> ``<source-id>.<table>``).

    Refuses (CatalogError) a missing file, a file outside ``data/raw/``, a path deeper or shallower than
    the address scheme, names that break it, and a name the catalog already has.
    """
    layout = catalog.layout
    raw = (layout.data_dir / "raw").resolve()
    candidates = [Path(path_arg).resolve(), (layout.root / path_arg).resolve()]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise CatalogError(f"{path_arg} does not exist (or is not a file)",
                           hint="put the CSV at data/raw/<source-id>/<table>.csv first, then add it")
    try:
        parts = path.relative_to(raw).parts
    except ValueError:
        raise CatalogError(f"{path_arg} is outside data/raw/: every dataset's file is data/raw/<source-id>/<table>.csv",
                           hint="move the file to data/raw/<source-id>/<table>.csv (<source-id> names the original "
                                "publication, e.g. crs-r44283-2017; docs/conventions.md), then add it") from None
    if len(parts) != 2 or not parts[1].endswith(".csv"):
        raise CatalogError(f"{layout.relative(path)} does not follow the address scheme data/raw/<source-id>/<table>.csv",
                           hint="one folder per source, one CSV per table (docs/conventions.md)")
    name = f"{parts[0]}.{parts[1][:-len('.csv')]}"
    if not NAME_PATTERN.match(name):
        raise CatalogError(f"{layout.relative(path)} gives the dataset name {name!r}, which breaks the address scheme",
                           hint="rename the folder to lower-case kebab-case (the original publication, e.g. "
                                "crs-r44283-2017) and the file to snake_case (e.g. us_share.csv)")
    if name in catalog.resources:
        raise CatalogError(f"the name {name!r} is already taken: {layout.relative(layout.datapackage)} has a dataset "
                           f"with the file {layout.relative(path)}",
                           hint=f"a changed file is accepted with `python -m analysis data accept {name}` after "
                                f"`data diff {name}`; a new table needs a file name of its own")
    return name, path


def add_dataset(catalog: Catalog, path_arg: str, *, title: str, source: str, publisher: str, locator: str,
                confidence: str, year: int | None = None, url: str | None = None, author: str | None = None,
                description: str | None = None, license: str = "other-at", method: str = "transcribed",
                detail: str | None = None, today: str | None = None) -> Added:
    """Write the catalog entry of a new data file (see the module docstring); return it with review notes.

    Nothing is written unless the whole entry passes the catalog's own checks and the file validates
    against the inferred schema.
    """
    layout = catalog.layout
    if license not in LICENSES:
        raise CatalogError(f"unknown license {license!r}", hint="use one of " + ", ".join(LICENSES) + " (docs/conventions.md)")
    if method not in ("transcribed", "downloaded"):
        raise CatalogError(f"obtained method {method!r} is neither transcribed nor downloaded")
    name, path = dataset_for_file(catalog, path_arg)
    before = layout.datapackage.read_bytes()
    data, normalised = normalise(path.read_bytes())
    columns, rows = read_table(data, layout.relative(path))
    if not columns or not rows:
        raise SchemaError(f"{layout.relative(path)} has no data rows", hint="a raw table has a header row and one row per value")
    notes = [f"formatting normalised in {layout.relative(path)}: {normalised}"] if normalised else []
    schema, schema_notes = conventional_schema(infer_fields(path, data, len(rows)), columns, rows)
    notes += schema_notes
    source_entry = {"title": source, "publisher": publisher}
    if author:
        source_entry["author"] = author
    if year is not None:
        source_entry["year"] = year
    if url:
        source_entry["path"] = url
    source_entry["locator"] = locator
    entry = {
        "name": name,
        "path": layout.dataset_file(name).relative_to(layout.data_dir).as_posix(),
        "title": title,
        **({"description": description} if description else {}),
        "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
        "hash": f"sha256:{file_sha256_bytes(data)}", "bytes": len(data),
        "sources": [source_entry],
        "licenses": [{"name": license, "title": LICENSES.get(license, license)}],
        "obtained": {"method": method,
                     "detail": detail or (f"transcribed by hand from {source}, {locator}" if method == "transcribed"
                                          else f"downloaded from {url or source}"),
                     "seen_in": [],
                     "accessed": today or dt.date.today().isoformat()},
        "confidence": confidence,
        "schema": schema,
    }
    descriptor = copy.deepcopy(catalog.descriptor)
    resources = descriptor.setdefault("resources", [])
    names = [r.get("name", "") for r in resources]
    position = len(resources)
    if names == sorted(names):  # a catalog kept in name order stays in name order
        position = next((i for i, n in enumerate(names) if n > name), len(resources))
    resources.insert(position, entry)
    candidate = Catalog(layout, descriptor)
    candidate.check_structure()  # provenance, confidence, key fields: the checks every command makes
    if normalised:
        atomic_write_bytes(path, data)
    problems = candidate.schema_problems(name)
    if problems:
        raise SchemaError(f"{layout.relative(path)} does not validate against the schema inferred for it "
                          "(nothing was added to the catalog):\n    " + "\n    ".join(problems),
                          hint="fix the rows named above (or split the file so each column has one type), then add it again")
    if layout.datapackage.read_bytes() != before:
        raise CatalogError(f"{layout.relative(layout.datapackage)} changed while the dataset was being added "
                           "(nothing was written)", hint="run the command again")
    atomic_write_bytes(layout.datapackage, dump_descriptor(descriptor).encode("utf-8"))
    catalog.descriptor = descriptor
    remember_accepted(layout, path, file_sha256_bytes(data))
    return Added(name, entry, notes)


def infer_fields(path: Path, data: bytes, row_count: int) -> list[dict]:
    """Frictionless's inferred fields of a CSV (every row read; a column is a number only if every value is one)."""
    from frictionless import Detector, describe, system

    with system.use_context(trusted=False):
        resource = describe(path.name, type="resource", basepath=str(path.parent),
                            detector=Detector(sample_size=row_count + 1, field_confidence=1.0))
    return [dict(f) for f in resource.to_dict()["schema"]["fields"]]


def conventional_schema(fields: list[dict], columns: list[str], rows: list[dict]) -> tuple[dict, list[str]]:
    """The inferred fields brought to docs/conventions.md; returns (schema, notes for the reviewer)."""
    notes: list[str] = []
    values = {c: [r.get(c, "") for r in rows] for c in columns}
    filled = {c: [v for v in values[c] if v != ""] for c in columns}
    out = []
    for f in fields:
        col, ftype = f["name"], f.get("type", "string")
        if ftype == "any":
            ftype = "string"
        if col == "year" and ftype != "integer":
            notes.append(f"column year was inferred as {ftype}, not integer: check its values")
        if col == "value" and ftype == "integer":
            ftype = "number"  # a value is a number, whatever this file's values happen to be
        if col == "value" and ftype != "number":
            notes.append(f"column value was inferred as {ftype}: some value is not a number; the convention is a number "
                         "column (put the document's wording in value_as_stated)")
        field_out: dict = {"name": col, "type": ftype}
        constraints: dict = {}
        if col in REQUIRED_COLUMNS and len(filled[col]) == len(rows):
            constraints["required"] = True
        if col in ENUM_COLUMNS and ftype == "string" and filled[col]:
            constraints["enum"] = sorted(set(filled[col]))
        if col == "year" and ftype == "integer" and filled[col]:
            years = [int(v) for v in filled[col]]
            constraints["minimum"] = min(1950, math.floor(min(years) / 10) * 10)
            constraints["maximum"] = max(2040, math.ceil(max(years) / 10) * 10)
        if col == "value" and ftype == "number" and filled[col]:
            numbers = [float(v) for v in filled[col]]
            if min(numbers) >= 0:
                constraints["minimum"] = 0
            if values.get("unit") and set(filled.get("unit", [])) == {"fraction"} and max(numbers) <= 1:
                constraints["maximum"] = 1
        if constraints:
            field_out["constraints"] = constraints
        out.append(field_out)
    key = primary_key_for(columns, rows)
    if key is None:
        raise SchemaError("no primary key: some rows repeat every identifying column",
                          hint="remove the duplicate rows, or add a column that tells them apart (vintage, estimator, locator)")
    for f in out:
        if f["name"] in key:
            if len(filled[f["name"]]) != len(rows):
                raise SchemaError(f"key column {f['name']} is empty in some rows",
                                  hint="fill it in every row (docs/conventions.md: one row per entity-year-measure)")
            f.setdefault("constraints", {})["required"] = True
    if not set(KEY_COLUMNS) & set(columns):
        notes.append(f"no entity, year or measure column: the primary key is {', '.join(key)}; check it")
    elif list(key) != [c for c in KEY_COLUMNS if c in columns]:
        notes.append(f"entity-year-measure repeats in some rows: the primary key was widened to {', '.join(key)}")
    return {"fields": out, "primaryKey": list(key), "missingValues": [""]}, notes


def primary_key_for(columns: list[str], rows: list[dict]) -> list[str] | None:
    """The conventional key columns present, widened column by column until every row is unique (None: impossible)."""
    def unique(key: list[str]) -> bool:
        seen = {tuple(r.get(c, "") for c in key) for r in rows}
        return len(seen) == len(rows)

    key = [c for c in KEY_COLUMNS if c in columns] or [columns[0]]
    wider = [c for c in WIDER_KEY if c in columns and c not in key]
    wider += [c for c in columns if c not in key and c not in wider and c not in ("value", "note", "value_as_stated")]
    for extra in [None, *wider]:
        if extra is not None:
            key.append(extra)
        if unique(key):
            return key
    return None


# Undoing -----------------------------------------------------------------------------------------

def git_show(root: Path, rel: str, rev: str = "HEAD") -> bytes | None:
    """The bytes of ``rel`` (project-relative) at ``rev``, or None (not a git checkout, no such file or commit)."""
    try:
        proc = subprocess.run(["git", "show", f"{rev}:./{rel}"], cwd=root, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def committed_entry(catalog: Catalog, name: str) -> dict | None:
    """Dataset ``name``'s catalog entry in the last commit (None if not committed or not a git checkout)."""
    text = git_show(catalog.layout.root, catalog.layout.relative(catalog.layout.datapackage))
    if text is None:
        return None
    try:
        resources = json.loads(text.decode("utf-8")).get("resources", [])
    except (ValueError, AttributeError):
        return None
    return next((r for r in resources if isinstance(r, dict) and r.get("name") == name), None)


@dataclass
class Reverted:
    """What ``revert_dataset`` put back."""

    name: str
    origin: str                      # where the restored version came from
    file_restored: bool
    entry_fields: list[str]          # catalog fields restored (empty: the entry was already right)
    diff: TableDiff | None           # the rows undone (restored version against the file it replaced)
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.file_restored or bool(self.entry_fields)


def revert_dataset(catalog: Catalog, name: str, *, accepted: bool = False) -> Reverted:
    """Restore dataset ``name``'s file and catalog entry together to the last committed version.

    ``accepted``: restore only the file, to the version whose checksum the catalog records (the last
    accepted one). A dataset not in the last commit (or outside git) is restored to its accepted
    version. Nothing else in the catalog changes. Raises DataIntegrityError when no copy exists.
    """
    layout = catalog.layout
    entry = catalog.entry(name)
    path = catalog.path(name)
    rel = layout.relative(path)
    current = path.read_bytes() if path.is_file() else None
    committed = None if accepted else committed_entry(catalog, name)
    notes = []
    if committed is not None:
        data = git_show(layout.root, rel)
        if data is None:
            raise DataIntegrityError(f"the last commit has dataset {name} in its catalog but not its file {rel}",
                                     hint=f"restore the file from an older commit, or use `{REVERT_COMMAND} {name} --accepted`")
        origin = "the last commit (git HEAD)"
        if str(committed.get("hash")) != f"sha256:{file_sha256_bytes(data)}":
            notes.append(f"the committed {rel} does not match its committed checksum: `python -m analysis data validate "
                         f"{name}` will say so")
        new_entry = committed
    else:
        if not accepted:
            notes.append(f"dataset {name} is not in the last commit (or this is not a git checkout): "
                         "its file is restored to the version the catalog accepts")
        data, where = accepted_version(catalog, name)
        origin = f"the accepted version (sha256 {str(entry.get('hash', '')).partition(':')[2][:12]}, from {where})"
        if data is None:
            raise DataIntegrityError(f"cannot revert {rel} (dataset {name}): {where}",
                                     hint=f"restore the file by hand, or accept the current one with "
                                          f"`python -m analysis data accept {name}`")
        new_entry = entry
    entry_fields = [k for k in dict.fromkeys([*entry, *new_entry]) if entry.get(k) != new_entry.get(k)]
    file_restored = current != data
    diff = None
    if file_restored:
        diff = diff_tables(name, new_entry, current, data, new_label=f"restored version (from {origin})",
                           baseline_label=rel if current is not None else "nothing (the file was missing)")
    if entry_fields:
        before = layout.datapackage.read_bytes()
        resources = catalog.descriptor["resources"]
        resources[[r["name"] for r in resources].index(name)] = new_entry
        Catalog(layout, catalog.descriptor).check_structure()
        if file_restored:
            atomic_write_bytes(path, data)
        if layout.datapackage.read_bytes() != before:
            raise CatalogError(f"{layout.relative(layout.datapackage)} changed while reverting (nothing was written)",
                               hint="run the command again")
        atomic_write_bytes(layout.datapackage, dump_descriptor(catalog.descriptor).encode("utf-8"))
    elif file_restored:
        atomic_write_bytes(path, data)
    remember_accepted(layout, path, file_sha256_bytes(data))
    notes += lock_notes(catalog, name, keep=file_sha256_bytes(data))
    return Reverted(name, origin, file_restored, entry_fields, diff, notes)


def lock_notes(catalog: Catalog, name: str, *, keep: str) -> list[str]:
    """A note when claims/lock.json accepted values computed from another version of dataset ``name``."""
    layout = catalog.layout
    try:
        claims = json.loads(layout.lock.read_text(encoding="utf-8")).get("claims", {})
    except (OSError, ValueError, AttributeError):
        return []
    moved = sorted(cid for cid, c in claims.items() if isinstance(c, dict)
                   and (c.get("data_sha256") or {}).get(name) not in (None, keep))
    if not moved:
        return []
    committed = git_show(layout.root, layout.relative(layout.lock))
    undo = (f"`git checkout -- {layout.relative(layout.lock)}` restores the committed lock"
            if committed is not None and committed != layout.lock.read_bytes() else
            "`python -m analysis lock` after the build accepts the values again")
    return [f"{layout.relative(layout.lock)} accepted values computed from another version of {name} "
            f"(claims {', '.join(moved)}): {undo}"]


def undo_advice(catalog: Catalog, name: str, error: DataIntegrityError) -> DataIntegrityError:
    """The build's message when dataset ``name``'s file does not match its accepted checksum: when the file
    is back at its committed version but the catalog still records an accepted edit, say exactly that and
    what else to revert; otherwise offer ``data revert`` beside ``data diff``/``data accept``."""
    layout = catalog.layout
    path = catalog.path(name)
    rel = layout.relative(path)
    if not path.is_file():
        return DataIntegrityError(error.message, hint=f"restore it with `{REVERT_COMMAND} {name}` (or `git checkout -- {rel}`)")
    committed = committed_entry(catalog, name)
    committed_file = git_show(layout.root, rel) if committed is not None else None
    if (committed is not None and committed_file is not None and committed_file == path.read_bytes()
            and committed.get("hash") != catalog.entry(name).get("hash")):
        datapackage = layout.relative(layout.datapackage)
        others = [n for n in catalog.resources if n != name]
        lock = lock_notes(catalog, name, keep=file_sha256_bytes(committed_file))
        return DataIntegrityError(
            f"{rel} (dataset {name}) is back at its last committed version, but {datapackage} still records the "
            f"accepted edit ({catalog.entry(name)['hash'][:19]}..., accessed "
            f"{catalog.entry(name).get('obtained', {}).get('accessed')}): the file and its catalog entry must be "
            "reverted together",
            hint=f"run `{REVERT_COMMAND} {name}` (restores its catalog entry too; `git checkout -- {datapackage}` does "
                 f"the same but also undoes uncommitted changes to the entries of the other {len(others)} dataset(s))"
                 + (f"; {lock[0]}" if lock else "")
                 + "; the next build restores the earlier results without executing them")
    return DataIntegrityError(
        error.message,
        hint=f"if the edit is deliberate, review it with `python -m analysis data diff {name}` and accept it with "
             f"`python -m analysis data accept {name}`; to undo it, `{REVERT_COMMAND} {name}` (restores the file and its "
             "catalog entry together)")

