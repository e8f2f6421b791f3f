"""``status``: which notebook runs are stale and exactly why, which are current, and whether a build would
fail before any kernel starts (exit 1 if it would, naming what to fix)."""

from __future__ import annotations

import sys

from . import EXIT_ERROR, EXIT_OK


def add_parser(sub) -> None:
    from . import command

    p = command(sub, "status", "Show which notebook runs are stale and why, and whether the build would fail before any "
                "kernel starts (exit 1 if it would).", ["status", "status global_rd_shares"])
    p.add_argument("runs", nargs="*", metavar="NOTEBOOK[/SET]", help="only these notebooks or runs")
    p.set_defaults(handler=run)


def run(args) -> int:
    from ..build import Context, plan
    from ..paths import Layout

    from ..ledger import read_lock

    context = Context.load(Layout.find())
    read_lock(context.layout.lock)  # a damaged lock fails here, as it fails build and check
    the_plan = plan(context, args.runs or None)
    for run in the_plan.runs:
        if run.address in the_plan.stale:
            restorable = " (an earlier result with these inputs is in _build/store: restored, not executed)" \
                if run.address in the_plan.restorable else ""
            print(f"stale    {run.address}: {'; '.join(the_plan.stale[run.address])}{restorable}")
        else:
            print(f"current  {run.address}")
    print(f"{len(the_plan.stale)} stale, {len(the_plan.current)} current"
          + (f" ({len(the_plan.restorable)} of the stale restorable without executing)" if the_plan.restorable else ""))
    from ..review import status_lines

    for line in status_lines(context.layout):  # figure reviews of the last build
        print(line)
    if context.register is not None:
        from ..quotes import check_quotes

        print(check_quotes(context.layout, context.register).summary())
    from .build import stale_bibliography

    stale = stale_bibliography(context.layout)
    if stale:
        print(stale)
    failures = would_fail(context, the_plan, whole=not args.runs)
    if failures:
        print(f"\nThe build would fail before any kernel starts ({len(failures)} problem(s)); fix these first:", file=sys.stderr)
        for failure in failures:
            print(f"- {failure}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def would_fail(context, the_plan, *, whole: bool) -> list[str]:
    """What would stop `build` before any kernel starts: the build's own checks, nothing written."""
    from ..build import check_register_against_project
    from ..errors import ClaimcheckError
    from ..preflight import check_datasets, problems

    found: list[str] = []
    if whole and context.register is not None:
        try:
            check_register_against_project(context.register, context.project)
        except ClaimcheckError as exc:
            found.append(str(exc))
    found += [str(p) for p in problems(context, the_plan.to_execute)]
    try:
        check_datasets(context.catalog, {name for run in the_plan.to_execute for name in run.datasets})
    except ClaimcheckError as exc:
        found.append(str(exc))
    return found
