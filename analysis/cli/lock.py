"""``lock``: record the current ledger's values and verdicts in claims/lock.json (after review)."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("lock", help="accept the current claim values and verdicts into claims/lock.json")
    p.set_defaults(handler=run)


def run(args) -> int:
    from ..build import build
    from ..errors import DriftError
    from ..ledger import changes, describe_change, read_lock, write_lock
    from ..paths import Layout

    layout = Layout.find()
    result = build(layout)
    if result.ledger is None:
        raise DriftError("no ledger was produced (is claims/register.yml missing?)")
    before = (read_lock(layout.lock) or {}).get("claims", {})
    moved = changes(before, result.ledger)
    write_lock(layout.lock, result.ledger)
    for change in moved:
        print(f"  {describe_change(change)}")
    print(f"Locked {len(result.ledger)} claims in {layout.relative(layout.lock)} ({len(moved)} changed). Commit it.")
    return 0
