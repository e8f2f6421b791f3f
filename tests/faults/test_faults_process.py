"""Fault scenarios at the process and machine level: SIGKILL and SIGINT mid-build, two builds at once,
Quarto missing or failing, a full disk and read-only folders (real faults, in a private mount
namespace: a small tmpfs or a read-only bind mount; skipped with the reason where that cannot be set up)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from .conftest import needs_mounts, sha


def _default_sigint() -> None:
    # A suite started in the background by a non-interactive shell inherits SIGINT ignored, and Python then
    # installs no KeyboardInterrupt handler: give the build Ctrl-C's default, as a terminal would.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_build(project, *args):
    env = {k: v for k, v in os.environ.items() if k != "CLAIMCHECK_PROJECT_ROOT"}
    return subprocess.Popen([sys.executable, "-m", "analysis", "build", "--no-render", *args], cwd=project.root,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=_default_sigint)


def wait_for(predicate, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def kill_group(proc, sig=signal.SIGKILL):
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    try:
        return proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # never leave a build running into the next scenario's copy
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise


def started_cell(project, address):
    """True once the run's partial output shows its work cell running."""
    out = project.path(f"_build/notebooks/{address}.ipynb")
    partial = out.with_name(f".{out.stem}.partial.ipynb")
    try:
        cells = json.loads(partial.read_text())["cells"]
    except (OSError, ValueError):
        return False
    return any((c.get("metadata", {}).get("papermill") or {}).get("start_time") for c in cells[3:])


def test_sigkill_mid_build_never_takes_a_partial_output_and_the_next_build_recovers(built):
    built.add_delta()
    built.ok("build", "--no-render", "delta/default")
    before = built.protected()
    built.edit_yaml("project.yml", lambda d: d["notebooks"]["delta"]["parameter_sets"]["default"].update(pause=120.0))
    proc = start_build(built, "delta/default")
    try:
        assert wait_for(lambda: started_cell(built, "delta/default")), "the build never reached the work cell"
    finally:
        kill_group(proc)  # as abrupt as a power cut: no clean-up code runs
    built.unchanged(before)  # the last good output was not replaced by an unfinished run
    assert built.path("_build/notebooks/delta/.default.partial.ipynb").exists()
    status = built.ok("status").stdout
    assert "stale    delta/default: parameter pause changed (0.0 -> 120.0)" in status
    built.edit_yaml("project.yml", lambda d: d["notebooks"]["delta"]["parameter_sets"]["default"].pop("pause"))
    built.recovers(executes=[])
    assert not built.path("_build/notebooks/delta/.default.partial.ipynb").exists()


def test_sigint_mid_build_exits_130_without_traceback_and_leftovers_are_cleaned(built):
    built.add_delta(slow={"pause": 120.0})
    before = built.protected()
    proc = start_build(built, "delta/slow")
    try:
        assert wait_for(lambda: started_cell(built, "delta/slow")), "the build never reached the work cell"
    finally:
        out, err = kill_group(proc, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in err and "Traceback" not in err + out, err
    built.unchanged(before)
    built.edit_yaml("project.yml", lambda d: d["notebooks"].pop("delta"))
    built.recovers(executes=[])
    assert not list(built.path("_build/notebooks").rglob(".*.partial.ipynb"))


def test_second_concurrent_build_refuses_clearly_and_changes_nothing(built):
    built.add_delta(slow={"pause": 120.0})
    first = start_build(built, "delta/slow")
    try:
        assert wait_for(built.path("_build/notebooks/delta/.slow.partial.ipynb").exists)
        before = built.protected()
        built.fails("build", "--no-render", "--force", "beta", says=("another build is running", "nothing was changed"))
        built.fails("clean", says=("another build is running",))
        built.unchanged(before)
    finally:
        kill_group(first)


def test_quarto_missing_builds_everything_else_and_says_so(built):
    proc = built.fails("build", status=3, says=("Render skipped", "install Quarto"))
    assert len([line for line in proc.stderr.splitlines() if line.strip()]) == 1
    assert built.path("_build/ledger.json").is_file() and built.path("_build/manifest.json").is_file()


def test_quarto_failing_shows_its_error_and_keeps_notebooks_and_ledger(built, tmp_path):
    fake = tmp_path / "quarto"
    fake.write_text("#!/bin/sh\necho 'ERROR: YAML parse error in _quarto.yml (line 3)' >&2\nexit 1\n")
    fake.chmod(0o755)
    before = built.protected()
    built.fails("build", env={"QUARTO": str(fake)}, says=("quarto render --to html failed (exit 1)",
                                                          "YAML parse error in _quarto.yml (line 3)",
                                                          "executed notebooks, ledger and report sources in _build/ are kept"))
    built.unchanged(before)


def test_edited_data_file_fails_its_run_and_keeps_the_good_output(built, snapshot):
    before = built.protected()
    csv = built.path("data/raw/src-two/values.csv")
    csv.write_text(csv.read_text().replace("700.5", "701.5"))
    built.fails("build", "--no-render", "beta", says=(
        "data/raw/src-two/values.csv (dataset src-two.values) does not match its accepted checksum",
        "python -m analysis data accept src-two.values"))
    built.unchanged(before, but=("data/raw/src-two/values.csv",))
    built.restore("data/raw/src-two/values.csv", snapshot)
    built.recovers(executes=[])


def test_debug_flag_alone_shows_the_traceback(built):
    built.path("claims/lock.json").write_text("{")
    plain = built.fails("check", says=("claims/lock.json is not valid JSON",))
    assert "Traceback" not in plain.stderr
    debug = built.cli("--debug", "check")
    assert debug.returncode == 1 and "Traceback (most recent call last)" in debug.stderr


# Real disk and permission faults, in a private mount namespace ---------------------------------------

FILL = 'dd if=/dev/zero of="$1"/.filler bs=4k 2>/dev/null || true'


def on_full_build(built, command: str, *, size="4m", keep_writable=()):
    """Run ``command`` with _build/ on a small tmpfs holding a copy of it, filled up; then print the outputs' sha256.

    Folders in ``keep_writable`` stay on the real disk (bind-mounted back), so the disk fills only elsewhere.
    """
    binds = "".join(f'mount --bind "$copy/{d}" "_build/{d}"; ' for d in keep_writable)
    script = (f'set -e; copy=$(mktemp -d); cp -a _build/. "$copy"/; mount -t tmpfs -o size={size} tmpfs _build; '
              f'cp -a "$copy"/. _build/; {binds}' + FILL.replace('"$1"', "_build") + f'; set +e; {command}; echo "exit=$?"; '
              'sha256sum _build/notebooks/*/*.ipynb')
    return built.in_namespace(script)


@needs_mounts
def test_disk_full_while_writing_outputs(built):
    before = built.protected()
    proc = on_full_build(built, '$PY -m analysis build --no-render --force beta')
    assert "exit=1" in proc.stdout, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "no space left on device while writing _build/notebooks/beta/.default.partial.ipynb" in proc.stderr, proc.stderr
    assert sha(built.path("_build/notebooks/beta/default.ipynb")) in proc.stdout  # the old output, kept on the full disk
    built.unchanged(before)
    built.recovers(executes=[])


@needs_mounts
def test_disk_full_while_writing_the_manifest(built):
    before = built.protected()
    proc = on_full_build(built, '$PY -m analysis build --no-render --force beta', keep_writable=("notebooks", ".state"))
    assert "exit=1" in proc.stdout, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "no space left on device while writing _build/manifest.json" in proc.stderr, proc.stderr
    built.unchanged(before, but=("_build/notebooks/beta/",))  # beta ran well before the manifest could not be written
    built.recovers(executes=[])
    assert built.manifest()["runs"]["beta/default"] == json.loads(built.path("_build/notebooks/beta/default.run.json").read_text())


@needs_mounts
def test_read_only_build_folder(built):
    before = built.protected()
    proc = built.in_namespace('mount --bind -o ro _build _build && $PY -m analysis build --no-render --force beta')
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "cannot write _build/.build.lock: it is on a read-only file system" in proc.stderr, proc.stderr
    built.unchanged(before)
    built.recovers(executes=[])


@needs_mounts
def test_review_add_on_a_read_only_build_writes_nothing(built):
    figure = "alpha/default#fig-shares"
    before = built.protected()
    add = (f'$PY -m analysis review add "{figure}" --reviewer "R. Viewer" --decision approved --comment "checked"')
    proc = built.in_namespace(f'mount --bind -o ro _build _build && {add}')
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "read-only file system" in proc.stderr and "_build" in proc.stderr and "nothing was recorded" in proc.stderr
    built.unchanged(before)  # no review record: a retry cannot duplicate it
    proc = built.ok("review", "add", figure, "--reviewer", "R. Viewer", "--decision", "approved", "--comment", "checked")
    assert len(list(built.path("reviews").rglob("*.yml"))) == 1


@needs_mounts
def test_data_accept_on_a_read_only_data_folder_changes_nothing(built):
    csv = built.path("data/raw/src-two/values.csv")
    csv.write_text(csv.read_text().replace("700.5", "701.5"))
    before = built.protected()
    proc = built.in_namespace('mount --bind -o ro data data && $PY -m analysis data accept src-two.values')
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "cannot write data/datapackage.json: it is on a read-only file system" in proc.stderr, proc.stderr
    built.unchanged(before)
    built.ok("data", "accept", "src-two.values")


def test_sigterm_mid_build_stops_like_ctrl_c_and_leaves_no_process(built):
    from .conftest import alive, descendants

    built.add_delta(slow={"pause": 120.0})
    before = built.protected()
    proc = start_build(built, "delta/slow")
    try:
        assert wait_for(lambda: started_cell(built, "delta/slow")), "the build never reached the work cell"
        tree = descendants(proc.pid)
        proc.send_signal(signal.SIGTERM)  # the main process only, as `kill PID` or a service manager sends it
        out, err = proc.communicate(timeout=60)
    finally:
        kill_group(proc)
    assert proc.returncode == 143, (out, err)
    assert "terminated (SIGTERM): outputs of runs that finished are kept" in err and "Traceback" not in err + out, err
    assert wait_for(lambda: not alive(tree), timeout=10), f"processes of the build outlived it: {sorted(alive(tree))}"
    built.unchanged(before)
    built.edit_yaml("project.yml", lambda d: d["notebooks"].pop("delta"))
    built.recovers(executes=[])
    assert not list(built.path("_build/notebooks").rglob(".*.partial.ipynb"))


def test_sigkill_of_the_main_process_leaves_no_process_behind(built):
    """Two runs (so a warm template forks the kernels): SIGKILL to the build's main process alone must take
    the workers, the template, the kernels and multiprocessing's resource tracker with it."""
    from .conftest import alive, descendants

    built.add_delta(slow={"pause": 120.0}, slower={"pause": 121.0})
    before = built.protected()
    proc = start_build(built, "delta/slow", "delta/slower")
    try:
        assert wait_for(lambda: started_cell(built, "delta/slow") and started_cell(built, "delta/slower")), \
            "the build never reached the work cells"
        tree = descendants(proc.pid)
        assert len(tree) >= 5, tree  # resource tracker, two workers, template, two kernels
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
        assert wait_for(lambda: not alive(tree), timeout=10), f"processes of the build outlived it: {sorted(alive(tree))}"
    finally:
        kill_group(proc)
    built.unchanged(before)
    assert built.path("_build/notebooks/delta/.slow.partial.ipynb").exists()  # left by the kill...
    built.edit_yaml("project.yml", lambda d: d["notebooks"].pop("delta"))
    built.recovers(executes=[])  # ...and removed by the next build
    assert not list(built.path("_build/notebooks").rglob(".*.partial.ipynb"))


def test_a_process_of_a_killed_build_that_lives_on_keeps_the_next_build_out(built):
    """A kernel or worker that outlived its build (here: a process holding the build's running lock, as
    each of them does) could still write: the next build waits for it, then refuses, naming it."""
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, os, sys, time\n"
                               "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\nfcntl.flock(fd, fcntl.LOCK_SH)\n"
                               "print('held', flush=True)\ntime.sleep(120)", str(built.path("_build/.state/running.lock"))],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        before = built.protected()
        built.fails("build", "--no-render", "--force", "beta", env={"CLAIMCHECK_ORPHAN_WAIT": "1"},
                    says=(f"a process of an earlier build (pid {holder.pid}) is still running and could still write",
                          f"kill {holder.pid}", "nothing was changed"))
        built.fails("clean", env={"CLAIMCHECK_ORPHAN_WAIT": "1"}, says=("is still running",))
        built.unchanged(before)
    finally:
        holder.kill()
        holder.wait()
    built.recovers(executes=[])
