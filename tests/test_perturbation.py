"""Prose follows the data (docs/verdict-policy.md, section 6).

For each headline notebook one input value is changed in a temporary copy of the project (the CSV is
edited and accepted with the real `data accept`), the notebook's default run is rebuilt, and no text
may still quote the old value, in any of its printed forms, or a number derived from it: neither the
ledger's rationales, caveats and reasons (`_build/ledger.json`) nor the executed notebook's markdown
cells and markdown outputs. The claim's quote and stated value, and values of other datasets, are exempt.

One project copy holds the three notebooks (default parameter sets only) and their claims; it is
built before and after the edits, so that "derived" means: a number the run recorded (its value or a
detail) that moved when the input moved.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass

import pytest
import yaml
from conftest import REPO, copy_project

from analysis.files import dump_yaml

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Case:
    notebook: str
    dataset: str
    where: dict  # column -> value (as written in the CSV) picking the one row to edit
    new: str  # the new value, as written in the CSV
    old_forms: tuple  # how the old value is printed in prose (digits as in text)
    sum_measure: str | None = None  # also check the sum of this measure's values (x100) in the table


CASES = [
    # CRS's 'global' GERD for 2016, USD billion: printed as 1821, 1,821 or 1.821 trillion
    Case("us_share_global_research", "crs-r44283-2018.gerd", {"entity": "WLD", "year": "2016", "measure": "gerd"},
         "1948", ("1821", "1,821", "1.821")),
    # McKinsey's U.S. share of global chip demand (the default demand basis), a fraction
    Case("chips_six_percent", "mint-2023-semiconductor-red-ocean.shares",
         {"entity": "USA", "year": "2023", "measure": "share_of_global_semiconductor_demand"}, "0.31", ("34", "34.0", "0.34")),
    # the ITER Organization's EU construction share; its set of shares sums to a derived total
    Case("iter_contributions", "iter-org-members-page.iter_shares", {"entity": "EU", "measure": "share_of_construction_cost"},
         "0.457", ("45.6", "0.456"), sum_measure="share_of_construction_cost"),
]
IDS = [c.notebook for c in CASES]


def pattern(form: str) -> re.Pattern:
    """A printed number, not part of a longer number or an identifier (``mckinsey_34``, ``2016``)."""
    return re.compile(r"(?<![\w.,])" + re.escape(form) + r"(?!\d|[.,]\d)")


def number_forms(x: float) -> set[str]:
    """How a derived number is printed in prose: two or one decimals (integers are too ambiguous)."""
    forms = {f"{x:.2f}", f"{x:,.2f}"}
    if round(x, 1) != round(x):
        forms |= {f"{x:.1f}", f"{x:,.1f}"}
    return {f for f in forms if not re.fullmatch(r"-?0\.0+", f)}


def numeric_leaves(obj, path=""):
    """(path, number) for every number in a nested record (lists and dicts)."""
    if isinstance(obj, bool) or obj is None:
        return
    if isinstance(obj, (int, float)):
        if math.isfinite(obj):
            yield path, float(obj)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from numeric_leaves(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from numeric_leaves(v, f"{path}[{i}]")


def edit_csv(path, where: dict, new: str) -> str:
    """Set ``value`` of the one row matching ``where``; return the old value as written."""
    text = path.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    hits = [r for r in rows if all(r[k] == v for k, v in where.items())]
    assert len(hits) == 1, (path, where, len(hits))
    old, hits[0]["value"] = hits[0]["value"], new
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return old


def texts(project, notebook: str) -> dict[str, str]:
    """Where prose lives: ledger rationales/caveats/reasons of the notebook's claims, markdown cells and outputs."""
    found = {}
    for row in project.read_json("_build/ledger.json"):
        if row["notebook"] == notebook:
            found[f"ledger {row['claim']}"] = "\n".join([row.get("rationale") or "", row.get("reason") or "",
                                                         *(row.get("caveats") or [])])
    nb = project.read_json(f"_build/notebooks/{notebook}/default.ipynb")
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "markdown":
            found[f"markdown cell {i}"] = "".join(cell["source"])
        for j, output in enumerate(cell.get("outputs", [])):
            md = output.get("data", {}).get("text/markdown")
            if md and "application/vnd.claimcheck.claim+json" not in output.get("data", {}):
                found[f"output of cell {i} #{j}"] = as_read("".join(md) if isinstance(md, list) else md)
    return found


def as_read(markdown: str) -> str:
    """Markdown as a reader reads it: without the zero-width spaces (break hints) and backslash escapes
    that analysis.tables puts in identifiers, so the name mckinsey_34 is not read as a printed 34."""
    return re.sub(r"\\([\\`*_{}\[\]()#+\-.!|])", r"\1", markdown.replace("\u200b", ""))


def records(project, notebook: str) -> dict[str, dict]:
    return project.claim_records(f"{notebook}/default")


def other_values(project, notebook: str, edited: str) -> set[str]:
    """Printed forms of every value of the other datasets the notebook reads (exempt: they are data)."""
    doc = yaml.safe_load(project.path("project.yml").read_text(encoding="utf-8"))
    forms = set()
    for name in doc["notebooks"][notebook]["datasets"]:
        if name == edited:
            continue
        table = project.load(name)
        for column in [c for c in table.columns if c.startswith("value")]:
            for v in table[column].dropna():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    forms |= number_forms(float(v)) | number_forms(100 * float(v))
    return forms


@pytest.fixture(scope="module")
def perturbed(tmp_path_factory):
    """The three headline notebooks built before and after one input each is changed."""
    project = copy_project(REPO, tmp_path_factory.mktemp("perturb") / "project")
    doc = yaml.safe_load(project.path("project.yml").read_text(encoding="utf-8"))
    doc["notebooks"] = {c.notebook: {**doc["notebooks"][c.notebook], "parameter_sets": {"default": {}}} for c in CASES}
    project.path("project.yml").write_text(dump_yaml(doc), encoding="utf-8")
    reg_path = project.path("claims/register.yml")
    register = yaml.safe_load(reg_path.read_text(encoding="utf-8"))
    register["claims"] = [c for c in register["claims"] if c["check"]["notebook"] in IDS]
    reg_path.write_text(dump_yaml(register), encoding="utf-8")
    project.cli("build", "--no-render", check=True)
    before = {c.notebook: (texts(project, c.notebook), records(project, c.notebook)) for c in CASES}
    olds = {}
    for c in CASES:
        table = project.load(c.dataset)
        old_sum = (100 * table[table["measure"] == c.sum_measure]["value"].sum()) if c.sum_measure else None
        olds[c.notebook] = (edit_csv(project.path(f"data/raw/{c.dataset.replace('.', '/')}.csv"), c.where, c.new), old_sum)
        project.accept_hash(c.dataset)
    project.cli("build", "--no-render", check=True)
    executed = set(project.executed())
    assert {f"{c.notebook}/default" for c in CASES} <= executed, executed
    return project, before, olds


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_no_text_keeps_the_old_value_or_numbers_derived_from_it(perturbed, case):
    project, before, olds = perturbed
    old_value, old_sum = olds[case.notebook]
    assert float(old_value) != float(case.new)
    old_texts, old_records = before[case.notebook]
    new_texts, new_records = texts(project, case.notebook), records(project, case.notebook)

    # the input as printed: it appeared in the prose before (the test can fail) and must be gone now
    forms = set(case.old_forms)
    if old_sum is not None:
        new_sum = 100 * project.load(case.dataset).query(f"measure == '{case.sum_measure}'")["value"].sum()
        assert round(new_sum, 1) != round(old_sum, 1)
        forms.add(f"{old_sum:.1f}")
    assert any(pattern(f).search(t) for f in case.old_forms for t in old_texts.values()), \
        f"{case.notebook}: the old value {case.old_forms} is not in its prose even before the change"

    # numbers the run recorded that moved with the input, in their printed forms
    stated = {f for r in new_records.values() if r.get("stated") is not None for f in number_forms(float(r["stated"]))}
    moved = set()
    for claim_id, old in old_records.items():
        new_leaves = dict(numeric_leaves({k: new_records[claim_id].get(k) for k in ("reproduced", "details")}))
        for path, x in numeric_leaves({k: old.get(k) for k in ("reproduced", "details")}):
            if path in new_leaves and not math.isclose(new_leaves[path], x, rel_tol=1e-9, abs_tol=1e-12):
                moved |= number_forms(x) - number_forms(new_leaves[path])
    new_forms = {f for r in new_records.values() for _, x in numeric_leaves({k: r.get(k) for k in ("reproduced", "details")})
                 for f in number_forms(x)}
    derived = moved - stated - new_forms - other_values(project, case.notebook, case.dataset)

    survivors = []
    for where, text in new_texts.items():
        for form in sorted(forms | derived):
            for m in pattern(form).finditer(text):
                survivors.append(f"{where}: {form!r} in ...{text[max(0, m.start() - 60):m.end() + 40]!r}...")
    assert not survivors, (f"{case.notebook}: after {case.dataset} changed from {old_value} to {case.new}, text still "
                           f"quotes the old value or numbers derived from it:\n  " + "\n  ".join(survivors[:30]))
