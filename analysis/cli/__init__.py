"""Command line: ``python -m analysis <verb>`` or ``claimcheck <verb>``. One module per verb."""

from __future__ import annotations

import argparse
import sys

from ..errors import ClaimcheckError

VERBS = ("build", "status", "clean", "check", "lock", "data", "review", "release", "check-report")

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_RENDERED = 0, 1, 2, 3


def program_name() -> str:
    """How the user called us, for usage lines: ``claimcheck`` (the console script) or ``python -m analysis``."""
    return "claimcheck" if sys.argv and sys.argv[0].endswith("claimcheck") else "python -m analysis"


def parser() -> argparse.ArgumentParser:
    from importlib import import_module

    from .. import __version__

    main_parser = argparse.ArgumentParser(
        prog=program_name(),
        description="Check the quantitative claims of four policy documents against cited data, and build the report.",
    )
    main_parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
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
