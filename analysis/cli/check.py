"""``check``: build what is stale (no render), then fail if any claim's value or verdict moved against
claims/lock.json. CI runs this so a data or code change cannot silently flip a verdict."""

from __future__ import annotations


def add_parser(sub) -> None:
    from . import command
    from .build import seconds

    p = command(sub, "check", "Build what is stale (no render), check every register quote against its document, and fail "
                "if any claim's value or verdict moved against claims/lock.json.", ["check", "check --timeout 900"])

    p.add_argument("--timeout", type=seconds, default=None, metavar="SECONDS",
                   help="longest a notebook cell may run (default: cell_timeout in project.yml, else 600)")
    p.set_defaults(handler=run)


def run(args) -> int:
    from ..build import build_ledger
    from ..ledger import check_drift
    from ..paths import Layout

    layout = Layout.find()
    check_quotes(layout)
    rows = build_ledger(layout, timeout=args.timeout)
    check_drift(layout, rows)
    print(f"No drift: all {len(rows)} claims match {layout.relative(layout.lock)}.")
    return 0


def check_quotes(layout) -> None:
    """Print what the quote check found (or why it could not be made); RegisterError if a quote is not verbatim."""
    from ..claims import Register
    from ..errors import RegisterError
    from ..quotes import DOCUMENTS_ENV, check_quotes as check

    result = check(layout, Register.load(layout))
    print(result.summary())
    if result.missing:
        raise RegisterError(f"{len(result.missing)} quote(s) in claims/register.yml are not verbatim in their documents:\n    "
                            + "\n    ".join(result.missing),
                            hint="copy each quote exactly as the document prints it (whitespace, curly quotes and dashes "
                                 f"may differ); the documents are in {result.folder} (${DOCUMENTS_ENV})")
