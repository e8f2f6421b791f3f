"""Scenario tests of notebooks/megascience_costs.ipynb: parameter sets are built in a temporary copy of the
project and the recorded claims are checked against values recomputed here from the catalog."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from conftest import built_notebook
from conftest import one_row as one

NB = "megascience_costs"
PAIRING_SETS = [
    "slashgear-2025-iss.iss_cost_estimates", "physicstoday-2016-iter-not-pinned.iter_cost_estimates",
    "nature-2009-iter-editorial.iter_cost_estimates", "fpa-newsletters.iter_cost_estimates",
    "physicstoday-2016-costs-pinned.iter_cost_estimates", "nei-2016-iter-delayed.iter_cost_estimates",
    "nucnet-2017-iter-on-target.iter_cost_estimates", "peak-oil-2017-iter-halfway.iter_cost_estimates",
]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The default run, the high illustrative U.S. bracket and one run of other readings, built once."""
    return built_notebook(tmp_path_factory, NB, ["default", "us-illustrative-high", "test-alternatives"],
                          {"test-alternatives": {"iss_estimator": "wikipedia_2010", "lbnf_source": "science_2012",
                                                 "eur_usd_pairing": "lowest"}})


def robustness(project):
    csv = project.figure_records(f"{NB}/default")["tbl-robustness-megascience"]["csv"]
    return pd.read_csv(io.StringIO(csv))


def test_iss_150bn_has_no_nasa_2024_source_and_the_oig_2015_figure_does_not_settle_it(built):
    p = built
    default = p.claim_records(f"{NB}/default")["iss-total-cost-150bn"]
    assert default["verdict"] == "unverifiable" and default["reproduced"] is None
    assert "NASA" in default["reason"] and default["reading"]  # the register's reading, judged at 2024-12-31
    assert default["reference_date"] == "2024-12-31"
    # the OIG's 2015 U.S.-only figure is recorded as partial evidence, in words built from the data
    oig_2015 = one(p.load("nasa-oig-2015-iss.iss_cost_estimates"), measure="us_investment_over_21_years")
    assert oig_2015["value_as_stated"] in default["rationale"] and "U.S. only" in default["rationale"]
    rob = robustness(p).set_index("reading")
    assert rob.loc["iss_estimator=oig_2015_us", "value"] == pytest.approx(oig_2015["value"])
    assert rob.loc["iss_estimator=oig_2015_us", "verdict"] == "not-reproduced"  # another population and date
    assert rob.loc["iss_estimator=official_2024_total", "verdict"] == "unverifiable"

    # the illustrative U.S. bracket: OIG's total through 2013 plus 11 years at the top of its annual range
    oig = one(p.load("nasa-oig-ig-14-031.iss_cost_estimates"), measure="us_spending_through_2013")
    per_year = one(p.load("nasa-oig-ig-14-031.iss_annual_cost"), measure="nasa_annual_iss_cost_going_forward")
    high = p.claim_records(f"{NB}/us-illustrative-high")["iss-total-cost-150bn"]
    assert high["reproduced"] == pytest.approx(oig["value"] + (2024 - 2013) * per_year["value_high"])
    assert high["verdict"] == "not-reproduced"  # U.S. only, below the claim's band even at the high end
    assert high["reading"].startswith("variant:") and any(c.startswith("measure") for c in high["caveats"])

    # the Wikipedia infobox figure matches the number, not the attribution or the year: a variant, not the verdict
    wiki = one(p.load("wikipedia-iss-program.iss_cost_estimates"), measure="iss_total_cost")
    alt = p.claim_records(f"{NB}/test-alternatives")["iss-total-cost-150bn"]
    assert alt["reproduced"] == pytest.approx(wiki["value"])
    assert alt["verdict"] == "reproduced-with-caveat" and alt["reading"].startswith("variant:")
    assert any(c.startswith("source attribution") for c in alt["caveats"])
    assert any(c.startswith("year") and str(int(wiki["year"])) in c for c in alt["caveats"])


def test_altitude_lbnf_and_horizon_europe(built):
    p = built
    default = p.claim_records(f"{NB}/default")
    alt = one(p.load("nasa-what-is-the-iss-grades-5-8.orbit"), measure="average_orbital_altitude")
    assert default["iss-250-miles"]["reproduced"] == pytest.approx(alt["value"])
    assert default["iss-250-miles"]["verdict"] == "reproduced"
    assert default["dune-import-costs-millions"]["verdict"] == "unverifiable"

    # re-graded: the tertiary evidence is not a flaw of the claim, so no caveat
    later = one(p.load("wikipedia-deep-underground-neutrino-experiment.cost"), measure="project_cost_later")
    lbnf = default["lbnf-dune-multibillion"]
    assert lbnf["reproduced"] == pytest.approx(later["value"])
    assert lbnf["verdict"] == "reproduced" and lbnf["caveats"] == []
    assert "tertiary" in lbnf["rationale"] and "reproduced-with-caveat before" in lbnf["rationale"]
    lbne = one(p.load("science-2012-fermilab-looks-abroad.cost"), measure="total_project_cost_estimate")
    alt = p.claim_records(f"{NB}/test-alternatives")
    assert alt["lbnf-dune-multibillion"]["reproduced"] == pytest.approx(lbne["value"])
    assert alt["lbnf-dune-multibillion"]["verdict"] == "not-reproduced"  # LBNE's 2012 estimate is under $2bn

    budget = one(p.load("ec-ip-20-2345.budget"), measure="programme_budget")["value"]
    pairs = pd.concat([p.load(n) for n in PAIRING_SETS])
    pairs = pairs[pairs["usd_equivalent_as_published"].notna()]
    rates = pairs["usd_equivalent_as_published"] / pairs["value"]
    slash = one(p.load("slashgear-2025-iss.iss_cost_estimates"), measure="iss_total_cost_all_partners")
    he_default = default["intl-frameworks-hundred-billion"]
    assert he_default["reproduced"] == pytest.approx(budget * slash["usd_equivalent_as_published"] / slash["value"], abs=0.01)
    assert alt["intl-frameworks-hundred-billion"]["reproduced"] == pytest.approx(budget * rates.min(), abs=0.01)
    for rec in (he_default, alt["intl-frameworks-hundred-billion"]):
        # the essay names no framework: which one is checked is a coverage note, not a flaw of the claim
        assert rec["verdict"] == "reproduced" and rec["caveats"] == []
        assert [c.split(":")[0] for c in rec["coverage"]] == ["scope"] and rec["qualifier"] == "around"
    rob = robustness(p)
    he = rob[rob["claim"] == "intl-frameworks-hundred-billion"]
    assert len(he) == len(PAIRING_SETS) + 2 and (he["verdict"] == "reproduced").all()  # each publication, lowest, highest
    policy = rob[rob["policy"].astype(str) == "True"].set_index("claim")
    for claim_id, rec in default.items():
        assert policy.loc[claim_id, "verdict"] == rec["verdict"], claim_id


def test_a_year_outside_the_oig_horizon_fails_naming_the_parameter(project):
    project.keep_only_notebook(NB, {"bad-year": {"through_year": 2030}})
    proc = project.cli("build", "--no-render", f"{NB}/bad-year")
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert f"parameter set 'bad-year' of notebook '{NB}' is invalid" in out and "through_year=2030" in out
    assert "Traceback" not in out
