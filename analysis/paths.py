"""Where everything lives. One address scheme: the address of a thing is also its path and cache key.

* dataset ``<source-id>.<table>``         -> ``data/raw/<source-id>/<table>.csv``
* notebook ``<name>``                    -> ``notebooks/<name>.ipynb``
* run ``<notebook>/<parameter-set>``     -> ``_build/notebooks/<notebook>/<parameter-set>.ipynb``
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .errors import ProjectFileError

PROJECT_FILE = "project.yml"
ROOT_ENV = "CLAIMCHECK_PROJECT_ROOT"


def find_root(start: Path | str | None = None) -> Path:
    """Return the project root: $CLAIMCHECK_PROJECT_ROOT, else the nearest folder holding project.yml."""
    env = os.environ.get(ROOT_ENV)
    if env:
        root = Path(env).resolve()
        if not (root / PROJECT_FILE).is_file():
            raise ProjectFileError(
                f"${ROOT_ENV} points at {root}, which has no {PROJECT_FILE}",
                hint=f"unset {ROOT_ENV} or point it at the project folder",
            )
        return root
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    raise ProjectFileError(
        f"no {PROJECT_FILE} found in {here} or any folder above it",
        hint="run the command inside the project folder",
    )


@dataclass(frozen=True)
class Layout:
    """Paths of one project, all derived from its root (each computed once: a build asks thousands of times)."""

    root: Path

    @classmethod
    def find(cls, start: Path | str | None = None) -> "Layout":
        """Layout of the project containing ``start`` (default: the working directory)."""
        return cls(find_root(start))

    # sources
    @cached_property
    def project_file(self) -> Path:
        return self.root / PROJECT_FILE

    @cached_property
    def package_dir(self) -> Path:
        return self.root / "analysis"

    @cached_property
    def notebooks_dir(self) -> Path:
        return self.root / "notebooks"

    @cached_property
    def data_dir(self) -> Path:
        return self.root / "data"

    @cached_property
    def datapackage(self) -> Path:
        return self.data_dir / "datapackage.json"

    @cached_property
    def register(self) -> Path:
        return self.root / "claims" / "register.yml"

    @cached_property
    def lock(self) -> Path:
        return self.root / "claims" / "lock.json"

    @cached_property
    def report_dir(self) -> Path:
        return self.root / "report"

    @cached_property
    def reviews_dir(self) -> Path:
        return self.root / "reviews"

    @cached_property
    def releases_dir(self) -> Path:
        return self.root / "releases"

    # build outputs: everything below _build/ is disposable
    @cached_property
    def build_dir(self) -> Path:
        return self.root / "_build"

    @cached_property
    def executed_dir(self) -> Path:
        return self.build_dir / "notebooks"

    @cached_property
    def failed_dir(self) -> Path:
        return self.build_dir / "failed"

    @cached_property
    def state_dir(self) -> Path:
        return self.build_dir / ".state"

    @cached_property
    def manifest(self) -> Path:
        return self.build_dir / "manifest.json"

    @cached_property
    def generated_report_dir(self) -> Path:
        return self.build_dir / "report"

    @cached_property
    def review_packets_dir(self) -> Path:
        return self.build_dir / "review"

    @cached_property
    def build_lock(self) -> Path:
        return self.build_dir / ".build.lock"

    def notebook_source(self, notebook: str) -> Path:
        return self.notebooks_dir / f"{notebook}.ipynb"

    def executed_notebook(self, address: str) -> Path:
        return self.executed_dir / f"{address}.ipynb"

    def run_record(self, address: str) -> Path:
        return self.executed_dir / f"{address}.run.json"

    def dataset_file(self, name: str) -> Path:
        source_id, _, table = name.partition(".")
        return self.data_dir / "raw" / source_id / f"{table}.csv"

    def relative(self, path: Path) -> str:
        """``path`` relative to the root, with forward slashes (for messages and records)."""
        try:
            return Path(path).resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)
