"""The build pipeline: execute stale notebook runs, write the manifest and ledger, generate the report
sources and render them with Quarto. The command-line verbs in ``analysis.cli`` call into here."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from .cache import ResultStore, RunCache
from .catalog import Catalog, preflight
from .claims import Register
from .errors import BuildLocked, CatalogError, ProjectFileError
from .execute import Executor, announce, restore_results
from .manifest import now, read_run_record, write_manifest, write_run_record
from .paths import Layout
from .project import Project, Run


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
        catalog = Catalog.load(layout)
        for cfg in project.notebooks.values():
            for name in cfg.datasets:
                if name not in catalog.resources:
                    raise CatalogError(
                        f"project.yml: notebook {cfg.name!r} declares dataset {name!r}, which is not in data/datapackage.json",
                        hint="fix the dataset name in project.yml (python -m analysis data list shows the names)",
                    )
        register = Register.load(layout) if layout.register.is_file() else None
        return cls(layout, project, catalog, register)

    def cache(self) -> RunCache:
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


def plan(context: Context, selection: list[str] | None = None, *, force: bool = False) -> Plan:
    """Which of the selected runs are stale, and why (parameters are checked first)."""
    runs = context.project.runs(selection)
    result = Plan(runs)
    with context.cache() as cache:
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
    return result


@contextmanager
def build_lock(layout: Layout):
    """Hold the project's build lock; refuse at once, clearly, if another build holds it."""
    from filelock import FileLock, Timeout

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


def execute(context: Context, selection=None, *, force=False, workers=None, echo=print) -> BuildResult:
    """Execute the stale runs and write their records and the manifest; the report steps follow in :func:`build`."""
    t0, started = time.monotonic(), now()
    layout = context.layout
    the_plan = plan(context, selection, force=force)
    todo = the_plan.to_execute
    preflight(context.catalog, {name for run in todo for name in run.datasets})  # checks before kernels
    with context.cache() as cache:
        store = ResultStore(cache)

        def on_success(run: Run, record: dict) -> None:
            write_run_record(layout, run.address, record)
            cache.record_success(run)
            store.put(run, record)

        restored = restore_results(layout, cache, [r for r in todo if r.address in the_plan.restorable], echo)
        todo = [r for r in todo if r.address not in restored]
        announce(layout, the_plan, todo, restored, Executor(layout, workers).workers, echo)
        Executor(layout, workers, echo=echo).execute(todo, on_success)
    records = {}
    for run in context.project.runs():
        record = read_run_record(layout, run.address)
        if record is not None:
            records[run.address] = record
    manifest = write_manifest(layout, records, started=started, executed=[r.address for r in todo])
    return BuildResult([r.address for r in todo], [r.address for r in the_plan.current],
                       time.monotonic() - t0, manifest=manifest, restored=restored)


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


def build(layout: Layout, selection=None, *, force=False, workers=None, echo=print) -> BuildResult:
    """Execute stale runs, then (when every run has an output) write the ledger and the report sources."""
    from . import ledger, report

    with build_lock(layout):
        context = Context.load(layout)
        if context.register is not None and not selection:
            check_register_against_project(context.register, context.project)  # before anything runs
        result = execute(context, selection, force=force, workers=workers, echo=echo)
        all_runs = [r.address for r in context.project.runs()]
        missing = [a for a in all_runs if a not in result.manifest["runs"]]
        if missing:
            echo(f"Ledger and report sources not updated: {len(missing)} run(s) were never built "
                 f"({', '.join(missing[:5])}{'...' if len(missing) > 5 else ''}); run `build` without arguments.")
            return result
        if context.register is not None:
            check_register_against_project(context.register, context.project)
            result.ledger = ledger.collect(layout, context.register, result.manifest["runs"])
            ledger.write(layout, result.ledger)
            report_drift(layout, result.ledger, echo)
        report.generate(context, result)
        result.report_generated = True
        return result


def build_ledger(layout: Layout, echo=print) -> list[dict]:
    """Build what is stale (no render) and return the ledger; DriftError if no ledger could be made."""
    from .errors import DriftError

    result = build(layout, echo=echo)
    if result.ledger is None:
        raise DriftError("no ledger was produced (is claims/register.yml missing?)",
                         hint="restore claims/register.yml, then run the command again")
    return result.ledger
