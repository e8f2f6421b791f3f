"""Helpers for the report, review and release scenario tests (used by tests/test_report.py and friends)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES, REPO, TempProject, copy_project

FIGURE = "alpha/default#fig-shares"
CLAIMS = ("usa-share-2010", "usa-gerd-2020", "china-ratio")


def add_report_sources(project: TempProject) -> TempProject:
    """Give a temporary project this repository's _quarto.yml, hand-written report sources (report/*.qmd,
    headlines, styles), the verdict policy, and its own bibliography."""
    shutil.copy2(REPO / "_quarto.yml", project.path("_quarto.yml"))
    project.path("report").mkdir(exist_ok=True)
    for source in (REPO / "report").iterdir():
        if source.suffix in (".qmd", ".yml", ".css"):
            shutil.copy2(source, project.path("report") / source.name)
    project.path("docs").mkdir(exist_ok=True)
    shutil.copy2(REPO / "docs" / "verdict-policy.md", project.path("docs") / "verdict-policy.md")
    project.cli("data", "bib", check=True)
    return project


def report_mini(dest: Path) -> TempProject:
    """A copy of the mini project with the report sources (not built)."""
    return add_report_sources(copy_project(FIXTURES / "miniproject", dest))


@pytest.fixture(scope="session")
def built_report(tmp_path_factory) -> TempProject:
    """The mini project with the report sources, built once per session (no render); copy it to change it."""
    project = report_mini(tmp_path_factory.mktemp("report") / "mini")
    project.cli("build", "--no-render", check=True)
    return project


def build(project: TempProject) -> None:
    project.cli("build", "--no-render", check=True)


def generated(project: TempProject, name: str) -> str:
    return project.path(f"_build/report/{name}").read_text(encoding="utf-8")


def set_value(project: TempProject, dataset_file: str, entity: str, year: int, value) -> None:
    """Change one value in a raw CSV of the project (entity, year) and accept the new hash."""
    path = project.path(dataset_file)
    lines = path.read_text().splitlines()
    out = []
    for line in lines:
        cells = line.split(",")
        if cells[0] == entity and cells[1] == str(year):
            cells[3] = str(value)
        out.append(",".join(cells))
    path.write_text("\n".join(out) + "\n")
    dataset = {"data/raw/src-one/values.csv": "src-one.values", "data/raw/src-two/values.csv": "src-two.values"}[dataset_file]
    project.accept_hash(dataset)


def bump_version(project: TempProject, version: str) -> None:
    """Set analysis.__version__ in the project's copy of the package."""
    init = project.path("analysis/__init__.py")
    init.write_text(re.sub(r'__version__ = "[^"]+"', f'__version__ = "{version}"', init.read_text()))


def commit(project: TempProject, message: str = "test commit") -> None:
    """Commit every change of the project (a git repository is made first, ignoring build outputs): a release
    is recorded only from a committed tree."""
    import subprocess

    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org", "PATH": "/usr/bin:/bin", "HOME": str(project.root)}
    if not project.path(".git").exists():
        project.path(".gitignore").write_text("/_build/\n/_site/\n__pycache__/\n")
        subprocess.run(["git", "init", "-q"], cwd=project.root, check=True, env=env)
    subprocess.run(["git", "add", "-A"], cwd=project.root, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", message], cwd=project.root, check=True, env=env)


def review_records(project: TempProject) -> list[Path]:
    root = project.path("reviews")
    return sorted(root.rglob("*.yml")) if root.is_dir() else []


def index(project: TempProject) -> dict:
    return json.loads(project.path("_build/review/index.json").read_text())
