"""Checks before any kernel starts: every mistake that is knowable from the sources is reported before
a notebook runs, naming the claim, notebook or file and what to fix.

* every claim registered for a notebook that will run is recorded by that notebook's code (a
  ``claims.record("<id>", ...)`` call, or the id as a string where the notebook records claims in a
  loop; a ``duplicate_of`` claim takes its original's record), and every id it records is registered;
* every dataset a notebook loads by name (``analysis.load("...")``, ``catalog.load("...")``) is in the
  catalog and declared for it in ``project.yml``;
* every catalogued file exists, and every file under ``data/raw/`` is catalogued or matched by a
  pattern in ``data/raw/.ignore`` (hidden files are never data);
* the checksum and Table Schema of every dataset the runs read (each validated once per file and
  schema version, and the typed tables kept for the runs).

``check(context, runs)`` raises before anything is executed; ``problems`` lists the same findings
without raising (``status`` uses it to say whether a build would fail).
"""

from __future__ import annotations

import ast
import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .catalog import Catalog, read_typed, store_table, table_cache_path
from .errors import DataIntegrityError, FileError, PreflightError
from .files import atomic_write_bytes, fingerprint, read_notebook
from .paths import Layout

if TYPE_CHECKING:
    from .build import Context
    from .project import Run

IGNORE_FILE = "data/raw/.ignore"
CALLS_FORMAT = 1  # bump when notebook_calls() reads more or differently
LOADERS = {"analysis", "catalog"}  # analysis.load("x"), catalog.load("x"); a bare load("x") counts too


@dataclass
class Problem:
    """One finding: what is wrong (naming the claim, notebook or file) and how to fix it."""

    what: str
    fix: str

    def __str__(self) -> str:
        return f"{self.what}\n      fix: {self.fix}"


@dataclass
class NotebookCalls:
    """What a notebook's code does, read from its source without running it."""

    records: dict[str, int] = field(default_factory=dict)  # claim id -> cell number (1-based)
    records_by_variable: bool = False                      # claims.record(some_name, ...)
    loads: dict[str, int] = field(default_factory=dict)    # dataset name -> cell number
    strings: set[str] = field(default_factory=set)         # every string constant in the code


def code_of(cell_source: str) -> str:
    """A code cell's Python: IPython magics, shell escapes and cell options blanked (line numbers kept)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell_source.splitlines())


def notebook_calls(path: Path) -> NotebookCalls:
    """The claim records and dataset loads in a notebook's code cells (FileError if it is not a notebook)."""
    calls = NotebookCalls()
    nb = read_notebook(path)
    number = 0
    for cell in nb["cells"]:
        if cell.get("cell_type") != "code":
            continue
        number += 1
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        try:
            tree = ast.parse(code_of(source))
        except SyntaxError:
            _scan_text(source, number, calls)  # the kernel will report the syntax; keep what can be read
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                calls.strings.add(node.value)
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func, first = node.func, node.args[0]
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
            literal = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
            if name == "record" and not _is_figures(func):
                if literal is not None:
                    calls.records.setdefault(literal, number)
                else:
                    calls.records_by_variable = True
            elif name == "load" and literal is not None and (
                    isinstance(func, ast.Name) or (isinstance(func.value, ast.Name) and func.value.id in LOADERS)):
                calls.loads.setdefault(literal, number)
    return calls


def cached_notebook_calls(layout: Layout, notebook: str) -> NotebookCalls:
    """:func:`notebook_calls`, kept under ``_build/.state/preflight/`` by the notebook's code-cell hash
    (parsing every cell of the large notebooks took a visible part of a second per command)."""
    import json

    path = layout.notebook_source(notebook)
    cache = layout.state_dir / "preflight" / f"{notebook}-{fingerprint(path)[:32]}-v{CALLS_FORMAT}.json"
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
        return NotebookCalls(data["records"], data["records_by_variable"], data["loads"], set(data["strings"]))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    calls = notebook_calls(path)
    try:
        atomic_write_bytes(cache, json.dumps({"records": calls.records, "records_by_variable": calls.records_by_variable,
                                              "loads": calls.loads, "strings": sorted(calls.strings)}).encode("utf-8"))
    except (OSError, FileError):
        pass  # a cache: a read-only _build/ only costs the parse
    return calls


def _is_figures(func) -> bool:
    """``figures.record(...)`` records a figure, not a claim."""
    return isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "figures"


_RECORD_TEXT = re.compile(r"""(?<!figures\.)\brecord\(\s*["']([^"']+)["']""")
_LOAD_TEXT = re.compile(r"""\b(?:analysis\.|catalog\.)?load\(\s*["']([^"']+)["']""")


def _scan_text(source: str, number: int, calls: NotebookCalls) -> None:
    for match in _RECORD_TEXT.finditer(source):
        calls.records.setdefault(match.group(1), number)
    for match in _LOAD_TEXT.finditer(source):
        calls.loads.setdefault(match.group(1), number)
    calls.strings.update(re.findall(r"""["']([^"'\n]+)["']""", source))


# The checks --------------------------------------------------------------------------------------

def unrecorded_claims(context: "Context", notebooks: list[str], calls: dict[str, NotebookCalls]) -> list[Problem]:
    """Claims registered for ``notebooks`` that their notebook's code never records."""
    if context.register is None:
        return []
    register, layout = context.register, context.layout

    def recorded(claim_id: str, claim: dict) -> bool:
        notebook = claim["check"]["notebook"]
        if notebook not in calls:
            return True  # not in project.yml: check_register_against_project says so
        found = calls[notebook]
        if claim_id in found.records or (found.records_by_variable and claim_id in found.strings):
            return True
        original = claim.get("duplicate_of")
        return bool(original) and original in register.claims and recorded(original, register.claims[original])

    from .names import did_you_mean

    out = []
    for notebook in notebooks:
        source = layout.relative(layout.notebook_source(notebook))
        for claim_id, cell in calls[notebook].records.items():
            if claim_id not in register.claims:
                out.append(Problem(
                    f"{source} (code cell {cell}) records claim id {claim_id!r}, which is not in claims/register.yml"
                    f"{did_you_mean(claim_id, register.claims)}",
                    f"fix the id in {source}, or register the claim (`python -m analysis claims add {claim_id} ...`)"))
    for claim_id, claim in register.claims.items():
        notebook = claim["check"]["notebook"]
        if notebook in notebooks and not recorded(claim_id, claim):
            source = layout.relative(layout.notebook_source(notebook))
            out.append(Problem(
                f"claim {claim_id}: {source} never records it (no claims.record({claim_id!r}, ...) in its code), but "
                f"claims/register.yml checks it with run {notebook}/{claim['check']['parameters']}",
                f"add `claims.record({claim_id!r}, value, rationale=...)` to {source} (docs/adding-a-claim.md), "
                "or fix the claim's `check` in claims/register.yml"))
    return out


def undeclared_loads(context: "Context", notebooks: list[str], calls: dict[str, NotebookCalls]) -> list[Problem]:
    """Datasets the notebooks load by name that the catalog lacks or project.yml does not declare for them."""
    from .names import did_you_mean

    out = []
    catalog, layout = context.catalog, context.layout
    for notebook in notebooks:
        declared = context.project.notebooks[notebook].datasets
        source = layout.relative(layout.notebook_source(notebook))
        for name, cell in calls[notebook].loads.items():
            if name not in catalog.resources:
                new_file = "." in name and layout.dataset_file(name).is_file()
                out.append(Problem(
                    f"{source} (code cell {cell}) loads dataset {name!r}, which is not in "
                    f"{layout.relative(layout.datapackage)}{did_you_mean(name, catalog.resources)}",
                    f"fix the name in {source}" + (f", or catalog its file (`python -m analysis data add "
                                                   f"{layout.relative(layout.dataset_file(name))} ...`)" if new_file else "")))
            elif name not in declared:
                out.append(Problem(
                    f"{source} (code cell {cell}) loads dataset {name!r}, which project.yml does not declare for "
                    f"notebook {notebook!r}",
                    f"add {name} to notebooks.{notebook}.datasets in project.yml"))
    return out


def ignore_patterns(layout: Layout) -> list[str]:
    """Patterns (relative to data/raw/, shell-style) of files under data/raw/ that are not datasets."""
    path = layout.root / IGNORE_FILE
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def uncatalogued_files(catalog: Catalog) -> list[Path]:
    """Files under data/raw/ that no catalog entry names and no pattern in data/raw/.ignore matches."""
    import os

    layout = catalog.layout
    raw = layout.data_dir / "raw"
    if not raw.is_dir():
        return []
    known = {str(entry.get("path", "")) for entry in catalog.resources.values()}  # "raw/<source-id>/<table>.csv"
    patterns = ignore_patterns(layout)
    out = []
    for folder, dirs, files in os.walk(raw):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))  # hidden folders and files are never data
        rel_folder = Path(folder).relative_to(raw).as_posix()
        for name in sorted(files):
            rel = name if rel_folder == "." else f"{rel_folder}/{name}"
            if name.startswith(".") or f"raw/{rel}" in known:
                continue
            if any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(name, p) for p in patterns):
                continue
            out.append(raw / rel)
    return out


def catalog_file_problems(catalog: Catalog) -> list[Problem]:
    """Catalogued files that are missing, and files under data/raw/ that are in no catalog entry."""
    layout = catalog.layout
    out = []
    for name in catalog.resources:
        path = catalog.path(name)
        if not path.is_file():
            out.append(Problem(f"{layout.relative(path)} (dataset {name}) is missing",
                               f"restore it with `python -m analysis data revert {name}` (or `git checkout -- "
                               f"{layout.relative(path)}`), or remove the dataset from the catalog"))
    for path in uncatalogued_files(catalog):
        rel = layout.relative(path)
        out.append(Problem(
            f"{rel} is in no catalog entry of {layout.relative(layout.datapackage)}",
            f"catalog it with `python -m analysis data add {rel} --title ... --source ... --publisher ... --locator ... "
            f"--confidence ...` (docs/adding-a-claim.md), or, if it is not data, list it in {IGNORE_FILE} "
            "with a comment saying why"))
    return out


def problems(context: "Context", runs: list["Run"]) -> list[Problem]:
    """Everything knowable from the sources that would stop a build of ``runs`` (nothing is run or written)."""
    notebooks = list(dict.fromkeys(run.notebook for run in runs))
    calls = {name: cached_notebook_calls(context.layout, name) for name in context.project.notebooks
             if name in notebooks or _records_an_original(context, name, notebooks)}
    return (catalog_file_problems(context.catalog) + undeclared_loads(context, notebooks, calls)
            + unrecorded_claims(context, notebooks, calls))


def _records_an_original(context: "Context", notebook: str, notebooks: list[str]) -> bool:
    """Does a claim of ``notebooks`` restate (duplicate_of) a claim checked by ``notebook``?"""
    if context.register is None:
        return False
    claims = context.register.claims
    return any(c["check"]["notebook"] in notebooks and claims.get(c.get("duplicate_of") or "", {}).get("check", {})
               .get("notebook") == notebook for c in claims.values())


def raise_problems(found: list[Problem]) -> None:
    """PreflightError listing every problem with its fix (nothing was executed)."""
    if found:
        raise PreflightError(
            f"{len(found)} problem(s) found before any notebook ran (nothing was executed):\n    - "
            + "\n    - ".join(str(p) for p in found),
            hint="fix each problem as its line says, then build again (`python -m analysis status` checks without building)")


def check_datasets(catalog: Catalog, names, *, store: bool = True) -> None:
    """Verify the checksum of every dataset in ``names``, then its schema (DataIntegrityError / SchemaError
    naming the file, with what to revert when the file was reverted without its catalog entry).

    Only when every file passed are the newly validated typed tables cached (``store``), so the runs do
    not validate again.
    """
    from .datasets import undo_advice

    names = sorted(set(names))
    hashes = {}
    for name in names:
        try:
            hashes[name] = catalog.verify_checksum(name)
        except DataIntegrityError as exc:
            raise undo_advice(catalog, name, exc) from None
    fresh = {}
    for name in names:
        if not table_cache_path(catalog, name, hashes[name]).is_file():
            catalog.validate(name)
            if store:
                fresh[name] = read_typed(catalog, name)
    for name, frame in fresh.items():
        store_table(catalog, name, hashes[name], frame)


def check(context: "Context", runs: list["Run"]) -> None:
    """Every check of this module for the runs about to execute; raises before any kernel starts."""
    raise_problems(problems(context, runs))
    check_datasets(context.catalog, {name for run in runs for name in run.datasets})
