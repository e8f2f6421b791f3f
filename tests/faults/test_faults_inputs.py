"""Fault scenarios in the inputs a build reads: project file, notebooks, parameters, register, lock, catalog
and data files. Each fails before or without a kernel where it can, names the file and what was
expected, changes no protected file, and the next build recovers once the input is fixed."""

from __future__ import annotations

import json
import os
from pathlib import Path

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
    for verb in (("build", "--no-render"), ("check",), ("status",)):
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


# Round two (issue 22): one strict loader and typed schemas for every project file ---------------------

def test_duplicate_key_in_project_file_names_the_key_and_both_lines(built, snapshot):
    """A second `beta:` under notebooks (a pasted entry) would silently replace the first."""
    before = built.protected()
    text = built.path("project.yml").read_text()
    first = text.splitlines().index("  beta:") + 1
    built.path("project.yml").write_text(text + "  beta:\n    title: Beta again\n    datasets: [src-two.values]\n")
    second = len(text.splitlines()) + 1
    for verb in (("build", "--no-render", "--force"), ("status",)):
        proc = built.fails(*verb, says=(f"project.yml is not valid YAML: duplicate key 'beta' at line {second} "
                                        f"(first at line {first})",))
        assert "Executing" not in proc.stdout
    built.unchanged(before)
    built.restore("project.yml", snapshot)
    built.recovers(executes=[])


def test_unknown_keys_in_project_file_say_did_you_mean(built, snapshot):
    text = built.path("project.yml").read_text()
    for edited, says in ((text.replace("title: Mini", "titel: Mini"), "project.yml: unknown key(s) ['titel']; did you mean "
                          "'title'? (line 1)"),
                         (text + "cell_timout: 5\n", "project.yml: unknown key(s) ['cell_timout']; did you mean "
                          "'cell_timeout'?")):
        built.path("project.yml").write_text(edited)
        built.fails("status", says=(says, "allowed keys are cell_timeout, notebooks, title"))
    built.restore("project.yml", snapshot)
    built.recovers(executes=[])


def test_wrong_types_in_project_file_name_file_field_and_what_was_expected(built, snapshot):
    text = built.path("project.yml").read_text()
    cases = (("year: {min: 2000, max: 2020}", "year: {choices: 5}",
              "project.yml: notebook 'alpha': parameters.year.choices: expected a list, found 5 (int) (line 7)"),
             ("later: {year: 2020}", "2024: {year: 2020}",
              "project.yml: notebook 'alpha': parameter_sets: the key 2024 must be text (quote it: '2024') (line 10)"),
             ("title: Mini project for scenario tests", "title: [Mini, project]",
              "project.yml: title: expected text, found a list ['Mini', 'project'] (line 1)"))
    before = built.protected()
    for old, new, says in cases:
        assert old in text
        built.path("project.yml").write_text(text.replace(old, new))
        proc = built.fails("build", "--no-render", "--force", says=(says,))
        assert "Executing" not in proc.stdout
    built.unchanged(before)
    built.restore("project.yml", snapshot)
    built.recovers(executes=[])


def test_cell_timeout_nan_or_inf_and_timeout_option_inf_are_refused_with_the_range(built, snapshot):
    text = built.path("project.yml").read_text()
    for value in (".nan", ".inf"):
        built.path("project.yml").write_text(text + f"cell_timeout: {value}\n")
        built.fails("build", "--no-render", says=("cell_timeout must be a positive number of seconds, found",
                                                  "(accepted: more than 0 and at most 86400)"))
    built.restore("project.yml", snapshot)
    for value in ("inf", "1e9"):
        built.fails("build", "--timeout", value, status=2, says=(f"expected a positive number of seconds, got '{value}' "
                                                                 "(accepted: more than 0 and at most 86400)",))
    built.recovers(executes=[])


def test_lock_entry_of_the_wrong_type_is_named(built, snapshot):
    built.edit_json("claims/lock.json", lambda d: d["claims"].update({"usa-share-2010": "reproduced"}))
    for verb in (("status",), ("check",)):
        built.fails(*verb, says=("claims/lock.json: claim 'usa-share-2010': expected a mapping, found 'reproduced'",
                                 "python -m analysis lock"))
    built.restore("claims/lock.json", snapshot)
    built.recovers(executes=[])


def test_status_fails_loudly_on_a_lock_that_is_not_json(built, snapshot):
    built.path("claims/lock.json").write_text('{"claims": {')
    built.fails("status", says=("claims/lock.json is not valid JSON", "line 1"))
    built.restore("claims/lock.json", snapshot)
    built.recovers(executes=[])


def test_negative_or_nan_tolerance_is_refused_before_any_run(built, snapshot):
    before = built.protected()
    for value, says in ((-0.5, "tolerance.value: expected a number >= 0, found -0.5"),
                        (float("nan"), "tolerance.value: expected a finite number, found nan")):
        built.edit_yaml("claims/register.yml", lambda d: d["claims"][0]["tolerance"].update(value=value))
        proc = built.fails("build", "--no-render", "--force", says=("claims/register.yml: claim #1 (usa-share-2010): " + says,))
        assert "Executing" not in proc.stdout
        if value < 0:
            built.fails("lock", says=(says,))  # the lock would record it otherwise
        built.restore("claims/register.yml", snapshot)
    built.unchanged(before)
    built.recovers(executes=[])


def test_non_numeric_stated_value_is_refused_before_any_kernel_naming_claim_and_field(built, snapshot):
    before = built.protected()
    built.edit_yaml("claims/register.yml", lambda d: d["claims"][0]["stated"].update(value="forty"))
    for verb in (("build", "--no-render", "--force"), ("status",)):
        proc = built.fails(*verb, says=("claims/register.yml: claim #1 (usa-share-2010): stated.value: expected a number, "
                                        "found 'forty'",))
        assert "Executing" not in proc.stdout
    built.unchanged(before, but=("claims/register.yml",))
    built.restore("claims/register.yml", snapshot)
    built.recovers(executes=[])


def billion_laughs() -> str:
    """Nine nested anchors: 9**9 strings once aliases are expanded (gigabytes), 10 lines of text."""
    text, previous = 'laugh0: &laugh0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n', "laugh0"
    for n in range(1, 10):
        text += f"laugh{n}: &laugh{n} [{', '.join([f'*{previous}'] * 9)}]\n"
        previous = f"laugh{n}"
    return text


@pytest.mark.parametrize("rel", ["claims/register.yml", "project.yml"])
def test_billion_laughs_is_refused_at_once_within_a_gigabyte(built, snapshot, rel):
    before = built.protected()
    text = built.path(rel).read_text()
    built.path(rel).write_text(text + billion_laughs())
    line = len(text.splitlines()) + 2
    built.fails_within_memory("status", says=(f"{rel} uses a YAML feature the project refuses: line {line}: an alias (*) "
                                              f"under key 'laugh1' repeats the value anchored (&) at line {line - 1}",
                                              "write the value out in full"))
    built.unchanged(before, but=(rel,))
    built.restore(rel, snapshot)
    built.recovers(executes=[])


@pytest.mark.parametrize("damage", ["nested-json", "huge-csv", "long-csv-row", "many-rows", "huge-yaml"])
def test_no_input_file_makes_a_command_use_more_than_a_gigabyte(built, snapshot, damage):
    """Inputs crafted to exhaust memory: each command refuses them naming the file, under a 1 GB address-space limit."""
    before = built.protected()
    csv = built.path("data/raw/src-two/values.csv")
    if damage == "nested-json":
        built.path("data/datapackage.json").write_text("[" * 100_000 + "]" * 100_000)
        runs = [(("status",), "data/datapackage.json is not valid JSON: its arrays or objects are nested too deeply")]
        changed = "data/datapackage.json"
    elif damage == "huge-csv":  # 2 GB of rows would be read whole by pandas, the diff and the validation
        with open(csv, "ab") as fh:
            fh.truncate(64 * 2**20)
        runs = [(("data", "diff", "src-two.values"), "(dataset src-two.values) is 64 MB, larger than the 16 MB"),
                (("build", "--no-render", "--force", "beta"), "is 64 MB, larger than the 16 MB a data file may be")]
        changed = "data/raw/src-two/values.csv"
    elif damage == "long-csv-row":
        csv.write_text(csv.read_text() + "USA,2021," + "7" * 2**20 + ",USD billion,Table 2\n")
        runs = [(("data", "diff", "src-two.values"), "is not a readable CSV file: field larger than field limit"),
                (("data", "accept", "src-two.values"), "refused to accept")]
        changed = "data/raw/src-two/values.csv"
    elif damage == "many-rows":
        header = csv.read_text().splitlines()[0]
        csv.write_text(header + "\n" + "".join(f"X{i},2020,1,USD billion,T\n" for i in range(300_000)))
        runs = [(("data", "diff", "src-two.values"), "has more than 200000 rows"),
                (("data", "accept", "src-two.values"), "is larger than a data file may be")]
        changed = "data/raw/src-two/values.csv"
    else:
        built.path("claims/register.yml").write_text("# " + "x" * (40 * 2**20) + "\n")
        runs = [(("status",), "claims/register.yml is too large (40 MB; at most 32 MB are read)")]
        changed = "claims/register.yml"
    for args, says in runs:
        built.fails_within_memory(*args, says=(says,))
    built.unchanged(before, but=(changed,))
    built.restore(changed, snapshot)
    built.recovers(executes=[])


def test_infinite_or_nan_number_is_refused_by_validate_accept_and_build(built, snapshot):
    before = built.protected()
    csv = built.path("data/raw/src-one/values.csv")
    accepted = csv.read_text()
    for value in ("NaN", "-Infinity"):
        csv.write_text(accepted.replace("CHN,2020,share,0.25", f"CHN,2020,share,{value}"))
        built.fails("data", "validate", "src-one.values", says=(f"row 5, field 'value', value '{value}': not a finite number",))
    value = "inf"
    csv.write_text(accepted.replace("CHN,2020,share,0.25", f"CHN,2020,share,{value}"))
    says = f"row 5, field 'value', value '{value}': not a finite number"
    built.fails("data", "accept", "src-one.values", says=(says, "nothing was changed"))
    built.unchanged(before, but=("data/raw/src-one/values.csv",))
    built.record_hash_unchecked("src-one.values")  # as if it had been accepted before this check existed
    proc = built.fails("build", "--no-render", "alpha/default", says=(says,))
    assert "Executing" not in proc.stdout
    built.restore("data/raw/src-one/values.csv", snapshot)
    built.restore("data/datapackage.json", snapshot)
    built.unchanged(before)
    built.recovers(executes=[])


@pytest.mark.parametrize("target", ["/etc/passwd", "inside"])
def test_symlinked_data_file_is_refused_naming_the_resource(built, snapshot, target):
    before = built.protected()
    csv = built.path("data/raw/src-two/values.csv")
    if target == "inside":  # a link to a copy inside the project is refused too: git would track the link
        (built.root / "notebooks" / "values.csv").write_bytes(csv.read_bytes())
        target = "../../../notebooks/values.csv"
    csv.unlink()
    csv.symlink_to(target)
    says = f"data/raw/src-two/values.csv (dataset src-two.values) is a symbolic link to {target}"
    for verb in (("data", "diff", "src-two.values"), ("data", "accept", "src-two.values"),
                 ("data", "diff", "data/raw/src-two/values.csv"), ("build", "--no-render", "--force", "beta")):
        proc = built.fails(*verb, says=(says, "not links to files elsewhere"))
        assert "root:" not in proc.stdout + proc.stderr  # /etc/passwd is never shown
    built.fails("data", "validate", says=(says,))
    built.fails("build", "--no-render", says=("data/raw/src-two/values.csv", "is a symbolic link"))
    assert "REFUSED" in built.ok("data", "list").stdout
    assert json.loads(built.path("data/datapackage.json").read_text()) == json.loads((snapshot / "data/datapackage.json").read_text())
    csv.unlink()
    built.restore("data/raw/src-two/values.csv", snapshot)
    (built.root / "notebooks" / "values.csv").unlink(missing_ok=True)
    built.unchanged(before)
    built.recovers(executes=[])


def _as_nobody() -> str | None:
    """None if commands can be run as an unprivileged user here (to meet file modes), else why not."""
    import shutil as _shutil

    if os.geteuid() != 0:
        return None if os.access("/", os.R_OK) else "cannot tell"
    if _shutil.which("setpriv") is None:
        return "setpriv (util-linux) is not installed: cannot drop root's privileges, and root reads a mode-000 file"
    return None


@pytest.mark.skipif(bool(_as_nobody()), reason=str(_as_nobody()))
def test_data_file_with_mode_000_asks_for_read_access(built, snapshot, tmp_path_factory):
    """As root every file is readable: the commands run as an unprivileged user on a world-writable copy."""
    import shutil as _shutil
    import subprocess
    import sys
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="claimcheck-mode-"))
    try:
        folder.chmod(0o755)
        copy = folder / "mini"
        _shutil.copytree(built.root, copy, symlinks=True)
        subprocess.run(["chmod", "-R", "a+rwX", str(copy)], check=True)
        (copy / "data/raw/src-two/values.csv").chmod(0)
        drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
        env = {k: v for k, v in os.environ.items() if k != "CLAIMCHECK_PROJECT_ROOT"}
        for verb in (("data", "validate", "src-two.values"), ("data", "diff", "src-two.values"),
                     ("build", "--no-render", "--force", "beta"), ("status",)):
            proc = subprocess.run([*drop, sys.executable, "-m", "analysis", *verb], cwd=copy, env=env, capture_output=True,
                                  text=True, timeout=300)
            assert proc.returncode == 1, (verb, proc.stdout, proc.stderr)
            assert "permission denied while reading data/raw/src-two/values.csv" in proc.stderr, proc.stderr
            assert "give your user read access" in proc.stderr and "write access" not in proc.stderr, proc.stderr
            assert "Traceback" not in proc.stderr
    finally:
        _shutil.rmtree(folder, ignore_errors=True)
    built.recovers(executes=[])
