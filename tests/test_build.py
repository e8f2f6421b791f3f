"""Scenario tests of the build: a temporary copy of the small project is built, mutated and rebuilt
with real papermill executions, and we assert exactly which notebook runs re-executed and why."""

from __future__ import annotations

import hashlib
import json

import yaml

from analysis.files import dump_yaml

ALL_RUNS = ["alpha/default", "alpha/later", "beta/default", "gamma/default"]


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def edit_notebook_code(project, notebook, old, new):
    path = project.path(f"notebooks/{notebook}.ipynb")
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if old in src:
            cell["source"] = src.replace(old, new)
    path.write_text(json.dumps(nb, indent=1))


def edit_project(project, mutate):
    path = project.path("project.yml")
    doc = yaml.safe_load(path.read_text())
    mutate(doc)
    path.write_text(dump_yaml(doc))


def test_cold_build_executes_every_run_and_writes_the_manifest(built_mini):
    manifest = built_mini.manifest()
    assert sorted(manifest["executed_this_build"]) == ALL_RUNS
    assert sorted(manifest["runs"]) == ALL_RUNS
    gamma = manifest["runs"]["gamma/default"]
    inputs = {i["dataset"]: i for i in gamma["inputs"]}
    assert set(inputs) == {"src-one.values", "src-two.values"}
    assert inputs["src-two.values"]["sha256"] == sha(built_mini.path("data/raw/src-two/values.csv"))
    out = gamma["outputs"][0]
    assert out["sha256"] == sha(built_mini.path(out["path"]))
    assert gamma["parameters"] == {"year": 2020}
    assert gamma["duration_seconds"] > 0 and gamma["started"] <= gamma["finished"]  # whole seconds: a warm run can take under one
    assert gamma["versions"]["papermill"] != "not installed" and "python" in gamma["versions"]
    assert manifest["runs"]["alpha/later"]["parameters"]["year"] == 2020


def test_second_build_executes_nothing(built_mini):
    before = {a: sha(built_mini.path(f"_build/notebooks/{a}.ipynb")) for a in ALL_RUNS}
    proc = built_mini.cli("build", "--no-render", check=True)
    assert "nothing to execute" in proc.stdout
    assert built_mini.executed() == []
    assert before == {a: sha(built_mini.path(f"_build/notebooks/{a}.ipynb")) for a in ALL_RUNS}
    status = built_mini.cli("status", check=True).stdout
    assert "0 stale, 4 current" in status


def test_changing_one_data_file_reexecutes_only_its_readers(mini):
    mini.cli("build", "--no-render", check=True)
    csv = mini.path("data/raw/src-two/values.csv")
    csv.write_text(csv.read_text().replace("700.5", "702.5"))
    mini.accept_hash("src-two.values")
    status = mini.cli("status", check=True).stdout
    assert "stale    beta/default: data/raw/src-two/values.csv changed" in status
    assert "stale    gamma/default" in status and "current  alpha/default" in status
    mini.cli("build", "--no-render", check=True)
    assert sorted(mini.executed()) == ["beta/default", "gamma/default"]
    assert mini.claim_records("beta/default")["usa-gerd-2020"]["reproduced"] == 702.5


def test_changing_a_parameter_set_reexecutes_only_that_run(mini):
    mini.cli("build", "--no-render", check=True)
    edit_project(mini, lambda d: d["notebooks"]["alpha"]["parameter_sets"].update(later={"year": 2010}))
    status = mini.cli("status", check=True).stdout
    assert "stale    alpha/later: parameter year changed (2020 -> 2010)" in status
    mini.cli("build", "--no-render", check=True)
    assert mini.executed() == ["alpha/later"]
    assert mini.manifest()["runs"]["alpha/later"]["parameters"]["year"] == 2010


def test_notebook_code_change_reruns_it_but_prose_change_does_not(mini):
    mini.cli("build", "--no-render", check=True)
    path = mini.path("notebooks/beta.ipynb")
    nb = json.loads(path.read_text())
    nb["cells"].insert(0, {"cell_type": "markdown", "metadata": {}, "source": "A new paragraph of prose."})
    path.write_text(json.dumps(nb, indent=1))
    assert "0 stale" in mini.cli("status", check=True).stdout
    edit_notebook_code(mini, "beta", "* scale", "* scale * 1.0")
    assert "stale    beta/default: notebook code changed" in mini.cli("status", check=True).stdout
    mini.cli("build", "--no-render", check=True)
    assert mini.executed() == ["beta/default"]


def test_analysis_package_changes_make_stale_exactly_the_runs_that_imported_them(mini):
    mini.cli("build", "--no-render", check=True)
    record = mini.read_json("_build/notebooks/beta/default.run.json")
    assert "catalog.py" in record["analysis_modules"] and "report.py" not in record["analysis_modules"]

    report = mini.path("analysis/report.py")  # report generation never runs inside a notebook
    report.write_text(report.read_text() + "\n# a comment\n")
    assert "0 stale" in mini.cli("status", check=True).stdout

    figures = mini.path("analysis/figures.py")  # imported only by alpha
    figures.write_text(figures.read_text() + "\n# a comment\n")
    status = mini.cli("status", check=True).stdout
    assert status.count("analysis package changed (analysis/figures.py)") == 2
    assert "stale    alpha/default" in status and "current  beta/default" in status

    catalog = mini.path("analysis/catalog.py")  # every run loads data through it
    catalog.write_text(catalog.read_text() + "\n# a comment\n")
    assert mini.cli("status", check=True).stdout.count("analysis/catalog.py") == 4


def test_failing_notebook_stops_the_build_and_keeps_the_last_good_output(mini):
    mini.cli("build", "--no-render", check=True)
    good = mini.path("_build/notebooks/gamma/default.ipynb")
    good_sha = sha(good)
    edit_notebook_code(mini, "gamma", "ratio = ", "raise RuntimeError('deliberate failure')\nratio = ")
    proc = mini.cli("build", "--no-render")
    assert proc.returncode == 1
    assert "notebook run gamma/default failed in cell" in proc.stderr
    assert "RuntimeError: deliberate failure" in proc.stderr
    assert "_build/failed/gamma/default.ipynb" in proc.stderr
    assert sha(good) == good_sha
    assert mini.path("_build/failed/gamma/default.ipynb").is_file()
    assert not list(mini.path("_build/notebooks/gamma").glob(".*partial*"))
    assert "stale    gamma/default: notebook code changed" in mini.cli("status", check=True).stdout


def test_bad_parameter_sets_are_rejected_before_anything_runs(mini):
    def mutate(doc):
        doc["notebooks"]["alpha"]["parameter_sets"]["later"] = {"yaer": 2020}
        doc["notebooks"]["beta"]["parameter_sets"] = {"default": {"scale": "two"}}
    edit_project(mini, mutate)
    proc = mini.cli("build", "--no-render")
    assert proc.returncode == 1
    assert "parameter set 'later' of notebook 'alpha'" in proc.stderr and "unknown parameter 'yaer'" in proc.stderr
    assert "parameter 'scale' = 'two' is str, expected float" in proc.stderr
    assert not mini.path("_build/notebooks").exists()


def test_parameter_out_of_declared_range_is_rejected(mini):
    edit_project(mini, lambda d: d["notebooks"]["alpha"]["parameter_sets"].update(later={"year": 2031}))
    proc = mini.cli("build", "--no-render")
    assert proc.returncode == 1
    assert "parameter 'year' = 2031: expected at most 2020" in proc.stderr


def test_build_one_notebook_and_force(mini):
    mini.cli("build", "--no-render", "alpha", check=True)
    assert sorted(mini.executed()) == ["alpha/default", "alpha/later"]
    assert "Ledger and report sources not updated" in mini.cli("build", "--no-render", "alpha").stdout
    mini.cli("build", "--no-render", check=True)
    assert sorted(mini.executed()) == ["beta/default", "gamma/default"]
    mini.cli("build", "--no-render", "--force", "beta/default", check=True)
    assert mini.executed() == ["beta/default"]


def test_undeclared_dataset_is_refused(mini):
    edit_project(mini, lambda d: d["notebooks"]["beta"].update(datasets=["src-one.values"]))
    proc = mini.cli("build", "--no-render", "beta")
    assert proc.returncode == 1
    # found in the notebook's source before any kernel starts (a load by a computed name is refused by the kernel)
    assert "notebooks/beta.ipynb (code cell 2) loads dataset 'src-two.values', which project.yml does not declare " \
           "for notebook 'beta'" in proc.stderr and "nothing was executed" in proc.stderr
    assert not mini.path("_build/notebooks/beta").exists()


def test_clean_removes_build_outputs(mini):
    mini.cli("build", "--no-render", "beta", check=True)
    mini.cli("clean", check=True)
    assert not mini.path("_build/notebooks").exists()
    assert "never executed" in mini.cli("status", check=True).stdout


def test_ledger_and_manifest_written_for_a_full_build(built_mini):
    ledger = built_mini.read_json("_build/ledger.json")
    by_id = {row["claim"]: row for row in ledger}
    one = built_mini.load("src-one.values")
    expected = one.query("entity == 'USA' and year == 2010")["value"].item() * 100
    assert by_id["usa-share-2010"]["reproduced"] == expected
    assert by_id["usa-share-2010"]["verdict"] == "reproduced"
    two = built_mini.load("src-two.values").set_index("entity")["value"]
    assert abs(by_id["china-ratio"]["reproduced"] - two["CHN"] / two["USA"] * 100) < 1e-9
    assert built_mini.path("_build/ledger.csv").read_text().startswith("claim,document,quote")
