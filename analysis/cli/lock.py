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
    from ..ledger import changes, committed_lock, describe_change, read_lock, write_lock
    from ..paths import Layout

    layout = Layout.find()
    rel = layout.relative(layout.lock)
    rows = build_ledger(layout, rewriting_lock=True)  # prints what moved against the old lock, and why
    try:
        before, against = (read_lock(layout.lock) or {}).get("claims", {}), None
    except FileError as exc:  # the file lock writes may itself be what is broken
        print(f"Replacing a damaged lock: {exc.message}")
        before, against = committed_lock(layout), "the last committed version (git HEAD)"
        if before is None:
            write_lock(layout.lock, rows)
            print(f"Locked {len(rows)} claims in {rel}; the damaged lock could not be compared with anything (no "
                  f"committed version of {rel} in git), so every value and verdict is recorded as new. "
                  "Review `git diff` and commit it.")
            return 0
    moved = changes(before, rows, layout=layout if against else None)
    if against:  # the build could not compare with the damaged file: compare with the committed one here
        for change in moved:
            print(f"  {describe_change(change)}")
    write_lock(layout.lock, rows)
    listed = ", listed above" if moved and (before or against) else ""
    print(f"Locked {len(rows)} claims in {rel} ({len(moved)} changed" + (f" against {against}" if against else "")
          + f"{listed}). Commit it.")
    return 0
