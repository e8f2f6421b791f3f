"""Scenario tests for notebooks/agreements_memberships.ipynb, built in a temporary copy of the real project.

CERN counts are recomputed here by a different route than the notebook's (start from CERN's 2024 page snapshot and
apply the dated changes announced after it), so the test checks the notebook's day-by-day spell logic. Each claim is
judged at its document's reference date (docs/verdict-policy.md); the default run is that reading.
"""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import yaml

NB = "agreements_memberships"
COMBO = {"as_of": "2025-12-31", "act_reading": "act3-funding-agencies",
         "icarus_start_milestone": "operations-started", "euv_count_year": 2001}


def cern_counts(project, as_of: str) -> tuple[int, int]:
    """Members and associates (pre-stage included) on a date after CERN's 2024 page snapshot (taken before 30 Aug 2024)."""
    day = pd.Timestamp(as_of)
    snap = project.load("cern-member-states-2024.membership")
    members = set(snap.loc[snap["status"] == "member", "entity"])
    associates = set(snap.loc[snap["status"].isin(["associate", "associate_pre_stage"]), "entity"])
    changes = pd.concat([project.load("cern-press-releases.membership")[["entity", "status", "since_date"]],
                         project.load("slovenia-gov-2025-cern.membership")[["entity", "status", "since_date"]]])
    changes = changes[changes["since_date"].notna() & (changes["since_date"] > pd.Timestamp("2024-03-13"))
                      & (changes["since_date"] <= day)]
    for r in changes.itertuples():
        if r.status == "member":
            members.add(r.entity)
            associates.discard(r.entity)
        elif r.status in ("associate", "associate_pre_stage"):
            associates.add(r.entity)
    return len(members), len(associates)


def installation_year(project) -> int:
    """The first year after the arrival in which the printed month-day falls on the printed weekday."""
    arrival = project.load("fermilab-2017-icarus-arrival.events")["date"].iloc[0]
    row = project.load("fermilab-2018-icarus-installed.events").iloc[0]
    mon, day = (int(x) for x in row["month_day"].split("-"))
    return next(y for y in range(arrival.year, arrival.year + 20)
                if dt.date(y, mon, day) > arrival.date() and dt.date(y, mon, day).strftime("%A") == row["weekday"])


def test_policy_reading_and_variants(project):
    project.keep_only_notebook(NB, {"combo": COMBO})
    project.cli("build", "--no-render", f"{NB}/default", f"{NB}/combo", check=True)
    default = project.claim_records(f"{NB}/default")
    combo = project.claim_records(f"{NB}/combo")
    reg = yaml.safe_load(project.path("claims/register.yml").read_text())
    mine = [c for c in reg["claims"] if c["check"]["notebook"] == NB]
    assert set(default) == {c["id"] for c in mine if not c.get("duplicate_of")}
    assert all(c.get("kind") and c.get("reading") for c in mine)
    # Every claim is judged at its document's reference date.
    for c in mine:
        if c["id"] in default:
            assert default[c["id"]]["reference_date"] == str(reg["documents"][c["document"]]["reference_date"])

    # Overview (2024-12-31): Estonia is a member, so 23 members is outdated; 10 associates (pre-stage counted) holds.
    m, a = cern_counts(project, "2024-12-31")
    assert (default["cern-member-states-23"]["reproduced"], default["cern-associate-states-10"]["reproduced"]) == (m, a)
    assert m != 23 and default["cern-member-states-23"]["verdict"] == "outdated"
    assert default["cern-member-states-23"]["earlier"]["value"] == 23
    assert a == 10 and default["cern-associate-states-10"]["verdict"] == "reproduced"

    # The robustness table of the default run carries the other dates: mid-2024 has 11 associates (Brazil), outdated.
    rob = pd.read_csv(io.StringIO(project.figure_records(f"{NB}/default")["tbl-robustness-agreements"]["csv"]), dtype=str)
    mid = rob[(rob["claim"] == "cern-associate-states-10") & (rob["reading"] == "counted on 2024-06-30, pre-stage associates counted")]
    assert mid["value"].tolist() == [str(cern_counts(project, "2024-06-30")[1])]
    assert mid["verdict"].tolist() == ["outdated"]

    # ACT, policy reading: the latest call before the paper (the 2023 Open Call) has no country list in reach, so the
    # claim is unverifiable; RCN's uncited "15 countries and regions" (ACT3, U.S. included) is a lead, not `found`.
    rcn = int(project.load("rcn-act3-call.call")["value"].iloc[0])
    act = default["act-doe-plus-15-countries"]
    assert act["reproduced"] is None and act["verdict"] == "unverifiable" and act["found"] is None
    assert [(lead["value"], lead["dataset"]) for lead in act["leads"]] == [(rcn, "rcn-act3-call.call")]
    assert "ACT Open Call" in act["rationale"] and "mislabelled" in act["rationale"]  # says why the verdict moved

    # The LDRD sentence is judged on its own wording: the year agrees, the funding attribution is a caveat.
    ldrd = default["lanl-fuel-cells-ldrd-1977"]
    assert ldrd["reproduced"] == int(project.load("lanl-fuel-cell-program.events")["year"].iloc[0])
    assert ldrd["verdict"] == "reproduced-with-caveat" and ldrd["caveats"][0].startswith("attribution:")

    # The State page's hedge word travels with the value; its undated page is a note on the evidence, not a caveat.
    st = default["bilateral-st-agreements-60"]
    assert (st["qualifier"], st["verdict"], st["caveats"]) == ("nearly", "reproduced", [])
    assert st["confidence"] and default["bilateral-st-agreements-over-60"]["verdict"] == "not-reproduced"

    # CO2 DataShare: two supporters listed by the bilateral.
    assert default["co2-datashare-us-norway"]["reproduced"] == 2
    assert default["co2-datashare-us-norway"]["verdict"] == "reproduced"

    # The NSTC report: year and recommendations from the one news report of it; findings stay open.
    sb_year = int(project.load("sciencebusiness-2022-white-house-science-diplomacy.events")["year"].iloc[0])
    sb_recs = int(project.load("sciencebusiness-2022-white-house-science-diplomacy.counts")["value"].iloc[0])
    assert (default["nstc-report-2022"]["reproduced"], default["nstc-report-2022"]["verdict"]) == (sb_year, "reproduced")
    assert (default["nstc-recommendations-16"]["reproduced"], default["nstc-recommendations-16"]["verdict"]) == (sb_recs, "reproduced")
    assert default["nstc-report-2022"]["confidence"] and default["nstc-findings-12"]["verdict"] == "unverifiable"
    # The U.S.-Norway bilateral, dated from the 2004 memorandum: about two decades at the paper's date, so 'decade-long'
    # held years earlier (outdated), with the window counted from the month the report prints.
    mou = pd.Period(project.load("upi-2004-us-norway-energy-research.events")["month"].iloc[0], freq="M")
    nor = default["us-norway-ccs-decade"]
    paper = pd.Timestamp(nor["reference_date"])
    assert abs(nor["reproduced"] - (paper - (mou + 1).start_time).days / 365.25) < 0.01
    assert nor["verdict"] == "outdated" and nor["earlier"]["date"] == f"{mou + 12 * 8} to {mou + 12 * 12}"

    # No day made up from a year-only accession date in the CERN finding.
    assert "2021-12-31" not in default["cern-associate-states-10"]["rationale"]

    # New sources: the host laboratory's 'first', the Hoover listing's day; the workshop's length stays open.
    assert default["dune-first-us-hosted-megascience"]["reproduced"] == 1
    assert default["dune-first-us-hosted-megascience"]["verdict"] == "reproduced"
    listing = project.load("hoover-2024-intl-collaboration-conversation.events").iloc[0]
    stated = next(c for c in mine if c["id"] == "hoover-workshop-2024-01-22")["stated"]["date"]
    assert str(listing["date"].date()) == stated and default["hoover-workshop-2024-01-22"]["verdict"] == "reproduced"
    hours = (pd.to_timedelta(listing["end_time"] + ":00") - pd.to_timedelta(listing["start_time"] + ":00")).total_seconds() / 3600
    assert default["hoover-workshop-one-day"]["verdict"] == "unverifiable"
    assert f"{hours:g} hours" in default["hoover-workshop-one-day"]["reason"]
    venado = default["venado-first-us-grace-customer"]
    assert venado["verdict"] == "unverifiable" and "plan" in venado["reason"]
    assert venado["details"]["plan_date"] == str(project.load("nextplatform-2022-venado.statements")["date"].iloc[0].date())

    # EUV consortium in 1999: the launch leads are certain; Infineon (2000) and IBM (2001) joined later, so at most four
    # of the six were members: not reproduced. In 2001 all six are listed.
    leads = project.load("intel-1997-euv-llc.members")
    joins = pd.concat([project.load("sbn-2000-infineon-euv-llc.members"), project.load("engineer-2001-ibm-euv-llc.members")])
    joined_later = set(joins.loc[(joins["role"] == "joined_euv_llc") & (joins["year"] > 1999), "entity"])
    listed_2001 = project.load("sandia-2001-euvl-crada-extension.members")
    euv = default["euv-consortium-members-6"]
    assert (euv["details"]["certain"], euv["details"]["possible"]) == (len(leads), len(listed_2001) - len(joined_later))
    assert (euv["reproduced"], euv["qualifier"], euv["verdict"]) == (len(listed_2001) - len(joined_later), "at most", "not-reproduced")
    assert combo["euv-consortium-members-6"]["reproduced"] == len(listed_2001)
    assert combo["euv-consortium-members-6"]["verdict"] == "reproduced-with-caveat"

    # ICARUS: default start = end of commissioning (4 years); the variant start = operations (not reproduced).
    installed = installation_year(project)
    ms = project.load("pos-ichep2022-icarus.milestones").set_index("event")
    assert default["icarus-lowered-2018"]["reproduced"] == installed
    assert default["icarus-four-years-to-start"]["reproduced"] == ms.loc["commissioning_completed", "year"] - installed
    assert default["icarus-four-years-to-start"]["verdict"] == "reproduced"
    assert combo["icarus-four-years-to-start"]["reproduced"] == ms.loc["operations_started_at_fermilab", "year"] - installed
    assert combo["icarus-four-years-to-start"]["verdict"] == "not-reproduced"

    # Variant date and ACT unit: end of 2025 has 25 members; counting funding agencies gives 15 with a caveat.
    m, a = cern_counts(project, "2025-12-31")
    assert (combo["cern-member-states-23"]["reproduced"], combo["cern-associate-states-10"]["reproduced"]) == (m, a)
    assert combo["cern-member-states-23"]["verdict"] == "outdated"
    agencies = project.load("cordis-act-691712.consortium").set_index("measure").loc["funding_agencies", "value"]
    assert combo["act-doe-plus-15-countries"]["reproduced"] == agencies - 1
    assert combo["act-doe-plus-15-countries"]["verdict"] == "reproduced-with-caveat"
    assert combo["act-doe-plus-15-countries"]["reading"] != act["reading"]

    # The U.S.-China agreement did not lapse in 2023: the gap year is the protocol's effective year.
    xin = project.load("xinhua-2024-us-china-sta.events").set_index("event")
    assert default["us-china-sta-lapsed-2023"]["reproduced"] == xin.loc["extended_five_years_effective_from", "date"].year
    assert default["us-china-sta-lapsed-2023"]["verdict"] == "not-reproduced"

    figs = project.figure_records(f"{NB}/combo")
    assert {"fig-cern-membership", "fig-us-china-sta-timeline", "tbl-robustness-agreements", "tbl-cern-periods",
            "tbl-euv-membership"} <= set(figs)
    assert all(f["declared"] for f in figs.values())


def test_parameters_outside_the_data_fail_naming_the_parameter(project):
    project.keep_only_notebook(NB, {"too-early": {"as_of": "2015-01-01"}, "euv-too-late": {"euv_count_year": 2010}})
    for run, name in [("too-early", "as_of"), ("euv-too-late", "euv_count_year")]:
        proc = project.cli("build", "--no-render", f"{NB}/{run}")
        assert proc.returncode != 0
        out = proc.stdout + proc.stderr
        assert name in out and "Traceback" not in out
