"""The project file (project.yml): notebooks, their parameter sets and the datasets each reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import yaml

from .errors import ClaimcheckError, ParameterError, ProjectFileError
from .files import parse_yaml, read_text
from .parameters import Constraint, ParameterSpec, Rule, read_parameters
from .paths import Layout

DEFAULT_SET = "default"
BUILD_FOLDER = "_build"  # a `reads` path under it is written by the build itself (see Run.after_ledger)
DEFAULT_CELL_TIMEOUT = 600  # seconds one notebook cell may run; project.yml `cell_timeout` or `build --timeout`


@dataclass(frozen=True)
class Run:
    """One execution of a notebook with one parameter set; its address is ``<notebook>/<set>``."""

    notebook: str
    parameter_set: str
    parameters: dict[str, Any]
    datasets: tuple[str, ...]
    reads: tuple[str, ...] = ()  # project files it reads besides catalog datasets (project.yml `reads`)

    @property
    def address(self) -> str:
        return f"{self.notebook}/{self.parameter_set}"

    @property
    def after_ledger(self) -> bool:
        """True when the run reads what the build writes (``_build/...``, e.g. the claims ledger): it runs
        after every other run, once the ledger of this build is written."""
        return any(path.split("/", 1)[0] == BUILD_FOLDER for path in self.reads)


@dataclass
class NotebookConfig:
    name: str
    title: str
    datasets: tuple[str, ...]
    parameter_sets: dict[str, dict[str, Any]]
    constraints: dict[str, Constraint] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    reads: tuple[str, ...] = ()


@dataclass
class Project:
    """A loaded, checked project file."""

    layout: Layout
    title: str
    notebooks: dict[str, NotebookConfig]
    cell_timeout: float = DEFAULT_CELL_TIMEOUT

    @classmethod
    def load(cls, layout: Layout | None = None) -> "Project":
        """Read and check project.yml (structure only; parameters are checked by :meth:`runs`)."""
        layout = layout or Layout.find()
        path = layout.project_file
        try:
            raw = parse_yaml(read_text(path))
        except yaml.YAMLError as exc:
            raise ProjectFileError(f"{layout.relative(path)} is not valid YAML: {exc}",
                                   hint="fix the line named above (git diff project.yml shows what changed)") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("notebooks"), dict):
            raise ProjectFileError(
                f"{path}: expected a mapping with a 'notebooks' mapping",
                hint="see docs/conventions.md for the project file layout",
            )
        notebooks = {}
        for name, entry in raw["notebooks"].items():
            where = f"{path.name}: notebook {name!r}"
            if not isinstance(entry, dict):
                raise ProjectFileError(f"{where}: expected a mapping")
            unknown = set(entry) - {"title", "datasets", "reads", "parameter_sets", "parameters", "rules"}
            if unknown:
                raise ProjectFileError(
                    f"{where}: unknown key(s) {sorted(unknown)}",
                    hint="allowed keys are title, datasets, reads, parameter_sets, parameters, rules",
                )
            if not layout.notebook_source(name).is_file():
                raise ProjectFileError(
                    f"{where}: notebooks/{name}.ipynb does not exist",
                    hint="create the notebook or remove its entry",
                )
            datasets = entry.get("datasets") or []
            if not isinstance(datasets, list) or not all(isinstance(d, str) for d in datasets):
                raise ProjectFileError(f"{where}: 'datasets' must be a list of dataset names")
            reads = entry.get("reads") or []
            if (not isinstance(reads, list) or not all(isinstance(r, str) and r and not r.startswith("/")
                                                        and ".." not in r.split("/") for r in reads)):
                raise ProjectFileError(f"{where}: 'reads' must be a list of paths relative to the project root",
                                       hint="e.g. reads: [_build/ledger.json] for a notebook that reads the claims ledger")
            sets = entry.get("parameter_sets") or {DEFAULT_SET: {}}
            if not isinstance(sets, dict) or not all(isinstance(v or {}, dict) for v in sets.values()):
                raise ProjectFileError(f"{where}: 'parameter_sets' must map set names to mappings")
            if DEFAULT_SET not in sets:
                raise ProjectFileError(f"{where}: parameter_sets needs a {DEFAULT_SET!r} set")
            for set_name in sets:
                if "/" in set_name or not set_name:
                    raise ProjectFileError(f"{where}: parameter set name {set_name!r} may not be empty or contain '/'")
            try:
                constraints = {k: Constraint.from_mapping(v) for k, v in (entry.get("parameters") or {}).items()}
            except (ValueError, AttributeError) as exc:
                raise ProjectFileError(f"{where}: bad 'parameters' constraints: {exc}") from exc
            try:
                rules = tuple(Rule.from_mapping(r) for r in (entry.get("rules") or []))
            except ValueError as exc:
                raise ProjectFileError(f"{where}: bad 'rules': {exc}") from exc
            notebooks[name] = NotebookConfig(
                name=name,
                title=entry.get("title", name),
                datasets=tuple(datasets),
                parameter_sets={k: dict(v or {}) for k, v in sets.items()},
                constraints=constraints,
                rules=rules,
                reads=tuple(reads),
            )
        timeout = raw.get("cell_timeout", DEFAULT_CELL_TIMEOUT)
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
            raise ProjectFileError(f"{path.name}: cell_timeout must be a positive number of seconds, found {timeout!r}",
                                   hint=f"e.g. `cell_timeout: {DEFAULT_CELL_TIMEOUT}` (the default)")
        return cls(layout=layout, title=raw.get("title", "Claims report"), notebooks=notebooks, cell_timeout=timeout)

    @cached_property
    def parameter_specs(self) -> dict[str, ParameterSpec]:
        return {name: self.parameter_spec(name) for name in self.notebooks}

    def parameter_spec(self, name: str) -> ParameterSpec:
        """The parameters of notebook ``name`` (read once); ParameterError or FileError pointing at the notebook."""
        cache = self.__dict__.setdefault("_specs", {})
        if name not in cache:
            cfg = self.notebooks[name]
            cache[name] = ParameterSpec(name, read_parameters(self.layout.notebook_source(name)), cfg.constraints, cfg.rules,
                                        self.layout)
        return cache[name]

    def runs(self, selection: list[str] | None = None) -> list[Run]:
        """Every run (or those selected by notebook name or run address), with checked parameters.

        Raises ParameterError listing every invalid parameter set before anything runs. The answer is
        kept for the life of this object (a build asks several times; rules may read data).
        """
        key = tuple(selection or ())
        memo = self.__dict__.setdefault("_runs", {})
        if key not in memo:
            memo[key] = self._checked_runs(selection)
        return list(memo[key])

    def _checked_runs(self, selection: list[str] | None) -> list[Run]:
        selected = self._select(selection)
        runs, problems = [], []
        for name in dict.fromkeys(n for n, _ in selected):  # a damaged notebook is reported once, not per set
            try:
                self.parameter_spec(name)
            except ClaimcheckError as exc:
                raise type(exc)(f"notebook {name!r}: {exc.message}", hint=exc.hint) from None
        for name, set_name in selected:
            cfg = self.notebooks[name]
            try:
                values = self.parameter_spec(name).resolve(set_name, cfg.parameter_sets[set_name])
            except ParameterError as exc:
                problems.append(exc.message)
                continue
            runs.append(Run(name, set_name, values, cfg.datasets, cfg.reads))
        if problems:
            raise ParameterError(
                "\n".join(problems),
                hint="fix the parameter sets in project.yml; papermill itself would not check them",
            )
        return runs

    def _select(self, selection: list[str] | None) -> list[tuple[str, str]]:
        everything = [(n, s) for n, cfg in self.notebooks.items() for s in cfg.parameter_sets]
        if not selection:
            return everything
        chosen = []
        for item in selection:
            item = item.removesuffix(".ipynb").removeprefix("notebooks/")
            name, _, set_name = item.partition("/")
            if name not in self.notebooks:
                from .names import did_you_mean

                raise ProjectFileError(
                    f"no notebook {name!r} in project.yml{did_you_mean(name, self.notebooks)}",
                    hint="known notebooks: " + ", ".join(sorted(self.notebooks)),
                )
            sets = self.notebooks[name].parameter_sets
            if set_name and set_name not in sets:
                from .names import did_you_mean

                raise ProjectFileError(
                    f"notebook {name!r} has no parameter set {set_name!r}{did_you_mean(set_name, sets)}",
                    hint="known sets: " + ", ".join(sorted(sets)),
                )
            chosen += [(name, s) for s in ([set_name] if set_name else sets) if (name, s) not in chosen]
        return chosen
