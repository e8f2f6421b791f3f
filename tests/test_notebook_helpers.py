"""The helpers notebooks share (analysis.lookup, units, inputs, parameter rules), on real catalog tables."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from analysis import lookup
from analysis.catalog import loaded
from analysis.errors import LookupFailed, ParameterError, ProjectFileError
from analysis.files import dump_yaml
from analysis.inputs import Inputs
from analysis.project import Project
from analysis.units import Rate, convert, rate_from_pair


@pytest.fixture
def table(mini):
    return mini.load("src-one.values")


def test_value_reads_the_one_matching_row(table):
    first = table.iloc[0]
    assert lookup.value(table, entity=first["entity"], year=int(first["year"])) == pytest.approx(float(first["value"]))


def test_value_names_dataset_and_filter_when_no_row_matches(table):
    with pytest.raises(LookupFailed, match=r"src-one\.values: expected one row for entity='ATLANTIS', found no row"):
        lookup.value(table, entity="ATLANTIS")


def test_value_refuses_an_ambiguous_filter(table):
    entity = table["entity"].iloc[0]
    n = int((table["entity"] == entity).sum())
    assert n > 1, "the fixture table has several years per entity"
    with pytest.raises(LookupFailed, match=f"found {n} rows"):
        lookup.value(table, entity=entity)


def test_unknown_column_is_named(table):
    with pytest.raises(LookupFailed, match="has no column 'country'"):
        lookup.rows(table, country="USA")


def test_stack_keeps_source_and_datasets(mini, monkeypatch):
    monkeypatch.chdir(mini.root)
    stacked = lookup.stack(["src-one.values", "src-two.values"])
    assert set(stacked["source"]) == {"src-one", "src-two"}
    assert stacked.attrs["datasets"] == ["src-one.values", "src-two.values"]
    assert lookup.dataset_names([stacked], what="figure x") == ["src-one.values", "src-two.values"]


def test_dataset_names_rejects_a_table_not_from_the_catalog():
    with pytest.raises(LookupFailed, match="does not say which catalog table"):
        lookup.dataset_names([pd.DataFrame({"a": [1]})], what="figure fig-x")


def test_dataset_names_rejects_a_dataset_this_run_did_not_load(table):
    assert loaded, "loading the fixture table registers it"
    with pytest.raises(LookupFailed, match="'nowhere.table' was not loaded"):
        lookup.dataset_names(["nowhere.table"], what="figure fig-x")


def test_rates_convert_and_name_themselves():
    rate = rate_from_pair(10.0, 13.0, "EUR", "USD", "ITER Council (2010)")
    assert convert(2.0, rate, unit="EUR") == pytest.approx(2.6)
    assert rate.describe() == "1 EUR = 1.3 USD (ITER Council (2010))"
    assert convert(2.6, rate.inverse(), unit="USD") == pytest.approx(2.0)
    with pytest.raises(LookupFailed, match="cannot convert an amount in 'JPY'"):
        convert(1.0, rate, unit="JPY")
    with pytest.raises(LookupFailed, match="expected a positive number"):
        Rate(0, "EUR", "USD", "nowhere")


def test_inputs_keep_values_with_their_datasets(table):
    inputs = Inputs()
    first = table.iloc[0]
    v = inputs.add("x", lookup.value(table, entity=first["entity"], year=int(first["year"])), unit="u",
                   dataset=table, what="a value")
    assert inputs["x"] == v and "x" in inputs
    assert inputs.datasets == ["src-one.values"]
    assert list(inputs.table().columns) == ["symbol", "what", "value", "unit", "dataset"]
    with pytest.raises(ValueError, match="registered twice"):
        inputs.add("x", 1.0, unit="u", dataset=table, what="again")


def _add_rules(mini, rules):
    path = mini.path("project.yml")
    doc = yaml.safe_load(path.read_text())
    doc["notebooks"]["alpha"]["rules"] = rules
    path.write_text(dump_yaml(doc))


def test_a_data_dependent_rule_is_checked_per_parameter_set_before_any_run(mini):
    from analysis.paths import Layout

    _add_rules(mini, [{"require": "value('src-one.values', entity='USA', year=year) >= 0.35",
                       "why": "the U.S. share must be at least 35% in the chosen year"}])
    project = Project.load(layout=Layout(mini.root))
    assert [r.address for r in project.runs(["alpha/default"])] == ["alpha/default"]  # 2010: 0.4
    with pytest.raises(ParameterError, match=r"parameter set 'later' of notebook 'alpha' is invalid"):
        project.runs(["alpha/later"])  # 2020: 0.3
    proc = mini.cli("build", "--no-render")
    assert proc.returncode != 0 and "at least 35%" in proc.stdout + proc.stderr
    assert not mini.path("_build/notebooks").exists(), "no run starts when a rule fails"


def test_rule_answers_are_kept_per_table_version_and_a_changed_file_still_fails(mini, monkeypatch):
    from analysis import parameters
    from analysis.paths import Layout

    _add_rules(mini, [{"require": "value('src-one.values', entity='USA', year=year) >= 0.35",
                       "why": "the U.S. share must be at least 35% in the chosen year"}])
    layout = Layout(mini.root)
    Project.load(layout=layout).runs(["alpha/default"])
    stored = json.loads(mini.path("_build/.state/rule-answers.json").read_text())["answers"]
    assert [version.rsplit("-", 2)[0] for version in stored] == ["src-one.values"]

    def no_table(dataset, layout=None):
        raise AssertionError(f"{dataset} was loaded again")

    monkeypatch.setattr(parameters.RuleAnswers, "_open", {})  # as in a new process
    monkeypatch.setattr(parameters, "_rule_table", no_table)
    assert [r.address for r in Project.load(layout=layout).runs(["alpha/default"])] == ["alpha/default"]
    monkeypatch.undo()

    csv = mini.path("data/raw/src-one/values.csv")
    accepted = csv.read_text()
    csv.write_text(accepted.replace("USA,2010,share,0.4", "USA,2010,share,0.3"))  # edited, not accepted
    with pytest.raises(ParameterError, match="does not match its accepted checksum"):
        Project.load(layout=layout).runs(["alpha/default"])
    mini.accept_hash("src-one.values")  # accepted: a new table version, so the rule is evaluated again
    with pytest.raises(ParameterError, match="at least 35%"):
        Project.load(layout=layout).runs(["alpha/default"])


def test_a_broken_rule_names_notebook_and_why(mini):
    _add_rules(mini, [{"require": "year < 2000", "why": "only the twentieth century"}])
    proc = mini.cli("build", "--no-render", "alpha")
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "notebook 'alpha'" in out and "only the twentieth century" in out and "Traceback" not in out
    assert not mini.path("_build/notebooks/alpha").exists(), "nothing runs when a rule fails"


def test_a_rule_with_bad_syntax_is_a_project_file_error(mini):
    from analysis.paths import Layout

    _add_rules(mini, [{"require": "year <", "why": "broken"}])
    with pytest.raises(ProjectFileError, match="rule require 'year <' is not a valid expression"):
        Project.load(layout=Layout(mini.root))


def test_parameters_check_inside_a_notebook_namespace(mini, monkeypatch):
    from analysis import parameters

    monkeypatch.chdir(mini.root)
    good = parameters.check("alpha", {"year": 2010, "label": "U.S."})
    assert good["year"] == 2010
    with pytest.raises(ParameterError, match=r"parameter 'year' = 1990: expected at least 2000"):
        parameters.check("alpha", {"year": 1990, "label": "U.S."})
