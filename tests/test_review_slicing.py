"""A figure's own derivation (analysis.review.slicing): the statements its plotted rows and its drawing
depend on, resolved with Python's scopes, and never another figure's drawing code. Checked on small
notebooks written here, on every figure of the repository's notebooks, and on the review packet of
every figure the real report shows (the session's one real-project build)."""

from __future__ import annotations

import ast
import json
import re

import pytest
from conftest import REPO

from analysis.cells import cell_labels
from analysis.review.slicing import Slicer, derivation

PLOTTING = {"plt", "sns", "matplotlib", "mpl"}


def code(*cells, labels=None):
    """A notebook of code cells (a cell is a string; a (tag, string) pair is tagged)."""
    out = []
    for cell in cells:
        tags, source = ([cell[0]], cell[1]) if isinstance(cell, tuple) else ([], cell)
        out.append({"cell_type": "code", "metadata": {"tags": tags}, "source": source, "outputs": []})
    return {"cells": out}


def kept_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


NOTEBOOK = {"cells": [
    {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "year = 2010\nunused = 1\n"},
    {"cell_type": "code", "metadata": {}, "source": [
        "%matplotlib inline\n", "import analysis\n", "import pandas as pd\n", "from analysis import figures\n",
        "one = analysis.load('src-one.values')\n", "two = analysis.load('src-two.values')\n"]},
    {"cell_type": "markdown", "metadata": {}, "source": "## Method"},
    {"cell_type": "code", "metadata": {}, "source": [
        "rows = one[one.year <= year].copy()\n", "rows['pct'] = rows['value'] * 100\n",
        "other = two.groupby('entity').sum()\n", "for r in []:\n", "    rows.loc[len(rows)] = r\n"]},
    {"cell_type": "code", "metadata": {}, "source": "#| label: fig-x\nax = rows.plot()\n"},
    {"cell_type": "code", "metadata": {}, "source": "figures.record('fig-x', rows, datasets=[one])\nfigures.record('fig-y', other, datasets=[two])\n"},
]}


def test_derivation_is_the_def_use_slice_of_the_rows_and_the_drawing():
    text = derivation(NOTEBOOK, "fig-x")
    assert kept_lines(text) == [
        "year = 2010",
        "import analysis",
        "one = analysis.load('src-one.values')",
        "rows = one[one.year <= year].copy()",
        "rows['pct'] = rows['value'] * 100",
        "for r in []:",
        "    rows.loc[len(rows)] = r",
        "ax = rows.plot()",
        "figures.record('fig-x', rows, datasets=[one])",
    ]
    assert "# --- cell 0 (parameters)" in text and "# --- cell 3" in text and "# --- cell 4 (draws it)" in text
    other = derivation(NOTEBOOK, "fig-y")
    assert "two = analysis.load('src-two.values')" in other and "src-one" not in other and "year" not in other
    assert derivation(NOTEBOOK, "fig-z") is None


SCOPES = code(
    "import matplotlib.pyplot as plt\nimport seaborn as sns\nfrom analysis import figures\nfigures.style()\n"
    "import analysis\nparameters_checked = analysis.check(globals())\n",
    "table = analysis.load('t')\npoints = []\n\n"
    "def add_point(year, share):\n    points.append({'year': year, 'share': share})\n\n"
    "def interpolate(yr):\n    lo, hi = yr - 1, yr + 1\n    return (lo + hi) / 2\n",
    "add_point(2000, 0.3)\nadd_point(2010, interpolate(2010))\n",
    "#| label: fig-one\nfig, ax = plt.subplots()\nlo, hi = 0, 1\nfor ax_i in [ax]:\n    ax_i.set_ylim(lo, hi)\n"
    "sns.lineplot(data=points, ax=ax)\nplt.show()\n",
    "figures.record('fig-one', points, datasets=[table])\n",
    "rows = [{'year': y, 'v': interpolate(y)} for y in (2001, 2002)]\n"
    "for text in ['a']:\n    text.upper()\n",
    "#| label: fig-two\nfig, ax = plt.subplots()\nsns.barplot(data=rows, ax=ax)\nfor text in ax.get_legend().get_texts():\n"
    "    text.set_text('x')\nplt.show()\n",
    "figures.record('fig-two', rows, datasets=[table])\n",
)


def test_names_are_resolved_as_python_scopes_them():
    two = derivation(SCOPES, "fig-two")
    # interpolate's local lo, hi and the loop variable `text` do not pull in fig-one's drawing cell
    assert "fig-one" not in two and "ax_i" not in two and "lineplot" not in two and "lo, hi = 0, 1" not in two
    assert "def interpolate(yr):" in two and "rows = [{'year': y" in two and "sns.barplot" in two
    assert "figures.style()" in two  # sets how every figure looks: kept with the plotting modules
    assert "parameters_checked" not in two and "add_point(2000" not in two and "for text in ['a']" not in two
    one = derivation(SCOPES, "fig-one")
    # a call of a notebook function that appends to a global changes that global
    assert "add_point(2000, 0.3)" in one and "add_point(2010, interpolate(2010))" in one and "points = []" in one
    assert "barplot" not in one and "rows = " not in one


@pytest.mark.parametrize("path", sorted((REPO / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_no_figure_of_the_notebooks_slices_in_another_figures_drawing_code(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    slicer = Slicer(notebook)
    labels = [label for label in cell_labels(notebook) if label.startswith(("fig-", "tbl-"))]
    assert labels
    for label in labels:
        kept = slicer.slice(label)
        assert kept, label
        assert any(cell.label == label for cell, _ in kept), f"{label}: its own drawing cell is not in its slice"
        for cell, statement in kept:
            if cell.label and cell.label != label:
                assert not drawing(statement.node, cell.source), (
                    f"{path.name} {label}: cell {cell.index} ({cell.label}) drawing code in the slice: "
                    + ast.get_source_segment(cell.source, statement.node))


def drawing(node: ast.stmt, cell_source: str) -> bool:
    """Drawing code: a call made for its effect (plot, show, display), a call on a plotting module, or a use
    of the figure and axes a plotting call made in that cell."""
    if isinstance(node, ast.Expr):
        return True
    plotted = set()
    for stmt in ast.parse(cell_source).body:
        if isinstance(stmt, ast.Assign) and any(_root(c.func) in PLOTTING for c in ast.walk(stmt.value) if isinstance(c, ast.Call)):
            plotted |= {n.id for t in stmt.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and _root(sub.func) in PLOTTING:
            return True
        if isinstance(sub, ast.Name) and sub.id in plotted:
            return True
    return False


def _root(node):
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def test_the_packet_of_every_report_figure_holds_its_own_derivation_only(real_build):
    """The real project, as the session built it: each figure the report shows has a derivation.py in its
    packet that holds its own drawing cell and no other figure's drawing code."""
    project, _ = real_build
    index = project.read_json("_build/review/index.json")
    report = [fid for fid, e in index["figures"].items() if e["in_report"]]
    assert len(report) >= 30, len(report)
    for fid in report:
        entry = index["figures"][fid]
        packet = project.path(entry["packet"])
        text = (packet / "derivation.py").read_text(encoding="utf-8")
        own = json.loads((packet / "provenance.json").read_text())["cell_index"]
        notebook = project.read_json(f"_build/notebooks/{entry['run']}.ipynb")
        cells = {c["index"]: (label, c["source"]) for label, c in cell_labels(notebook).items()}
        sections = dict(re.findall(r"^# --- cell (\d+)[^\n]*\n(.*?)(?=^# --- cell |\Z)", text, flags=re.M | re.S))
        assert str(own) in sections and f"# --- cell {own} (draws it)" in text, fid
        for index_text, body in sections.items():
            label, source = cells.get(int(index_text), (None, None))
            if label is None or label == entry["label"]:
                continue
            for stmt in ast.parse(body).body:
                assert not drawing(stmt, source), f"{fid}: {label}'s drawing code in derivation.py: {ast.unparse(stmt)}"
