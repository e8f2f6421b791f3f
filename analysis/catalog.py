"""The data catalog: ``data/datapackage.json`` (a Frictionless Data Package) and its raw files.

``load(name)`` is the one way notebooks read data. It verifies the file's sha256 against the
catalog, validates it against its Table Schema and returns a DataFrame typed by that schema. Every
load is logged so the build knows which run read which file.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .cache import file_sha256
from .errors import CatalogError, DataIntegrityError, SchemaError, UndeclaredDatasetError
from .paths import Layout

LOAD_LOG_ENV = "CLAIMCHECK_LOAD_LOG"
ALLOWED_ENV = "CLAIMCHECK_ALLOWED_DATASETS"
RUN_ENV = "CLAIMCHECK_RUN"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*\.[a-z0-9][a-z0-9_]*$")
REQUIRED_KEYS = ("name", "path", "title", "sources", "licenses", "hash", "bytes", "schema", "obtained", "confidence")

loaded: list[dict] = []  # loads made in this process (interactive sessions)


@dataclass
class Catalog:
    """The parsed datapackage.json of a project."""

    layout: Layout
    descriptor: dict

    @classmethod
    def load(cls, layout: Layout | None = None) -> "Catalog":
        """Parse and check the descriptor's structure (no data files are read)."""
        layout = layout or Layout.find()
        path = layout.datapackage
        if not path.is_file():
            raise CatalogError(f"{layout.relative(path)} does not exist", hint="restore it from git")
        try:
            descriptor = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise CatalogError(
                f"{layout.relative(path)} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                hint="fix the JSON syntax (git diff data/datapackage.json shows what changed)",
            ) from exc
        catalog = cls(layout, descriptor)
        catalog.check_structure()
        return catalog

    @property
    def resources(self) -> dict[str, dict]:
        return {r["name"]: r for r in self.descriptor.get("resources", [])}

    def check_structure(self) -> None:
        """Names unique and well formed, paths following the address scheme, required keys present."""
        rel = self.layout.relative(self.layout.datapackage)
        resources = self.descriptor.get("resources")
        if not isinstance(resources, list) or not resources:
            raise CatalogError(f"{rel}: expected a non-empty 'resources' list")
        seen = set()
        for i, res in enumerate(resources):
            where = f"{rel}: resource #{i + 1} ({res.get('name', 'unnamed')})"
            if not isinstance(res, dict):
                raise CatalogError(f"{where}: expected an object")
            missing = [k for k in REQUIRED_KEYS if k not in res]
            if missing:
                raise CatalogError(f"{where}: missing {', '.join(missing)}", hint="see docs/conventions.md")
            name = res["name"]
            if not NAME_PATTERN.match(name):
                raise CatalogError(f"{where}: name must look like '<source-id>.<table>' (lower case)")
            if name in seen:
                raise CatalogError(f"{where}: duplicate resource name {name!r}")
            seen.add(name)
            expected = self.layout.dataset_file(name).relative_to(self.layout.data_dir).as_posix()
            if res["path"] != expected:
                raise CatalogError(f"{where}: path {res['path']!r} should be {expected!r} (address scheme)")
            if not str(res["hash"]).startswith("sha256:"):
                raise CatalogError(f"{where}: hash must be 'sha256:<hex>'")
            if not res["sources"] or not all(s.get("locator") for s in res["sources"]):
                raise CatalogError(f"{where}: every source needs a locator (table, figure, page or section)")

    def entry(self, name: str) -> dict:
        try:
            return self.resources[name]
        except KeyError:
            raise CatalogError(
                f"no dataset named {name!r} in {self.layout.relative(self.layout.datapackage)}",
                hint="check the name (python -m analysis data list) or add the dataset to the catalog",
            ) from None

    def path(self, name: str) -> Path:
        return self.layout.data_dir / self.entry(name)["path"]

    def verify_checksum(self, name: str) -> str:
        """Return the file's sha256, or raise DataIntegrityError if it differs from the catalog."""
        entry, path = self.entry(name), self.path(name)
        rel = self.layout.relative(path)
        if not path.is_file():
            raise DataIntegrityError(
                f"{rel} (dataset {name}) is missing",
                hint=f"restore it with: git checkout -- {rel}",
            )
        actual = file_sha256(path)
        expected = entry["hash"].split(":", 1)[1]
        if actual != expected:
            raise DataIntegrityError(
                f"{rel} (dataset {name}) does not match its accepted checksum\n"
                f"    expected sha256 {expected}\n    actual   sha256 {actual}",
                hint=(
                    f"if the edit is deliberate, review it with `python -m analysis data diff {name}` and "
                    f"accept it with `python -m analysis data accept {name}`; otherwise `git checkout -- {rel}`"
                ),
            )
        return actual

    def validate(self, name: str) -> None:
        """Validate a data file against its Table Schema with Frictionless; raise SchemaError on the first problems."""
        from frictionless import Resource, system

        entry = {k: v for k, v in self.entry(name).items() if k not in {"hash", "bytes"}}
        with system.use_context(trusted=False):
            report = Resource(entry, basepath=str(self.layout.data_dir)).validate()
        if report.valid:
            return
        rel = self.layout.relative(self.path(name))
        lines = []
        for task in report.tasks:
            for err in task.errors[:5]:
                lines.append(describe_frictionless_error(err))
        for err in report.errors[:5]:
            lines.append(getattr(err, "message", str(err)))
        raise SchemaError(
            f"{rel} (dataset {name}) does not match its schema in data/datapackage.json:\n    " + "\n    ".join(lines),
            hint="fix the file (or the schema, if the data's structure changed deliberately) and accept it",
        )


def describe_frictionless_error(err) -> str:
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
    where = ", ".join(parts)
    return f"{err.type}: {where}: {err.note}" if where else f"{err.type}: {err.message}"


PANDAS_TYPES = {"integer": "Int64", "number": "float64", "boolean": "boolean", "string": "string", "year": "Int64"}


def load(name: str, *, layout: Layout | None = None):
    """Load dataset ``name`` as a pandas DataFrame typed by its schema, after checksum and schema checks.

    Raises DataIntegrityError (changed or missing file), SchemaError (file does not match its schema),
    UndeclaredDatasetError (the running notebook may not read this dataset) or CatalogError.
    """
    import pandas as pd

    allowed = os.environ.get(ALLOWED_ENV)
    if allowed is not None and name not in allowed.split(","):
        run = os.environ.get(RUN_ENV, "this notebook")
        raise UndeclaredDatasetError(
            f"{run} loaded dataset {name!r}, which project.yml does not declare for it",
            hint=f"add {name} to the notebook's 'datasets' list in project.yml",
        )
    catalog = Catalog.load(layout)
    sha = catalog.verify_checksum(name)
    catalog.validate(name)
    fields = catalog.entry(name)["schema"]["fields"]
    dtypes = {f["name"]: PANDAS_TYPES.get(f.get("type", "string"), "string") for f in fields}
    dates = [f["name"] for f in fields if f.get("type") in {"date", "datetime"}]
    for col in dates:
        dtypes[col] = "string"
    path = catalog.path(name)
    frame = pd.read_csv(path, dtype=dtypes, keep_default_na=False, na_values=[""])
    for col in dates:
        frame[col] = pd.to_datetime(frame[col])
    frame.attrs.update({"dataset": name, "sha256": sha, "credit": credit(catalog.entry(name))})
    record = {"dataset": name, "path": catalog.layout.relative(path), "sha256": sha}
    loaded.append(record)
    log = os.environ.get(LOAD_LOG_ENV)
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
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
