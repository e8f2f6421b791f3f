"""``lock``: record the current ledger's values and verdicts in claims/lock.json (after review)."""

from __future__ import annotations


def add_parser(sub) -> None:
    from . import command

    p = command(sub, "lock", "After review, accept the current claim values and verdicts (and what they were computed from) "
                "into claims/lock.json.", ["lock"])
    p.set_defaults(handler=run)


def run(args) -> int:
    from ..build import build_ledger
    from ..errors import FileError
    from ..ledger import changes, read_lock, write_lock
    from ..paths import Layout

    layout = Layout.find()
    rows = build_ledger(layout, rewriting_lock=True)  # prints what moved against the old lock, and why
    try:
        before = (read_lock(layout.lock) or {}).get("claims", {})
    except FileError as exc:  # the file lock writes may itself be what is broken
        print(f"Replacing a damaged lock: {exc.message}")
        before = {}
    moved = changes(before, rows)
    write_lock(layout.lock, rows)
    print(f"Locked {len(rows)} claims in {layout.relative(layout.lock)} ({len(moved)} changed"
          + (", listed above" if moved and before else "") + "). Commit it.")
    return 0
