"""pyproject.toml and environment.yml declare the same packages (environment.yml adds Quarto)."""

from __future__ import annotations

import re
import tomllib

import yaml

from conftest import REPO

CONDA_ONLY = {"python", "quarto", "pip"}
# pip name -> conda-forge name, where they differ
CONDA_NAMES = {"jupyter_client": "jupyter_client"}


def _split(requirement: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement)
    return match.group(1).lower().replace("-", "_"), match.group(2).replace(" ", "")


def test_environment_yml_matches_pyproject():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    pip = dict(_split(r) for r in pyproject["project"]["dependencies"])
    pip.update(_split(r) for r in pyproject["project"]["optional-dependencies"]["test"])
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda = dict(_split(d) for d in env["dependencies"] if isinstance(d, str))
    conda_packages = {k: v for k, v in conda.items() if k not in CONDA_ONLY}
    assert conda_packages == pip, (
        "environment.yml and pyproject.toml disagree:\n"
        f"  only in pyproject: {sorted(set(pip) - set(conda_packages))}\n"
        f"  only in environment.yml: {sorted(set(conda_packages) - set(pip))}\n"
        f"  different pins: {sorted(k for k in set(pip) & set(conda_packages) if pip[k] != conda_packages[k])}"
    )
    assert "quarto" in conda, "environment.yml must provide quarto"
    pip_section = [d for d in env["dependencies"] if isinstance(d, dict)]
    assert pip_section and "-e ." in pip_section[0]["pip"], "environment.yml must install the project itself"


def test_render_extra_offers_quarto_for_pip_users():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert any(r.startswith("quarto-cli") for r in pyproject["project"]["optional-dependencies"]["render"])
