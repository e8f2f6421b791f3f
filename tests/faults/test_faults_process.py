"""Bad input and faults at the process level: each is provoked on a temporary copy of the project,
and we assert on the message and on the files left behind."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import yaml


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_beta_slow(project, seconds=60):
    path = project.path("notebooks/beta.ipynb")
    nb = json.loads(path.read_text())
    cell = nb["cells"][1]
    src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    cell["source"] = f"import time\ntime.sleep({seconds})\n" + src
    path.write_text(json.dumps(nb))


def start_build(project, *args):
    env = {k: v for k, v in os.environ.items() if k != "CLAIMCHECK_PROJECT_ROOT"}
    return subprocess.Popen([sys.executable, "-m", "analysis", "build", "--no-render", *args], cwd=project.root,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def wait_for(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


def test_interrupted_build_recovers_and_never_takes_a_partial_output_as_current(mini):
    mini.cli("build", "--no-render", check=True)
    good = mini.path("_build/notebooks/beta/default.ipynb")
    good_sha = sha(good)
    make_beta_slow(mini)
    proc = start_build(mini, "beta")
    partial = mini.path("_build/notebooks/beta/.default.partial.ipynb")
    try:
        assert wait_for(partial.exists), "the build never started executing beta"
        time.sleep(1)
    finally:
        kill_group(proc)  # as abrupt as a power cut: no clean-up code runs
    assert sha(good) == good_sha, "the last good output was replaced by an unfinished run"
    status = mini.cli("status", check=True).stdout
    assert "stale    beta/default: notebook code changed" in status
    make_beta_slow(mini, seconds=0)
    mini.cli("build", "--no-render", check=True)
    assert mini.executed() == ["beta/default"]
    assert not partial.exists()
    assert "0 stale" in mini.cli("status", check=True).stdout


def test_second_concurrent_build_refuses_clearly_and_changes_nothing(mini):
    make_beta_slow(mini)
    first = start_build(mini, "beta")
    try:
        assert wait_for(mini.path("_build/notebooks/beta/.default.partial.ipynb").exists)
        second = mini.cli("build", "--no-render", "alpha")
        assert second.returncode == 1
        assert "another build is running" in second.stderr
        assert "nothing was changed" in second.stderr
        assert not mini.path("_build/notebooks/alpha").exists()
    finally:
        kill_group(first)


def test_quarto_missing_builds_everything_else_and_says_so(mini):
    proc = mini.cli("build")
    assert proc.returncode == 3
    assert "Render skipped" in proc.stderr and "install Quarto" in proc.stderr
    assert len([line for line in proc.stderr.splitlines() if line.strip()]) == 1
    assert mini.path("_build/ledger.json").is_file() and mini.path("_build/manifest.json").is_file()


def test_quarto_failing_shows_its_error_and_keeps_notebooks_and_ledger(mini, tmp_path):
    fake = tmp_path / "quarto"
    fake.write_text("#!/bin/sh\necho 'ERROR: YAML parse error in _quarto.yml (line 3)' >&2\nexit 1\n")
    fake.chmod(0o755)
    proc = mini.cli("build", env={"QUARTO": str(fake)})
    assert proc.returncode == 1
    assert "quarto render --to html failed (exit 1)" in proc.stderr
    assert "YAML parse error in _quarto.yml (line 3)" in proc.stderr
    assert "executed notebooks, ledger and report sources in _build/ are kept" in proc.stderr
    assert mini.path("_build/ledger.json").is_file()
    assert mini.path("_build/notebooks/alpha/default.ipynb").is_file()


def test_malformed_project_file_is_reported_with_its_name(mini):
    mini.path("project.yml").write_text("notebooks:\n  alpha: [unclosed\n")
    proc = mini.cli("build", "--no-render")
    assert proc.returncode == 1 and "project.yml is not valid YAML" in proc.stderr
    mini.path("project.yml").write_text(yaml.safe_dump({"notebooks": {"alpha": {"datasets": ["src-one.values"]},
                                                                     "zeta": {"datasets": []}}}))
    proc = mini.cli("build", "--no-render")
    assert proc.returncode == 1 and "notebook 'zeta': notebooks/zeta.ipynb does not exist" in proc.stderr


def test_unknown_dataset_in_project_file(mini):
    doc = yaml.safe_load(mini.path("project.yml").read_text())
    doc["notebooks"]["beta"]["datasets"] = ["src-two.valeus"]
    mini.path("project.yml").write_text(yaml.safe_dump(doc))
    proc = mini.cli("build", "--no-render")
    assert proc.returncode == 1
    assert "notebook 'beta' declares dataset 'src-two.valeus', which is not in data/datapackage.json" in proc.stderr


def test_duplicate_claim_ids_are_refused_with_the_id(mini):
    path = mini.path("claims/register.yml")
    doc = yaml.safe_load(path.read_text())
    doc["claims"].append(dict(doc["claims"][0]))
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    proc = mini.cli("build", "--no-render")
    assert proc.returncode == 1
    assert "duplicate claim id 'usa-share-2010'" in proc.stderr
    assert not mini.path("_build/notebooks").exists()


def test_malformed_datapackage_leaves_outputs_untouched(mini):
    mini.cli("build", "--no-render", check=True)
    before = {p: sha(p) for p in mini.path("_build").rglob("*.ipynb")}
    dp = mini.path("data/datapackage.json")
    dp.write_text(dp.read_text().replace('"resources": [', '"resources": [,', 1))
    proc = mini.cli("build", "--no-render")
    assert proc.returncode == 1
    assert "data/datapackage.json is not valid JSON" in proc.stderr and "line" in proc.stderr
    assert before == {p: sha(p) for p in mini.path("_build").rglob("*.ipynb")}


def test_edited_data_file_without_acceptance_fails_the_run_and_keeps_the_good_output(mini):
    mini.cli("build", "--no-render", check=True)
    good = mini.path("_build/notebooks/beta/default.ipynb")
    good_sha = sha(good)
    csv = mini.path("data/raw/src-two/values.csv")
    csv.write_text(csv.read_text().replace("700.5", "701.5"))
    proc = mini.cli("build", "--no-render", "beta")
    assert proc.returncode == 1
    assert "data/raw/src-two/values.csv (dataset src-two.values) does not match its accepted checksum" in proc.stderr
    assert "python -m analysis data accept src-two.values" in proc.stderr
    assert sha(good) == good_sha
