"""Fault scenarios in notebook execution: a failing cell, a cell that never ends, a kernel that dies,
a kernel that cannot start (a real port race), and a build that fails half-way."""

from __future__ import annotations

import json
import sys
import textwrap

from .conftest import sha

PORT_RACE_KERNEL = '''
"""A python3 kernel whose first FAIL_STARTS starts find their shell port taken (a real port race)."""
import json, os, subprocess, sys
counter, fail_starts = sys.argv[1], int(sys.argv[2])
connection_file = sys.argv[sys.argv.index("-f") + 1]
n = int(open(counter).read()) if os.path.exists(counter) else 0
open(counter, "w").write(str(n + 1))
if n < fail_starts:
    info = json.load(open(connection_file))
    holder = subprocess.Popen([sys.executable, "-c",
        "import socket, sys, time\\n"
        "s = socket.socket(); s.bind((sys.argv[1], int(sys.argv[2]))); s.listen()\\n"
        "print('bound', flush=True); time.sleep(20)", info["ip"], str(info["shell_port"])],
        stdout=subprocess.PIPE, text=True, start_new_session=True)
    holder.stdout.readline()
os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file])
'''


def port_race_kernel(tmp_path, fail_starts: int) -> dict:
    """JUPYTER_PATH env whose python3 kernel loses the race for its port on its first ``fail_starts`` starts."""
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    wrapper = tmp_path / "jupyter" / "port_race_kernel.py"
    wrapper.write_text(PORT_RACE_KERNEL)
    argv = [sys.executable, str(wrapper), str(tmp_path / "starts"), str(fail_starts), "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Python 3", "language": "python"}))
    return {"JUPYTER_PATH": str(tmp_path / "jupyter")}


def test_failing_cell_keeps_good_output_and_log_and_the_fix_clears_the_failed_copy(built, snapshot):
    nb_path = built.path("notebooks/beta.ipynb")
    nb = json.loads(nb_path.read_text())
    nb["cells"][1]["source"] = ["raise ValueError('the data are odd')\n"] + nb["cells"][1]["source"]
    nb_path.write_text(json.dumps(nb))
    before = built.protected()
    log = built.path("_build/notebooks/beta/default.log")
    good_log = sha(log)
    built.fails("build", "--no-render", "beta", says=("notebook run beta/default failed in cell 2: ValueError: the data are odd",
                                                      "_build/failed/beta/default.ipynb", "_build/failed/beta/default.log"))
    built.unchanged(before, but=("notebooks/",))
    assert sha(log) == good_log, "a failed attempt overwrote the kernel log of the last good output"
    built.restore("notebooks/beta.ipynb", snapshot)
    built.recovers(executes=[])  # the good output is current again
    assert built.path("_build/failed/beta/default.ipynb").exists()  # still the record of the failure...
    nb["cells"][1]["source"] = nb["cells"][1]["source"][1:] + ["\n"]
    nb_path.write_text(json.dumps(nb))
    built.recovers(executes=["beta/default"])
    assert not built.path("_build/failed/beta").exists() or not any(built.path("_build/failed/beta").iterdir())


def test_cell_that_never_ends_times_out_with_run_and_cell_named(built):
    built.add_delta(slow={"pause": 120.0})
    before = built.protected()
    proc = built.fails("build", "--no-render", "--timeout", "3", "delta/slow",
                       says=("notebook run delta/slow timed out in cell 4: it ran longer than 3 s", "time.sleep(pause)",
                             "cell_timeout: SECONDS", "--timeout SECONDS", "_build/failed/delta/slow.log"))
    assert "FAILED delta/slow" in proc.stdout
    built.unchanged(before)
    built.edit_yaml("project.yml", lambda d: d["notebooks"].pop("delta"))
    built.recovers(executes=[])


def test_cell_timeout_from_the_project_file(built):
    built.add_delta(slow={"pause": 120.0})
    built.edit_yaml("project.yml", lambda d: d.update({"cell_timeout": 2}))
    built.fails("build", "--no-render", "delta/slow", says=("notebook run delta/slow timed out in cell 4: it ran longer than 2 s",))
    assert not built.path("_build/notebooks/delta/slow.ipynb").exists()


def test_kernel_dying_in_a_cell_names_the_cell_and_the_kind_of_failure(built):
    built.add_delta(dies={"die": True})
    built.fails("build", "--no-render", "delta/dies", says=("notebook run delta/dies: the kernel died in cell 4", "os._exit(9)",
                                                            "_build/failed/delta/dies.log"))


def test_failed_build_leaves_a_manifest_that_lists_the_runs_that_finished(built):
    built.add_delta(dies={"die": True})
    built.fails("build", "--no-render", "--force", "-j", "1", "beta", "delta/dies", says=("the kernel died in cell 4",))
    record = json.loads(built.path("_build/notebooks/beta/default.run.json").read_text())
    assert built.manifest()["runs"]["beta/default"] == record
    assert built.manifest()["executed_this_build"] == ["beta/default"]


def test_kernel_losing_the_port_race_is_retried_and_its_log_kept(built, tmp_path):
    env = port_race_kernel(tmp_path, fail_starts=1)
    before = built.protected()
    built.ok("build", "--no-render", "--force", "beta", env=env)
    assert (tmp_path / "starts").read_text() == "2"
    log = built.path("_build/notebooks/beta/default.log").read_text()
    assert "Address already in use" in log and "attempt 2" in log
    built.unchanged(before, but=("_build/notebooks/beta/",))
    built.recovers(executes=[])


def test_kernel_that_never_starts_points_at_the_kept_log(built, tmp_path):
    env = port_race_kernel(tmp_path, fail_starts=10)
    before = built.protected()
    built.fails("build", "--no-render", "--force", "beta", env=env,
                says=("notebook run beta/default: the kernel failed to start (3 attempt(s))", "_build/failed/beta/default.log"))
    assert built.path("_build/failed/beta/default.log").read_text().count("Address already in use") == 3
    built.unchanged(before)
    built.recovers(executes=[])


def _append_to_cell(built, notebook: str, cell: int, code: str) -> None:
    path = built.path(f"notebooks/{notebook}.ipynb")
    nb = json.loads(path.read_text())
    source = nb["cells"][cell]["source"]
    nb["cells"][cell]["source"] = ("".join(source) if isinstance(source, list) else source) + "\n" + code
    path.write_text(json.dumps(nb))


def test_sys_exit_in_a_cell_fails_the_run_a_notebook_must_run_to_its_end(built, snapshot):
    before = built.protected()
    _append_to_cell(built, "beta", 1, "import sys\nsys.exit(0)\nprint('never reached')\n")
    proc = built.fails("build", "--no-render", "beta", says=(
        "notebook run beta/default stopped early in cell 2 (SystemExit: 0): the cells after it did not run",
        "a notebook must run to its end", "_build/failed/beta/default.ipynb"))
    assert "FAILED beta/default" in proc.stdout
    built.unchanged(before, but=("notebooks/",))  # the last good output is kept
    built.restore("notebooks/beta.ipynb", snapshot)
    built.recovers(executes=[])


def test_a_run_that_changes_protected_files_fails_naming_them_and_they_are_put_back(built, snapshot):
    """The notebook rewrites claims/lock.json, writes into reviews/ and deletes a data file another run reads."""
    before = built.protected()
    _append_to_cell(built, "beta", 1, "import os, pathlib\n"
                    "pathlib.Path('claims/lock.json').write_text('{}')\n"
                    "pathlib.Path('reviews/beta').mkdir(parents=True, exist_ok=True)\n"
                    "pathlib.Path('reviews/beta/forged.yml').write_text('decision: approved\\n')\n"
                    "os.remove('data/raw/src-one/values.csv')\n")
    proc = built.fails("build", "--no-render", "beta", says=(
        "notebook run beta/default changed files that only explicit commands may change",
        "claims/lock.json (modified, restored; the version found after the run is kept in "
        "_build/failed/protected/beta/default/claims/lock.json, to copy back if it was your own edit",
        "data/raw/src-one/values.csv (deleted, restored)",
        "reviews/beta/forged.yml (added, removed",
        "a notebook may write only its own outputs"))
    assert "FAILED beta/default" in proc.stdout
    built.unchanged(before, but=("notebooks/",))  # every protected file is back, by hash; the good output is kept
    assert not built.path("reviews").exists()  # the folders the run made are gone too
    assert built.path("_build/failed/protected/beta/default/claims/lock.json").read_text() == "{}"
    built.restore("notebooks/beta.ipynb", snapshot)
    built.recovers(executes=[])
    built.ok("check")  # no drift: the lock is the accepted one
