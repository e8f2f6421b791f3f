"""Repository-wide conventions (repo-scan tests in the manner of owid/etl)."""

from __future__ import annotations

import json

import yaml

from conftest import REPO


def _notebooks():
    return sorted((REPO / "notebooks").glob("*.ipynb")) + sorted((REPO / "tests/fixtures").rglob("notebooks/*.ipynb"))


def test_source_notebooks_are_committed_without_outputs():
    dirty = []
    for path in _notebooks():
        nb = json.loads(path.read_text(encoding="utf-8"))
        for i, cell in enumerate(nb["cells"]):
            if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
                dirty.append(f"{path.relative_to(REPO)} cell {i}")
    assert not dirty, "notebooks must be committed without outputs: " + ", ".join(dirty)


def test_every_notebook_has_a_parameters_cell_and_a_project_entry():
    project = yaml.safe_load((REPO / "project.yml").read_text())
    declared = set(project["notebooks"] or {})
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert tagged, f"{path.name} has no cell tagged 'parameters'"
        assert path.stem in declared, f"{path.name} is not declared in project.yml"
    for name in declared:
        assert (REPO / "notebooks" / f"{name}.ipynb").is_file(), f"project.yml declares missing notebook {name}"


def test_notebooks_read_data_only_through_the_catalog():
    offenders = []
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            if cell["cell_type"] == "code" and any(s in src for s in ("read_csv(", "data/raw", "open(")):
                offenders.append(path.name)
    assert not offenders, f"notebooks must load data with analysis.load(): {sorted(set(offenders))}"


def test_register_claims_point_at_declared_runs():
    from analysis.build import check_register_against_project
    from analysis.claims import Register
    from analysis.paths import Layout
    from analysis.project import Project

    layout = Layout(REPO)
    project = Project.load(layout)
    if not project.notebooks:
        return
    check_register_against_project(Register.load(layout), project)


def test_every_register_quote_is_verbatim_in_its_document():
    """analysis/quotes.py against ../shared/seeds (or $CLAIMCHECK_DOCUMENTS): each document is found by the sha256
    the register records for it. Without the folder the test is skipped with the reason, and `check` and
    `status` print the same reason (tests/test_adding.py checks that)."""
    import pytest

    from analysis.claims import Register
    from analysis.paths import Layout
    from analysis.quotes import check_quotes, documents_dir

    layout = Layout(REPO)
    register = Register.load(layout)
    assert all(doc.get("sha256") for doc in register.documents.values()), "every document records the sha256 of its text"
    if not documents_dir(layout).is_dir():
        pytest.skip(f"quotes not checked: {documents_dir(layout)} does not exist (the documents are kept outside the "
                    "repository; set CLAIMCHECK_DOCUMENTS to the folder that holds them)")
    result = check_quotes(layout, register)
    assert not result.skipped, f"documents not found by their sha256: {result.skipped}"
    assert not result.missing, "quotes not found verbatim in their documents:\n" + "\n".join(result.missing)
    assert sum(result.checked.values()) == len(register.claims)
