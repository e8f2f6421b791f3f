"""Releases: `release` records releases/v<version>/ from a current build, refuses a stale build and a
version already released, and later builds say what changed since the previous release."""

from __future__ import annotations

import json

from report_helpers import build, bump_version, commit, generated, report_mini, set_value

from analysis.files import dump_yaml
from analysis.release import previous_release, released_versions, version_key


def test_release_then_change_then_what_changed(tmp_path):
    project = report_mini(tmp_path / "mini")
    commit(project)
    proc = project.cli("release")
    assert proc.returncode == 1 and "not been fully built" in proc.stderr
    build(project)
    assert "No version below 0.1.0 has been released" in generated(project, "_changes.qmd")

    proc = project.cli("release")
    assert proc.returncode == 0, proc.stderr
    folder = project.path("releases/v0.1.0")
    assert sorted(p.name for p in folder.iterdir()) == ["figures.json", "ledger.json", "manifest.json", "release.json", "summary.md"]
    assert json.loads((folder / "release.json").read_text())["dirty"] is False
    assert json.loads((folder / "ledger.json").read_text()) == project.read_json("_build/ledger.json")
    assert json.loads((folder / "manifest.json").read_text()) == project.manifest()
    figures = json.loads((folder / "figures.json").read_text())
    assert figures["alpha/default#fig-shares"]["status"] == "not reviewed"
    summary = (folder / "summary.md").read_text()
    assert summary.startswith("# Release v0.1.0") and "usa-share-2010" in summary and "first release" in summary
    assert "releases/v0.1.0" in proc.stdout and "bump __version__" in proc.stdout
    assert sum(p.stat().st_size for p in folder.iterdir()) < 200_000  # small files only

    # the same version cannot be released twice
    snapshot = {p.name: p.read_bytes() for p in folder.iterdir()}
    proc = project.cli("release")
    assert proc.returncode == 1
    assert "version 0.1.0 was already released" in proc.stderr and "bump __version__ in analysis/__init__.py" in proc.stderr
    assert snapshot == {p.name: p.read_bytes() for p in folder.iterdir()}

    # data change without a version bump: the report warns that it differs from the released v0.1.0
    set_value(project, "data/raw/src-one/values.csv", "USA", 2010, 0.45)
    build(project)
    changes = generated(project, "_changes.qmd")
    assert "Version 0.1.0 was already released and this build differs from it" in changes
    assert "| [usa-share-2010](#sec-claim-usa-share-2010) | value and verdict | 40 (reproduced) | 45 (not-reproduced) |" in changes

    # bump: a stale build is refused, then the rebuilt report lists what moved since v0.1.0
    bump_version(project, "0.2.0")
    commit(project, "v0.2.0")
    proc = project.cli("release")
    assert proc.returncode == 1 and "the build is stale" in proc.stderr and "alpha/default" in proc.stderr
    assert not project.path("releases/v0.2.0").exists()
    build(project)
    changes = generated(project, "_changes.qmd")
    assert "## What changed since version 0.1.0 {#sec-changes}" in changes
    assert "| [usa-share-2010](#sec-claim-usa-share-2010) | value and verdict | 40 (reproduced) | 45 (not-reproduced) |" in changes
    assert "usa-gerd-2020" not in changes and "china-ratio" not in changes  # only what moved
    # and why: the changed row of the data, old and new value, found by sha256 in the released ledger
    assert "- usa-share-2010:" in changes and "dataset src-one.values changed" in changes
    assert "`~ changed USA | 2010 | share: value: 0.4 -> 0.45`" in changes
    assert "`alpha/default#fig-shares`: redrawn" in changes
    assert "already released" not in changes
    assert "Since version 0.1.0: 1 claim changed" in generated(project, "_summary.qmd")
    meta = generated(project, "_metadata.yml")
    assert "output-file: claims-report-v0.2.0" in meta and "Version 0.2.0" in meta
    assert project.cli("check-report").returncode == 0

    proc = project.cli("release")
    assert proc.returncode == 0, proc.stderr
    summary = project.path("releases/v0.2.0/summary.md").read_text()
    assert "## Changes since v0.1.0" in summary and "usa-share-2010: 40 (reproduced) -> 45 (not-reproduced)" in summary
    assert "  - because dataset src-one.values changed" in summary and "value: 0.4 -> 0.45" in summary
    assert "v0.1.0" in project.cli("release", "--list", check=True).stdout


def test_drift_against_the_lock_is_listed_with_its_causes(tmp_path):
    from analysis.ledger import write_lock

    project = report_mini(tmp_path / "mini")
    build(project)
    rows = project.read_json("_build/ledger.json")
    write_lock(project.path("claims/lock.json"), rows)
    build(project)
    assert "Every claim matches the accepted lock" in generated(project, "_changes.qmd")
    rows[2]["reproduced"], rows[2]["verdict"] = 70.0, "not-reproduced"
    write_lock(project.path("claims/lock.json"), rows)
    build(project)
    changes = generated(project, "_changes.qmd")
    assert "1 claim moved" in changes
    assert "| [china-ratio](#sec-claim-china-ratio) | value and verdict | 70 (not-reproduced) | 79.9429 (reproduced) |" in changes

    # why a claim moved: a data edit and a parameter edit, one build; each moved claim names its cause
    # once, with the changed rows
    import yaml

    locked = project.cli("lock", check=True)
    assert "Locked 3 claims in claims/lock.json" in locked.stdout
    lock = project.read_json("claims/lock.json")["claims"]["usa-share-2010"]
    assert lock["run"] == "alpha/default" and lock["parameters"] == {"label": "U.S.", "year": 2010}
    assert set(lock["data_sha256"]) == {"src-one.values"} and len(lock["notebook_code_sha256"]) == 64

    set_value(project, "data/raw/src-one/values.csv", "USA", 2010, 0.45)
    doc = yaml.safe_load(project.path("project.yml").read_text())
    doc["notebooks"]["beta"]["parameter_sets"] = {"default": {"scale": 1.1}}
    project.path("project.yml").write_text(dump_yaml(doc))
    out = project.cli("build", "--no-render", check=True).stdout
    assert "2 claim(s) moved against claims/lock.json:" in out
    assert "usa-share-2010: 40 (reproduced) -> 45 (not-reproduced)\n    because dataset src-one.values changed" in out
    assert "      ~ changed  USA | 2010 | share: value: 0.4 -> 0.45" in out
    assert "usa-gerd-2020: 700.5 (reproduced) -> 770.55 (not-reproduced)\n    because parameters changed: scale 1.0 -> 1.1" in out
    assert "china-ratio" not in out  # gamma re-ran on the new src-one, but its value did not move
    for where in ("manifest:", "ledger:", "_build/ledger-runs.csv", "report sources:  _build/report/",
                  "review packets:  _build/review/", "failed runs:     _build/failed/"):
        assert where in out, where
    changes = generated(project, "_changes.qmd")
    assert "`~ changed USA | 2010 | share: value: 0.4 -> 0.45`" in changes
    assert "parameters changed: scale 1.0 -\\> 1.1" in changes

    check = project.cli("check")
    assert check.returncode == 1
    assert check.stdout.count("value: 0.4 -> 0.45") == 1 and "value: 0.4" not in check.stderr  # printed once
    assert "2 claim(s) moved against claims/lock.json: usa-gerd-2020, usa-share-2010" in check.stderr
    relock = project.cli("lock", check=True)
    assert relock.stdout.count("because") == 2 and "(2 changed, listed above)" in relock.stdout


def test_version_order_and_previous_release(tmp_path):
    from analysis.paths import Layout

    assert version_key("0.10.0") > version_key("0.9.1") > version_key("0.9.0")
    layout = Layout(tmp_path)
    for v in ("0.1.0", "0.10.0", "0.9.0"):
        (tmp_path / "releases" / f"v{v}").mkdir(parents=True)
        (tmp_path / "releases" / f"v{v}" / "ledger.json").write_text("[]")
    (tmp_path / "releases" / "vjunk").mkdir()  # no ledger: not a release
    assert released_versions(layout) == ["0.1.0", "0.9.0", "0.10.0"]
    assert previous_release(layout, "0.10.0") == "0.9.0"
    assert previous_release(layout, "0.11.0") == "0.10.0"
    assert previous_release(layout, "0.1.0") is None


def test_ledger_of_every_run_and_the_readings_within_runs(built_mini, tmp_path):
    import csv
    import io
    import shutil

    from analysis.claims import MIME, Register
    from analysis.ledger import collect_runs
    from analysis.paths import Layout

    rows = list(csv.DictReader(io.StringIO(built_mini.path("_build/ledger-runs.csv").read_text())))
    assert sorted((r["claim"], r["run"], r["is_check"]) for r in rows) == [
        ("china-ratio", "gamma/default", "True"), ("usa-gerd-2020", "beta/default", "True"),
        ("usa-share-2010", "alpha/default", "True"), ("usa-share-2010", "alpha/later", "False")]
    later = next(r for r in rows if r["run"] == "alpha/later")
    assert json.loads(later["parameters"]) == {"label": "U.S.", "year": 2020}
    assert later["verdict"] == "reproduced" and later["reading"].startswith("U.S. share of the table's total")
    assert len(built_mini.read_json("_build/ledger-runs.json")) == 4
    assert built_mini.read_json("_build/ledger.json")[0]["claim"] == "usa-share-2010"  # the default ledger stays

    # readings computed within a run: claims.record(..., details={"readings": [...]})
    shutil.copytree(built_mini.path("claims"), tmp_path / "claims")
    with (tmp_path / "claims/register.yml").open("a") as register:  # a restatement of usa-gerd-2020
        register.write("""  - id: usa-gerd-again
    document: doc-a
    section: Summary
    quote: "U.S. R&D was $650 billion"
    stated: {value: 650, unit: USD billion, year: 2020, comparison: "~"}
    source_given: null
    duplicate_of: usa-gerd-2020
    check: {notebook: beta, parameters: default}
    tolerance: {type: relative, value: 0.01, why: "stated as ~650"}
""")
    (tmp_path / "project.yml").write_text("notebooks: {}\n")
    record = {"claim": "usa-gerd-2020", "reproduced": 700.5, "reading": "PPP", "datasets": ["src-two.values"],
              "details": {"readings": [{"reading": "PPP dollars", "value": 700.5},
                                       {"reading": "market exchange rates", "value": 650.0, "rate": "2020 average"},
                                       {"reading": "no data", "value": None, "verdict": "unverifiable"}]}}
    nb = {"cells": [{"cell_type": "code", "source": "", "outputs": [{"output_type": "display_data", "data": {MIME: record}}]}]}
    (tmp_path / "_build/notebooks/beta").mkdir(parents=True)
    (tmp_path / "_build/notebooks/beta/default.ipynb").write_text(json.dumps(nb))
    layout = Layout(tmp_path)
    runs, readings = collect_runs(layout, Register.load(layout), {"beta/default": {"parameters": {"scale": 1.0}, "inputs": []}})
    assert [(r["claim"], r["reproduced"], r["verdict"]) for r in runs] == [
        ("usa-gerd-2020", 700.5, "reproduced"), ("usa-gerd-again", 700.5, "not-reproduced")]
    assert [(r["reading"], r["value"], r["verdict"]) for r in readings if r["claim"] == "usa-gerd-2020"] == [
        ("PPP dollars", 700.5, "reproduced"), ("market exchange rates", 650.0, "not-reproduced"),
        ("no data", None, "unverifiable")]
    assert readings[1]["details"] == {"rate": "2020 average"} and readings[1]["run"] == "beta/default"


def test_causes_name_parameters_code_run_and_unknown(tmp_path):
    from analysis.ledger import causes
    from analysis.paths import Layout

    layout = Layout(tmp_path)
    before = {"stated": 40, "run": "alpha/default", "parameters": {"year": 2010, "basis": "ppp"},
              "notebook_code_sha256": "a" * 64, "data_sha256": {"src-one.values": "1" * 64}}
    same = causes(layout, before, dict(before))
    assert [c["kind"] for c in same] == ["none"] and "no input of the claim changed" in same[0]["text"]
    after = {**before, "parameters": {"year": 2020, "basis": "ppp"}, "notebook_code_sha256": "b" * 64,
             "data_sha256": {"src-one.values": "1" * 64, "src-two.values": "2" * 64}, "run": "alpha/later"}
    texts = [c["text"] for c in causes(layout, before, after)]
    assert texts == ["the claim is checked by another run (alpha/default -> alpha/later)",
                     "parameters changed: year 2010 -> 2020",
                     f"the code of notebooks/alpha.ipynb changed (code sha256 {'a' * 12} -> {'b' * 12})",
                     "now also computed from dataset src-two.values"]
    old_lock = {"stated": 40, "reproduced": 40.0, "verdict": "reproduced"}  # a lock from before causes were kept
    assert [c["kind"] for c in causes(layout, old_lock, after)] == ["unknown"]


def test_a_code_change_shows_the_changed_lines_from_git(tmp_path):
    import subprocess

    from analysis.files import notebook_code_sha256
    from analysis.ledger import causes
    from analysis.paths import Layout

    def notebook(code: str) -> str:
        return json.dumps({"cells": [{"cell_type": "markdown", "source": "# A"},
                                     {"cell_type": "code", "source": code, "outputs": []}]})

    path = tmp_path / "notebooks" / "alpha.ipynb"
    path.parent.mkdir()
    path.write_text(notebook("share = usa / world\n"))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "."], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "first"], cwd=tmp_path, check=True)
    old = notebook_code_sha256(path)
    path.write_text(notebook("share = usa / (world - usa)\n"))
    entry = {"run": "alpha/default", "parameters": {}, "data_sha256": {}}
    [cause] = causes(Layout(tmp_path), {**entry, "notebook_code_sha256": old},
                     {**entry, "notebook_code_sha256": notebook_code_sha256(path)})
    assert cause["kind"] == "code" and cause["text"].startswith("the code of notebooks/alpha.ipynb changed")
    assert cause["rows"] == ["-share = usa / world", "+share = usa / (world - usa)"]
