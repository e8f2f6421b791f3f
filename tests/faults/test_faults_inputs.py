"""Fault scenarios in the inputs a build reads: project file, notebooks, parameters, register, lock, catalog
and data files. Each fails before or without a kernel where it can, names the file and what was
expected, changes no protected file, and the next build recovers once the input is fixed."""

from __future__ import annotations

import json

import pytest


def test_project_file_not_yaml(built, snapshot):
    before = built.protected()
    built.path("project.yml").write_text("notebooks:\n  alpha: [unclosed\n")
    built.fails("build", "--no-render", says=("project.yml is not valid YAML", "line"))
    built.fails("status", says=("project.yml is not valid YAML",))
    built.unchanged(before)
    built.restore("project.yml", snapshot)
    built.recovers(executes=[])


def test_project_file_names_a_missing_notebook(built, snapshot):
    built.edit_yaml("project.yml", lambda d: d["notebooks"].update({"zeta": {"datasets": []}}))
    built.fails("build", "--no-render", says=("notebook 'zeta': notebooks/zeta.ipynb does not exist", "create the notebook or remove"))
    built.restore("project.yml", snapshot)
    built.recovers(executes=[])


def test_project_file_unknown_key(built, snapshot):
    built.edit_yaml("project.yml", lambda d: d["notebooks"]["beta"].update({"dataset": ["src-two.values"]}))
    built.fails("status", says=("notebook 'beta': unknown key(s) ['dataset']", "allowed keys are"))
    built.restore("project.yml", snapshot)
    built.recovers(executes=[])


def test_project_file_bad_cell_timeout(built, snapshot):
    built.edit_yaml("project.yml", lambda d: d.update({"cell_timeout": "ten minutes"}))
    built.fails("build", "--no-render", says=("cell_timeout must be a positive number of seconds, found 'ten minutes'",))
    built.restore("project.yml", snapshot)
    built.recovers(executes=[])


def test_build_timeout_option_must_be_positive(built):
    proc = built.fails("build", "--timeout", "0", status=2, says=("expected a positive number of seconds, got '0'",))
    assert "--timeout" in proc.stderr


def test_constrained_parameter_given_a_string_is_a_type_error_not_a_traceback(built, snapshot):
    before = built.protected()
    built.edit_yaml("project.yml", lambda d: d["notebooks"]["alpha"]["parameter_sets"].update({"later": {"year": "2020"}}))
    for verb in (("build", "--no-render"), ("status",)):
        proc = built.fails(*verb, says=("parameter set 'later' of notebook 'alpha' is invalid",
                                        "parameter 'year' = '2020' is str, expected int"))
        assert "not supported between" not in proc.stderr and "expected at least" not in proc.stderr
    built.unchanged(before)
    built.restore("project.yml", snapshot)
    built.recovers(executes=[])


def test_unknown_parameter_name(built, snapshot):
    built.edit_yaml("project.yml", lambda d: d["notebooks"]["alpha"]["parameter_sets"].update({"later": {"yaer": 2020}}))
    built.fails("build", "--no-render", says=("unknown parameter 'yaer'", "the notebook's parameters are: label, year"))
    built.restore("project.yml", snapshot)
    built.recovers(executes=[])


def test_parameter_out_of_range(built, snapshot):
    built.edit_yaml("project.yml", lambda d: d["notebooks"]["alpha"]["parameter_sets"].update({"later": {"year": 2031}}))
    built.fails("build", "--no-render", says=("parameter 'year' = 2031: expected at most 2020",))
    assert not built.path("_build/notebooks/alpha/.later.partial.ipynb").exists()
    built.restore("project.yml", snapshot)
    built.recovers(executes=[])


def _edit_notebook(built, name, change):
    path = built.path(f"notebooks/{name}.ipynb")
    nb = json.loads(path.read_text(encoding="utf-8"))
    change(nb)
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")


def test_parameters_tag_removed_is_reported_once_pointing_at_the_notebook(built, snapshot):
    _edit_notebook(built, "alpha", lambda nb: nb["cells"][1].update(metadata={}))
    proc = built.fails("build", "--no-render", says=("notebooks/alpha.ipynb has no cell tagged 'parameters'",
                                                     "in notebooks/alpha.ipynb, tag the first code cell"))
    assert proc.stderr.count("no cell tagged") == 1 and "fix the parameter sets in project.yml" not in proc.stderr
    built.restore("notebooks/alpha.ipynb", snapshot)
    built.recovers(executes=[])


def test_parameters_cell_not_python(built, snapshot):
    _edit_notebook(built, "alpha", lambda nb: nb["cells"][1].update(source="year = = 2010\n"))
    proc = built.fails("status", says=("the parameters cell of notebooks/alpha.ipynb is not valid Python",
                                       "fix the parameters cell of notebooks/alpha.ipynb"))
    assert proc.stderr.count("not valid Python") == 1
    built.restore("notebooks/alpha.ipynb", snapshot)
    built.recovers(executes=[])


@pytest.mark.parametrize("damage", ["truncated", "empty"])
def test_notebook_file_not_json_names_the_notebook(built, snapshot, damage):
    before = built.protected()
    path = built.path("notebooks/beta.ipynb")
    path.write_bytes(path.read_bytes()[:200] if damage == "truncated" else b"")
    for verb in (("build", "--no-render"), ("status",)):
        built.fails(*verb, says=("notebooks/beta.ipynb is not valid JSON", "git checkout -- notebooks/beta.ipynb"))
    built.unchanged(before)
    built.restore("notebooks/beta.ipynb", snapshot)
    built.recovers(executes=[])


def test_register_not_yaml(built, snapshot):
    before = built.protected()
    built.path("claims/register.yml").write_text("claims:\n  - id: [unclosed\n")
    built.fails("build", "--no-render", says=("register.yml is not valid YAML",))
    built.unchanged(before, but=("claims/register.yml",))
    built.restore("claims/register.yml", snapshot)
    built.recovers(executes=[])


def test_register_deleted_fails_before_any_run_is_scheduled(built, snapshot):
    before = built.protected()
    built.path("claims/register.yml").unlink()
    proc = built.fails("build", "--no-render", "--force", says=("claims/register.yml does not exist",
                                                                 "git checkout -- claims/register.yml"))
    assert "Executing" not in proc.stdout
    built.fails("check", says=("claims/register.yml does not exist",))
    built.unchanged(before, but=("claims/register.yml",))
    built.restore("claims/register.yml", snapshot)
    built.recovers(executes=[])


def test_register_duplicate_claim_id(built, snapshot):
    built.edit_yaml("claims/register.yml", lambda d: d["claims"].append(dict(d["claims"][0])))
    built.fails("build", "--no-render", says=("duplicate claim id 'usa-share-2010'", "claim ids must be unique"))
    built.restore("claims/register.yml", snapshot)
    built.recovers(executes=[])


def test_register_claim_missing_a_key(built, snapshot):
    built.edit_yaml("claims/register.yml", lambda d: d["claims"][1].pop("tolerance"))
    built.fails("build", "--no-render", says=("register.yml: claim #2", "missing 'tolerance'"))
    built.restore("claims/register.yml", snapshot)
    built.recovers(executes=[])


def test_register_points_at_a_missing_parameter_set(built, snapshot):
    built.edit_yaml("claims/register.yml", lambda d: d["claims"][1]["check"].update({"parameters": "nosuch"}))
    proc = built.fails("build", "--no-render", "--force", says=("claim usa-gerd-2020: notebook 'beta' has no parameter set 'nosuch'",))
    assert "Executing" not in proc.stdout
    built.restore("claims/register.yml", snapshot)
    built.recovers(executes=[])


def test_lock_not_json_is_named_with_its_line_and_lock_rewrites_it(built, snapshot):
    before = built.protected()
    built.path("claims/lock.json").write_text('{"claims": {\n  "usa-share-2010": \n')
    for verb in (("build", "--no-render"), ("check",)):
        proc = built.fails(*verb, says=("claims/lock.json is not valid JSON", "line 3", "python -m analysis lock"))
        assert "Executing" not in proc.stdout
    built.unchanged(before, but=("claims/lock.json",))
    proc = built.ok("lock")
    assert "Replacing a damaged lock: claims/lock.json is not valid JSON" in proc.stdout
    assert built.path("claims/lock.json").read_bytes() == (snapshot / "claims/lock.json").read_bytes()
    built.recovers(executes=[])
    built.ok("check")


def test_datapackage_not_json(built, snapshot):
    before = built.protected()
    dp = built.path("data/datapackage.json")
    dp.write_text(dp.read_text().replace('"resources": [', '"resources": [,', 1))
    built.fails("build", "--no-render", says=("data/datapackage.json is not valid JSON", "line 3"))
    built.fails("data", "validate", says=("data/datapackage.json is not valid JSON",))
    built.unchanged(before, but=("data/datapackage.json",))
    built.restore("data/datapackage.json", snapshot)
    built.recovers(executes=[])


def test_datapackage_not_utf8(built, snapshot):
    dp = built.path("data/datapackage.json")
    dp.write_bytes(dp.read_bytes().replace(b"Test Publisher", "Test Publisher \u00e9".encode("latin-1"), 1))
    built.fails("status", says=("data/datapackage.json is not UTF-8 text", "save the file as UTF-8"))
    built.restore("data/datapackage.json", snapshot)
    built.recovers(executes=[])


def test_declared_dataset_missing_from_the_catalog(built, snapshot):
    built.edit_yaml("project.yml", lambda d: d["notebooks"]["beta"].update({"datasets": ["src-two.valeus"]}))
    built.fails("build", "--no-render", says=("notebook 'beta' declares dataset 'src-two.valeus', which is not in data/datapackage.json",))
    built.restore("project.yml", snapshot)
    built.recovers(executes=[])


def test_resource_hash_removed_is_restored_by_data_accept(built, snapshot):
    built.edit_json("data/datapackage.json", lambda d: d["resources"][1].pop("hash"))
    built.fails("build", "--no-render", says=("resource #2 (src-two.values): missing hash", "see docs/conventions.md"))
    proc = built.ok("data", "accept", "src-two.values")
    assert "src-two.values: data/raw/src-two/values.csv vs nothing" in proc.stdout  # the file is shown first
    assert "no accepted checksum" in proc.stdout and "accepted: hash sha256:" in proc.stdout
    restored = json.loads(built.path("data/datapackage.json").read_text())["resources"][1]["hash"]
    assert restored == json.loads((snapshot / "data/datapackage.json").read_text())["resources"][1]["hash"]
    built.recovers(executes=[])


def test_dataset_renamed_but_a_notebook_still_loads_the_old_name(built, snapshot):
    """The catalog and project.yml use the new name; the notebook does not: the hint names the notebook."""
    before = built.protected()
    old, new = "src-two.values", "src-two.amounts"
    built.edit_json("data/datapackage.json", lambda d: d["resources"][1].update(name=new, path="raw/src-two/amounts.csv"))
    built.path("data/raw/src-two/values.csv").rename(built.path("data/raw/src-two/amounts.csv"))
    built.edit_yaml("project.yml", lambda d: [d["notebooks"][n].update(datasets=[new if x == old else x for x in d["notebooks"][n]["datasets"]]) for n in ("beta", "gamma")])
    # found in the notebook's source before any kernel starts
    proc = built.fails("build", "--no-render", "beta", says=(f"notebooks/beta.ipynb (code cell 2) loads dataset '{old}', which is "
                                                             "not in data/datapackage.json", "fix the name in notebooks/beta.ipynb",
                                                             "nothing was executed"))
    assert "add" not in proc.stderr.split("How to fix:")[1]
    for rel in ("data/datapackage.json", "project.yml"):
        built.restore(rel, snapshot)
    built.path("data/raw/src-two/amounts.csv").rename(built.path("data/raw/src-two/values.csv"))
    built.unchanged(before)
    built.recovers(executes=[])


@pytest.mark.parametrize("damage", ["truncated", "empty", "deleted", "latin-1", "mistyped"])
def test_damaged_data_file_is_named_by_validate_and_accept_refuses_it(built, snapshot, damage):
    before = built.protected()
    csv = built.path("data/raw/src-one/values.csv")
    text = csv.read_bytes()
    if damage == "truncated":
        csv.write_bytes(text[: len(text) // 2])
    elif damage == "empty":
        csv.write_bytes(b"")
    elif damage == "deleted":
        csv.unlink()
    elif damage == "latin-1":
        csv.write_bytes(text.replace(b"Table 1", "Tableau \u00e9".encode("latin-1")))
    else:
        csv.write_bytes(text.replace(b"0.25", b"a quarter"))
    proc = built.fails("data", "validate", "src-one.values", says=("data/raw/src-one/values.csv",))
    expected = {"deleted": "is missing", "mistyped": "does not match its accepted checksum"}.get(damage, "does not match its accepted checksum")
    assert expected in proc.stderr
    if damage == "mistyped":
        assert "type-error" in proc.stderr and "a quarter" in proc.stderr
    refused = built.fails("data", "accept", "src-one.values")
    assert "data/raw/src-one/values.csv" in refused.stderr and "nothing was changed" in refused.stderr or "missing" in refused.stderr
    built.unchanged(before, but=("data/raw/src-one/values.csv",))
    built.restore("data/raw/src-one/values.csv", snapshot)
    built.unchanged(before)
    built.recovers(executes=[])


@pytest.mark.parametrize("formatting", ["crlf", "bom"])
def test_crlf_and_bom_are_formatting_that_accept_normalises(built, snapshot, formatting):
    csv = built.path("data/raw/src-two/values.csv")
    text = csv.read_bytes()
    csv.write_bytes(text.replace(b"\n", b"\r\n") if formatting == "crlf" else b"\xef\xbb\xbf" + text)
    diff = built.ok("data", "diff", "src-two.values").stdout
    assert "no value changes (the bytes differ only in formatting)" in diff
    proc = built.ok("data", "accept", "src-two.values")
    assert ("CRLF line ends changed to \\n" if formatting == "crlf" else "byte-order mark removed") in proc.stdout
    assert csv.read_bytes() == text  # normalised back to the accepted bytes
    assert "already accepted" in proc.stdout
    assert built.path("data/datapackage.json").read_bytes() == (snapshot / "data/datapackage.json").read_bytes()
    built.recovers(executes=[])


def test_duplicated_row_is_an_added_duplicate_not_formatting(built):
    csv = built.path("data/raw/src-two/values.csv")
    lines = csv.read_text().splitlines(keepends=True)
    csv.write_text("".join(lines + [lines[1]]))
    diff = built.ok("data", "diff", "src-two.values").stdout
    assert "formatting" not in diff
    assert "+ added    USA | 2020" in diff and "1 added, 0 removed, 0 changed" in diff
    assert "added duplicate row" in diff
