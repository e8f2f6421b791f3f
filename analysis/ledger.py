"""The claims ledger: every registered claim with its stated and reproduced value and verdict.

Built from the claim records stored in the executed notebooks; verdicts are recomputed from the
current register so that the register stays the single source of stated values and tolerances.
The committed lock (``claims/lock.json``) holds the accepted values and verdicts; drift against
it is what the report's "what changed" section and the ``check`` command report.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from .files import canonical_json, write_if_changed
from .claims import Register, recorded_in, reference_date, verdict
from .errors import ClaimRecordError, DriftError, RegisterError
from .paths import Layout

LEDGER_FIELDS = (
    "claim", "document", "quote", "stated", "comparison", "unit", "year", "reference_date", "reading",
    "reproduced", "verdict",
    "rationale", "caveats", "notebook", "parameter_set", "datasets", "data_sha256",
)


def collect(layout: Layout, register: Register, manifest_runs: dict[str, dict]) -> list[dict]:
    """Ledger rows for every registered claim, from its assigned run's executed notebook.

    Raises RegisterError if a claim's run does not exist or did not record it, and ClaimRecordError if
    a notebook recorded an id that is not registered.
    """
    records_by_run: dict[str, dict[str, dict]] = {}
    for address in manifest_runs:
        path = layout.executed_notebook(address)
        if not path.is_file():
            continue
        records = recorded_in(json.loads(path.read_text(encoding="utf-8")))
        unknown = sorted({r["claim"] for r in records} - set(register.claims))
        if unknown:
            raise ClaimRecordError(
                f"run {address} recorded claim id(s) {', '.join(unknown)}, not in claims/register.yml",
                hint="register the claim, or fix the id in the notebook",
            )
        records_by_run[address] = {r["claim"]: r for r in records}
    rows = []
    problems = []
    for claim_id, claim in register.claims.items():
        address = f"{claim['check']['notebook']}/{claim['check']['parameters']}"
        if address not in manifest_runs:
            problems.append(f"claim {claim_id}: its check run {address} is not in project.yml (or was never built)")
            continue
        record = records_by_run.get(address, {}).get(claim_id)
        if record is None and claim.get("duplicate_of"):
            # a restatement of another claim takes that claim's reproduced value, against its own stated value
            original = register.claims.get(claim["duplicate_of"], {})
            source = f"{original.get('check', {}).get('notebook')}/{original.get('check', {}).get('parameters')}"
            record = records_by_run.get(source, {}).get(claim["duplicate_of"])
        if record is None:
            problems.append(f"claim {claim_id}: run {address} executed but recorded no value for it")
            continue
        run = manifest_runs[address]
        inputs = {i["dataset"]: i["sha256"] for i in run.get("inputs", [])}
        rows.append({
            "claim": claim_id,
            "document": claim["document"],
            "quote": claim["quote"],
            "stated": claim["stated"].get("value"),
            "comparison": claim["stated"].get("comparison", "="),
            "unit": claim["stated"].get("unit"),
            "year": claim["stated"].get("year"),
            "reproduced": record["reproduced"],
            "verdict": verdict(claim, record["reproduced"], caveats=record.get("caveats") or (),
                               earlier=record.get("earlier"), found=record.get("found")),
            "reading": record.get("reading") or claim.get("reading"),
            "reference_date": reference_date(register, claim),
            "found": record.get("found"),
            "rationale": record.get("rationale", ""),
            "caveats": record.get("caveats") or [],
            "reason": record.get("reason"),
            "earlier": record.get("earlier"),
            "figures": record.get("figures") or [],
            "notebook": claim["check"]["notebook"],
            "parameter_set": claim["check"]["parameters"],
            "parameters": run.get("parameters", {}),
            "datasets": record.get("datasets") or sorted(inputs),
            "data_sha256": {d: inputs.get(d) for d in (record.get("datasets") or sorted(inputs))},
            "topic": claim.get("topic"),
        })
    if problems:
        raise RegisterError(
            "the register and the notebooks disagree:\n    " + "\n    ".join(problems),
            hint="each claim's notebook must call analysis.claims.record('<id>', ...) in the run the register names",
        )
    return rows


def write(layout: Layout, rows: list[dict]) -> None:
    """Write ``_build/ledger.json`` and ``_build/ledger.csv``."""
    write_if_changed(layout.build_dir / "ledger.json", canonical_json(rows))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=LEDGER_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        flat = dict(row)
        flat["caveats"] = " | ".join(row["caveats"])
        flat["datasets"] = " ".join(row["datasets"])
        flat["data_sha256"] = " ".join(f"{k}={v}" for k, v in row["data_sha256"].items())
        writer.writerow(flat)
    write_if_changed(layout.build_dir / "ledger.csv", buffer.getvalue())


def read(layout: Layout) -> list[dict] | None:
    path = layout.build_dir / "ledger.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def lock_entries(rows: list[dict]) -> dict[str, dict]:
    return {r["claim"]: {"stated": r["stated"], "reproduced": r["reproduced"], "verdict": r["verdict"]} for r in rows}


def read_lock(path: Path) -> dict[str, dict] | None:
    """The committed lock (None if there is none); FileError naming the file and line if it is damaged."""
    from .errors import bad_format, shown
    from .files import read_json

    if not path.is_file():
        return None
    hint = (f"restore it with `git checkout -- {shown(path)}`, or rewrite it from the current build with "
            "`python -m analysis lock` (after reviewing the values)")
    lock = read_json(path, hint=hint)
    if not isinstance(lock, dict) or not isinstance(lock.get("claims", {}), dict):
        raise bad_format(path, "lock file", "expected an object with a 'claims' mapping", hint)
    return lock


def write_lock(path: Path, rows: list[dict]) -> None:
    write_if_changed(path, canonical_json({"claims": lock_entries(rows)}))


def changes(before: dict[str, dict], rows: list[dict], *, rel_tol: float = 1e-9) -> list[dict]:
    """Claims whose reproduced value or verdict differs from ``before`` (a lock or a release), plus added/removed."""
    now = lock_entries(rows)
    out = []
    for claim_id in sorted(set(before) | set(now)):
        old, new = before.get(claim_id), now.get(claim_id)
        if old is None:
            out.append({"claim": claim_id, "change": "added", "before": None, "after": new})
        elif new is None:
            out.append({"claim": claim_id, "change": "removed", "before": old, "after": None})
        else:
            moved_value = _differs(old.get("reproduced"), new.get("reproduced"), rel_tol)
            moved_verdict = old.get("verdict") != new.get("verdict")
            if moved_value or moved_verdict or old.get("stated") != new.get("stated"):
                kind = "verdict" if moved_verdict else ("value" if moved_value else "stated")
                out.append({"claim": claim_id, "change": kind, "before": old, "after": new})
    return out


def _differs(a, b, rel_tol) -> bool:
    if a is None or b is None:
        return a is not b
    return abs(a - b) > rel_tol * max(abs(a), abs(b), 1e-12)


def check_drift(layout: Layout, rows: list[dict]) -> list[dict]:
    """Raise DriftError listing every claim that moved against the committed lock."""
    lock = read_lock(layout.lock)
    if lock is None:
        raise DriftError(
            f"{layout.relative(layout.lock)} does not exist",
            hint="review the ledger, then record it with `python -m analysis lock`",
        )
    moved = changes(lock.get("claims", {}), rows)
    if moved:
        raise DriftError(
            f"{len(moved)} claim(s) moved against {layout.relative(layout.lock)}:\n    "
            + "\n    ".join(describe_change(c) for c in moved),
            hint="if the change is intended, review it and run `python -m analysis lock`; otherwise find what changed",
        )
    return moved


def describe_change(change: dict) -> str:
    before, after = change["before"], change["after"]
    if change["change"] == "added":
        return f"{change['claim']}: new claim, {after['reproduced']} ({after['verdict']})"
    if change["change"] == "removed":
        return f"{change['claim']}: no longer in the ledger (was {before['reproduced']}, {before['verdict']})"
    return (f"{change['claim']}: {before['reproduced']} ({before['verdict']}) -> "
            f"{after['reproduced']} ({after['verdict']})")
