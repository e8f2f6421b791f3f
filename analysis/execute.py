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
import signal
import sys
import time
from dataclasses import dataclass

from .files import file_sha256, notebook_code_sha256
from .catalog import ALLOWED_ENV, LOAD_LOG_ENV, RUN_ENV
from .runlog import READS_ENV
from .errors import CellTimeout, NotebookFailed, from_os_error
from .manifest import now, package_versions
from .paths import ROOT_ENV, Layout
from .project import Run

STILL_RUNNING_EVERY = 60  # seconds between "still running" lines while no run finishes
KERNEL_START_ATTEMPTS = 3  # a kernel that dies before its first cell (a port race, a loaded machine) is retried
LEFTOVERS = (".*.partial.ipynb", ".*.loads.jsonl", ".*.log.partial", ".*.tmp")  # files of unfinished runs and writes


@dataclass
class Outcome:
    run: Run
    ok: bool
    record: dict | None = None
    error: dict | None = None


def _running_cell(partial: str) -> tuple[int | None, str]:
    """Index and source of the last cell papermill started in the partial output (None: no cell ran)."""
    try:
        with open(partial, encoding="utf-8") as fh:
            cells = json.load(fh).get("cells", [])
    except (OSError, ValueError):
        return None, ""
    started = [i for i, c in enumerate(cells) if (c.get("metadata", {}).get("papermill") or {}).get("start_time")]
    if not started:
        return None, ""
    source = cells[started[-1]].get("source", "")
    return started[-1], "".join(source) if isinstance(source, list) else source


def _failure(exc: BaseException, partial: str) -> dict:
    """What went wrong, in the build's terms: kind (timeout, kernel-died, kernel-start, io, error) and cell."""
    cell, source = _running_cell(partial)
    name = type(exc).__name__
    if isinstance(exc, OSError) and exc.errno is not None and not name.startswith("ZMQ"):
        kind = "io"
    elif name == "CellTimeoutError":
        kind = "timeout"
    elif name == "DeadKernelError" or (cell is not None and "kernel died" in str(exc).lower()):
        kind = "kernel-died"
    elif cell is None and not isinstance(exc, (KeyboardInterrupt, SystemExit)):
        kind = "kernel-start"
    else:
        kind = "error"
    error = {"kind": kind, "cell": cell, "ename": name, "evalue": str(exc).strip().splitlines()[0] if str(exc).strip() else "",
             "source": source}
    if kind == "io":
        error.update(errno=exc.errno, strerror=exc.strerror, filename=exc.filename or partial)
    return error


def _note(text: str) -> None:
    """A line in the run's kernel log (stderr); a full disk must not turn a note into the failure."""
    try:
        os.write(2, (text + "\n").encode())
    except OSError:
        pass


def _execute_in_worker(job: dict) -> dict:
    """Run one notebook (in a worker process). Returns timings or a description of the failure."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is handled by the build, which stops this worker
    os.environ.update(job["env"])
    # The kernel inherits (or, forked warm, is handed) this process's stdout and stderr: keep its chatter
    # in a per-run log, not on the terminal. The worker's results travel through the pool, not stdout.
    log_fd = os.open(job["kernel_log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [job["root"], os.environ.get("PYTHONPATH")]))
    import papermill

    from . import warm
    from .engine import ENGINE_NAME
    from papermill.exceptions import PapermillExecutionError

    started, t0 = now(), time.monotonic()
    warm.last_kernel = None
    for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
        _note(f"--- {job['env'][RUN_ENV]}: attempt {attempt} at {now()}")
        try:
            papermill.execute_notebook(
                job["source"],
                job["partial"],
                parameters=job["parameters"],
                kernel_name="python3",
                cwd=job["root"],
                progress_bar=False,
                engine_name=ENGINE_NAME,  # papermill's nbclient engine, writing the running notebook less often
                start_timeout=300,  # a loaded CI machine can take minutes to start a kernel
                execution_timeout=job["timeout"],
                **warm_engine_options(),
            )
        except PapermillExecutionError as exc:
            return {
                "ok": False, "started": started, "duration": time.monotonic() - t0,
                "error": {"kind": "exception", "cell": exc.cell_index, "execution_count": exc.exec_count,
                          "ename": exc.ename, "evalue": exc.evalue, "source": exc.source},
            }
        except BaseException as exc:  # kernel died or did not start, timeout, disk full...
            error = _failure(exc, job["partial"])
            _note(f"--- attempt {attempt} failed: {error['ename']}: {error['evalue']}")
            if error["kind"] == "kernel-start" and attempt < KERNEL_START_ATTEMPTS:
                time.sleep(attempt)  # the next kernel gets fresh ports
                continue
            error["attempts"] = attempt
            return {"ok": False, "started": started, "duration": time.monotonic() - t0, "error": error}
        break
    stopped = _stopped_early(job["partial"])
    if stopped is not None:
        return {"ok": False, "started": started, "duration": time.monotonic() - t0, "error": stopped}
    return {"ok": True, "started": started, "finished": now(), "duration": time.monotonic() - t0,
            "kernel": warm.last_kernel or "cold"}


def _stopped_early(partial: str) -> dict | None:
    """The cell where a notebook that papermill counts as finished stopped before its end, or None.

    ``sys.exit()``, ``exit()``, ``quit()`` or a ``SystemExit``/``KeyboardInterrupt`` raised in a cell
    end the cell without a failed execution: the kernel reports the exception as an error output and
    papermill stops there without raising. A notebook must run to its end, so this is a failure."""
    try:
        with open(partial, encoding="utf-8") as fh:
            cells = json.load(fh).get("cells", [])
    except (OSError, ValueError):
        return {"kind": "error", "cell": None, "ename": "OSError", "evalue": "the executed notebook could not be read",
                "source": ""}
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        status = (cell.get("metadata", {}).get("papermill") or {}).get("status")
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors or status not in (None, "completed"):
            source = cell.get("source", "")
            error = errors[0] if errors else {"ename": "not executed", "evalue": f"papermill status {status!r}"}
            return {"kind": "stopped", "cell": index, "ename": error.get("ename", ""), "evalue": error.get("evalue", ""),
                    "source": "".join(source) if isinstance(source, list) else source}
    return None


def warm_engine_options() -> dict:
    """papermill/nbclient options: kernels forked by the build's template (started cold without one),
    each holding the build's running lock (:mod:`analysis.processes`)."""
    from . import warm

    return {"kernel_manager_class": warm.manager_class(os.environ.get(warm.SOCKET_ENV) or None)}


def launch_template(layout: Layout, runs: list):
    """Start loading the warm-run template for ``runs`` without waiting for it (None if runs will be cold:
    fewer than two, or no fork here); :func:`template_ready` waits for it."""
    from . import warm

    if len(runs) < 2 or not warm.available():
        return None
    from .processes import lock_path

    return warm.Template(layout.root, layout.state_dir / "warm-template.log", lock_path(layout.state_dir))


def template_ready(layout: Layout, template, echo):
    """``template`` once it has loaded, or None (it failed: runs are cold, and the build says so)."""
    if template is None or template.wait_ready():
        return template
    echo(f"  (warm runs unavailable, see {layout.relative(layout.state_dir / 'warm-template.log')}; running cold)")
    return None


def start_template(layout: Layout, runs: list, echo):
    """Start the warm-run template for this build (None if runs are cold: one run, no fork, or it failed)."""
    return template_ready(layout, launch_template(layout, runs), echo)


def clean_leftovers(layout: Layout) -> list[str]:
    """Remove the partial files of runs and writes a killed or interrupted build left (call under the build lock)."""
    found = []
    if layout.executed_dir.is_dir():
        found += [p for pattern in LEFTOVERS for p in layout.executed_dir.rglob(pattern)]
    if layout.build_dir.is_dir():
        found += [p for p in layout.build_dir.rglob(".*.tmp") if layout.executed_dir not in p.parents]
    for path in found:
        path.unlink(missing_ok=True)
    return [layout.relative(p) for p in found]


class Executor:
    """Runs a list of runs on ``workers`` processes, stopping at the first failure."""

    def __init__(self, layout: Layout, workers: int | None = None, echo=print, timeout: float | None = None,
                 guard=None, template=None, keep_template: bool = False, launched=None):
        from .project import DEFAULT_CELL_TIMEOUT

        self.layout = layout
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.echo = echo
        self.timeout = timeout or DEFAULT_CELL_TIMEOUT
        self.guard = guard  # a protected.Snapshot checked after each run (None: not checked)
        # a warm-run template given by the caller (or, with keep_template, the one started here) is left
        # running for the caller's next runs: the build's runs that wait for the ledger; the caller stops it
        self.template = template
        self.keep_template = keep_template
        # a template the caller started loading early (launch_template): this executor waits for it and
        # owns it like one it started (if it fails to load, the runs are cold and no other is tried)
        self.launched = launched

    def _paths(self, run: Run) -> dict:
        out = self.layout.executed_notebook(run.address)
        return {"out": out, "partial": out.with_name(f".{out.stem}.partial.ipynb"),
                "loads": out.with_name(f".{out.stem}.loads.jsonl"),
                "log_partial": out.with_name(f".{out.stem}.log.partial"), "log": out.with_name(f"{out.stem}.log"),
                "failed": self.layout.failed_dir / f"{run.address}.ipynb",
                "failed_log": self.layout.failed_dir / f"{run.address}.log"}

    def job(self, run: Run) -> dict:
        from .warm import SOCKET_ENV

        paths = self._paths(run)
        out, partial, log = paths["out"], paths["partial"], paths["loads"]
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            log.unlink(missing_ok=True)
            paths["log_partial"].write_bytes(b"")  # this attempt's kernel log; the last good run's log stays
        except OSError as exc:
            raise from_os_error(exc, out.parent, "preparing") from None
        return {
            "root": str(self.layout.root),
            "source": str(self.layout.notebook_source(run.notebook)),
            "partial": str(partial),
            "kernel_log": str(paths["log_partial"]),
            "timeout": self.timeout,
            "parameters": run.parameters,
            "env": {
                ROOT_ENV: str(self.layout.root),
                RUN_ENV: run.address,
                LOAD_LOG_ENV: str(log),
                ALLOWED_ENV: ",".join(run.datasets),
                READS_ENV: ",".join(run.reads),
                "PYDEVD_DISABLE_FILE_VALIDATION": "1",
                SOCKET_ENV: getattr(self, "warm_socket", None) or "",
            },
        }

    def execute(self, runs: list[Run], on_success) -> list[Outcome]:
        """Execute ``runs``; call ``on_success(run, record)`` as each finishes well; raise NotebookFailed on the first failure."""
        if not runs:
            if self.launched is not None:
                self.launched.stop()
            return []
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait  # only builds that execute pay
        from multiprocessing import get_context

        outcomes: list[Outcome] = []
        if self.template is not None:
            template = self.template
        elif self.launched is not None:
            template = template_ready(self.layout, self.launched, self.echo)
        else:
            template = start_template(self.layout, runs, self.echo)
        if self.keep_template:
            self.template = template
        self.warm_socket = template.socket_path if template else None
        progress = Progress(len(runs), self.echo, expected_durations(self.layout, runs))
        from .processes import lock_path, worker_start

        context = get_context("spawn")
        pool = ProcessPoolExecutor(max_workers=min(self.workers, len(runs)), mp_context=context, initializer=worker_start,
                                   initargs=(os.getpid(), str(lock_path(self.layout.state_dir))))
        stopped = interrupted = False
        pending = {}
        queue = list(runs)

        def submit_next():
            run = queue.pop(0)
            pending[pool.submit(_execute_in_worker, self.job(run))] = run
            progress.started(run.address)

        try:
            for _ in range(min(self.workers, len(queue))):
                submit_next()
            failure = None
            while pending:
                done, _ = wait(pending, timeout=STILL_RUNNING_EVERY, return_when=FIRST_COMPLETED)
                if not done:  # a long cell: say so, rather than staying silent until the timeout
                    self.echo(f"  ... still running: {', '.join(r.address for r in pending.values())} "
                              f"(cell timeout {self.timeout:g} s)")
                for future in done:
                    run = pending.pop(future)
                    result = future.result()
                    changed = self._protected_changes(run, [r.address for r in pending.values()])
                    if changed is not None:
                        result = {**result, "ok": False, "error": changed}
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
        except BaseException as exc:  # Ctrl-C, SIGTERM, or an error here: stop the workers now (their kernels die with them)
            stopped = True
            interrupted = isinstance(exc, KeyboardInterrupt)
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.terminate()
            raise
        finally:
            if not stopped:
                pool.shutdown(wait=True)
            elif not interrupted:
                pool.shutdown(wait=False, cancel_futures=True)
            # Interrupted: no pool.shutdown(). The interrupt may have arrived inside concurrent.futures with a
            # future's lock held, and cancelling that future would wait for ever; the command exits at once
            # (os._exit), the pool with it.
            if template is not None and (template is not self.template or stopped):
                template.stop()
            if stopped:  # runs stopped mid-way may have changed protected files: put them back, say so
                changed = self._protected_changes(None, [])
                if changed is not None:
                    self.echo(f"  interrupted runs changed protected files:\n    {changed['evalue']}")
        if failure:
            raise self._failure_error(*failure)
        return outcomes

    def _protected_changes(self, run: Run | None, others: list[str]) -> dict | None:
        """After a run: the files under data/, claims/ and reviews/ it changed, put back (None: none changed)."""
        if self.guard is None:
            return None
        from .protected import describe

        changes = self.guard.changes()
        if not changes:
            return None
        aside = self.layout.failed_dir / "protected" / (run.address if run is not None else "interrupted")
        self.guard.restore(changes, aside)
        also = f"\n    (other runs were executing at the same time: {', '.join(others)})" if others else ""
        return {"kind": "protected", "cell": None, "ename": "", "evalue": describe(changes) + also, "source": ""}

    def _finish(self, run: Run, result: dict) -> dict:
        """Move the complete output into place and build its run record."""
        paths = self._paths(run)
        out, partial, log = paths["out"], paths["partial"], paths["loads"]
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
        if paths["log_partial"].exists():
            os.replace(paths["log_partial"], paths["log"])
        paths["failed"].unlink(missing_ok=True)  # an earlier failure of this run is fixed
        paths["failed_log"].unlink(missing_ok=True)
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
        """Move the failed attempt's notebook and kernel log to _build/failed/ (the last good output stays)."""
        paths = self._paths(run)
        try:
            paths["loads"].unlink(missing_ok=True)
            paths["failed"].parent.mkdir(parents=True, exist_ok=True)
            for partial, kept in ((paths["partial"], paths["failed"]), (paths["log_partial"], paths["failed_log"])):
                if partial.exists():
                    shutil.move(str(partial), kept)
                else:
                    kept.unlink(missing_ok=True)  # no stale copy from an older failure
        except OSError:
            pass  # a full or read-only disk: the failure itself is reported; the next build cleans up

    def _failure_error(self, run: Run, result: dict) -> NotebookFailed:
        err = result["error"]
        paths = self._paths(run)
        rel = self.layout.relative
        kept = rel(paths["failed"]) if paths["failed"].exists() else None
        log = rel(paths["failed_log"]) if paths["failed_log"].exists() else None
        kind = err.get("kind", "exception")
        where = f"cell {err['cell']}" if err.get("cell") is not None else "before any cell ran"
        source = (err.get("source") or "").strip().splitlines()
        excerpt = ("\n    | " + "\n    | ".join(source[:6])) if source else ""
        kept_text = "; ".join(f"{what} is at {path}" for what, path in
                              (("the executed notebook up to the failure", kept), ("the kernel log", log)) if path)
        untouched = "the last good output (if any) is untouched"
        kept_text = f"{kept_text}; " if kept_text else ""
        if kind == "io":
            error = from_os_error(OSError(err.get("errno"), err.get("strerror"), err.get("filename")), doing="writing")
            return NotebookFailed(f"notebook run {run.address}: {error.message}", hint=error.hint)
        if kind == "timeout":
            return CellTimeout(
                f"notebook run {run.address} timed out in {where}: it ran longer than {self.timeout:g} s{excerpt}",
                hint=f"make the cell faster, or raise the limit (`cell_timeout: SECONDS` in project.yml, or "
                     f"`build --timeout SECONDS`); {kept_text}{untouched}")
        if kind == "kernel-start":
            return NotebookFailed(
                f"notebook run {run.address}: the kernel failed to start ({err.get('attempts', 1)} attempt(s)): "
                f"{err['ename']}: {err['evalue']}",
                hint=f"the kernel's own error is in {log or 'its log'}; check that ipykernel is installed in the "
                     f"environment (python -m ipykernel --version) and build again; {untouched}")
        if kind == "stopped":
            return NotebookFailed(
                f"notebook run {run.address} stopped early in {where} ({err['ename']}: {err['evalue']}): the cells after "
                f"it did not run{excerpt}",
                hint=f"a notebook must run to its end: remove the sys.exit()/exit()/quit() call or the raised "
                     f"{err['ename'] or 'SystemExit'} from that cell; {kept_text}{untouched}")
        if kind == "protected":
            return NotebookFailed(
                f"notebook run {run.address} changed files that only explicit commands may change:\n    {err['evalue']}",
                hint=f"a notebook may write only its own outputs; remove the code that writes under data/, claims/ or "
                     f"reviews/ (data accept, lock and review add change them); {kept_text}{untouched}")
        if kind == "kernel-died":
            return NotebookFailed(
                f"notebook run {run.address}: the kernel died in {where} ({err['ename']}: {err['evalue']}){excerpt}",
                hint=f"often the machine ran out of memory; {kept_text}{untouched}")
        return NotebookFailed(
            f"notebook run {run.address} failed in {where}: {err['ename']}: {err['evalue']}{excerpt}",
            hint=f"{kept_text}{untouched}. Fix the notebook or its data and build again.",
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
