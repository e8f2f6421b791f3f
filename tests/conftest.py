"""Scenario-test helpers: build a temporary copy of a project, run the real CLI in it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from analysis.files import dump_yaml

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclass
class TempProject:
    """A project copied to a temporary folder, with the analysis package beside it."""

    root: Path

    def cli(self, *args: str, check: bool = False, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
        """Run ``python -m analysis ARGS`` in the project; return the completed process."""
        full_env = {**os.environ, **(env or {})}
        full_env.pop("CLAIMCHECK_PROJECT_ROOT", None)
        full_env.setdefault("QUARTO", "")  # renders are opt-in in tests
        if full_env["QUARTO"] == "":
            full_env.pop("QUARTO")
            full_env["PATH"] = os.pathsep.join(p for p in full_env["PATH"].split(os.pathsep) if not (Path(p) / "quarto").exists())
        proc = subprocess.run([sys.executable, "-m", "analysis", *args], cwd=self.root, env=full_env,
                              capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"analysis {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    def path(self, rel: str) -> Path:
        return self.root / rel

    def read_json(self, rel: str):
        return json.loads(self.path(rel).read_text(encoding="utf-8"))

    def manifest(self) -> dict:
        return self.read_json("_build/manifest.json")

    def executed(self) -> list[str]:
        return self.manifest()["executed_this_build"]

    def keep_only_notebook(self, notebook: str, parameter_sets: dict | None = None) -> None:
        """Reduce project.yml to ``notebook`` (others are not under test), adding or replacing parameter sets."""
        import yaml

        path = self.path("project.yml")
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        doc["notebooks"] = {notebook: doc["notebooks"][notebook]}
        doc["notebooks"][notebook]["parameter_sets"].update(parameter_sets or {})
        path.write_text(dump_yaml(doc), encoding="utf-8")

    def claim_records(self, address: str) -> dict[str, dict]:
        """Claim records stored in the executed notebook of run ``address``, by claim id."""
        from analysis.claims import recorded_in

        nb = self.read_json(f"_build/notebooks/{address}.ipynb")
        return {r["claim"]: r for r in recorded_in(nb)}

    def figure_records(self, address: str) -> dict[str, dict]:
        """Figure records (plotted rows) stored in the executed notebook of run ``address``, by label."""
        from analysis.figures import recorded_in

        return recorded_in(self.read_json(f"_build/notebooks/{address}.ipynb"))

    def load(self, dataset: str):
        """A catalog dataset of this project, loaded the way notebooks load it."""
        from analysis.catalog import load
        from analysis.paths import Layout

        return load(dataset, layout=Layout(self.root))

    def accept_hash(self, dataset: str) -> None:
        """Accept a deliberate edit of a dataset with the real `data accept` command."""
        self.cli("data", "accept", dataset, check=True)

    def record_hash_unchecked(self, dataset: str) -> None:
        """Write a dataset's current sha256 and bytes into the catalog WITHOUT the schema check that
        `data accept` makes: simulates a broken file whose checksum was recorded anyway."""
        import hashlib

        dp_path = self.path("data/datapackage.json")
        dp = json.loads(dp_path.read_text(encoding="utf-8"))
        for res in dp["resources"]:
            if res["name"] == dataset:
                data = (self.path("data") / res["path"]).read_bytes()
                res["hash"] = "sha256:" + hashlib.sha256(data).hexdigest()
                res["bytes"] = len(data)
        dp_path.write_text(json.dumps(dp, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def one_row(df, **where):
    """The single row of ``df`` whose columns equal ``where`` (fails the test unless exactly one matches)."""
    rows = df
    for column, wanted in where.items():
        rows = rows[rows[column] == wanted]
    assert len(rows) == 1, (df.attrs.get("dataset"), where, len(rows))
    return rows.iloc[0]


def copy_project(source: Path, dest: Path) -> TempProject:
    """Copy ``source`` (a project without its build outputs) and this repo's analysis package to ``dest``."""
    ignore = shutil.ignore_patterns("_build", "_site", ".venv", "__pycache__", ".git", "*.egg-info", ".pytest_cache",
                                    "tests", "benchmarks")
    shutil.copytree(source, dest, ignore=ignore)
    if not (dest / "analysis").exists():
        shutil.copytree(REPO / "analysis", dest / "analysis", ignore=ignore)
    return TempProject(dest)


def built_notebook(tmp_path_factory, notebook: str, sets: list[str], extra_sets: dict | None = None) -> TempProject:
    """A copy of the real project reduced to ``notebook`` (plus ``extra_sets``), with runs ``sets`` built.

    For module-scoped fixtures: each notebook test file builds its runs once and reads them in every test.
    """
    project = copy_project(REPO, tmp_path_factory.mktemp(notebook) / "project")
    project.keep_only_notebook(notebook, extra_sets)
    project.cli("build", "--no-render", *(f"{notebook}/{s}" for s in sets), check=True)
    return project


@pytest.fixture
def project(tmp_path) -> TempProject:
    """A fresh copy of this repository's real project (notebooks, data, register) to build and mutate."""
    return copy_project(REPO, tmp_path / "project")


@pytest.fixture
def mini(tmp_path) -> TempProject:
    """A fresh copy of the small scenario project (three notebooks, two datasets)."""
    return copy_project(FIXTURES / "miniproject", tmp_path / "mini")


@pytest.fixture(scope="session")
def built_mini(tmp_path_factory) -> TempProject:
    """A copy of the small project built once per session (read-only use)."""
    project = copy_project(FIXTURES / "miniproject", tmp_path_factory.mktemp("built") / "mini")
    project.cli("build", "--no-render", check=True)
    return project


@pytest.fixture(scope="session")
def real_build(tmp_path_factory) -> tuple[TempProject, subprocess.CompletedProcess]:
    """The real project copied and built once per session with `check` (build without render, then compare
    with claims/lock.json): (project, the completed `check`). Read it; copy it to change it."""
    project = copy_project(REPO, tmp_path_factory.mktemp("real") / "project")
    return project, project.cli("check", timeout=2400)
