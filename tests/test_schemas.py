"""The strict YAML loader, the alias-free dumper, the typed schemas, and the import graph of the package."""

from __future__ import annotations

import ast
import time

import pytest
import yaml
from conftest import REPO

from analysis.errors import FileError, ProjectFileError, RegisterError
from analysis.files import dump_yaml, parse_yaml, yaml_key_lines


def test_every_real_project_file_loads_with_the_strict_loader():
    files = [REPO / "project.yml", REPO / "claims" / "register.yml", REPO / "_quarto.yml", REPO / "report" / "headlines.yml"]
    files += sorted((REPO / "reviews").rglob("*.yml"))
    for path in files:
        strict = parse_yaml(path.read_text(encoding="utf-8"), source=str(path))
        assert strict == _without_dates(yaml.safe_load(path.read_text(encoding="utf-8"))), path


def _without_dates(value):
    import datetime

    if isinstance(value, dict):
        return {k: _without_dates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_dates(v) for v in value]
    return value.isoformat() if isinstance(value, (datetime.date, datetime.datetime)) else value


def test_real_project_file_and_register_pass_their_schemas():
    from analysis import schemas

    for model, rel in ((schemas.ProjectFile, "project.yml"), (schemas.RegisterFile, "claims/register.yml")):
        text = (REPO / rel).read_text(encoding="utf-8")
        schemas.check(model, parse_yaml(text, source=rel), source=rel, text=text, error=FileError, place=schemas.register_place)


def test_duplicate_keys_name_the_key_and_both_lines():
    with pytest.raises(FileError, match=r"x\.yml is not valid YAML: duplicate key 'a' at line 4 \(first at line 1\)"):
        parse_yaml("a: 1\nb:\n  c: 2\na: 3\n", source="x.yml")
    with pytest.raises(FileError, match="duplicate key 'c' at line 3"):
        parse_yaml("b:\n  c: 1\n  c: 2\n", source="x.yml")


def test_aliases_merge_keys_and_tags_are_refused_and_a_billion_laughs_costs_nothing():
    with pytest.raises(FileError, match=r"line 2: an alias \(\*\) under key 'b' repeats the value anchored \(&\) at line 1"):
        parse_yaml("a: &x [1, 2]\nb: *x\n", source="x.yml")
    with pytest.raises(FileError, match=r"merge keys \(<<\)"):
        parse_yaml("a:\n  <<: {b: 1}\n", source="x.yml")
    with pytest.raises(FileError, match="could not determine a constructor for the tag"):
        parse_yaml("a: !!python/object/apply:os.getcwd []\n", source="x.yml")
    laughs = 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for n in range(1, 10):
        laughs += f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]\n"
    t0 = time.process_time()
    with pytest.raises(FileError, match="anchors and aliases are not allowed"):
        parse_yaml(laughs, source="x.yml")
    assert time.process_time() - t0 < 1.0  # linear in the text, not in the 9**9 expanded strings


def test_dates_stay_text_and_the_dumper_writes_no_alias():
    assert parse_yaml("d: 2024-06-30\nn: 2\n", source="x.yml") == {"d": "2024-06-30", "n": 2}
    shared = [1, 2]
    text = dump_yaml({"a": shared, "b": shared, "d": "2024-06-30"})
    assert "&" not in text and "*" not in text
    assert parse_yaml(text, source="x.yml") == {"a": [1, 2], "b": [1, 2], "d": "2024-06-30"}


def test_key_lines_follow_keys_and_list_items():
    lines = yaml_key_lines("a:\n  b: 1\n  c:\n    - x\n    - y: 2\n")
    assert lines[("a",)] == 1 and lines[("a", "b")] == 2 and lines[("a", "c", 1)] == 5 and lines[("a", "c", 1, "y")] == 5


def _project(tmp_path, text: str):
    from analysis.paths import Layout

    (tmp_path / "notebooks").mkdir(exist_ok=True)
    (tmp_path / "notebooks" / "n.ipynb").write_text('{"cells": []}')
    (tmp_path / "project.yml").write_text(text)
    return Layout(tmp_path)


@pytest.mark.parametrize("text, message", [
    ("notebooks: {n: {}}\ntitel: T\n", r"project.yml: unknown key\(s\) \['titel'\]; did you mean 'title'\? \(line 2\)"),
    ("notebooks:\n  n:\n    parameters: {year: {choices: 5}}\n",
     r"notebook 'n': parameters.year.choices: expected a list, found 5 \(int\) \(line 3\)"),
    ("notebooks:\n  n:\n    parameter_sets: {default: {}, 2024: {}}\n",
     r"notebook 'n': parameter_sets: the key 2024 must be text \(quote it: '2024'\)"),
    ("notebooks: {n: {}}\ncell_timeout: .inf\n", r"cell_timeout must be a positive number of seconds, found inf \(accepted"),
    ("notebooks: {n: {}}\ncell_timeout: true\n", r"cell_timeout must be a positive number of seconds, found True"),
    ("notebooks:\n  n:\n    rules: [{require: 'year <', why: w}]\n", r"rule require 'year <' is not a valid expression"),
    ("notebooks:\n  n:\n    parameter_sets: {later: {}}\n", r"parameter_sets needs a 'default' set"),
])
def test_project_file_schema_messages(tmp_path, text, message):
    from analysis.projectfile import read_project_file

    with pytest.raises(ProjectFileError, match=message):
        read_project_file(_project(tmp_path, text))


def _register(tmp_path, claim_change=None, tolerance=None):
    """A one-claim register in ``tmp_path`` (with ``claim_change`` applied)."""
    from analysis.paths import Layout

    claim = {"id": "a", "document": "d", "quote": "q", "stated": {"value": 1, "unit": "count"},
             "check": {"notebook": "n"}, "tolerance": tolerance or {"type": "exact", "why": "count"},
             "title": "A short title"}
    claim.update(claim_change or {})
    (tmp_path / "project.yml").write_text("notebooks: {}\n")
    (tmp_path / "claims").mkdir(exist_ok=True)
    (tmp_path / "claims" / "register.yml").write_text(dump_yaml({
        "documents": {"d": {"citation": "D", "reference_date": "2024-01-01", "reference_date_basis": "printed"}},
        "claims": [claim]}))
    return Layout(tmp_path)


def test_register_accepts_the_fields_other_issues_add(tmp_path):
    from analysis.claims import Register

    layout = _register(tmp_path, {
        "stated": {"value": 60, "unit": "percent", "qualifier": "nearly"},
        "origin": [{"link": "cited", "source": "NSF, SEI, 2024", "locator": "Table 1", "dataset": "a.b",
                    "evidence": "footnote 3 cites it"}],
        "leads": [{"source": "A blog, 2023", "locator": "para 2", "note": "same number, uncited"}],
        "search": {"class": "public-record-not-found",
                   "looked": [{"where": "NSF NCSES tables", "found": "nothing", "why_not": "series starts in 1970"}]},
    })
    assert Register.load(layout).claims["a"]["stated"]["qualifier"] == "nearly"


@pytest.mark.parametrize("change, message", [
    ({"stated": {"value": "sixty-nine"}}, r"claim #1 \(a\): stated.value: expected a number, found 'sixty-nine'"),
    ({"tolerance": {"type": "absolute", "value": -1, "why": "w"}}, r"tolerance.value: expected a number >= 0, found -1"),
    ({"tolerance": {"type": "absolute", "value": float("nan"), "why": "w"}}, r"tolerance.value: expected a finite number"),
    ({"notes": "x"}, r"unknown key\(s\) \['notes'\]; did you mean 'note'"),
    ({"title": "x" * 61}, r"title: at most 60 characters, found 61"),
    ({"search": {"class": "gone", "looked": [{"where": "w", "found": "f", "why_not": "n"}]}},
     r"search.class: class 'gone' is not one of"),
])
def test_register_schema_messages(tmp_path, change, message):
    from analysis.claims import Register

    with pytest.raises(RegisterError, match=message):
        Register.load(_register(tmp_path, change))


def test_a_file_that_passed_its_schema_is_not_checked_again_until_it_changes(tmp_path, monkeypatch):
    import analysis.files as files
    from analysis import projectfile

    layout = _project(tmp_path, "notebooks: {n: {}}\n")
    projectfile.read_project_file(layout)
    assert (tmp_path / "_build" / ".state" / "valid-files.json").is_file()
    monkeypatch.setattr(files, "_VALID", {})  # as in a new process
    monkeypatch.setattr(projectfile, "_READ", {})
    import analysis.schemas as schemas

    monkeypatch.setattr(schemas, "check", lambda *a, **k: pytest.fail("validated again"))
    projectfile.read_project_file(layout)


def test_the_package_has_no_import_cycle():
    """Dependencies point one way, function-level imports included (project and parameters used to import each other)."""
    package = REPO / "analysis"
    names = {".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__") for p in package.rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for path in package.rglob("*.py"):
        name = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        pkg = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
                       for n in ast.walk(block)}  # `if TYPE_CHECKING:` imports are for type checkers, not run
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level and id(node) not in typing_only:
                base = ".".join(pkg.split(".")[: len(pkg.split(".")) - node.level + 1] + ([node.module] if node.module else []))
                for target in [base, *(f"{base}.{a.name}" for a in node.names)]:
                    if target in names and target != name and not name.startswith(target + "."):
                        edges.setdefault(name, set()).add(target)

    def reaches(start, goal):
        seen, todo = set(), [start]
        while todo:
            here = todo.pop()
            if here == goal:
                return True
            if here not in seen:
                seen.add(here)
                todo += edges.get(here, ())
        return False

    cycles = sorted({tuple(sorted((a, b))) for a in edges for b in edges[a] if reaches(b, a)})
    assert cycles == []
