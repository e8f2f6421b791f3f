"""Scenario tests for notebooks/publications_people.ipynb, built in a temporary copy of the real project.

Expected values are recomputed here from the catalog with plain pandas, never copied from a run.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest
from conftest import built_notebook
import yaml

NB = "publications_people"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return built_notebook(tmp_path_factory, NB, ["default", "open-doors-2023", "us-china-latest-year"])


def test_non_default_sets_match_the_catalog(built):
    project = built
    od23 = project.claim_records(f"{NB}/open-doors-2023")
    latest = project.claim_records(f"{NB}/us-china-latest-year")

    # Every claim the register assigns to the notebook (except duplicates) is recorded.
    reg = yaml.safe_load(project.path("claims/register.yml").read_text())
    expected_ids = {c["id"] for c in reg["claims"] if c["check"]["notebook"] == NB and not c.get("duplicate_of")}
    assert set(od23) == expected_ids

    # Co-authorship share: 2022 international / total U.S. articles (SPBS-33), in percent.
    art = project.load("nsf-nsb-2023-33.spbs33_articles")
    us22 = art[(art["entity"] == "USA") & (art["year"] == 2022)].set_index("measure")["value"]
    share = 100 * us22["articles_with_international_institutions"] / us22["articles_total"]
    assert od23["us-intl-coauthored-40"]["reproduced"] == pytest.approx(share, abs=0.01)
    assert od23["us-intl-coauthored-40"]["verdict"] == "reproduced"

    # STEM students, Open Doors 2023 edition at the 55% share: total x share, derived here.
    total = project.load("iie-open-doors-2023.enrollment")["value"].iloc[0]
    stem = project.load("iie-open-doors-2023.stem_share").set_index("summary")["value"]
    rec = od23["intl-stem-students-580000"]
    assert rec["reproduced"] == pytest.approx(total * stem["myfuturechoice"], abs=1)
    assert rec["verdict"] == "reproduced-with-caveat"
    assert any(c.startswith("source:") and "Open Doors 2023" in c for c in rec["caveats"])

    # The cited edition has no 2023 U.S.-China count: unverifiable by default ...
    assert od23["us-china-coauthored-2023-55000"]["verdict"] == "unverifiable"
    assert od23["us-china-coauthored-2023-55000"]["reason"]
    # ... and reading the claim as the latest year with data gives the published 2022 pair count, outside +/-5%.
    pair = project.load("nsf-nsb-2023-33.spbs35_us_china").set_index("year")["value"]
    rec = latest["us-china-coauthored-2023-55000"]
    assert rec["reproduced"] == pytest.approx(pair[2022])
    assert abs(pair[2022] / 55000 - 1) > 0.05 and rec["verdict"] == "not-reproduced"
    assert any(c.startswith("year:") for c in rec["caveats"])
    # The default STEM reading (Open Doors 2024 x 56%) is outdated: the 2023 edition gave ~580,000.
    od24 = project.load("iie-open-doors-2024.enrollment").set_index("measure")["value"]["international_students_total"]
    s24 = project.load("iie-open-doors-2024.stem_share")["value"].iloc[0]
    assert latest["intl-stem-students-580000"]["reproduced"] == pytest.approx(od24 * s24, abs=1)
    assert latest["intl-stem-students-580000"]["verdict"] == "outdated"

    # China Initiative: the end year comes from the DOJ speech, with the MIT TR window caveat.
    doj = project.load("doj-2022-olsen-nation-state-threats.events").set_index("event")
    assert od23["china-initiative-end-2022"]["reproduced"] == doj.loc["end_announced", "date"].year
    assert od23["china-initiative-cases-77"]["verdict"] == "unverifiable"

    figs = project.figure_records(f"{NB}/open-doors-2023")
    assert {"fig-us-intl-coauthorship", "fig-us-china-coauthored", "tbl-robustness-publications", "tbl-intl-stem-students"} <= set(figs)
    assert figs["fig-us-intl-coauthorship"]["rows"] == art[["entity", "year"]].drop_duplicates().shape[0]


def test_year_outside_the_data_fails_naming_the_parameter(project):
    project.keep_only_notebook(NB, {"bad-year": {"coauthorship_year": 2030}})
    proc = project.cli("build", "--no-render", f"{NB}/bad-year")
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "coauthorship_year=2030" in out and "Traceback" not in out


def test_lanl_inspector_training_is_judged_on_lanls_own_abstracts(built):
    rec = built.claim_records(f"{NB}/default")["lanl-trains-iaea-inspectors"]
    inmm07 = built.load("inmm-2007-evolution-safeguards-training-lanl.inspector_training")
    inmm24 = built.load("inmm-2024-lanl-safeguards-training-50-years.inspector_training")
    # 'every new IAEA inspector' (2007, before the paper's date) is stored as 1: within 'virtually every' (>= 90%)
    assert rec["reproduced"] == pytest.approx(100 * inmm07["value"].iloc[0])
    assert rec["verdict"] == "reproduced-with-caveat"
    # one flaw of the claim (its looser wording); the lab's own account is a note on the evidence, the date a coverage note
    assert {c.split(":")[0] for c in rec["caveats"]} == {"wording"}
    assert {c.split(":")[0] for c in rec["confidence"]} == {"source"}
    assert {c.split(":")[0] for c in rec["coverage"]} == {"date"}
    assert "lock" not in rec["rationale"]
    assert rec["datasets"] == ["inmm-2007-evolution-safeguards-training-lanl.inspector_training"]
    # the 2024 abstract prints no number: its reading is unverifiable, shown in the robustness table
    assert inmm24["value"].isna().all()
    rob = pd.read_csv(io.StringIO(built.figure_records(f"{NB}/default")["tbl-robustness-publications"]["csv"]))
    rows = rob[rob["claim"] == "lanl-trains-iaea-inspectors"].set_index("reading")["verdict"]
    assert sorted(rows.tolist()) == ["reproduced-with-caveat", "unverifiable"]
    assert any(inmm24["value_as_printed"].iloc[0] in reading for reading in rows.index)


def test_china_rank_is_nsfs_own_and_the_seismic_rank_is_unverifiable(built):
    rec = built.claim_records(f"{NB}/default")
    share = built.load("nsf-nsb-2023-33.spbs36_us_intl_partner_share").sort_values("year")
    takeaways = built.load("nsf-nsb-2023-33.key_takeaways")
    china = rec["china-most-important-collaborator"]
    # NSB-2023-33's key takeaways name China the most frequent U.S. partner: rank 1, with the looser wording as a caveat
    assert china["reproduced"] == takeaways["value"].iloc[0] == 1 and china["verdict"] == "reproduced-with-caveat"
    assert china["caveats"][0].startswith("wording:") and china["confidence"]
    assert f"{round(100 * share['value'].max(), 2):g}%" in china["rationale"]
    assert china["datasets"] == ["nsf-nsb-2023-33.key_takeaways", "nsf-nsb-2023-33.spbs36_us_intl_partner_share"]
    partners = rec["lanl-seismic-partners-italy-france-uk"]
    assert partners["verdict"] == "unverifiable" and "query" in partners["reason"]
    summary = pd.read_csv(io.StringIO(built.figure_records(f"{NB}/default")["tbl-claims-summary-publications"]["csv"]))
    reg = yaml.safe_load(built.path("claims/register.yml").read_text())
    assert set(summary["claim"]) == {c["id"] for c in reg["claims"] if c["check"]["notebook"] == NB}
