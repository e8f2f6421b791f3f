"""The notebooks keep the shape of docs/notebook-shape.md: checked on the committed notebook files."""

from __future__ import annotations

import ast
import json
import re
from collections import defaultdict

import pytest
from conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
SECTIONS = ("Question", "Claims", "Inputs", "Method", "Findings", "Robustness")
MAX_CELL_LINES = 30
MIN_PROSE_RATIO = 0.33


def cells(path, kind):
    nb = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in nb["cells"] if c["cell_type"] == kind]


def prose_ratio(path) -> float:
    md = sum(len(c.splitlines()) for c in cells(path, "markdown"))
    code = sum(len(c.splitlines()) for c in cells(path, "code"))
    return md / max(code, 1)


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 7


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_title_has_no_straight_double_quote(path):
    first = cells(path, "markdown")[0].splitlines()[0]
    assert first.startswith("# ") and '"' not in first, first


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_sections_in_order(path):
    headings = [m.group(1).strip() for c in cells(path, "markdown") for m in re.finditer(r"^## (.+)$", c, re.M)]
    found = [h for h in headings if h in SECTIONS]
    assert found == list(SECTIONS), f"{path.name}: level-2 headings {headings}; expected {SECTIONS} in order"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_cells_are_short(path):
    long = [(i, len(c.splitlines())) for i, c in enumerate(cells(path, "code")) if len(c.splitlines()) > MAX_CELL_LINES]
    assert not long, f"{path.name}: code cells over {MAX_CELL_LINES} lines (index, lines): {long}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_prose_ratio(path):
    ratio = prose_ratio(path)
    print(f"{path.stem}: prose ratio {ratio:.2f}")
    assert ratio >= MIN_PROSE_RATIO, f"{path.name}: markdown/code lines = {ratio:.2f} < {MIN_PROSE_RATIO}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_checked_once_at_the_top(path):
    code = cells(path, "code")
    assert f'parameters.check("{path.stem}", globals())' in code[1], f"{path.name}: the set-up cell must call parameters.check"
    body = "\n".join(code[2:])
    assert "check_choice" not in body and "is not allowed; choose one of" not in body


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_figure_declares_its_datasets(path):
    for source in cells(path, "code"):
        for call in re.findall(r"figures\.record\((.*)", source):
            assert "datasets=" in call or "datasets=" in source, f"{path.name}: figures.record without datasets: {call}"


def test_no_function_defined_in_two_notebooks():
    where = defaultdict(set)
    for path in NOTEBOOKS:
        for source in cells(path, "code"):
            try:
                tree = ast.parse("\n".join(line for line in source.splitlines() if not line.startswith(("%", "!"))))
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    where[node.name].add(path.stem)
    repeated = {name: sorted(nbs) for name, nbs in where.items() if len(nbs) > 1}
    assert not repeated, f"functions defined in more than one notebook (move them to analysis): {repeated}"
