"""The project: its notebooks, their parameter sets and the runs they make (project.yml, read and checked
by :mod:`analysis.projectfile`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .errors import ClaimcheckError, ParameterError, ProjectFileError
from .parameters import Constraint, ParameterSpec, Rule, read_parameters
from .paths import Layout
from .projectfile import DEFAULT_CELL_TIMEOUT, DEFAULT_SET, read_project_file

__all__ = ["DEFAULT_CELL_TIMEOUT", "DEFAULT_SET", "NotebookConfig", "Project", "Run"]


@dataclass(frozen=True)
class Run:
    """One execution of a notebook with one parameter set; its address is ``<notebook>/<set>``."""

    notebook: str
    parameter_set: str
    parameters: dict[str, Any]
    datasets: tuple[str, ...]

    @property
    def address(self) -> str:
        return f"{self.notebook}/{self.parameter_set}"


@dataclass
class NotebookConfig:
    name: str
    title: str
    datasets: tuple[str, ...]
    parameter_sets: dict[str, dict[str, Any]]
    constraints: dict[str, Constraint] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()


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
        data = read_project_file(layout)
        notebooks = {
            name: NotebookConfig(
                name=name,
                title=entry.title,
                datasets=entry.datasets,
                parameter_sets={k: dict(v) for k, v in entry.parameter_sets.items()},
                constraints={k: Constraint.from_mapping(v) for k, v in entry.constraints.items()},
                rules=tuple(Rule.from_mapping(r) for r in entry.rules),
            )
            for name, entry in data.notebooks.items()
        }
        return cls(layout=layout, title=data.title, notebooks=notebooks, cell_timeout=data.cell_timeout)

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
            runs.append(Run(name, set_name, values, cfg.datasets))
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
