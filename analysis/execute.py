"""Execute notebook runs with papermill, in parallel worker processes, with progress and atomic outputs.

Each worker process executes one run: papermill writes to a partial file which is moved into place
only when the whole notebook succeeded, so a failed or interrupted run never replaces a good output.
Worker processes (not threads) are used because papermill changes the working directory and the
kernel inherits the process environment, which carries the run's identity.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_context

from .files import file_sha256, notebook_code_sha256
from .catalog import ALLOWED_ENV, LOAD_LOG_ENV, RUN_ENV
from .errors import NotebookFailed
from .manifest import now, package_versions
from .paths import ROOT_ENV, Layout
from .project import Run
from . import warm

CELL_TIMEOUT_SECONDS = 900


@dataclass
class Outcome:
    run: Run
    ok: bool
    record: dict | None = None
    error: dict | None = None


def _execute_in_worker(job: dict) -> dict:
    """Run one notebook (in a worker process). Returns timings or a description of the failure."""
    os.environ.update(job["env"])
    # The kernel inherits this process's stderr: keep its chatter in a per-run log, not on the terminal.
    log_fd = os.open(job["kernel_log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log_fd, 2)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [job["root"], os.environ.get("PYTHONPATH")]))
    import papermill
    from papermill.exceptions import PapermillExecutionError

    started, t0 = now(), time.monotonic()
    warm.last_kernel = None
    try:
        papermill.execute_notebook(
            job["source"],
            job["partial"],
            parameters=job["parameters"],
            kernel_name="python3",
            cwd=job["root"],
            progress_bar=False,
            start_timeout=300,  # a loaded CI machine can take minutes to start a kernel
            execution_timeout=CELL_TIMEOUT_SECONDS,
            **warm_engine_options(),
        )
    except PapermillExecutionError as exc:
        return {
            "ok": False, "started": started, "duration": time.monotonic() - t0,
            "error": {"cell": exc.cell_index, "execution_count": exc.exec_count, "ename": exc.ename,
                      "evalue": exc.evalue, "source": exc.source},
        }
    except BaseException as exc:  # kernel died, timeout, bad notebook file...
        return {
            "ok": False, "started": started, "duration": time.monotonic() - t0,
            "error": {"cell": None, "ename": type(exc).__name__, "evalue": str(exc), "source": ""},
        }
    return {"ok": True, "started": started, "finished": now(), "duration": time.monotonic() - t0,
            "kernel": warm.last_kernel or "cold"}


def warm_engine_options() -> dict:
    """papermill/nbclient options for a warm run: kernels forked by the build's template (none if cold)."""
    socket_path = os.environ.get(warm.SOCKET_ENV)
    return {"kernel_manager_class": warm.manager_class(socket_path)} if socket_path else {}


def start_template(layout: Layout, runs: list, echo):
    """Start the warm-run template for this build (None if runs are cold: one run, no fork, or it failed)."""
    if len(runs) < 2 or not warm.available():
        return None
    template = warm.Template(layout.root, layout.state_dir / "warm-template.log")
    if template.wait_ready():
        return template
    echo(f"  (warm runs unavailable, see {layout.relative(layout.state_dir / 'warm-template.log')}; running cold)")
    return None


@contextmanager
def stopping(template):
    try:
        yield
    finally:
        if template is not None:
            template.stop()


class Executor:
    """Runs a list of runs on ``workers`` processes, stopping at the first failure."""

    def __init__(self, layout: Layout, workers: int | None = None, echo=print):
        self.layout = layout
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.echo = echo

    def job(self, run: Run) -> dict:
        out = self.layout.executed_notebook(run.address)
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f".{out.stem}.partial.ipynb")
        log = out.with_name(f".{out.stem}.loads.jsonl")
        log.unlink(missing_ok=True)
        return {
            "root": str(self.layout.root),
            "source": str(self.layout.notebook_source(run.notebook)),
            "partial": str(partial),
            "kernel_log": str(out.with_name(f"{out.stem}.log")),
            "parameters": run.parameters,
            "env": {
                ROOT_ENV: str(self.layout.root),
                RUN_ENV: run.address,
                LOAD_LOG_ENV: str(log),
                ALLOWED_ENV: ",".join(run.datasets),
                "PYDEVD_DISABLE_FILE_VALIDATION": "1",
                warm.SOCKET_ENV: getattr(self, "warm_socket", None) or "",
            },
        }

    def execute(self, runs: list[Run], on_success) -> list[Outcome]:
        """Execute ``runs``; call ``on_success(run, record)`` as each finishes well; raise NotebookFailed on the first failure."""
        if not runs:
            return []
        outcomes: list[Outcome] = []
        template = start_template(self.layout, runs, self.echo)
        self.warm_socket = template.socket_path if template else None
        progress = Progress(len(runs), self.echo, expected_durations(self.layout, runs))
        context = get_context("spawn")
        with stopping(template), ProcessPoolExecutor(max_workers=min(self.workers, len(runs)), mp_context=context) as pool:
            pending = {}
            queue = list(runs)

            def submit_next():
                run = queue.pop(0)
                pending[pool.submit(_execute_in_worker, self.job(run))] = run
                progress.started(run.address)

            for _ in range(min(self.workers, len(queue))):
                submit_next()
            failure = None
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    run = pending.pop(future)
                    result = future.result()
                    if result["ok"]:
                        record = self._finish(run, result)
                        on_success(run, record)
                        outcomes.append(Outcome(run, True, record=record))
                        progress.finished(run.address, result["duration"], ok=True)
                    else:
                        failure = failure or (run, result)
                        self._keep_failed(run)
                        outcomes.append(Outcome(run, False, error=result["error"]))
                        progress.finished(run.address, result["duration"], ok=False)
                if queue and failure is None:
                    while queue and len(pending) < self.workers:
                        submit_next()
            progress.close()
        if failure:
            raise self._failure_error(*failure)
        return outcomes

    def _finish(self, run: Run, result: dict) -> dict:
        """Move the complete output into place and build its run record."""
        out = self.layout.executed_notebook(run.address)
        partial = out.with_name(f".{out.stem}.partial.ipynb")
        log = out.with_name(f".{out.stem}.loads.jsonl")
        loads, modules = [], set()
        if log.exists():
            seen = {}
            for line in log.read_text(encoding="utf-8").splitlines():
                entry = json.loads(line)
                modules.update(entry.pop("modules", []))
                if "dataset" in entry:
                    seen[entry["dataset"]] = entry
            loads = [seen[k] for k in sorted(seen)]
            log.unlink()
        os.replace(partial, out)
        source = self.layout.notebook_source(run.notebook)
        return {
            "address": run.address,
            "notebook": self.layout.relative(source),
            "notebook_code_sha256": notebook_code_sha256(source),
            "parameter_set": run.parameter_set,
            "parameters": run.parameters,
            "declared_datasets": list(run.datasets),
            "inputs": loads,
            "analysis_modules": sorted(modules),
            "outputs": [{"path": self.layout.relative(out), "sha256": file_sha256(out)}],
            "started": result["started"],
            "finished": result["finished"],
            "duration_seconds": round(result["duration"], 2),
            "kernel": result.get("kernel", "cold"),  # warm: forked from the build's template (analysis.warm)
            "versions": package_versions(),
        }

    def _keep_failed(self, run: Run) -> None:
        out = self.layout.executed_notebook(run.address)
        partial = out.with_name(f".{out.stem}.partial.ipynb")
        out.with_name(f".{out.stem}.loads.jsonl").unlink(missing_ok=True)
        if partial.exists():
            kept = self.layout.failed_dir / f"{run.address}.ipynb"
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(partial), kept)

    def _failure_error(self, run: Run, result: dict) -> NotebookFailed:
        err = result["error"]
        kept = self.layout.relative(self.layout.failed_dir / f"{run.address}.ipynb")
        where = f"cell {err['cell']}" if err.get("cell") is not None else "before any cell ran"
        source = (err.get("source") or "").strip().splitlines()
        excerpt = ("\n    | " + "\n    | ".join(source[:6])) if source else ""
        return NotebookFailed(
            f"notebook run {run.address} failed in {where}: {err['ename']}: {err['evalue']}{excerpt}",
            hint=(
                f"the executed notebook with the traceback is at {kept}; the last good output "
                f"(if any) is untouched. Fix the notebook or its data and build again."
            ),
        )


class Progress:
    """Progress people can trust: a bar with elapsed time and ETA on a terminal, plain lines otherwise.

    The ETA weighs each run by its stored duration from earlier builds (the mean for new runs), so a
    long run finishing early does not make the rest look short.
    """

    def __init__(self, total: int, echo, expected: dict[str, float] | None = None):
        self.total, self.done, self.echo = total, 0, echo
        self.expected = expected or {}
        self.work_total = sum(self.expected.values())
        self.work_done = 0.0
        self.t0 = time.monotonic()
        self.bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="run", desc="executing", leave=False,
                            bar_format="{desc} {n_fmt}/{total_fmt} |{bar:30}| {elapsed} elapsed, ETA {remaining}{postfix}")

    def started(self, address: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(address)

    def eta(self) -> float | None:
        """Seconds left, from the elapsed time and the share of the expected work done."""
        elapsed = time.monotonic() - self.t0
        if self.work_total and self.work_done:
            return elapsed * (self.work_total - self.work_done) / self.work_done
        if self.done:
            return elapsed * (self.total - self.done) / self.done
        return None

    def finished(self, address: str, seconds: float, *, ok: bool) -> None:
        self.done += 1
        self.work_done += self.expected.get(address, 0.0)
        elapsed = time.monotonic() - self.t0
        eta = self.eta()
        left = f", about {clock(eta)} left" if eta is not None and self.done < self.total else ""
        line = (f"  [{self.done}/{self.total}] {'ok    ' if ok else 'FAILED'} {address} ({seconds:.1f}s; "
                f"{clock(elapsed)} elapsed{left})")
        if self.bar is not None:
            self.bar.write(line)
            self.bar.update(1)
        else:
            self.echo(line)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def clock(seconds: float) -> str:
    """``m:ss`` for a duration in seconds."""
    seconds = max(0, round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def about(seconds: float) -> str:
    """A rounded duration for people: 'about 40 s', 'about 3 min'."""
    if seconds < 90:
        return f"about {max(1, round(seconds))} s"
    return f"about {round(seconds / 60)} min"


def expected_durations(layout: Layout, runs: list[Run]) -> dict[str, float]:
    """Each run's duration from its last record; runs never timed get the mean of the others (empty if none timed)."""
    from .manifest import read_run_record

    known = {}
    for run in runs:
        seconds = (read_run_record(layout, run.address) or {}).get("duration_seconds")
        if isinstance(seconds, (int, float)) and seconds > 0:
            known[run.address] = float(seconds)
    if not known:
        return {}
    mean = sum(known.values()) / len(known)
    return {run.address: known.get(run.address, mean) for run in runs}


def makespan(durations: list[float], workers: int) -> float:
    """Wall time of running ``durations`` in order on ``workers`` (each starts as soon as one is free)."""
    free = [0.0] * max(1, workers)
    for d in durations:
        i = free.index(min(free))
        free[i] += d
    return max(free)


def announce(layout: Layout, plan, todo: list[Run], restored: list[str], workers: int, echo) -> dict[str, float]:
    """Before executing: what is restored, how many runs execute and an estimate from stored durations."""
    if restored:
        echo(f"Restored {len(restored)} run(s) from {layout.relative(layout.build_dir / 'store')} "
             f"(same inputs as an earlier result, not executed): {', '.join(restored)}")
    if not todo:
        echo(f"All {len(plan.runs)} notebook run(s) are current; nothing to execute.")
        return {}
    expected = expected_durations(layout, todo)
    workers = min(len(todo), workers)
    if len(expected) == len(todo):
        estimate = about(makespan([expected[r.address] for r in todo], workers))
        estimate += " (from the durations of their earlier runs)"
    else:
        estimate = "no earlier durations to estimate from"
    echo(f"Executing {len(todo)} notebook run(s) on {workers} worker(s), {estimate}:")
    for run in todo:
        echo(f"  - {run.address}: {'; '.join(plan.stale[run.address])}")
    return expected


def restore_results(layout: Layout, cache, runs: list[Run], echo) -> list[str]:
    """Put the stored results of ``runs`` (whose full input keys are in the store) in place; return their addresses."""
    from .cache import ResultStore
    from .manifest import write_run_record

    store, restored = ResultStore(cache), []
    for run in runs:
        entry = store.lookup(run)
        record = store.restore(run, entry) if entry is not None else None
        if record is None:
            continue
        write_run_record(layout, run.address, record)
        cache.dep.save_success(cache.task(run))
        restored.append(run.address)
    if restored:
        cache.dep.backend.commit()  # one commit for all (an interrupted restore is simply redone)
    return restored
