"""``build``: execute stale notebooks, write manifest and ledger, generate report sources, render."""

from __future__ import annotations

import sys

from . import EXIT_NOT_RENDERED, EXIT_OK, command, positive_int


def add_parser(sub) -> None:
    p = command(sub, "build", "Execute the stale notebook runs, then write the ledger and report sources and render the report.",
                ["build", "build global_rd_shares --no-render", "build us_share_global_research/default --force -j 2"])
    p.add_argument("runs", nargs="*", metavar="NOTEBOOK[/SET]", help="only these notebooks or runs (default: all)")
    p.add_argument("--force", action="store_true", help="re-execute even current runs")
    p.add_argument("--workers", "-j", type=positive_int, default=None, metavar="N",
                   help="parallel notebook workers, at least 1 (default: one per core)")
    p.add_argument("--no-render", action="store_true", help="do everything but the Quarto render (exit 0)")
    p.add_argument("--timeout", type=seconds, default=None, metavar="SECONDS",
                   help="longest a notebook cell may run (default: cell_timeout in project.yml, else 600)")
    p.set_defaults(handler=run)


def seconds(text: str) -> float:
    """argparse type for --timeout: a positive number of seconds, at most a day (no NaN, no inf)."""
    import argparse

    from ..vocabulary import MAX_CELL_TIMEOUT, valid_timeout

    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not valid_timeout(value):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r} (accepted: more than 0 "
                                         f"and at most {MAX_CELL_TIMEOUT})")
    return value


def run(args) -> int:
    from ..build import build
    from ..errors import QuartoMissing
    from ..paths import Layout
    from ..render import render

    layout = Layout.find()
    result = build(layout, args.runs or None, force=args.force, workers=args.workers, timeout=args.timeout)
    print(f"Built in {result.seconds:.1f}s: {len(result.executed)} executed, {len(result.restored)} restored, "
          f"{len(result.current)} current. Outputs:")
    for line in summary_lines(layout, result):
        print(line)
    stale = stale_bibliography(layout)
    if stale:
        print(stale, file=sys.stderr)
    if result.report_generated:
        from ..review.records import again_notice

        notice = again_notice(layout)
        if notice:
            print(notice)
    if args.no_render or not result.report_generated:
        return EXIT_OK
    try:
        render(layout)
    except QuartoMissing as exc:
        print(f"Render skipped: {exc.message}; everything else is built. To render, {exc.hint}.", file=sys.stderr)
        return EXIT_NOT_RENDERED
    return EXIT_OK


def stale_bibliography(layout) -> str | None:
    """A warning when report/references.bib no longer matches the catalog's sources (None when it does, or
    when the project has no bibliography)."""
    from ..catalog import Catalog, bibtex

    path = layout.report_dir / "references.bib"
    if not path.is_file():
        return None
    if path.read_text(encoding="utf-8") == bibtex(Catalog.read_only(layout)):
        return None
    return (f"Warning: {layout.relative(path)} is out of date with {layout.relative(layout.datapackage)} (a source was "
            "added or changed): the report would cite what it no longer lists; run `python -m analysis data bib`.")


def summary_lines(layout, result) -> list[str]:
    """Where the build's outputs are: manifest, ledgers, report sources, review packets, failed-run copies."""
    rel = layout.relative
    lines = [f"  notebooks:       {rel(layout.executed_dir)}/<notebook>/<set>.ipynb",
             f"  manifest:        {rel(layout.manifest)}"]
    if result.ledger is not None:
        lines.append(f"  ledger:          {rel(layout.build_dir / 'ledger.csv')} (one row per claim), "
                     f"{rel(layout.build_dir / 'ledger-runs.csv')} (every claim and run), .json beside them")
    if result.report_generated:
        lines.append(f"  report sources:  {rel(layout.generated_report_dir)}/ (rendered by quarto from _quarto.yml)")
        lines.append(f"  review packets:  {rel(layout.review_packets_dir)}/<notebook>/<set>/<label>/ "
                     "(browse them with `review serve`)")
    failed = sorted(layout.failed_dir.rglob("*.ipynb")) if layout.failed_dir.is_dir() else []
    lines.append(f"  failed runs:     {rel(layout.failed_dir)}/ ("
                 + (f"{len(failed)} executed notebook(s) with their tracebacks" if failed else "none") + ")")
    return lines
