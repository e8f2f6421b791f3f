"""Notebook parameters: read the papermill ``parameters`` cell and check parameter sets against it.

papermill injects whatever it is given; this module rejects unknown names and wrong types *before*
any notebook runs, naming the notebook and the parameter. The rules live in one place, project.yml:

* per parameter, ``choices``, ``min`` and ``max`` (the type comes from the default in the notebook);
* per notebook, ``rules``: conditions that span parameters or depend on data, each a Python
  expression over the parameter names and the data functions ``years``, ``value`` and ``values``
  (see :func:`rule_namespace`), with an optional ``when`` and a ``why`` for the message.

The build checks every parameter set before any kernel starts; each notebook calls
:func:`check` at its top so that runs started elsewhere (JupyterLab, plain papermill) meet the
same rules.
"""

from __future__ import annotations

import ast
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ParameterError

TYPE_NAMES = {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "dict", type(None): "None"}


@dataclass(frozen=True)
class Parameter:
    """One parameter of a notebook: its default (whose type is the parameter's type) and help text."""

    name: str
    default: Any
    help: str = ""

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(type(self.default), type(self.default).__name__)

    def accepts(self, value: Any) -> bool:
        """True if ``value`` has this parameter's type (an int is accepted where a float is expected)."""
        expected = type(self.default)
        if self.default is None:
            return True
        if expected is bool:
            return isinstance(value, bool)
        if expected is float:
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        if expected is int:
            return isinstance(value, int) and not isinstance(value, bool)
        return isinstance(value, expected)


@dataclass(frozen=True)
class Constraint:
    """Optional extra rules for a parameter, declared in project.yml (choices, minimum, maximum)."""

    choices: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None

    @classmethod
    def from_mapping(cls, mapping: dict) -> "Constraint":
        """A constraint as project.yml writes it (``choices``, ``min``, ``max``; checked by its schema)."""
        choices = mapping.get("choices")
        return cls(tuple(choices) if choices is not None else None, mapping.get("min"), mapping.get("max"))

    def violation(self, value: Any) -> str | None:
        if self.choices is not None and value not in self.choices:
            return f"expected one of {list(self.choices)}"
        try:
            if self.minimum is not None and value < self.minimum:
                return f"expected at least {self.minimum}"
            if self.maximum is not None and value > self.maximum:
                return f"expected at most {self.maximum}"
        except TypeError:  # a bound of another type in project.yml (min: "0")
            return f"cannot be compared with the bounds min={self.minimum!r}, max={self.maximum!r} (expected numbers)"
        return None


@dataclass(frozen=True)
class Rule:
    """A condition over several parameters (and the data): ``require`` must hold whenever ``when`` does."""

    require: str
    why: str
    when: str | None = None

    @classmethod
    def from_mapping(cls, mapping: dict) -> "Rule":
        """A rule as project.yml writes it (``require``, ``why``, ``when``; its schema checked that they compile)."""
        return cls(mapping["require"], mapping["why"], mapping.get("when"))

    def violation(self, values: dict[str, Any], layout=None) -> str | None:
        """None if the rule holds for ``values``; otherwise what is wrong, in words."""
        namespace = {**rule_namespace(layout), **values}
        try:
            if self.when is not None and not eval(self.when, {"__builtins__": {}}, namespace):  # noqa: S307
                return None
            if eval(self.require, {"__builtins__": {}}, namespace):  # noqa: S307
                return None
        except NameError as exc:
            return f"rule {self.require!r} names something that is not a parameter or data function ({exc})"
        except Exception as exc:  # a data lookup inside the rule failed: say which
            message = getattr(exc, "message", str(exc))
            return f"rule {self.require!r} could not be evaluated: {message}"
        shown = ", ".join(f"{k}={values[k]!r}" for k in sorted(values) if k in self.require + (self.when or ""))
        condition = f"when {self.when}, " if self.when else ""
        return f"{condition}expected {self.require} ({self.why}); got {shown}"


_RULE_TABLES: dict[tuple, Any] = {}


def _rule_table(dataset: str, layout=None):
    """A dataset for rule evaluation, loaded (checksum and schema checked) once per file version.

    Rules are evaluated for every parameter set, several times per command; reloading the catalog
    each time made a no-op build take seconds per rule.
    """
    from .catalog import load
    from .paths import Layout

    layout = layout or Layout.find()
    try:
        files = (layout.datapackage, layout.dataset_file(dataset))
        key = (str(layout.root), dataset) + tuple((f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    except OSError:
        return load(dataset, layout=layout)  # let the load say what is missing
    if key not in _RULE_TABLES:
        _RULE_TABLES[key] = load(dataset, layout=layout)
    return _RULE_TABLES[key]


class RuleAnswers:
    """What the rules' data functions answered, kept under ``_build/.state/rule-answers.json`` per table version.

    A table version is the validated-table cache's name for a dataset (file sha256 + schema hash), so
    an answer is reused only for the very table it was computed from; a file that differs from its
    accepted checksum has no version and is loaded (and refused) as before. Without this, every
    command that checks parameter sets (each build, each notebook's ``check``) loaded and filtered
    the same tables with pandas.
    """

    _open: dict[str, "RuleAnswers"] = {}

    def __init__(self, layout):
        self.layout = layout
        self.path = layout.state_dir / "rule-answers.json"
        self.dirty = False
        try:  # {"sha256": <of the answers' compact JSON>, "answers": {...}}: a damaged file is not trusted
            stored = json.loads(self.path.read_text(encoding="utf-8"))
            self.answers = stored["answers"]
            if not isinstance(self.answers, dict) or stored["sha256"] != _answers_sha256(self.answers):
                self.answers = {}
        except (OSError, ValueError, RecursionError, KeyError, TypeError):
            self.answers = {}

    @classmethod
    def of(cls, layout) -> "RuleAnswers":
        """The answers of ``layout``'s project, read once per process."""
        key = str(layout.root)
        if key not in cls._open:
            cls._open[key] = cls(layout)
        return cls._open[key]

    def table_version(self, dataset: str) -> str | None:
        """The dataset's table version, or None if its file is missing or differs from its accepted checksum."""
        from .catalog import Catalog, table_cache_path
        from .files import fingerprint

        catalog = Catalog.read_only(self.layout)
        if dataset not in catalog.resources:
            return None
        try:
            sha = fingerprint(catalog.path(dataset))
        except OSError:
            return None
        if catalog.entry(dataset)["hash"] != f"sha256:{sha}":
            return None
        return table_cache_path(catalog, dataset, sha).stem

    def answer(self, function, dataset: str, *args, **where):
        """``function(table, *args, **where)`` for ``dataset``'s table, from the store when already known."""
        version = self.table_version(dataset)
        call = json.dumps([function.__name__, args, where], sort_keys=True, default=str)
        known = self.answers.get(version, {}) if version else {}
        if call in known:
            return known[call]
        result = function(_rule_table(dataset, self.layout), *args, **where)
        if version:
            try:
                stored = json.loads(json.dumps(result))
            except (TypeError, ValueError):
                return result  # not plain data: computed each time
            if stored == result:
                self.answers.setdefault(version, {})[call] = stored
                self.dirty = True
        return result

    def save(self) -> None:
        """Write new answers (best effort: a read-only ``_build/`` only costs the reuse)."""
        if not self.dirty:
            return
        from .errors import FileError
        from .files import atomic_write_bytes

        try:
            stored = {"sha256": _answers_sha256(self.answers), "answers": self.answers}
            atomic_write_bytes(self.path, json.dumps(stored, sort_keys=True).encode("utf-8"))
            self.dirty = False
        except (OSError, FileError):
            pass


def _answers_sha256(answers: dict) -> str:
    from .files import compact_json, file_sha256_bytes

    return file_sha256_bytes(compact_json(answers).encode("utf-8"))


def _years(table, **where) -> list[int]:
    from .lookup import rows

    return sorted({int(y) for y in rows(table, **where)["year"].dropna()})


def _value(table, column: str = "value", **where) -> float:
    from .lookup import value as lookup_value

    return lookup_value(table, column, **where)


def _values(table, column: str = "value", **where) -> list:
    from .lookup import rows

    return rows(table, **where)[column].tolist()


def rule_namespace(layout=None) -> dict[str, Any]:
    """Functions a rule may call: data read from the project's catalog, checked like any load."""
    from .paths import Layout

    answers = RuleAnswers.of(layout or Layout.find())

    def years(dataset: str, **where) -> list[int]:
        """The years present in ``dataset`` among the rows matching ``where``."""
        return answers.answer(_years, dataset, **where)

    def value(dataset: str, column: str = "value", **where) -> float:
        """The single ``column`` value of ``dataset`` for the row matching ``where``."""
        return answers.answer(_value, dataset, column, **where)

    def values(dataset: str, column: str = "value", **where) -> list:
        """All ``column`` values of ``dataset`` among the rows matching ``where``."""
        return answers.answer(_values, dataset, column, **where)

    return {"years": years, "value": value, "values": values, "min": min, "max": max, "len": len}


@dataclass
class ParameterSpec:
    """The parameters of one notebook, from its ``parameters`` cell, plus project.yml constraints and rules."""

    notebook: str
    parameters: dict[str, Parameter]
    constraints: dict[str, Constraint] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    layout: Any = None  # the project whose catalog data-dependent rules read

    def defaults(self) -> dict[str, Any]:
        return {name: p.default for name, p in self.parameters.items()}

    def resolve(self, set_name: str, overrides: dict[str, Any]) -> dict[str, Any]:
        """Defaults updated with ``overrides``, after checking names, types and constraints."""
        problems, mistyped = [], set()
        for name, value in overrides.items():
            if name not in self.parameters:
                known = ", ".join(sorted(self.parameters)) or "(none)"
                from .names import did_you_mean

                problems.append(f"unknown parameter {name!r}{did_you_mean(name, self.parameters)} "
                                f"(the notebook's parameters are: {known})")
                continue
            param = self.parameters[name]
            if not param.accepts(value):
                mistyped.add(name)
                problems.append(
                    f"parameter {name!r} = {value!r} is {TYPE_NAMES.get(type(value), type(value).__name__)}, "
                    f"expected {param.type_name} (the default is {param.default!r})"
                )
        values = {**self.defaults(), **{k: v for k, v in overrides.items() if k in self.parameters}}
        for name, constraint in self.constraints.items():
            if name not in self.parameters:
                problems.append(f"project.yml constrains parameter {name!r}, which the notebook does not have")
                continue
            if name in mistyped:  # the type is checked before the range
                continue
            reason = constraint.violation(values[name])
            if reason:
                problems.append(f"parameter {name!r} = {values[name]!r}: {reason}")
        if not problems and self.rules:
            problems += [v for v in (rule.violation(values, self.layout) for rule in self.rules) if v]
            from .paths import Layout

            RuleAnswers.of(self.layout or Layout.find()).save()
        if problems:
            raise ParameterError(
                f"parameter set {set_name!r} of notebook {self.notebook!r} is invalid:\n    "
                + "\n    ".join(problems),
                hint=f"edit the parameter set in project.yml, or the parameters cell of notebooks/{self.notebook}.ipynb",
            )
        return values


def read_parameters(notebook_path: Path) -> dict[str, Parameter]:
    """Parse the cell tagged ``parameters``: each ``name = literal  # help`` line is a parameter."""
    from .errors import shown
    from .files import read_notebook

    nb = read_notebook(notebook_path)
    cells = [c for c in nb["cells"] if isinstance(c, dict) and "parameters" in (c.get("metadata") or {}).get("tags", [])]
    if not cells:
        raise ParameterError(
            f"{shown(notebook_path)} has no cell tagged 'parameters'",
            hint=f"in {shown(notebook_path)}, tag the first code cell 'parameters' (papermill convention) and put "
                 "every parameter there",
        )
    source = cells[0]["source"]
    source = "".join(source) if isinstance(source, list) else source
    lines = source.splitlines()
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ParameterError(f"the parameters cell of {shown(notebook_path)} is not valid Python: {exc.msg} "
                             f"(line {exc.lineno} of the cell)",
                             hint=f"fix the parameters cell of {shown(notebook_path)}; it holds `name = value  # help` lines") from None
    params: dict[str, Parameter] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, value_node = node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name, value_node = node.target.id, node.value
        else:
            continue
        try:
            default = ast.literal_eval(value_node)
        except ValueError as exc:
            raise ParameterError(
                f"parameter {name!r} in {shown(notebook_path)} has a default that is not a literal",
                hint="use a plain number, string, bool, list or dict as the default",
            ) from exc
        line = lines[node.lineno - 1]
        help_text = line.split("#", 1)[1].strip() if "#" in line else ""
        params[name] = Parameter(name, default, help_text)
    return params


def notebook_spec(layout, notebook: str) -> ParameterSpec:
    """The parameters of ``notebook`` (its ``parameters`` cell) with project.yml's constraints and rules."""
    from .errors import ProjectFileError
    from .names import did_you_mean
    from .projectfile import read_project_file

    entries = read_project_file(layout).notebooks
    if notebook not in entries:
        raise ProjectFileError(f"no notebook {notebook!r} in project.yml{did_you_mean(notebook, entries)}",
                               hint="known notebooks: " + ", ".join(sorted(entries)))
    entry = entries[notebook]
    return ParameterSpec(notebook, read_parameters(layout.notebook_source(notebook)),
                         {k: Constraint.from_mapping(v) for k, v in entry.constraints.items()},
                         tuple(Rule.from_mapping(r) for r in entry.rules), layout)


def check(notebook: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """Check the parameter values in ``namespace`` (a notebook's ``globals()``) against project.yml.

    Every notebook calls this at its top, so a run started outside the build (JupyterLab, plain
    papermill) meets the same types, constraints and rules as the build checks before it starts.
    Returns the checked values; raises ParameterError naming the notebook and parameter.
    """
    from .paths import Layout

    spec = notebook_spec(Layout.find(), notebook)
    current = {name: namespace[name] for name in spec.parameters if name in namespace}
    missing = sorted(set(spec.parameters) - set(current))
    if missing:
        raise ParameterError(f"notebook {notebook!r}: parameters {missing} are not defined",
                             hint="run the parameters cell first")
    run = os.environ.get("CLAIMCHECK_RUN", "")
    return spec.resolve(run.partition("/")[2] or "(interactive)", current)
