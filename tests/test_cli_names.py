"""The command line names itself and its mistakes: --version, the console script's own name in usage,
"did you mean" for a mistyped notebook, parameter set, parameter or dataset, and `data diff` by path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from analysis import __version__
from analysis.files import dump_yaml


def test_version_and_program_name(mini):
    proc = mini.cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"python -m analysis {__version__}"
    assert mini.cli("--help").stdout.startswith("usage: python -m analysis")
    script = Path(sys.executable).parent / "claimcheck"
    if not script.is_file():
        pytest.skip(f"no console script at {script} (install the project with pip install -e .)")
    proc = subprocess.run([str(script), "--help"], capture_output=True, text=True, cwd=mini.root, timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("usage: claimcheck"), proc.stdout[:200]
    proc = subprocess.run([str(script), "--version"], capture_output=True, text=True, cwd=mini.root, timeout=120)
    assert proc.stdout.strip() == f"claimcheck {__version__}"


def test_did_you_mean(mini):
    proc = mini.cli("status", "alpah")
    assert proc.returncode == 1 and "no notebook 'alpah' in project.yml; did you mean 'alpha'?" in proc.stderr
    proc = mini.cli("status", "alpha/latr")
    assert proc.returncode == 1 and "no parameter set 'latr'; did you mean 'later'?" in proc.stderr
    proc = mini.cli("data", "diff", "src-one.valeus")
    assert proc.returncode == 1 and "did you mean 'src-one.values' or 'src-two.values'?" in proc.stderr

    doc = yaml.safe_load(mini.path("project.yml").read_text())
    doc["notebooks"]["alpha"]["parameter_sets"]["later"] = {"yaer": 2020}
    mini.path("project.yml").write_text(dump_yaml(doc))
    proc = mini.cli("status")
    assert proc.returncode == 1 and "unknown parameter 'yaer'; did you mean 'year'?" in proc.stderr


def test_data_diff_accepts_the_dataset_file(mini):
    mini.cli("data", "validate", "src-one.values", check=True)  # keeps a copy of the accepted version
    path = mini.path("data/raw/src-one/values.csv")
    path.write_text(path.read_text().replace("USA,2010,share,0.4", "USA,2010,share,0.42"))
    by_name = mini.cli("data", "diff", "src-one.values", check=True).stdout
    by_path = mini.cli("data", "diff", "data/raw/src-one/values.csv", check=True).stdout
    assert by_path == by_name and "value: 0.4 -> 0.42" in by_path
    proc = mini.cli("data", "diff", "data/raw/src-one/value.csv")
    assert proc.returncode == 1 and "no dataset in data/datapackage.json has the file" in proc.stderr
    assert "did you mean 'data/raw/src-one/values.csv'" in proc.stderr
