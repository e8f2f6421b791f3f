"""The build pipeline: execute stale notebook runs, write the manifest and ledger, generate the report
sources and render them with Quarto. The command-line verbs in ``analysis.cli`` call into here."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from contextlib import contextmanager
from dataclasses import dataclass, field

from . import preflight
from .catalog import Catalog
from .claims import Register
from .errors import BuildLocked, CatalogError, FileError, ProjectFileError, RegisterError
from .execute import Executor, announce, clean_leftovers, launch_template, restore_results
from .files import file_sha256
from .manifest import now, read_run_record, write_manifest, write_run_record
from .paths import Layout
from .project import Project, Run
from .protected import Snapshot, refuse_links

if TYPE_CHECKING:
    from .cache import RunCache


@dataclass
class Plan:
    """What a build would do: the runs to execute (with reasons) and those already current."""

    runs: list[Run]
    stale: dict[str, list[str]] = field(default_factory=dict)
    restorable: set[str] = field(default_factory=set)  # stale runs whose result is in _build/store

    @property
    def to_execute(self) -> list[Run]:
        return [r for r in self.runs if r.address in self.stale]

    @property
    def current(self) -> list[Run]:
        return [r for r in self.runs if r.address not in self.stale]


@dataclass
class Context:
    """Everything a build reads, loaded and checked once, before anything runs."""

    layout: Layout
    project: Project
    catalog: Catalog
    register: Register | None

    @classmethod
    def load(cls, layout: Layout) -> "Context":
        project = Project.load(layout)
        catalog = Catalog.read_only(layout)
        for cfg in project.notebooks.values():
            for name in cfg.datasets:
                if name not in catalog.resources:
                    raise CatalogError(
                        f"project.yml: notebook {cfg.name!r} declares dataset {name!r}, which is not in data/datapackage.json",
                        hint="fix the dataset name in project.yml (python -m analysis data list shows the names)",
                    )
        if not layout.register.is_file():  # checked before any run is scheduled, not after all have run
            raise RegisterError(f"{layout.relative(layout.register)} does not exist",
                                hint=f"restore it with `git checkout -- {layout.relative(layout.register)}`")
        register = Register.load(layout)
        return cls(layout, project, catalog, register)

    def cache(self) -> "RunCache":
        from .cache import RunCache  # doit is imported only by commands that consult the build state

        by_notebook = {}
        if self.register is not None:
            for name in self.project.notebooks:
                by_notebook[name] = [
                    {k: c.get(k) for k in ("id", "stated", "tolerance", "check")} for c in self.register.for_notebook(name)
                ]
        return RunCache(self.layout, datasets=self.catalog.resources, register=by_notebook)


def check_register_against_project(register: Register, project: Project) -> None:
    """Every claim's check must name a notebook and parameter set that project.yml defines."""
    problems = []
    for claim_id, claim in register.claims.items():
        notebook, set_name = claim["check"]["notebook"], claim["check"]["parameters"]
        if notebook not in project.notebooks:
            problems.append(f"claim {claim_id}: notebook {notebook!r} is not in project.yml")
        elif set_name not in project.notebooks[notebook].parameter_sets:
            problems.append(f"claim {claim_id}: notebook {notebook!r} has no parameter set {set_name!r}")
    if problems:
        raise ProjectFileError(
            "claims/register.yml points at runs that do not exist:\n    " + "\n    ".join(problems),
            hint="fix the claim's 'check' in claims/register.yml or add the notebook/parameter set to project.yml",
        )


def plan(context: Context, selection: list[str] | None = None, *, force: bool = False,
         after_ledger: bool | None = None) -> Plan:
    """Which of the selected runs are stale, and why (parameters are checked first).

    ``after_ledger`` picks the runs that read what the build writes (True) or the others (False);
    None plans both.
    """
    runs = [r for r in context.project.runs(selection) if after_ledger is None or r.after_ledger == after_ledger]
    result = Plan(runs)
    with context.cache() as cache:
        from .cache import ResultStore

        for run in runs:
            previous = read_run_record(context.layout, run.address)
            if force:
                result.stale[run.address] = ["--force"]
                continue
            staleness = cache.staleness(run, previous_parameters=(previous or {}).get("parameters"))
            if staleness.stale:
                result.stale[run.address] = staleness.reasons
                if ResultStore(cache).lookup(run) is not None:
                    result.restorable.add(run.address)
            elif damaged := damaged_outputs(context.layout, previous):
                result.stale[run.address] = damaged
    return result


def damaged_outputs(layout: Layout, record: dict | None) -> list[str]:
    """Reasons an executed output no longer matches the sha256 in its run record (empty if all match)."""
    reasons = []
    for output in (record or {}).get("outputs", []):
        path = layout.root / output["path"]
        try:
            ok = file_sha256(path) == output.get("sha256")
        except OSError:
            ok = False
        if not ok:
            reasons.append(f"output {output['path']} was changed or damaged since it was built (sha256 differs)")
    return reasons


@contextmanager
def build_lock(layout: Layout):
    """Hold the project's build lock; refuse at once, clearly, if another build holds it."""
    from filelock import FileLock, Timeout

    from .processes import wait_for_orphans

    layout.build_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(layout.build_lock))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise BuildLocked(
            f"another build is running in {layout.root} (it holds {layout.relative(layout.build_lock)})",
            hint="wait for it to finish, then build again; nothing was changed by this attempt",
        ) from None
    try:
        wait_for_orphans(layout.state_dir)  # a killed build's processes could still write: they go first
        yield
    finally:
        lock.release()


@dataclass
class BuildResult:
    executed: list[str]
    current: list[str]
    seconds: float
    ledger: list[dict] | None = None
    manifest: dict | None = None
    report_generated: bool = False
    restored: list[str] = field(default_factory=list)  # stale runs restored from _build/store, not executed
    started: str = ""  # when the build started (the manifest's build_started)
    done: list[str] = field(default_factory=list)  # runs executed or restored by this build (the manifest's list)
    template: object = None  # the warm-run template kept for the runs after the ledger (analysis.warm.Template)


def execute(context: Context, selection=None, *, force=False, workers=None, timeout=None, echo=print,
            after_ledger: bool | None = None, earlier: "BuildResult | None" = None,
            keep_template: bool = False) -> BuildResult:
    """Execute the stale runs and write their records and the manifest; the report steps follow in :func:`build`.

    ``after_ledger`` limits the runs as in :func:`plan`; ``earlier`` is the result of this build's first
    phase, whose executed runs the manifest keeps listing and whose warm-run template (kept running with
    ``keep_template``) this phase uses; the caller stops it (``BuildResult.template``). The manifest is written even when a run
    fails or the build is interrupted, so it always lists the run records on disk.
    """
    t0, started = time.monotonic(), (earlier.started if earlier else now())
    layout = context.layout
    if earlier is None:
        clean_leftovers(layout)  # partial outputs of an interrupted or killed build
    the_plan = plan(context, selection, force=force, after_ledger=after_ledger)
    todo = the_plan.to_execute
    # the warm-run template loads its libraries (about 1.5 s) while the checks run; it starts no kernel
    early = None if earlier else launch_template(layout, [r for r in todo if r.address not in the_plan.restorable])
    try:
        return _execute_planned(context, the_plan, todo, earlier, early, t0=t0, started=started, workers=workers,
                                timeout=timeout, echo=echo, keep_template=keep_template)
    except BaseException:
        if early is not None:  # whatever failed before its executor took it (stop is idempotent)
            early.stop()
        raise


def _execute_planned(context: Context, the_plan: Plan, todo: list, earlier, early, *, t0, started, workers,
                     timeout, echo, keep_template) -> BuildResult:
    """:func:`execute` once the plan is made: checks, restores, runs, the manifest and the result."""
    layout = context.layout
    preflight.check(context, todo)  # checks before kernels
    refuse_links(layout)  # a data file that is a link to anywhere is refused even when nothing reads it now
    done: list[str] = list(earlier.done) if earlier else []
    restored: list[str] = []
    try:
        with context.cache() as cache:
            from .cache import ResultStore

            store = ResultStore(cache)

            def on_success(run: Run, record: dict) -> None:
                write_run_record(layout, run.address, record)
                cache.record_success(run)
                store.put(run, record)
                done.append(run.address)

            restored = restore_results(layout, cache, [r for r in todo if r.address in the_plan.restorable], echo)
            todo = [r for r in todo if r.address not in restored]
            announce(layout, the_plan, todo, restored, Executor(layout, workers).workers, echo)
            cell_timeout = timeout or context.project.cell_timeout
            guard = Snapshot.take(layout) if todo else None  # nothing under data/, claims/, reviews/ may change
            executor = Executor(layout, workers, echo=echo, timeout=cell_timeout, guard=guard,
                                template=earlier.template if earlier else None, keep_template=keep_template,
                                launched=early)
            try:
                executor.execute(todo, on_success)
            except BaseException:
                if executor.template is not None:
                    executor.template.stop()
                raise
    finally:
        manifest = _write_manifest(context, started, done)
    result = BuildResult([r.address for r in todo], [r.address for r in the_plan.current],
                         time.monotonic() - t0, manifest=manifest, restored=restored, started=started, done=done,
                         template=executor.template)
    if earlier is not None:
        result.executed = earlier.executed + result.executed
        result.current = earlier.current + result.current
        result.restored = earlier.restored + result.restored
        result.seconds += earlier.seconds
    return result


def _write_manifest(context: Context, started: str, executed: list[str]) -> dict:
    records = {}
    for run in context.project.runs():
        record = read_run_record(context.layout, run.address)
        if record is not None:
            records[run.address] = record
    return write_manifest(context.layout, records, started=started, executed=executed)


def report_drift(layout: Layout, rows: list[dict], echo=print) -> None:
    """Say which claims moved against the committed lock (the build does not fail; ``check`` does)."""
    from .ledger import changes, describe_change, read_lock

    lock = read_lock(layout.lock)
    if lock is None:
        echo(f"No {layout.relative(layout.lock)} yet: review the ledger and run `python -m analysis lock`.")
        return
    moved = changes(lock.get("claims", {}), rows, layout=layout)
    if moved:
        echo(f"{len(moved)} claim(s) moved against {layout.relative(layout.lock)}:")
        for change in moved:
            echo(f"  {describe_change(change)}")
    else:
        echo(f"Ledger: {len(rows)} claims, none moved against {layout.relative(layout.lock)}.")


def build(layout: Layout, selection=None, *, force=False, workers=None, timeout=None, echo=print,
          rewriting_lock=False) -> BuildResult:
    """Execute stale runs, then (when every run has an output) write the ledger, execute the stale runs
    that read it, and write the report sources.

    Everything read before a run is scheduled is checked first: project file, parameter sets,
    catalog descriptors, register and lock. ``rewriting_lock`` (the ``lock`` command) tolerates a
    damaged claims/lock.json: the ledger is written, the report sources wait for the new lock.
    """
    from . import ledger

    with build_lock(layout):
        context = Context.load(layout)
        if context.register is not None and not selection:
            check_register_against_project(context.register, context.project)  # before anything runs
        lock_damaged = None
        try:
            ledger.read_lock(layout.lock)
        except FileError as exc:
            if not rewriting_lock:
                raise
            lock_damaged = exc
        # runs that read the ledger (project.yml `reads: [_build/ledger.json]`) wait for it: second phase
        later = any(r.after_ledger for r in context.project.runs(selection))
        result = execute(context, selection, force=force, workers=workers, timeout=timeout, echo=echo,
                         after_ledger=False, keep_template=later)
        try:
            return _after_runs(context, result, selection, force=force, workers=workers, timeout=timeout,
                               echo=echo, lock_damaged=lock_damaged, later=later)
        finally:
            if result.template is not None:
                result.template.stop()


def _after_runs(context: Context, result: BuildResult, selection, *, force, workers, timeout, echo, lock_damaged,
                later: bool) -> BuildResult:
    """The build after its first phase of runs: ledger, the runs that read it, report sources."""
    from . import ledger, report

    layout = context.layout
    all_runs = [r.address for r in context.project.runs() if not r.after_ledger]
    missing = [a for a in all_runs if a not in result.manifest["runs"]
               or (selection and damaged_outputs(layout, result.manifest["runs"][a]))]
    if missing:
        echo(f"Ledger and report sources not updated: {len(missing)} run(s) were never built or have damaged outputs "
             f"({', '.join(missing[:5])}{'...' if len(missing) > 5 else ''}); run `build` without arguments.")
        return result
    if context.register is not None:
        check_register_against_project(context.register, context.project)
        result.ledger = ledger.collect(layout, context.register, result.manifest["runs"])
        ledger.write(layout, result.ledger)
        if lock_damaged is not None:
            echo(f"Report sources not updated: {lock_damaged.message}; they follow the rewritten lock at the next build.")
            return result
        report_drift(layout, result.ledger, echo)
    if later:
        rows = result.ledger
        result = execute(context, selection, force=force, workers=workers, timeout=timeout, echo=echo,
                         after_ledger=True, earlier=result)
        result.ledger = rows
        missing = [r.address for r in context.project.runs() if r.address not in result.manifest["runs"]]
        if missing:
            echo(f"Report sources not updated: {len(missing)} run(s) were never built ({', '.join(missing[:5])}); "
                 "run `build` without arguments.")
            return result
    report.generate(context, result)
    result.report_generated = True
    return result


def build_ledger(layout: Layout, echo=print, *, timeout=None, rewriting_lock=False) -> list[dict]:
    """Build what is stale (no render) and return the ledger; DriftError if no ledger could be made."""
    from .errors import DriftError

    result = build(layout, echo=echo, timeout=timeout, rewriting_lock=rewriting_lock)
    if result.ledger is None:
        raise DriftError("no ledger was produced (is claims/register.yml missing?)",
                         hint="restore claims/register.yml, then run the command again")
    return result.ledger
