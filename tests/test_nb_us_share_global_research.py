"""Scenario tests of notebooks/us_share_global_research.ipynb: non-default parameter sets are built in a
temporary copy of the project and the recorded claims are checked against values recomputed here from
the catalog."""

from __future__ import annotations

import math

import pytest
from conftest import one_row

from analysis.parameters import read_parameters

NB = "us_share_global_research"




def val(df, entity, year, measure):
    return float(one_row(df, entity=entity, year=year, measure=measure)["value"])


@pytest.fixture
def built(project):
    project.keep_only_notebook(NB)
    project.cli("build", "--no-render", f"{NB}/basic-research-low", f"{NB}/nsf-universe", f"{NB}/msti-2023-vintage", check=True)
    return project


def test_basic_research_low_recomputes_the_estimate_and_moves_the_value(built):
    p = built
    params = read_parameters(p.path(f"notebooks/{NB}.ipynb"))
    rest_low = params["rest_basic_share_low"].default
    crs = p.load("crs-r44283-2018.gerd")
    amounts = {e: val(crs, e, 2016, "gerd") for e in ("USA", "CHN", "JPN", "KOR")}
    world = val(crs, "WLD", 2016, "gerd")
    us_share = val(p.load("nsf-nsb-2018-1.shares"), "USA", 2015, "basic_research_share_of_rd")
    nbs17 = p.load("nbs-china-2017.rd_expenditure")
    cn_share = (val(nbs17, "CHN", 2017, "basic_research")
                / (1 + val(p.load("nbs-china-2017.shares"), "CHN", 2017, "basic_research_growth_yoy"))
                / val(p.load("nbs-china-2016.rd_expenditure"), "CHN", 2016, "gerd"))
    jp_share = min(val(p.load("nsf-nsb-14-01.t4_6_shares"), "JPN", 2011, "basic_research_share_of_gerd"),
                   val(p.load("mic-japan-rd-survey-2015.shares"), "JPN", 2014, "basic_research_share_of_natural_science_rd"))
    k17 = p.load("kistep-korea-rd-survey-2017.rd_expenditure")
    k14 = p.load("nature-2016-south-korea-rd.rd_by_type")
    kr_share = min(val(k17, "KOR", 2017, "basic_research") / val(k17, "KOR", 2017, "gerd"),
                   val(k14, "KOR", 2014, "basic_research") / k14["value"].sum())
    basic = {"USA": amounts["USA"] * us_share, "CHN": amounts["CHN"] * cn_share,
             "JPN": amounts["JPN"] * jp_share, "KOR": amounts["KOR"] * kr_share}
    rest = (world - sum(amounts.values())) * rest_low
    expected = 100 * basic["USA"] / (sum(basic.values()) + rest)

    rec = p.claim_records(f"{NB}/basic-research-low")
    r2016 = rec["rd-share-2016"]
    assert r2016["reproduced"] == pytest.approx(expected, abs=0.01)
    # on the claim's own measure the U.S. share is well above 28%: the value moves and the claim is not reproduced
    assert r2016["reproduced"] > 40
    assert r2016["verdict"] == "not-reproduced"
    assert any(c.startswith("estimate:") for c in r2016["caveats"])
    # no world basic-research estimate exists for 1960
    r1960 = rec["rd-share-1960"]
    assert r1960["reproduced"] is None and r1960["verdict"] == "unverifiable" and r1960["reason"]
    # the comparison figure holds the total-R&D share 511.1/1821 and the basic-research range
    fig = p.figure_records(f"{NB}/basic-research-low")["fig-basic-vs-total"]
    assert f"{round(100 * amounts['USA'] / world, 2)}" in fig["csv"]


def test_nsf_universe_interpolates_the_world_total_and_msti_2023_revises_the_amounts(built):
    p = built
    s4_1 = p.load("nsf-nsb-2020-3.s4_1_gerd")
    w15 = val(p.load("nsf-nsb-2018-1.gerd"), "WLD", 2015, "gerd")
    w17 = val(p.load("nsf-nsb-2020-3.global_gerd"), "WLD", 2017, "gerd")
    expected_nsf = 100 * val(s4_1, "USA", 2016, "gerd") / math.sqrt(w15 * w17)
    rec = p.claim_records(f"{NB}/nsf-universe")["rd-share-2016"]
    assert rec["reproduced"] == pytest.approx(expected_nsf, abs=0.01)
    assert rec["verdict"] == "not-reproduced"  # NSF's ~119-country world gives ~25%, not 28%
    assert any("interpolated" in c for c in rec["caveats"])
    # the 1960 value is the published CRS figure, with the measure caveat
    r1960 = p.claim_records(f"{NB}/nsf-universe")["rd-share-1960"]
    crs_1960 = 100 * val(p.load("crs-r44283-2022.us_share"), "USA", 1960, "share_of_world_rd")
    assert r1960["reproduced"] == pytest.approx(crs_1960)
    assert r1960["verdict"] == "reproduced-with-caveat"
    assert any(c.startswith("measure:") for c in r1960["caveats"])

    crs = p.load("crs-r44283-2018.gerd")
    msti = p.load("nsf-23-346.gerd")
    named = ("USA", "CHN", "JPN", "KOR")
    world = val(crs, "WLD", 2016, "gerd") - sum(val(crs, e, 2016, "gerd") for e in named) + sum(val(msti, e, 2016, "gerd") for e in named)
    expected_vintage = 100 * val(msti, "USA", 2016, "gerd") / world
    rv = p.claim_records(f"{NB}/msti-2023-vintage")["rd-share-2016"]
    assert rv["reproduced"] == pytest.approx(expected_vintage, abs=0.01)
    assert rv["verdict"] == "not-reproduced"
    # the robustness table carries the default's 511.1/1821 row
    tbl = p.figure_records(f"{NB}/msti-2023-vintage")["tbl-robustness-rd-share"]
    assert f"{round(100 * val(crs, 'USA', 2016, 'gerd') / val(crs, 'WLD', 2016, 'gerd'), 2)}" in tbl["csv"]


def test_a_year_outside_the_data_fails_naming_the_parameter(project):
    project.keep_only_notebook(NB, {"bad-year": {"year": 2030}})
    proc = project.cli("build", "--no-render", f"{NB}/bad-year")
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "parameter 'year' = 2030" in out
    assert "ValueError" in out
