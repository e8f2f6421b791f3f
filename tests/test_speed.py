"""Scenario tests of the build's speed machinery on the small project (see docs/build-speed.md): warm
runs record what cold runs record, datasets are validated once, results are restored by content, a
copied project with its _build/ is current, and data checks stop a build before any kernel starts.
No timings are asserted: only what ran, what was written and what it contains."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil

import pytest

from conftest import TempProject

ALL_RUNS = ["alpha/default", "alpha/later", "beta/default", "gamma/default"]


def tree(root) -> dict[str, tuple[str, int]]:
    """Every file under ``root``: sha256 and mtime (ns), by relative path."""
    return {p.relative_to(root).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def images(project: TempProject, address: str) -> list[bytes]:
    """The PNG bytes of every figure output of an executed notebook, in order."""
    nb = project.read_json(f"_build/notebooks/{address}.ipynb")
    return [base64.b64decode(out["data"]["image/png"]) for cell in nb["cells"] for out in cell.get("outputs", [])
            if "image/png" in out.get("data", {})]


def test_a_warm_run_records_the_same_values_figure_data_and_images_as_a_cold_run(tmp_path, mini):
    cold = TempProject(tmp_path / "cold")
    shutil.copytree(mini.root, cold.root)
    warm = mini.cli("build", "--no-render", "alpha", check=True)  # alpha draws a figure; two runs start a template
    # a forked kernel's own chatter goes to the run's log, never to the user's terminal
    assert "ipython kernel" not in warm.stdout + warm.stderr and "--existing" not in warm.stdout + warm.stderr
    cold.cli("build", "--no-render", "alpha", check=True, env={"CLAIMCHECK_COLD": "1"})
    for address in ("alpha/default", "alpha/later"):
        warm_record = mini.read_json(f"_build/notebooks/{address}.run.json")
        cold_record = cold.read_json(f"_build/notebooks/{address}.run.json")
        assert (warm_record["kernel"], cold_record["kernel"]) == ("warm", "cold")
        assert warm_record["analysis_modules"] == cold_record["analysis_modules"]  # import tracking stays exact
        assert "warm.py" not in warm_record["analysis_modules"]
        assert warm_record["inputs"] == cold_record["inputs"]
        assert mini.claim_records(address) == cold.claim_records(address)
        assert mini.figure_records(address) == cold.figure_records(address)
        assert images(mini, address) and images(mini, address) == images(cold, address)


def test_a_copied_project_with_its_build_folder_has_nothing_stale(tmp_path, built_mini):
    clone = TempProject(tmp_path / "elsewhere" / "clone")
    shutil.copytree(built_mini.root, clone.root)
    for path in clone.root.rglob("*"):  # a fresh clone: new timestamps everywhere
        if path.is_file():
            path.touch()
    status = clone.cli("status", check=True).stdout
    assert "0 stale, 4 current" in status, status
    assert str(built_mini.root) not in (clone.root / "_build/.state/doit.sqlite").read_bytes().decode("latin-1")
    assert "nothing to execute" in clone.cli("build", "--no-render", check=True).stdout
    assert clone.executed() == []


def test_reverting_a_data_change_restores_the_earlier_results_without_executing(mini):
    mini.cli("build", "--no-render", check=True)
    csv = mini.path("data/raw/src-two/values.csv")
    original = csv.read_bytes()
    before = {a: mini.path(f"_build/notebooks/{a}.ipynb").read_bytes() for a in ("beta/default", "gamma/default")}
    records = {a: mini.read_json(f"_build/notebooks/{a}.run.json") for a in before}

    csv.write_text(original.decode().replace("700.5", "702.5"))
    mini.accept_hash("src-two.values")
    changed = mini.cli("build", "--no-render", check=True).stdout
    assert sorted(mini.executed()) == ["beta/default", "gamma/default"]
    # progress: a count and an estimate from stored durations before, plain lines during, wall time and outputs after
    assert re.search(r"Executing 2 notebook run\(s\) on \d worker\(s\), about \d+ (s|min) "
                     r"\(from the durations of their earlier runs\)", changed), changed
    assert re.search(r"\[2/2\] ok +\S+ \(\d+\.\ds; \d+:\d\d elapsed\)", changed), changed
    assert re.search(r"Built in \d+\.\ds: 2 executed, 0 restored, 2 current\. Outputs:\n"
                     r" +notebooks: +_build/notebooks/<notebook>/<set>\.ipynb\n +manifest: +_build/manifest\.json", changed), changed
    assert mini.claim_records("beta/default")["usa-gerd-2020"]["reproduced"] == 702.5

    csv.write_bytes(original)  # undo the edit
    mini.accept_hash("src-two.values")
    status = mini.cli("status", check=True).stdout
    assert "stale    beta/default: data/raw/src-two/values.csv changed (an earlier result" in status, status
    reverted = mini.cli("build", "--no-render", check=True).stdout
    assert mini.executed() == []
    assert "Restored 2 run(s) from _build/store" in reverted and "nothing to execute" in reverted, reverted
    for address, data in before.items():
        assert mini.path(f"_build/notebooks/{address}.ipynb").read_bytes() == data  # byte for byte
        assert mini.read_json(f"_build/notebooks/{address}.run.json") == records[address]
    assert mini.claim_records("beta/default")["usa-gerd-2020"]["reproduced"] == 700.5
    assert {r["claim"]: r["reproduced"] for r in mini.read_json("_build/ledger.json")}["usa-gerd-2020"] == 700.5
    assert "0 stale, 4 current" in mini.cli("status", check=True).stdout


@pytest.mark.parametrize("damage", ["checksum", "schema"])
def test_a_bad_data_file_stops_the_build_before_any_kernel_starts(tmp_path, built_mini, damage):
    project = TempProject(tmp_path / "p")
    shutil.copytree(built_mini.root, project.root)
    csv = project.path("data/raw/src-one/values.csv")
    if damage == "checksum":
        csv.write_text(csv.read_text().replace("0.", "0.9", 1))  # edited, not accepted
        expected = "data/raw/src-one/values.csv (dataset src-one.values) does not match its accepted checksum"
    else:
        csv.write_text(csv.read_text() + "USA,not-a-year,share,0.5,fraction,Table 1\n")
        project.record_hash_unchecked("src-one.values")  # a broken file whose checksum was recorded anyway
        expected = "data/raw/src-one/values.csv (dataset src-one.values) does not match its schema"
    before = tree(project.path("_build"))
    proc = project.cli("build", "--no-render")
    assert proc.returncode == 1
    assert expected in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "Executing" not in proc.stdout  # stopped while planning
    assert tree(project.path("_build")) == before  # no kernel log, record, table or store entry written


def test_a_dataset_is_validated_once_per_file_and_schema_and_checksums_still_hold(mini, monkeypatch):
    from analysis import catalog
    from analysis.errors import DataIntegrityError
    from analysis.paths import Layout

    layout = Layout(mini.root)
    first = catalog.load("src-one.values", layout=layout)
    cached = list((layout.state_dir / "tables").glob("src-one.values-*.pickle"))
    assert len(cached) == 1

    def no_validation(self, name, path=None):
        raise AssertionError(f"{name} validated again")

    monkeypatch.setattr(catalog.Catalog, "validate", no_validation)
    again = catalog.load("src-one.values", layout=layout)  # served from the cached typed table
    assert again.equals(first) and list(again.dtypes) == list(first.dtypes)
    assert again.attrs == first.attrs

    csv = mini.path("data/raw/src-one/values.csv")
    accepted = csv.read_bytes()
    csv.write_bytes(accepted.replace(b"0.", b"0.9", 1))
    with pytest.raises(DataIntegrityError, match="does not match its accepted checksum"):
        catalog.load("src-one.values", layout=layout)
    csv.write_bytes(accepted)

    dp_path = mini.path("data/datapackage.json")  # a schema change is a miss: validated again
    dp = json.loads(dp_path.read_text())
    resource = next(r for r in dp["resources"] if r["name"] == "src-one.values")
    resource["schema"]["fields"][0]["description"] = "changed"
    dp_path.write_text(json.dumps(dp, indent=2))
    with pytest.raises(AssertionError, match="validated again"):
        catalog.load("src-one.values", layout=layout)


def test_a_run_whose_template_is_gone_starts_a_cold_kernel_and_says_so(mini, monkeypatch, capfd):
    import papermill

    from analysis import warm

    monkeypatch.setenv("CLAIMCHECK_PROJECT_ROOT", str(mini.root))
    monkeypatch.setenv("PYTHONPATH", str(mini.root))
    out = mini.path("beta-out.ipynb")
    papermill.execute_notebook(str(mini.path("notebooks/beta.ipynb")), str(out), kernel_name="python3",
                               cwd=str(mini.root), progress_bar=False,
                               kernel_manager_class=warm.manager_class(str(mini.path("no-template.sock"))))
    assert warm.last_kernel == "cold"
    assert "warm template unreachable" in capfd.readouterr().err
    from analysis.claims import recorded_in

    assert [r["claim"] for r in recorded_in(json.loads(out.read_text()))] == ["usa-gerd-2020"]
