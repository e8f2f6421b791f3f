"""Verdicts, register checks, the ledger and drift against the committed lock."""

from __future__ import annotations

import re

import pytest
import yaml

from analysis.claims import Register, agrees, verdict
from analysis.errors import RegisterError
from analysis.files import dump_yaml
from analysis.paths import Layout

ABS_HALF = {"type": "absolute", "value": 0.5, "why": "whole percent"}


def claim(value, comparison="=", tolerance=ABS_HALF):
    return {"stated": {"value": value, "comparison": comparison}, "tolerance": tolerance}


@pytest.mark.parametrize(
    "stated, reproduced, comparison, tolerance, expected",
    [
        (28, 28.07, "=", ABS_HALF, True),
        (28, 28.6, "=", ABS_HALF, False),
        (700, 706, "~", {"type": "relative", "value": 0.01, "why": ""}, True),
        (700, 708, "~", {"type": "relative", "value": 0.01, "why": ""}, False),
        (30, 35, ">", {"type": "exact", "why": ""}, True),
        (30, 30, ">", {"type": "exact", "why": ""}, False),
        (200, 200, ">=", {"type": "exact", "why": ""}, True),
        (1979, 1979, "=", {"type": "exact", "why": ""}, True),
        (1979, 1980, "=", {"type": "exact", "why": ""}, False),
        (10, 9, "<", {"type": "exact", "why": ""}, True),
    ],
)
def test_agreement_follows_comparison_and_tolerance(stated, reproduced, comparison, tolerance, expected):
    assert agrees(stated, reproduced, comparison, tolerance) is expected


def test_verdicts():
    assert verdict(claim(28), 28.07) == "reproduced"
    assert verdict(claim(28), 28.07, caveats=["measure: total R&D, not basic research"]) == "reproduced-with-caveat"
    assert verdict(claim(23), 27.0, earlier={"value": 23, "year": 2017}) == "outdated"
    assert verdict(claim(23), 27.0, earlier={"value": 20, "year": 2017}) == "not-reproduced"
    assert verdict(claim(23), 27.0) == "not-reproduced"
    assert verdict(claim(77), None) == "unverifiable"


FOUND = {"value": 28.07, "measure": "U.S. share of world total R&D (GERD), 2016", "dataset": "crs.shares"}


def test_verdict_order_of_the_policy():
    """docs/verdict-policy.md: own measure first, then mislabelled, then outdated, then not-reproduced."""
    # own-measure data agree: the source chain's other measure does not matter
    assert verdict(claim(28), 28.2, found=FOUND) == "reproduced"
    # own measure disagrees, the number is printed for another measure: mislabelled, before outdated
    assert verdict(claim(28), 35.1, found=FOUND, earlier={"value": 28, "year": 2010}) == "mislabelled"
    # no data for the claim's own measure, but the number is found for another one
    assert verdict(claim(69), None, found={**FOUND, "value": 69}) == "mislabelled"
    # nothing found for another measure: outdated only when it was true earlier
    assert verdict(claim(28), 35.1, earlier={"value": 28, "year": 2010}) == "outdated"
    assert verdict(claim(28), 35.1) == "not-reproduced"
    assert verdict(claim(28), None) == "unverifiable"


def test_there_are_six_verdicts():
    from analysis.claims import VERDICTS

    assert VERDICTS == ("reproduced", "reproduced-with-caveat", "mislabelled", "outdated", "not-reproduced",
                        "unverifiable")


def test_document_needs_a_reference_date_and_its_basis(tmp_path):
    base = {"id": "a", "document": "d", "quote": "q", "stated": {"value": 1}, "check": {"notebook": "n"},
            "tolerance": {"type": "exact", "why": "count"}}
    layout = write_register(tmp_path, [base], documents={"d": {"citation": "D", "reference_date": "2024-13-01",
                                                               "reference_date_basis": "printed"}})
    with pytest.raises(RegisterError, match=r"document 'd': reference_date '2024-13-01' is not an ISO date"):
        Register.load(layout)


def test_claim_kind_and_reading_are_checked(tmp_path):
    base = {"id": "a", "document": "d", "quote": "q", "stated": {"value": 1}, "check": {"notebook": "n"},
            "tolerance": {"type": "exact", "why": "count"}}
    for name, change, problem in (("k", {"kind": "vibe"}, "kind 'vibe' is not one of"),
                                  ("r", {"reading": " "}, "'reading' must say")):
        (tmp_path / name).mkdir()
        with pytest.raises(RegisterError, match=problem):
            Register.load(write_register(tmp_path / name, [{**base, **change}]))


def write_register(tmp_path, claims, documents=None):
    (tmp_path / "project.yml").write_text("notebooks: {}\n")
    (tmp_path / "claims").mkdir()
    path = tmp_path / "claims" / "register.yml"
    path.write_text(dump_yaml({"documents": documents or {"d": {"citation": "D", "reference_date": "2024-01-01", "reference_date_basis": "printed"}}, "claims": claims}))
    return Layout(tmp_path)


def base_claim(**over):
    c = {"id": "a", "document": "d", "quote": "q", "stated": {"value": 1, "unit": "count"},
         "check": {"notebook": "n", "parameters": "default"}, "tolerance": {"type": "exact", "why": "count"}}
    c.update(over)
    return c


def test_register_rejects_duplicate_ids(tmp_path):
    layout = write_register(tmp_path, [base_claim(), base_claim()])
    with pytest.raises(RegisterError, match="duplicate claim id 'a'"):
        Register.load(layout)


def test_register_rejects_tolerance_without_reason_and_unknown_document(tmp_path):
    layout = write_register(tmp_path, [base_claim(tolerance={"type": "absolute", "value": 1})])
    with pytest.raises(RegisterError, match="needs a 'why'"):
        Register.load(layout)
    other = tmp_path / "other"
    other.mkdir()
    layout = write_register(other, [base_claim(document="nope")])
    with pytest.raises(RegisterError, match="unknown document 'nope'"):
        Register.load(layout)


def test_real_register_loads():
    from conftest import REPO

    register = Register.load(Layout(REPO))
    assert {"rd-share-1960", "rd-share-2016", "iter-us-share-9-09", "chips-six-percent"} <= set(register.claims)


def test_every_real_claim_names_its_kind_and_reading_and_every_document_its_date():
    """The verdict policy applies to every claim: each says what it is judged on, at which date."""
    from conftest import REPO

    register = Register.load(Layout(REPO))
    assert all(doc.get("reference_date") and doc.get("reference_date_basis") for doc in register.documents.values())
    unread = [c["id"] for c in register.claims.values() if not c.get("reading") or not c.get("kind")]
    assert not unread, f"claims without a reading or kind: {unread}"


def test_drift_is_reported_and_check_fails_until_locked(mini):
    mini.cli("build", "--no-render", check=True)
    proc = mini.cli("check")
    assert proc.returncode == 1 and "claims/lock.json does not exist" in proc.stderr
    mini.cli("lock", check=True)
    lock = mini.read_json("claims/lock.json")["claims"]
    entry = lock["usa-gerd-2020"]
    assert {k: entry[k] for k in ("stated", "reproduced", "verdict", "run")} == {
        "stated": 700, "reproduced": 700.5, "verdict": "reproduced", "run": "beta/default"}
    assert entry["data_sha256"]["src-two.values"] == mini.load("src-two.values").attrs["sha256"]
    assert "No drift" in mini.cli("check", check=True).stdout

    csv = mini.path("data/raw/src-two/values.csv")
    csv.write_text(csv.read_text().replace("700.5", "760.0"))
    mini.accept_hash("src-two.values")
    build = mini.cli("build", "--no-render", check=True)
    assert "usa-gerd-2020: 700.5 (reproduced) -> 760 (not-reproduced)" in build.stdout
    proc = mini.cli("check")
    assert proc.returncode == 1
    # the move and its cause are printed once (stdout); the error names the claims that moved
    assert "usa-gerd-2020: 700.5 (reproduced) -> 760 (not-reproduced)" in proc.stdout
    assert proc.stdout.count("usa-gerd-2020: 700.5 (reproduced) -> 760 ") == 1
    assert "moved against claims/lock.json: china-ratio, usa-gerd-2020" in proc.stderr  # both readers of the file
    assert mini.read_json("claims/lock.json")["claims"] == lock  # check never rewrites the lock
    mini.cli("lock", check=True)
    assert "No drift" in mini.cli("check", check=True).stdout


def test_notebook_recording_an_unregistered_claim_fails_the_build(mini):
    import json

    path = mini.path("notebooks/beta.ipynb")
    nb = json.loads(path.read_text())
    nb["cells"][-1]["source"] = nb["cells"][-1]["source"].replace("usa-gerd-2020", "no-such-claim") \
        if isinstance(nb["cells"][-1]["source"], str) else "".join(nb["cells"][-1]["source"]).replace("usa-gerd-2020", "no-such-claim")
    path.write_text(json.dumps(nb))
    proc = mini.cli("build", "--no-render")
    assert proc.returncode == 1  # read from the notebook's source, before any kernel starts
    assert "notebooks/beta.ipynb (code cell 3) records claim id 'no-such-claim', which is not in claims/register.yml" \
        in proc.stderr and "nothing was executed" in proc.stderr
    assert "claim usa-gerd-2020: notebooks/beta.ipynb never records it" in proc.stderr


def test_register_claim_without_a_record_fails_the_ledger(mini):
    path = mini.path("claims/register.yml")
    doc = yaml.safe_load(path.read_text())
    extra = dict(doc["claims"][1], id="usa-gerd-again")
    doc["claims"].append(extra)
    path.write_text(dump_yaml(doc))
    proc = mini.cli("build", "--no-render")
    assert proc.returncode == 1  # read from the notebook's source, before any kernel starts
    assert "claim usa-gerd-again: notebooks/beta.ipynb never records it" in proc.stderr
    assert "nothing was executed" in proc.stderr and not mini.path("_build/notebooks").exists()


def test_register_pointing_at_a_missing_run_is_refused_before_anything_runs(mini):
    path = mini.path("claims/register.yml")
    doc = yaml.safe_load(path.read_text())
    doc["claims"][0]["check"] = {"notebook": "alpha", "parameters": "nope"}
    doc["claims"][1]["check"] = {"notebook": "delta", "parameters": "default"}
    path.write_text(dump_yaml(doc))
    proc = mini.cli("build", "--no-render")
    assert proc.returncode == 1
    assert "claim usa-share-2010: notebook 'alpha' has no parameter set 'nope'" in proc.stderr
    assert "claim usa-gerd-2020: notebook 'delta' is not in project.yml" in proc.stderr
    assert not mini.path("_build/notebooks").exists()


def _set_gamma_record(mini, call: str) -> None:
    """Replace the claims.record call of the mini project's gamma notebook."""
    import json

    path = mini.path("notebooks/gamma.ipynb")
    nb = json.loads(path.read_text())
    nb["cells"][-1]["source"] = call
    path.write_text(json.dumps(nb))


def _edit_claim(mini, claim_id: str, **fields) -> None:
    path = mini.path("claims/register.yml")
    doc = yaml.safe_load(path.read_text())
    for claim in doc["claims"]:
        if claim["id"] == claim_id:
            claim.update(fields)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_found_must_come_from_the_claims_chain_of_origin(mini):
    """docs/verdict-policy.md 3a: a number printed outside the chain of origin is a lead, never `found`."""
    _set_gamma_record(mini, 'claims.record("china-ratio", None, unit="percent", rationale="no data for the measure", reason="none", '
                            'found={"value": 80, "measure": "another ratio", "dataset": "src-two.values"}, '
                            'leads=[{"value": 80, "measure": "a coinciding ratio", "dataset": "src-one.values"}])')
    proc = mini.cli("build", "--no-render")
    assert proc.returncode == 1
    assert "'found' names dataset 'src-two.values', which is not in the claim's chain of origin" in proc.stderr
    _edit_claim(mini, "china-ratio", origin=[{"link": "cited", "source": "Source Two (2024)", "locator": "table 1",
                                              "dataset": "src-two.values", "evidence": "the document cites it"}])
    mini.cli("build", "--no-render", check=True)
    row = {r["claim"]: r for r in mini.read_json("_build/ledger.json")}["china-ratio"]
    assert row["verdict"] == "mislabelled"
    assert row["origin"][0]["dataset"] == "src-two.values"
    assert row["leads"] == [{"value": 80.0, "measure": "a coinciding ratio", "dataset": "src-one.values"}]


def test_unverifiable_claim_needs_a_search_record_and_notes_reach_the_ledger(mini):
    _set_gamma_record(mini, 'claims.record("china-ratio", None, unit="percent", rationale="no data", reason="not published", '
                            'confidence=["source: one news report"], coverage=["date: no data after 2020"])')
    proc = mini.cli("build", "--no-render")
    assert proc.returncode == 1
    assert "claim china-ratio: the claim is unverifiable under its check run, but the register has no search record" in proc.stderr
    _edit_claim(mini, "china-ratio", search={"class": "public-record-not-found", "looked": [
        {"where": "Source Three, table 2", "found": "2019 only", "why_not": "no 2020 value"}]})
    mini.cli("build", "--no-render", check=True)
    row = {r["claim"]: r for r in mini.read_json("_build/ledger.json")}["china-ratio"]
    assert (row["verdict"], row["unverifiable_class"]) == ("unverifiable", "public-record-not-found")
    assert (row["confidence"], row["coverage"], row["caveats"]) == (["source: one news report"], ["date: no data after 2020"], [])
    csv_text = mini.path("_build/ledger.csv").read_text()
    assert "unverifiable_class" in csv_text.splitlines()[0] and "public-record-not-found" in csv_text
    # an agreeing value with notes on the evidence only stays reproduced: only caveats give reproduced-with-caveat
    _set_gamma_record(mini, 'claims.record("china-ratio", 80.2, unit="percent", rationale="80.2", qualifier="about", '
                            'confidence=["source: one news report"])')
    mini.cli("build", "--no-render", check=True)
    row = {r["claim"]: r for r in mini.read_json("_build/ledger.json")}["china-ratio"]
    assert (row["verdict"], row["qualifier"], row["unverifiable_class"]) == ("reproduced", "about", None)


def test_malformed_notes_in_the_register_name_the_claim_and_field():
    from analysis.claims import check_claim_notes

    good = {"title": "A short title", "stated": {"value": 1, "qualifier": "about"},
            "origin": [{"link": "cited", "source": "S (2024)", "locator": "p. 1", "evidence": "footnote 1"}],
            "leads": [{"source": "L (2020)", "locator": "para 2", "note": "same number"}],
            "search": {"class": "no-public-record-expected", "looked": [{"where": "q", "found": "nothing", "why_not": "internal"}]}}
    check_claim_notes(good, "claim c")
    for field, bad, expected in [
        ("search", {"class": "not-found", "looked": []}, "claim c: search needs 'class'"),
        ("search", {"class": "public-record-not-found", "looked": []}, "claim c: search.looked must list where was looked"),
        ("origin", [{"link": "coincides", "source": "S", "locator": "p", "evidence": "e"}], "claim c: origin #1 needs 'link'"),
        ("origin", [{"link": "reproduced", "source": "S", "locator": "p"}], "claim c: origin #1 needs 'evidence'"),
        ("title", "x" * 61, "claim c: title must be a hand-written title of at most 60 characters"),
    ]:
        with pytest.raises(RegisterError, match=re.escape(expected)):
            check_claim_notes({**good, field: bad}, "claim c")
