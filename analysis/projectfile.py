"""Reading project.yml: every check of the project file, in one place.

:func:`read_project_file` parses the file with the strict YAML loader (duplicate keys, aliases and
unknown tags refused with their lines), checks it against the typed schema
(:class:`analysis.schemas.ProjectFile`: unknown keys with a "did you mean", wrong types, a timeout out
of range, rules that do not compile, parameter sets without ``default``), then what the schema
cannot know: that each notebook's file exists. The result is plain data that ``parameters`` (the
check every notebook makes at its top) and ``project`` (runs and parameter sets) build on, so
imports point one way: ``files <- projectfile <- parameters <- project``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from .errors import ProjectFileError
from .files import parse_yaml, read_text, seen_valid
from .paths import Layout
from .vocabulary import DEFAULT_CELL_TIMEOUT, DEFAULT_SET
DEFAULT_TITLE = "Claims report"


@dataclass(frozen=True)
class NotebookEntry:
    """One notebook of project.yml, checked: its datasets, parameter sets, constraints and rules as written."""

    name: str
    title: str
    datasets: tuple[str, ...]
    parameter_sets: dict[str, dict[str, Any]]
    constraints: dict[str, dict] = field(default_factory=dict)  # parameter -> {choices, min, max}
    rules: tuple[dict, ...] = ()  # {require, why, when}


@dataclass(frozen=True)
class ProjectFileData:
    """project.yml, checked."""

    title: str
    cell_timeout: float
    notebooks: dict[str, NotebookEntry]


_READ: dict[tuple, ProjectFileData] = {}


def read_project_file(layout: Layout) -> ProjectFileData:
    """project.yml of ``layout``, checked; ProjectFileError (or FileError) naming the file, line and field.

    Read once per version of the file in a process (a build and every notebook's parameter check ask).
    """
    path = layout.project_file
    try:
        stat = os.stat(path)
        key = (str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    except OSError:
        key = None
    if key is not None and key in _READ:
        return _READ[key]
    rel = layout.relative(path)
    text = read_text(path, limit=_limit())
    raw = parse_yaml(text, source=rel, hint=f"fix the line named above (git diff {rel} shows what changed)")
    if not isinstance(raw, dict):
        raise ProjectFileError(f"{rel}: expected a mapping with a 'notebooks' mapping, found {type(raw).__name__}",
                               hint="see docs/conventions.md for the project file layout")
    if not seen_valid(layout, "project-file", text):
        from . import schemas

        schemas.check(schemas.ProjectFile, raw, source=rel, text=text, error=ProjectFileError, place=schemas.project_place,
                      hint="see docs/conventions.md for the project file layout")
        seen_valid(layout, "project-file", text, remember=True)
    notebooks = {}
    for name, entry in raw["notebooks"].items():
        entry = entry or {}
        if not layout.notebook_source(name).is_file():
            raise ProjectFileError(f"{rel}: notebook {name!r}: notebooks/{name}.ipynb does not exist",
                                   hint="create the notebook or remove its entry")
        sets = entry.get("parameter_sets") or {DEFAULT_SET: {}}
        notebooks[name] = NotebookEntry(
            name=name,
            title=entry.get("title") or name,
            datasets=tuple(entry.get("datasets") or ()),
            parameter_sets={k: dict(v or {}) for k, v in sets.items()},
            constraints={k: dict(v or {}) for k, v in (entry.get("parameters") or {}).items()},
            rules=tuple(entry.get("rules") or ()),
        )
    timeout = raw.get("cell_timeout")
    data = ProjectFileData(title=raw.get("title") or DEFAULT_TITLE, notebooks=notebooks,
                           cell_timeout=DEFAULT_CELL_TIMEOUT if timeout is None else timeout)
    if key is not None:
        _READ[key] = data
    return data


def _limit() -> int:
    from .files import MAX_PROJECT_FILE_BYTES

    return MAX_PROJECT_FILE_BYTES
