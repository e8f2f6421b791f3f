"""``check``: build what is stale (no render), then fail if any claim's value or verdict moved against
claims/lock.json. CI runs this so a data or code change cannot silently flip a verdict."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("check", help="build (no render) and fail on drift against claims/lock.json")
    from .build import seconds

    p.add_argument("--timeout", type=seconds, default=None, metavar="SECONDS",
                   help="longest a notebook cell may run (default: cell_timeout in project.yml, else 600)")
    p.set_defaults(handler=run)


def run(args) -> int:
    from ..build import build_ledger
    from ..ledger import check_drift
    from ..paths import Layout

    layout = Layout.find()
    rows = build_ledger(layout, timeout=args.timeout)
    check_drift(layout, rows)
    print(f"No drift: all {len(rows)} claims match {layout.relative(layout.lock)}.")
    return 0
