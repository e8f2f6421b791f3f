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
