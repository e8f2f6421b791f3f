"""``status``: which notebook runs are stale and exactly why, and which are current."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("status", help="show which notebook runs are stale, and why")
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
    return 0
