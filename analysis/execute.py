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
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_context

from .files import file_sha256, notebook_code_sha256
from .catalog import ALLOWED_ENV, LOAD_LOG_ENV, RUN_ENV
from .errors import NotebookFailed
from .manifest import now, package_versions
from .paths import ROOT_ENV, Layout
from .project import Run

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
    return {"ok": True, "started": started, "finished": now(), "duration": time.monotonic() - t0}


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
            },
        }

    def execute(self, runs: list[Run], on_success) -> list[Outcome]:
        """Execute ``runs``; call ``on_success(run, record)`` as each finishes well; raise NotebookFailed on the first failure."""
        if not runs:
            return []
        outcomes: list[Outcome] = []
        progress = Progress(len(runs), self.echo)
        context = get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(self.workers, len(runs)), mp_context=context) as pool:
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
    """A line per finished run, plus a live bar on a terminal."""

    def __init__(self, total: int, echo):
        self.total, self.done, self.echo = total, 0, echo
        self.bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="notebook", desc="executing", leave=False)

    def started(self, address: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(address)

    def finished(self, address: str, seconds: float, *, ok: bool) -> None:
        self.done += 1
        line = f"  [{self.done}/{self.total}] {'ok    ' if ok else 'FAILED'} {address} ({seconds:.1f}s)"
        if self.bar is not None:
            self.bar.write(line)
            self.bar.update(1)
        else:
            self.echo(line)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
