"""Prose never contradicts the build it is part of (docs/verdict-policy.md, section 6).

A rationale, reason or note (caveat, confidence, coverage) of a ledger row fails when it
- refers to the lock (``claims/lock.json`` changes with every ``lock``; "the lock had no data" goes stale);
- names, in a sentence about the present, a verdict other than the one the current build gives;
- states a day made up from a year-only date (a 31 December or 1 January no dataset of the row prints);
- converts an amount of one year at a rate printed in another without saying so.

The checks read the ledger of the test session's one build of the real project (the fixture
``real_build``, shared with tests/test_real_project.py), so they add no build time; the first
tests show, on the stale texts the 2026 audit found, that each check fails where it should.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from analysis.claims import VERDICTS

NOTE_FIELDS = ("rationale", "reason", "caveats", "confidence", "coverage")
#: verdict words, longest first, with the spaced variants prose uses ("reproduced with caveats")
VERDICT_WORDS = sorted(VERDICTS, key=len, reverse=True)
SPACED = {"reproduced with caveats": "reproduced-with-caveat", "reproduced with a caveat": "reproduced-with-caveat",
          "not reproduced": "not-reproduced"}
#: words that put a sentence in the past or in a hypothetical: its verdict need not be the current one
HISTORICAL = re.compile(r"\b(earlier|before|previous|previously|formerly|former|was judged|were judged|used to|it was|"
                        r"had been|would be|would give|if |variant|robustness|under the reading|under another)\b", re.I)
LOCK = re.compile(r"\bthe lock\b|\block\.json\b|\block's\b|\blocked\b", re.I)
ISO_DAY = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
CONVERSION = re.compile(r"\((\d{4})\): [^;]*? x (\d+\.\d+) USD/EUR")
RATE = re.compile(r"1 EUR = (\d+\.\d+) USD \([^()]*\((\d{4})\)")


def sentences(text: str) -> list[str]:
    """Sentences of a text (a full stop followed by a space and a capital, or the end)."""
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z'\"(])", text or "") if s.strip()]


def texts(row: dict) -> list[tuple[str, str]]:
    """(field, text) pairs of a ledger row's prose."""
    out = []
    for field in NOTE_FIELDS:
        value = row.get(field)
        for text in ([value] if isinstance(value, str) else value or []):
            if text:
                out.append((field, text))
    return out


def verdicts_named(sentence: str) -> set[str]:
    found, rest = set(), sentence.lower()
    for spaced, verdict in SPACED.items():
        if spaced in rest:
            found.add(verdict)
            rest = rest.replace(spaced, " ")
    for verdict in VERDICT_WORDS:
        if re.search(rf"(?<![\w-]){re.escape(verdict)}(?![\w-])", rest):
            found.add(verdict)
            rest = re.sub(rf"(?<![\w-]){re.escape(verdict)}(?![\w-])", " ", rest)
    return found


def stale_statements(row: dict, *, printed_days: set[str], known_days: set[str], claim_ids=()) -> list[str]:
    """What in a ledger row's prose the current build contradicts, one message per finding.

    ``printed_days``: ISO days printed in the row's datasets; ``known_days``: days the build itself sets
    (reference dates, date parameters); ``claim_ids``: a sentence naming another claim speaks of that claim.
    """
    problems = []
    claim = row["claim"]
    for field, text in texts(row):
        for sentence in sentences(text):
            if LOCK.search(sentence):
                problems.append(f"{claim} {field}: refers to the lock, which changes with every `lock`: {sentence!r}")
            named = verdicts_named(sentence) - {row["verdict"]}
            other_claim = any(cid in sentence for cid in claim_ids if cid != claim)
            if named and not HISTORICAL.search(sentence) and not other_claim:
                problems.append(f"{claim} {field}: names verdict(s) {sorted(named)} but the build gives {row['verdict']}: {sentence!r}")
        for match in ISO_DAY.finditer(text):
            day = match.group(0)
            if match.group(2, 3) in (("12", "31"), ("01", "01")) and day not in printed_days | known_days:
                problems.append(f"{claim} {field}: states the day {day}, which no dataset of the claim prints: "
                                "a day made up from a year-only date?")
        for amount_year, rate_value in CONVERSION.findall(text):
            for rate, rate_year in RATE.findall(text):
                if rate == rate_value and rate_year != amount_year and f"printed in {rate_year}" not in text:
                    problems.append(f"{claim} {field}: converts a {amount_year} amount at a rate printed in {rate_year} "
                                    "without saying so")
    return problems


# --- the checks fail on the stale texts of the 2026 audit ---------------------------------------------------
def stale(row: dict, printed=(), known=()) -> list[str]:
    base = {"claim": "c", "verdict": "reproduced", "rationale": "", "caveats": []}
    return stale_statements({**base, **row}, printed_days=set(printed), known_days=set(known))


def test_a_rationale_that_refers_to_the_lock_is_stale():
    text = ("INMM 2007 abstract (LANL): every new IAEA inspector has participated. The lock had no data for this claim "
            "(unverifiable); the 2026-11 audit found these abstracts.")
    assert any("refers to the lock" in p for p in stale({"verdict": "reproduced-with-caveat", "rationale": text}))
    assert not stale({"verdict": "reproduced-with-caveat", "rationale": text.replace(
        "The lock had no data for this claim (unverifiable)", "Earlier checks had no source for this claim")})


def test_a_verdict_the_build_does_not_give_is_stale_unless_said_of_the_past():
    assert stale({"verdict": "unverifiable", "rationale": "The stated number is CRS's share relabelled: mislabelled."})
    assert stale({"verdict": "reproduced", "caveats": ["so the claim is reproduced with caveats"]})
    assert not stale({"verdict": "reproduced", "rationale": "The claim was judged mislabelled before; the rule moved it."})
    assert not stale({"verdict": "mislabelled", "rationale": "The stated number is CRS's share relabelled: mislabelled."})


def test_a_day_made_up_from_a_year_only_date_is_stale():
    text = "The count was exactly 10 in 2021-12-31 to 2024-03-12; 2024-08-30 to 2025-06-20."
    assert any("2021-12-31" in p for p in stale({"rationale": text}, printed=["2024-08-30"]))
    assert not stale({"rationale": text}, printed=["2021-12-31"])
    assert not stale({"rationale": "Counted on 2024-12-31."}, known=["2024-12-31"])


def test_an_amount_converted_at_another_year_s_rate_without_saying_so_is_stale():
    text = ("As of 2024, the latest total is Physics Today (2018): its figure of $22 billion; later increments added: "
            "Science|Business (2024): around EUR5 billion in extra costs x 1.222 USD/EUR = $6.11bn; result $28.1 billion "
            "at 1 EUR = 1.222 USD (news.peak-oil.org (2017): EUR 18bn = $22bn).")
    assert any("rate printed in 2017" in p for p in stale({"verdict": "outdated", "rationale": text}))
    said = text.replace("= $22bn).", "= $22bn), a rate printed in 2017; no rate printed in 2024 is in the catalog.")
    assert not stale({"verdict": "outdated", "rationale": said})


# --- the current build ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_ledger(real_build):
    project, proc = real_build
    if not project.path("_build/ledger.json").is_file():
        pytest.fail("the session's real-project build wrote no ledger:\n" + proc.stdout[-2000:] + proc.stderr[-2000:])
    return project


def printed_days_reader(project):
    """A function giving the ISO days printed in a list of the project's datasets (each file read once)."""
    catalog = json.loads(project.path("data/datapackage.json").read_text(encoding="utf-8"))
    paths = {r["name"]: r["path"] for r in catalog["resources"]}
    cache: dict[str, set[str]] = {}

    def days_of(datasets: list[str]) -> set[str]:
        days = set()
        for name in datasets:
            if name in paths and name not in cache:
                text = (Path(project.root) / "data" / paths[name]).read_text(encoding="utf-8")
                cache[name] = {m.group(0) for m in ISO_DAY.finditer(text)}
            days |= cache.get(name, set())
        return days

    return days_of


def test_no_prose_of_the_current_build_contradicts_it(real_ledger):
    import yaml

    project = real_ledger
    register = yaml.safe_load(project.path("claims/register.yml").read_text(encoding="utf-8"))
    known = {str(d["reference_date"]) for d in register["documents"].values()}
    claim_ids = [c["id"] for c in register["claims"]]
    printed_days = printed_days_reader(project)
    problems = []
    for name in ("ledger.json", "ledger-runs.json"):
        for row in json.loads(project.path(f"_build/{name}").read_text(encoding="utf-8")):
            days = known | {str(v) for v in (row.get("parameters") or {}).values() if isinstance(v, str)}
            problems += stale_statements(row, printed_days=printed_days(row.get("datasets") or []),
                                         known_days=days, claim_ids=claim_ids)
    assert not problems, "\n".join(sorted(set(problems)))
