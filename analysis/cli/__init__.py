"""Command line: ``python -m analysis <verb>`` or ``claimcheck <verb>``. One module per verb.

Every verb (and every action of ``data``, ``claims`` and ``review``) is declared with :func:`command`:
a one-line description, the help text and at least one example that works in this project, shown by
``--help``. A mistyped option is reported with the usage of the verb it was given to, and a close match.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import translate

VERBS = ("build", "status", "clean", "check", "lock", "data", "claims", "review", "release", "check-report")

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_RENDERED = 0, 1, 2, 3


def program_name() -> str:
    """How the user called us, for usage lines: ``claimcheck`` (the console script) or ``python -m analysis``."""
    return "claimcheck" if sys.argv and sys.argv[0].endswith("claimcheck") else "python -m analysis"


def command(sub, name: str, description: str, examples: list[str], **kwargs) -> argparse.ArgumentParser:
    """Add the sub-command ``name``: ``description`` is its one-line summary (shown in its parent's list
    and first in its own help); ``examples`` are argument strings after the program name."""
    lines = "\n".join(f"  {program_name()} {example}" for example in examples)
    parser = sub.add_parser(name, help=description[0].lower() + description[1:].rstrip("."),
                            description=description, epilog=f"example{'s' if len(examples) > 1 else ''}:\n{lines}",
                            formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)
    parser.examples = list(examples)  # read by the tests: every example must name things this project has
    return parser


def positive_int(text: str) -> int:
    """argparse type for a count such as ``-j``: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def parser() -> argparse.ArgumentParser:
    from importlib import import_module

    from .. import __version__

    main_parser = argparse.ArgumentParser(
        prog=program_name(),
        description="Check the quantitative claims of four policy documents against cited data, and build the report.",
        epilog=f"`{program_name()} VERB --help` describes a verb, with an example.",
    )
    main_parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    main_parser.add_argument("--debug", action="store_true", help="show the Python traceback of a failure (for bug reports)")
    sub = main_parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb in VERBS:
        module = import_module(f".{verb.replace('-', '_')}", __name__)
        module.add_parser(sub)
    return main_parser


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The sub-commands of ``parser`` by name (empty if it has none)."""
    for action in parser._actions:  # noqa: SLF001 - argparse keeps no public list of sub-commands
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            return dict(action.choices)
    return {}


def chosen_parser(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.ArgumentParser:
    """The innermost sub-command parser that ``argv`` selects (``data accept`` -> the accept parser)."""
    current = parser
    for word in argv:
        choices = subparsers(current)
        if not choices:
            break
        if word in choices:
            current = choices[word]
    return current


def parse(argv: list[str]) -> argparse.Namespace:
    """Parse the command line; an unknown option is reported by the verb it was given to, with a close match."""
    from ..names import did_you_mean

    main_parser = parser()
    args, unknown = main_parser.parse_known_args(argv)
    if unknown:
        target = chosen_parser(main_parser, argv)
        options = [o for action in target._actions for o in action.option_strings]  # noqa: SLF001
        hints = "".join(did_you_mean(u.split("=", 1)[0], options, n=1) for u in unknown if u.startswith("-"))
        target.error(f"unrecognized arguments: {' '.join(unknown)}{hints}")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # accepted anywhere on the line, not only before the verb
    args = parse([a for a in argv if a != "--debug"])
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
