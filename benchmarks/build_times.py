"""Benchmark the build: cold, no-op and one-data-file-changed builds, each beside a naive baseline
(every notebook run once, in sequence, with plain papermill) measured in the same run.

    python benchmarks/build_times.py                # the small scenario project (fast)
    python benchmarks/build_times.py --project .    # this repository's real project

Prints a table of wall-clock seconds. Nothing in the source project is modified (it works on a copy).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def copy_project(source: Path, dest: Path) -> Path:
    ignore = shutil.ignore_patterns("_build", "_site", ".venv", "__pycache__", ".git", "*.egg-info", "tests", "benchmarks")
    shutil.copytree(source, dest, ignore=ignore)
    if not (dest / "analysis").exists():
        shutil.copytree(REPO / "analysis", dest / "analysis", ignore=ignore)
    return dest


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def cli(root: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CLAIMCHECK_PROJECT_ROOT"}
    proc = subprocess.run([sys.executable, "-m", "analysis", *args], cwd=root, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"analysis {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")


def naive_baseline(root: Path) -> float:
    """Every run once, in sequence, with plain papermill (no cache, no parallelism)."""
    sys.path.insert(0, str(root))
    from analysis.paths import Layout
    from analysis.project import Project
    import papermill

    runs = Project.load(Layout(root)).runs()
    out_dir = Path(tempfile.mkdtemp(prefix="naive-"))
    os.environ["CLAIMCHECK_PROJECT_ROOT"] = str(root)

    def run_all():
        for run in runs:
            papermill.execute_notebook(str(root / "notebooks" / f"{run.notebook}.ipynb"),
                                       str(out_dir / f"{run.notebook}-{run.parameter_set}.ipynb"),
                                       parameters=run.parameters, kernel_name="python3", cwd=str(root),
                                       progress_bar=False)

    try:
        return timed(run_all)
    finally:
        os.environ.pop("CLAIMCHECK_PROJECT_ROOT", None)
        shutil.rmtree(out_dir, ignore_errors=True)


def change_first_dataset(root: Path) -> str:
    """Rewrite one number of the first used dataset without changing its value (0.3 -> 0.30), and re-record its hash."""
    import csv
    import io

    import yaml

    dp_path = root / "data" / "datapackage.json"
    dp = json.loads(dp_path.read_text())
    used = set()
    for entry in (yaml.safe_load((root / "project.yml").read_text())["notebooks"] or {}).values():
        used.update(entry.get("datasets") or [])
    resource = next(r for r in dp["resources"] if r["name"] in used)
    path = root / "data" / resource["path"]
    rows = list(csv.reader(io.StringIO(path.read_text())))
    column = rows[0].index("value")
    number = rows[-1][column]
    rows[-1][column] = number + "0" if "." in number else number + ".0"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue())
    data = path.read_bytes()
    resource["hash"] = "sha256:" + hashlib.sha256(data).hexdigest()
    resource["bytes"] = len(data)
    dp_path.write_text(json.dumps(dp, indent=2, ensure_ascii=False) + "\n")
    return resource["name"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=REPO / "tests" / "fixtures" / "miniproject")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        root = copy_project(args.project.resolve(), work / "project")
        extra = ["--workers", str(args.workers)] if args.workers else []
        cold = timed(lambda: cli(root, "build", "--no-render", *extra))
        noop = timed(lambda: cli(root, "build", "--no-render", *extra))
        changed = change_first_dataset(root)
        one = timed(lambda: cli(root, "build", "--no-render", *extra))
        executed = json.loads((root / "_build" / "manifest.json").read_text())["executed_this_build"]
        naive = naive_baseline(root)
        runs = len(json.loads((root / "_build" / "manifest.json").read_text())["runs"])
        print(f"project: {args.project}  runs: {runs}  cores: {os.cpu_count()}")
        print(f"{'scenario':<34}{'build (s)':>12}{'naive (s)':>12}")
        print(f"{'cold build':<34}{cold:>12.2f}{naive:>12.2f}")
        print(f"{'no-op build':<34}{noop:>12.2f}{naive:>12.2f}")
        print(f"{'one data file changed':<34}{one:>12.2f}{naive:>12.2f}")
        print(f"  changed {changed}: re-executed {len(executed)} of {runs} runs ({', '.join(executed)})")
        print("naive = every run once, in sequence, with plain papermill, measured in this same run")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
