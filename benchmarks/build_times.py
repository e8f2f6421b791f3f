"""Benchmark the build against a naive baseline measured in the same run, and print every figure of
issue 13's "Done when" (see docs/build-speed.md for the design and the last numbers).

    python benchmarks/build_times.py                              # the small scenario project (fast)
    python benchmarks/build_times.py --project .                  # this repository's real project
    python benchmarks/build_times.py --project . --only global_rd_shares   # a subset of its runs
    python benchmarks/build_times.py --project . --loop           # the edit loop with Quarto, against 594e78f

Scenarios, each on a copy (nothing in the source project is modified):

* naive: every selected run once, in sequence, with plain papermill and no cache of the project's
  (the dataset validation cache is emptied before each run, as if it did not exist);
* cold build (``-j``, default 2 workers; ``--also-cold-kernels`` adds a build with warm runs off);
* no-op build, i.e. what ``make report`` runs (median of 5), without Quarto and with it (a stand-in script when no
  Quarto is installed, which measures the render-skip path but not Quarto's own start-up);
* a data change (one number rewritten, same value) accepted and built, then reverted, accepted and built;
* a clone of the built project with its ``_build/`` copied alongside: ``status``;
* a tampered data file: ``build`` must stop before any kernel starts, ``_build/`` unchanged.

``--loop`` measures the edit loop instead (issue 23): one data file changed, its change accepted, and
``make report`` (``python -m analysis build`` with Quarto: build and render) on this tree and, in the
same run and on the same machine, on the tree of commit ``--baseline`` (594e78f, before the render was
concurrent and per document and format), unpacked from git. Both are built and rendered once first;
then each loop rewrites one more number of the same dataset (a new value, so the runs that read it
execute) in both trees, alternating which goes first, and the ratio of the medians is printed.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
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
    ignore = shutil.ignore_patterns("_build", "_site", ".venv", "__pycache__", ".git", "*.egg-info", "tests",
                                    "benchmarks", ".pytest_cache")
    shutil.copytree(source, dest, ignore=ignore)
    if not (dest / "analysis").exists():
        shutil.copytree(REPO / "analysis", dest / "analysis", ignore=ignore)
    return dest


def cli(root: Path, *args: str, ok=(0,), quarto: str | None = None, env: dict | None = None) -> tuple[float, subprocess.CompletedProcess]:
    """Run ``python -m analysis ARGS`` in ``root``; return (wall seconds, process)."""
    full = {k: v for k, v in os.environ.items() if k not in {"CLAIMCHECK_PROJECT_ROOT", "QUARTO"}}
    full.update(env or {})
    if quarto:
        full["QUARTO"] = quarto
    else:
        full["PATH"] = os.pathsep.join(p for p in full["PATH"].split(os.pathsep) if not (Path(p) / "quarto").exists())
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "analysis", *args], cwd=root, env=full, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode not in ok:
        raise SystemExit(f"analysis {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return seconds, proc


def repeated(times: int, *args, **kwargs) -> tuple[float, subprocess.CompletedProcess, str]:
    """Run :func:`cli` ``times`` times (a step that changes nothing); return the median wall time, the
    last process and "median of N, min-max" for the notes (one sample of a one-second command is noise)."""
    samples, proc = [], None
    for _ in range(times):
        seconds, proc = cli(*args, **kwargs)
        samples.append(seconds)
    samples.sort()
    return samples[len(samples) // 2], proc, f"median of {times}, {samples[0]:.2f}-{samples[-1]:.2f}s"


def selected_runs(root: Path, only: list[str]):
    sys.path.insert(0, str(root))
    from analysis.paths import Layout
    from analysis.project import Project

    return Project.load(Layout(root)).runs(only or None)


def naive_baseline(root: Path, runs) -> float:
    """Every run once, in sequence, with plain papermill (no cache of the project's, no parallelism)."""
    import papermill

    out_dir = Path(tempfile.mkdtemp(prefix="naive-"))
    tables = root / "_build" / ".state" / "tables"
    env_before = dict(os.environ)
    os.environ.update({"CLAIMCHECK_PROJECT_ROOT": str(root),
                       "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))})
    saved_stderr = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # the kernels' start-up chatter (the build keeps it in per-run logs)
    try:
        t0 = time.perf_counter()
        for run in runs:
            shutil.rmtree(tables, ignore_errors=True)  # every load validates, as without the project's cache
            papermill.execute_notebook(str(root / "notebooks" / f"{run.notebook}.ipynb"),
                                       str(out_dir / f"{run.notebook}-{run.parameter_set}.ipynb"),
                                       parameters=run.parameters, kernel_name="python3", cwd=str(root),
                                       progress_bar=False)
        return time.perf_counter() - t0
    finally:
        os.dup2(saved_stderr, 2)
        os.close(saved_stderr)
        os.close(devnull)
        os.environ.clear()
        os.environ.update(env_before)
        shutil.rmtree(out_dir, ignore_errors=True)


def rewrite_one_number(root: Path, runs) -> tuple[str, bytes]:
    """Rewrite the last number of a dataset the runs read (0.3 -> 0.30: same value, new bytes); return (name, old bytes)."""
    dp = json.loads((root / "data" / "datapackage.json").read_text())
    used = {name for run in runs for name in run.datasets}
    resource = next(r for r in dp["resources"] if r["name"] in used
                    and "value" in [f["name"] for f in r["schema"]["fields"]])
    path = root / "data" / resource["path"]
    original = path.read_bytes()
    rows = list(csv.reader(io.StringIO(original.decode("utf-8"))))
    column = rows[0].index("value")
    row = next(r for r in reversed(rows[1:]) if r[column])
    row[column] = row[column] + "0" if "." in row[column] else row[column] + ".0"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return resource["name"], original


def tree(root: Path) -> dict[str, tuple[str, int]]:
    return {p.relative_to(root).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def manifest(root: Path) -> dict:
    return json.loads((root / "_build" / "manifest.json").read_text())


STAND_IN_QUARTO = """#!/bin/sh
# A stand-in for Quarto (none is installed): answers --version and writes each output file the
# generated metadata names, so the no-op measures the build's own render-skip path, not Quarto's.
if [ "$1" = "--version" ]; then echo 0.0.0-stand-in; exit 0; fi
ext=html; [ "$3" = typst ] && ext=pdf
mkdir -p _site/report
for meta in _build/report/_metadata.yml _build/report/_appendix-metadata.yml; do
  stem=$(sed -n 's/^output-file: *//p' "$meta" | tr -d "'\\"")
  echo rendered > "_site/report/$stem.$ext"
done
"""


def find_quarto(explicit: str | None, work: Path) -> tuple[str, str]:
    """(quarto executable, how it was found): the given one, $QUARTO or PATH, else a stand-in script."""
    found = explicit or os.environ.get("QUARTO") or shutil.which("quarto")
    if found:
        return found, found
    stand_in = work / "stand-in-quarto"
    stand_in.write_text(STAND_IN_QUARTO)
    stand_in.chmod(0o755)
    return str(stand_in), "a stand-in script (no Quarto here): the render-skip path only"


BASELINE = "594e78f"  # the last commit before issue 23: renders one after the other, always all of them


def rewrite_number(root: Path, name: str, times: int) -> None:
    """Give the last number of dataset ``name`` ``times`` more trailing zeros (0.3 -> 0.30 -> 0.300 ...):
    the same value in new bytes; then accept the file with ``data accept``."""
    dp = json.loads((root / "data" / "datapackage.json").read_text())
    resource = next(r for r in dp["resources"] if r["name"] == name)
    path = root / "data" / resource["path"]
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    column = rows[0].index("value")
    row = next(r for r in reversed(rows[1:]) if r[column])
    row[column] = (row[column] if "." in row[column] else row[column] + ".") + "0" * times
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    cli(root, "data", "accept", name)


def edit_loop(args, work: Path) -> None:
    """The edit loop with Quarto, on this tree and on the baseline commit's, in one run (see the docstring)."""
    quarto = args.quarto or os.environ.get("QUARTO") or shutil.which("quarto")
    if not quarto:
        raise SystemExit("--loop needs Quarto: pass --quarto PATH or set $QUARTO "
                         "(bash ../shared/tools/quarto/install.sh prints a path)")
    ours = copy_project(args.project.resolve(), work / "ours")
    base = work / "baseline"
    base.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", args.baseline], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
    for folder in ("tests", "benchmarks"):
        shutil.rmtree(base / folder, ignore_errors=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    trees = {"this tree": ours, f"baseline {args.baseline}": base}
    first = {}
    for label, root in trees.items():  # cold build and a first render of each: not timed as the loop
        first[label], _ = cli(root, "build", quarto=quarto, ok=(0,))
    runs = selected_runs(ours, [])
    name = next(r["name"] for r in json.loads((ours / "data" / "datapackage.json").read_text())["resources"]
                if r["name"] in {d for run in runs for d in run.datasets}
                and "value" in [f["name"] for f in r["schema"]["fields"]])
    times: dict[str, list[float]] = {label: [] for label in trees}
    notes: dict[str, str] = {}
    for i in range(args.loops):
        order = list(trees.items()) if i % 2 == 0 else list(reversed(trees.items()))
        for label, root in order:
            rewrite_number(root, name, i + 1)
            seconds, proc = cli(root, "build", quarto=quarto, ok=(0,))
            times[label].append(seconds)
            rendered = [line for line in proc.stdout.splitlines() if line.startswith(("Rendering", "  wrote"))]
            notes[label] = (f"{len(manifest(root)['executed_this_build'])} runs executed; "
                            f"{sum(1 for line in rendered if 'wrote' in line)} outputs rendered")
    median = {label: sorted(v)[len(v) // 2] for label, v in times.items()}
    ratio = median["this tree"] / median[f"baseline {args.baseline}"]
    print(f"edit loop: {name} changed, data accept, then `python -m analysis build` (what `make report` runs) "
          f"with {quarto}")
    print(f"cores: {os.cpu_count()}  load average at start: {load:.1f}  loops: {args.loops} (alternating order)")
    print(f"{'tree':<28}{'first build':>12}{'loop (median)':>15}  all loops, notes")
    for label in trees:
        print(f"{label:<28}{first[label]:>11.1f}s{median[label]:>14.1f}s  "
              f"{', '.join(f'{t:.1f}' for t in times[label])}; {notes[label]}")
    print(f"edit loop, this tree / baseline {args.baseline}: {ratio:.2f}x")
    print(f"load average at end: {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=REPO / "tests" / "fixtures" / "miniproject")
    parser.add_argument("--only", nargs="*", default=[], metavar="NOTEBOOK[/SET]", help="a subset of the runs")
    parser.add_argument("--workers", "-j", type=int, default=2)
    parser.add_argument("--quarto", default=None, help="quarto executable for the no-op report with Quarto present")
    parser.add_argument("--also-cold-kernels", action="store_true", help="also time a cold build with warm runs off")
    parser.add_argument("--loop", action="store_true",
                        help="measure the edit loop with Quarto against --baseline instead (needs Quarto)")
    parser.add_argument("--baseline", default=BASELINE, help=f"the commit the loop is compared with (default {BASELINE})")
    parser.add_argument("--loops", type=int, default=3, help="edit loops per tree (default 3; the median is used)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    if args.loop:
        try:
            edit_loop(args, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return
    rows: list[tuple[str, float | None, str]] = []
    try:
        root = copy_project(args.project.resolve(), work / "project")
        naive_root = copy_project(args.project.resolve(), work / "naive")
        runs = selected_runs(root, args.only)
        sel, jobs = list(args.only), ["-j", str(args.workers)]
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

        naive = naive_baseline(naive_root, runs)
        cold, _ = cli(root, "build", "--no-render", *jobs, *sel)
        rows.append(("cold build", cold, f"{len(manifest(root)['executed_this_build'])} runs executed"))
        if args.also_cold_kernels:
            cold_root = copy_project(args.project.resolve(), work / "cold-kernels")
            seconds, _ = cli(cold_root, "build", "--no-render", *jobs, *sel, env={"CLAIMCHECK_COLD": "1"})
            rows.append(("cold build, warm runs off", seconds, "CLAIMCHECK_COLD=1"))

        full = not sel
        cli(root, "build", *jobs, *sel, ok=(0, 3))  # the first build after --no-render: nothing executes
        noop, proc, spread = repeated(5, root, "build", *jobs, *sel, ok=(0, 3))  # what `make report` runs; 3 = not rendered
        rows.append(("no-op build (make report), no Quarto", noop, f"{spread}; exit {proc.returncode}; executed "
                     f"{len(manifest(root)['executed_this_build'])}" + ("" if full else "; subset: ledger/report not regenerated")))
        quarto, which = find_quarto(args.quarto, work)
        cli(root, "build", *jobs, *sel, quarto=quarto, ok=(0, 3))  # a first render, if anything changed
        seconds, proc, spread = repeated(5, root, "build", *jobs, *sel, quarto=quarto, ok=(0, 3))
        skipped = "Render not needed" in proc.stdout
        rows.append(("no-op build (make report), Quarto", seconds,
                     f"{spread}; exit {proc.returncode}; render skipped: {skipped}; quarto: {which}"))

        name, original = rewrite_one_number(root, runs)
        cli(root, "data", "accept", name)
        changed, _ = cli(root, "build", "--no-render", *jobs, *sel)
        executed = manifest(root)["executed_this_build"]
        rows.append(("one data file changed", changed, f"{name}: {len(executed)} runs executed"))
        (root / "data" / next(r["path"] for r in json.loads((root / "data/datapackage.json").read_text())["resources"]
                              if r["name"] == name)).write_bytes(original)
        accept, _ = cli(root, "data", "accept", name)
        reverted, proc = cli(root, "build", "--no-render", *jobs, *sel)
        restored = next((line for line in proc.stdout.splitlines() if line.startswith("Restored")), "")
        rows.append(("data change reverted", reverted, f"{len(manifest(root)['executed_this_build'])} runs executed, "
                     f"{restored.split(' from ')[0].lower() or 'none restored'} (accept: {accept:.2f}s)"))

        clone = work / "elsewhere" / "clone"
        shutil.copytree(root, clone)
        status_s, proc, spread = repeated(3, clone, "status", *sel)
        summary = next(line for line in proc.stdout.splitlines() if " stale, " in line)
        rows.append(("clone with _build/: status", status_s, f"{summary} ({spread})"))

        tampered = next(r for r in json.loads((root / "data/datapackage.json").read_text())["resources"] if r["name"] == name)
        path = root / "data" / tampered["path"]
        path.write_bytes(path.read_bytes().replace(b"\n", b"\n ", 1))
        before = tree(root / "_build")
        seconds, proc, spread = repeated(3, root, "build", "--no-render", *jobs, *sel, ok=(1,))
        stopped = "does not match its accepted checksum" in proc.stderr and "Executing" not in proc.stdout
        unchanged = tree(root / "_build") == before
        rows.append(("tampered data file", seconds,
                     f"stopped before kernels: {stopped}; _build/ unchanged: {unchanged} ({spread})"))

        print(f"project: {args.project}{'  only: ' + ' '.join(sel) if sel else ''}  runs: {len(runs)}  "
              f"workers: {args.workers}  cores: {os.cpu_count()}  load average at start: {load:.1f}")
        print(f"naive sequential papermill baseline (same session): {naive:.2f}s")
        print(f"{'scenario':<40}{'seconds':>9}{'x naive':>9}  notes")
        for label, seconds, note in rows:
            shown = f"{seconds:>9.2f}{seconds / naive:>9.3f}" if seconds is not None else f"{'-':>9}{'-':>9}"
            print(f"{label:<40}{shown}  {note}")
        print(f"load average at end: {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
