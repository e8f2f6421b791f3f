"""Command line: ``python -m analysis <verb>`` or ``claimcheck <verb>``. One module per verb."""

from __future__ import annotations

import argparse
import sys

from ..errors import translate

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
    main_parser.add_argument("--debug", action="store_true", help="show the Python traceback of a failure (for bug reports)")
    sub = main_parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb in VERBS:
        module = import_module(f".{verb.replace('-', '_')}", __name__)
        module.add_parser(sub)
    return main_parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # accepted anywhere on the line, not only before the verb
    args = parser().parse_args([a for a in argv if a != "--debug"])
    from ..processes import stop_on_termination

    stop_on_termination()  # SIGTERM and SIGHUP stop a command as Ctrl-C does
    try:
        return args.handler(args) or EXIT_OK
    except BrokenPipeError:  # output piped into `head` and the like
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # the one place a failure becomes a message: no traceback unless --debug
        if debug:
            raise
        error = translate(exc)
        if error is None:
            print(f"internal error: {type(exc).__name__}: {exc}\n  This is a bug: run the command again with --debug "
                  "and report the traceback.", file=sys.stderr)
        else:
            print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt as exc:
        from ..processes import Terminated

        status, what = (128 + exc.signum, f"terminated ({exc.name})") if isinstance(exc, Terminated) else (130, "interrupted")
        runs = args.verb in ("build", "check", "lock")
        try:
            print(f"{what}: outputs of runs that finished are kept; partial outputs are never used (the next build "
                  "removes them)" if runs else what, file=sys.stderr)
            sys.stdout.flush()
            sys.stderr.flush()
        except OSError:  # the terminal is gone (SIGHUP)
            pass
        import os

        os._exit(status)  # no waiting at exit for worker processes that were just stopped
