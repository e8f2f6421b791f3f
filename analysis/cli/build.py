"""``build``: execute stale notebooks, write manifest and ledger, generate report sources, render."""

from __future__ import annotations

import sys

from . import EXIT_NOT_RENDERED, EXIT_OK


def add_parser(sub) -> None:
    p = sub.add_parser("build", help="execute stale notebooks, then generate and render the report")
    p.add_argument("runs", nargs="*", metavar="NOTEBOOK[/SET]", help="only these notebooks or runs (default: all)")
    p.add_argument("--force", action="store_true", help="re-execute even current runs")
    p.add_argument("--workers", "-j", type=int, default=None, help="parallel notebook workers (default: one per core)")
    p.add_argument("--no-render", action="store_true", help="do everything but the Quarto render (exit 0)")
    p.set_defaults(handler=run)


def run(args) -> int:
    from ..build import build
    from ..errors import QuartoMissing
    from ..paths import Layout
    from ..render import render

    layout = Layout.find()
    result = build(layout, args.runs or None, force=args.force, workers=args.workers)
    print(finished_line(layout, result))
    if args.no_render or not result.report_generated:
        return EXIT_OK
    try:
        render(layout)
    except QuartoMissing as exc:
        print(f"Render skipped: {exc.message}; everything else is built. To render, {exc.hint}.", file=sys.stderr)
        return EXIT_NOT_RENDERED
    return EXIT_OK


def finished_line(layout, result) -> str:
    """After a build: wall time, what was executed/restored/current, and where the outputs are."""
    counts = f"{len(result.executed)} executed, {len(result.restored)} restored, {len(result.current)} current"
    where = [f"executed notebooks in {layout.relative(layout.executed_dir)}/", f"manifest {layout.relative(layout.manifest)}"]
    if result.ledger is not None:
        where.append(f"ledger {layout.relative(layout.build_dir / 'ledger.json')}")
    if result.report_generated:
        where.append(f"report sources in {layout.relative(layout.generated_report_dir)}/")
    return f"Built in {result.seconds:.1f}s: {counts}. Outputs: " + ", ".join(where)
