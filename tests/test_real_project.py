"""The real project, end to end on a fresh temporary copy: every notebook run executes, every
registered claim gets a verdict from a real run, and nothing moved against the committed lock."""

from __future__ import annotations

import yaml

from analysis.claims import VERDICTS


def test_real_project_builds_every_claim_and_matches_the_lock(real_build):
    project, proc = real_build  # the session's one build of the real project (other tests read it too)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "No drift" in proc.stdout

    register = yaml.safe_load(project.path("claims/register.yml").read_text())
    ledger = {row["claim"]: row for row in project.read_json("_build/ledger.json")}
    assert set(ledger) == {c["id"] for c in register["claims"]}
    for claim_id, row in ledger.items():
        assert row["verdict"] in VERDICTS
        assert row["rationale"], f"{claim_id} has no rationale"
        if row["verdict"] == "unverifiable":
            assert row["reason"], f"{claim_id} is unverifiable without a reason"
        else:
            assert row["datasets"], f"{claim_id} has a verdict but no evidence datasets"
            assert all(row["data_sha256"].values()), f"{claim_id} evidence lacks checksums"

    manifest = project.manifest()
    project_runs = sum(len(nb.get("parameter_sets") or {"default": {}})
                       for nb in yaml.safe_load(project.path("project.yml").read_text())["notebooks"].values())
    assert len(manifest["runs"]) == project_runs
    assert sorted(manifest["executed_this_build"]) == sorted(manifest["runs"])

    checks = project.cli("check-report")
    assert checks.returncode == 0, checks.stdout[-3000:] + checks.stderr[-3000:]
    assert project.path("_build/report/_claims.qmd").is_file()
    review_packets = list(project.path("_build/review").rglob("data.csv"))
    assert review_packets, "the build wrote no review packets"
