"""Fault scenarios in what a build leaves behind: executed notebooks, run records, the manifest, the
build state database, leftovers of killed builds, a moved project, and release after a no-op build."""

from __future__ import annotations

import json
import shutil

from .conftest import sha


def test_truncated_executed_notebook_makes_its_run_stale_and_is_re_executed(built):
    out = built.path("_build/notebooks/beta/default.ipynb")
    out.write_bytes(out.read_bytes()[:300])
    before = built.protected()
    status = built.ok("status").stdout
    assert "stale    beta/default: output _build/notebooks/beta/default.ipynb was changed or damaged" in status
    assert "1 stale, 3 current" in status
    built.unchanged(before)
    built.recovers(executes=["beta/default"])
    assert json.loads(out.read_text())["cells"]  # a whole notebook again


def test_damaged_run_record_counts_as_no_record(built):
    built.path("_build/notebooks/beta/default.run.json").write_text('{"address": ')
    assert "stale    beta/default" in built.ok("status").stdout
    built.recovers(executes=[], restores=["beta/default"])  # its result is in the content store: nothing runs


def test_damaged_manifest_is_rewritten_without_executing(built, snapshot):
    built.path("_build/manifest.json").write_text("{")
    built.recovers(executes=[])
    assert built.manifest()["runs"] == json.loads((snapshot / "_build/manifest.json").read_text())["runs"]


def test_state_db_overwritten_with_garbage_gives_no_false_reasons(built):
    built.only_beta()  # one run to re-execute keeps the scenario short
    built.ok("build", "--no-render")
    built.path("_build/.state/doit.sqlite").write_bytes(b"this is not a database\n" * 100)
    status = built.ok("status").stdout
    assert "stale    beta/default: its inputs were not recorded: the build state in _build/.state/ was damaged" in status
    assert "changed" not in status  # no data file, notebook or parameter is said to have changed
    assert built.path("_build/.state/doit.sqlite.damaged").is_file()
    built.recovers(executes=[], restores=["beta/default"])  # restored by content, not re-executed


def test_state_db_deleted_gives_no_false_reasons(built):
    built.only_beta()
    built.ok("build", "--no-render")
    built.path("_build/.state/doit.sqlite").unlink()
    status = built.ok("status").stdout
    assert "its inputs were not recorded: the build state in _build/.state/ was reset or removed" in status
    assert "changed" not in status
    built.recovers(executes=[], restores=["beta/default"])


def test_leftovers_of_a_killed_build_are_cleaned_by_the_next_build(built):
    folder = built.path("_build/notebooks/beta")
    for name in (".default.partial.ipynb", ".default.loads.jsonl", ".default.log.partial", ".manifest.json.abc123.tmp"):
        (folder / name).write_text("{half")
    before = built.protected()
    assert "0 stale" in built.ok("status").stdout  # leftovers are never taken for outputs
    built.recovers(executes=[])
    built.unchanged(before)


def test_release_works_after_a_build_that_had_nothing_to_do(built):
    import subprocess

    built.recovers(executes=[])
    built.recovers(executes=[])
    built.path(".gitignore").write_text("/_build/\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "built"]):  # a release needs a committed tree
        subprocess.run([*git, *args], cwd=built.root, check=True, capture_output=True)
    proc = built.ok("release")
    assert "Recorded release v" in proc.stdout


def test_moved_project_rebuilds_and_says_why(built, tmp_path):
    built.only_beta()
    built.ok("build", "--no-render")
    moved = type(built)(tmp_path / "moved")
    shutil.move(str(built.root), moved.root)
    before = moved.protected()
    status = moved.ok("status").stdout
    assert "beta/default" in status
    moved.recovers()
    moved.unchanged(before, but=("_build/",))


def test_damaged_report_source_is_named_by_check_report_and_rewritten_by_the_next_build(built, snapshot):
    ledger = built.path("_build/report/_ledger.qmd")
    good = ledger.read_bytes()
    ledger.write_bytes(good[:40])
    proc = built.cli("check-report")
    assert proc.returncode == 1 and "Report sources OK" not in proc.stdout
    assert "_build/report/_ledger.qmd: differs from what the last build wrote" in proc.stdout
    assert "`python -m analysis build` writes it again" in proc.stdout
    built.recovers(executes=[])
    assert ledger.read_bytes() == good
    recorded = built.manifest()["report_sources"]["_build/report/_ledger.qmd"]
    assert recorded == sha(ledger)
    ledger.unlink()  # deleted: the same
    built.recovers(executes=[])
    assert ledger.read_bytes() == good


def _git(root, *args):
    import subprocess

    subprocess.run(["git", "-c", "user.name=T", "-c", "user.email=t@example.org", *args], cwd=root, check=True,
                   capture_output=True)


def test_lock_after_repairing_a_damaged_lock_says_what_really_changed(built):
    import shutil as _shutil

    if _shutil.which("git") is None:
        import pytest

        pytest.skip("git is not installed")
    _git(built.root, "init", "-q")
    _git(built.root, "add", "claims/lock.json")
    _git(built.root, "commit", "-q", "-m", "lock")
    built.path("claims/lock.json").write_text('{"claims": {')
    proc = built.ok("lock")
    assert "Replacing a damaged lock: claims/lock.json is not valid JSON" in proc.stdout
    assert "Locked 3 claims in claims/lock.json (0 changed against the last committed version (git HEAD))" in proc.stdout
    built.path("claims/lock.json").write_text('{"claims": {')
    _shutil.rmtree(built.root / ".git")
    proc = built.ok("lock")
    assert "could not be compared with anything (no committed version of claims/lock.json in git)" in proc.stdout
    built.recovers(executes=[])


def test_without_git_provenance_and_release_say_why_no_commit_is_recorded(built, tmp_path):
    import os
    import sys

    bare = tmp_path / "bin"  # a PATH without git (the python below is called by its full path)
    bare.mkdir()
    (bare / "python").symlink_to(sys.executable)
    env = {"PATH": str(bare)}
    built.ok("build", "--no-render", env=env)
    built.fails("release", env=env, says=("git was not found on PATH, so a release could not name the sources",
                                          "install git", "--allow-dirty"))
    assert not built.path("releases").exists()
    proc = built.ok("release", "--allow-dirty", env=env)
    assert "Warning: releasing with --allow-dirty from a tree with no commit to name (git was not found on PATH)" in proc.stdout
    summary = next(built.path("releases").glob("v*/summary.md")).read_text()
    assert "- source commit: none (git was not found on PATH)" in summary
    assert os.environ.get("PATH")  # the test's own environment is untouched
