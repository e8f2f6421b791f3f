"""Command line: ``python -m analysis <verb>`` or ``claimcheck <verb>``. One module per verb."""

from __future__ import annotations

import argparse
import sys

from ..errors import ClaimcheckError

VERBS = ("build", "status", "clean", "check", "lock", "data", "review", "release", "check-report")

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_RENDERED = 0, 1, 2, 3


def parser() -> argparse.ArgumentParser:
    from importlib import import_module

    main_parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description="Check the quantitative claims of four policy documents against cited data, and build the report.",
    )
    sub = main_parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb in VERBS:
        module = import_module(f".{verb.replace('-', '_')}", __name__)
        module.add_parser(sub)
    return main_parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.handler(args) or EXIT_OK
    except ClaimcheckError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted: outputs of runs that finished are kept; partial outputs are never used", file=sys.stderr)
        return 130
