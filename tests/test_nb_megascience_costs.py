"""Scenario tests of notebooks/megascience_costs.ipynb: parameter sets are built in a temporary copy of the
project and the recorded claims are checked against values recomputed here from the catalog."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import one_row as one

NB = "megascience_costs"
PAIRING_SETS = [
    "slashgear-2025-iss.iss_cost_estimates", "physicstoday-2016-iter-not-pinned.iter_cost_estimates",
    "nature-2009-iter-editorial.iter_cost_estimates", "fpa-newsletters.iter_cost_estimates",
    "physicstoday-2016-costs-pinned.iter_cost_estimates", "nei-2016-iter-delayed.iter_cost_estimates",
    "nucnet-2017-iter-on-target.iter_cost_estimates", "peak-oil-2017-iter-halfway.iter_cost_estimates",
]





@pytest.fixture
def built(project):
    project.keep_only_notebook(NB, {"test-alternatives": {"iss_estimator": "wikipedia_2010", "lbnf_source": "science_2012",
                                                       "eur_usd_pairing": "lowest"}})
    project.cli("build", "--no-render", f"{NB}/default", f"{NB}/us-illustrative-high", f"{NB}/test-alternatives",
                check=True)
    return project


def test_iss_150bn_has_no_nasa_2024_source(built):
    p = built
    default = p.claim_records(f"{NB}/default")
    assert default["iss-total-cost-150bn"]["verdict"] == "unverifiable"
    assert default["iss-total-cost-150bn"]["reproduced"] is None
    assert "NASA" in default["iss-total-cost-150bn"]["reason"]

    # the illustrative U.S. bracket: OIG's total through 2013 plus 11 years at the top of its $3-4bn a year
    oig = one(p.load("nasa-oig-ig-14-031.iss_cost_estimates"), measure="us_spending_through_2013")
    per_year = one(p.load("nasa-oig-ig-14-031.iss_annual_cost"), measure="nasa_annual_iss_cost_going_forward")
    high = p.claim_records(f"{NB}/us-illustrative-high")["iss-total-cost-150bn"]
    assert high["reproduced"] == pytest.approx(oig["value"] + (2024 - 2013) * per_year["value_high"])
    assert high["verdict"] == "not-reproduced"  # U.S. only, below the claim's band even at the high end
    assert any(c.startswith("measure") for c in high["caveats"])

    # the Wikipedia infobox figure matches the number, not the attribution or the year
    wiki = one(p.load("wikipedia-iss-program.iss_cost_estimates"), measure="iss_total_cost")
    alt = p.claim_records(f"{NB}/test-alternatives")["iss-total-cost-150bn"]
    assert alt["reproduced"] == pytest.approx(wiki["value"])
    assert alt["verdict"] == "reproduced-with-caveat"
    assert any(c.startswith("source attribution") for c in alt["caveats"])
    assert any(c.startswith("year") and str(int(wiki["year"])) in c for c in alt["caveats"])


def test_altitude_lbnf_and_horizon_europe(built):
    p = built
    default = p.claim_records(f"{NB}/default")
    alt = one(p.load("nasa-what-is-the-iss-grades-5-8.orbit"), measure="average_orbital_altitude")
    assert default["iss-250-miles"]["reproduced"] == pytest.approx(alt["value"])
    assert default["iss-250-miles"]["verdict"] == "reproduced"
    assert default["dune-import-costs-millions"]["verdict"] == "unverifiable"

    later = one(p.load("wikipedia-deep-underground-neutrino-experiment.cost"), measure="project_cost_later")
    assert default["lbnf-dune-multibillion"]["reproduced"] == pytest.approx(later["value"])
    assert default["lbnf-dune-multibillion"]["verdict"] == "reproduced-with-caveat"
    lbne = one(p.load("science-2012-fermilab-looks-abroad.cost"), measure="total_project_cost_estimate")
    alt = p.claim_records(f"{NB}/test-alternatives")
    assert alt["lbnf-dune-multibillion"]["reproduced"] == pytest.approx(lbne["value"])
    assert alt["lbnf-dune-multibillion"]["verdict"] == "not-reproduced"  # LBNE's 2012 $1.9bn is under $2bn

    budget = one(p.load("ec-ip-20-2345.budget"), measure="programme_budget")["value"]
    pairs = pd.concat([p.load(n) for n in PAIRING_SETS])
    pairs = pairs[pairs["usd_equivalent_as_published"].notna()]
    rates = pairs["usd_equivalent_as_published"] / pairs["value"]
    slash = one(p.load("slashgear-2025-iss.iss_cost_estimates"), measure="iss_total_cost_all_partners")
    he_default = default["intl-frameworks-hundred-billion"]
    assert he_default["reproduced"] == pytest.approx(budget * slash["usd_equivalent_as_published"] / slash["value"], abs=0.01)
    assert alt["intl-frameworks-hundred-billion"]["reproduced"] == pytest.approx(budget * rates.min(), abs=0.01)
    for rec in (he_default, alt["intl-frameworks-hundred-billion"]):
        assert rec["verdict"] == "reproduced-with-caveat"  # the essay names no framework
        assert any(c.startswith("referent") for c in rec["caveats"])


def test_a_year_outside_the_oig_horizon_fails_naming_the_parameter(project):
    project.keep_only_notebook(NB, {"bad-year": {"through_year": 2030}})
    proc = project.cli("build", "--no-render", f"{NB}/bad-year")
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "parameter through_year = 2030" in out and "ValueError" in out
