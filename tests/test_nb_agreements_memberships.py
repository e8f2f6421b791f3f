"""Scenario tests for notebooks/agreements_memberships.ipynb, built in a temporary copy of the real project.

CERN counts are recomputed here by a different route than the notebook's (start from CERN's 2024 page snapshot and
apply the dated changes announced after it), so the test checks the notebook's day-by-day spell logic.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import yaml

NB = "agreements_memberships"






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


def test_cern_dates_act_reading_and_icarus_milestone(project):
    project.keep_only_notebook(NB, {"combo": {"as_of": "2025-12-31", "act_reading": "act3-countries-and-regions",
                                         "icarus_start_milestone": "operations-started"}})
    project.cli("build", "--no-render", f"{NB}/mid-2024", f"{NB}/combo", check=True)
    mid = project.claim_records(f"{NB}/mid-2024")
    combo = project.claim_records(f"{NB}/combo")

    reg = yaml.safe_load(project.path("claims/register.yml").read_text())
    expected_ids = {c["id"] for c in reg["claims"] if c["check"]["notebook"] == NB and not c.get("duplicate_of")}
    assert set(mid) == expected_ids

    # Mid-2024 (inside the window of CERN's 2024 page): 23 members but 11 associates (Brazil joined 13 Mar 2024).
    m, a = cern_counts(project, "2024-06-30")
    assert (mid["cern-member-states-23"]["reproduced"], mid["cern-associate-states-10"]["reproduced"]) == (m, a)
    assert mid["cern-member-states-23"]["verdict"] == "reproduced-with-caveat"
    assert a != 10 and mid["cern-associate-states-10"]["verdict"] == "outdated"
    assert mid["cern-associate-states-10"]["earlier"]["value"] == 10

    # End of 2025: Estonia and Slovenia are members, Ireland an associate; 23 members is outdated.
    m, a = cern_counts(project, "2025-12-31")
    assert (combo["cern-member-states-23"]["reproduced"], combo["cern-associate-states-10"]["reproduced"]) == (m, a)
    assert m != 23 and combo["cern-member-states-23"]["verdict"] == "outdated"
    assert any("pre-stage" in c for c in combo["cern-associate-states-10"]["caveats"])

    # ACT read as ACT3 'countries and regions', the U.S. among them: one fewer than the 15 stated.
    rcn = project.load("rcn-act3-call.call")["value"].iloc[0]
    assert combo["act-doe-plus-15-countries"]["reproduced"] == rcn - 1
    assert combo["act-doe-plus-15-countries"]["verdict"] == "not-reproduced"

    # ICARUS: installation year inferred from 'Tuesday, Aug. 14' after the July 2017 arrival; start = operations (2020).
    arrival = project.load("fermilab-2017-icarus-arrival.events")["date"].iloc[0]
    row = project.load("fermilab-2018-icarus-installed.events").iloc[0]
    mon, day = (int(x) for x in row["month_day"].split("-"))
    installed = next(y for y in range(arrival.year, arrival.year + 20)
                     if dt.date(y, mon, day) > arrival.date() and dt.date(y, mon, day).strftime("%A") == row["weekday"])
    ops = project.load("pos-ichep2022-icarus.milestones").set_index("event").loc["operations_started_at_fermilab", "year"]
    assert combo["icarus-lowered-2018"]["reproduced"] == installed
    assert combo["icarus-four-years-to-start"]["reproduced"] == ops - installed
    assert combo["icarus-four-years-to-start"]["verdict"] == "not-reproduced"

    # Higgs -> U.S.-CERN agreement interval, in years.
    higgs = project.load("cern-2012-higgs-announcement.events")["date"].iloc[0]
    signed = project.load("doe-2015-us-cern-agreement.events")["date"].iloc[0]
    assert combo["higgs-few-years-prior"]["reproduced"] == pytest.approx((signed - higgs).days / 365.25, abs=0.01)

    # The U.S.-China agreement did not lapse in 2023: the gap year is the protocol's effective year.
    xin = project.load("xinhua-2024-us-china-sta.events").set_index("event")
    assert combo["us-china-sta-lapsed-2023"]["reproduced"] == xin.loc["extended_five_years_effective_from", "date"].year
    assert combo["us-china-sta-lapsed-2023"]["verdict"] == "not-reproduced"

    figs = project.figure_records(f"{NB}/combo")
    assert {"fig-cern-membership", "fig-us-china-sta-timeline", "tbl-robustness-agreements", "tbl-cern-periods"} <= set(figs)


def test_as_of_outside_the_data_fails_naming_the_parameter(project):
    project.keep_only_notebook(NB, {"too-early": {"as_of": "2015-01-01"}})
    proc = project.cli("build", "--no-render", f"{NB}/too-early")
    assert proc.returncode != 0
    assert "as_of" in proc.stdout + proc.stderr
