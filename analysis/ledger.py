"""The claims ledger: every registered claim with its stated and reproduced value and verdict.

Built from the claim records stored in the executed notebooks; verdicts are recomputed from the
current register so that the register stays the single source of stated values and tolerances.

* ``_build/ledger.csv`` / ``.json``: one row per claim, from the run the register names (its check);
* ``_build/ledger-runs.csv`` / ``.json``: one row per claim and run (every parameter set that records
  the claim), with value, verdict, reading and parameters;
* ``_build/ledger-readings.csv`` / ``.json``: readings a run computes within itself, recorded as
  ``claims.record(..., details={"readings": [{"reading": ..., "value": ...}, ...]})``.

The committed lock (``claims/lock.json``) holds the accepted values and verdicts and, per claim, what
they were computed from (run, parameters, notebook code sha256, data sha256 per dataset). Drift
against it is what ``build`` and ``check`` report, each moved claim with its causes
(:func:`causes`): the data rows that changed (old and new values), the parameters, the notebook code.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

from .files import canonical_json, write_if_changed, write_json_if_changed
from .claims import Register, check_claim_notes, recorded_in, reference_date, verdict
from .errors import ClaimRecordError, DriftError, RegisterError
from .paths import Layout

LEDGER_FIELDS = (
    "claim", "document", "quote", "stated", "comparison", "unit", "year", "reference_date", "reading",
    "reproduced", "verdict", "stated_text", "reproduced_text",
    "rationale", "caveats", "notebook", "parameter_set", "datasets", "data_sha256",
    "title", "qualifier", "confidence", "coverage", "unverifiable_class",
)
#: Ledger columns holding notes (lists of sentences): joined with " | " in the CSV files.
NOTE_FIELDS = ("caveats", "confidence", "coverage")


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
        check_claim_notes(claim, f"claim {claim_id}")
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
        row_verdict = verdict(claim, record["reproduced"], caveats=record.get("caveats") or (),
                              earlier=record.get("earlier"), found=record.get("found"))
        search = claim.get("search")
        if row_verdict == "unverifiable" and not search:
            problems.append(f"claim {claim_id}: unverifiable, but the register has no search record "
                            "(search: {class, looked}) saying where was looked")
        rows.append({
            "claim": claim_id,
            "document": claim["document"],
            "quote": claim["quote"],
            "stated": claim["stated"].get("value"),
            "comparison": claim["stated"].get("comparison", "="),
            "unit": claim["stated"].get("unit"),
            "year": claim["stated"].get("year"),
            "reproduced": record["reproduced"],
            "verdict": row_verdict,
            "reading": record.get("reading") or claim.get("reading"),
            "reference_date": reference_date(register, claim),
            "found": record.get("found"),
            "rationale": record.get("rationale", ""),
            **notes_of(record, claim, row_verdict),
            "reason": record.get("reason"),
            "earlier": record.get("earlier"),
            "figures": record.get("figures") or [],
            "notebook": claim["check"]["notebook"],
            "parameter_set": claim["check"]["parameters"],
            "parameters": run.get("parameters", {}),
            "datasets": record.get("datasets") or sorted(inputs),
            "data_sha256": {d: inputs.get(d) for d in (record.get("datasets") or sorted(inputs))},
            "notebook_code_sha256": run.get("notebook_code_sha256"),
            "topic": claim.get("topic"),
        })
    if problems:
        raise RegisterError(
            "the register and the notebooks disagree:\n    " + "\n    ".join(problems),
            hint="each claim's notebook must call analysis.claims.record('<id>', ...) in the run the register names",
        )
    return rows


def record_notes(record: dict) -> dict:
    """The notes a claim record carries, each kind apart: caveats, confidence, coverage, qualifier, leads."""
    return {"caveats": record.get("caveats") or [], "confidence": record.get("confidence") or [],
            "coverage": record.get("coverage") or [], "qualifier": record.get("qualifier"),
            "leads": record.get("leads") or []}


def notes_of(record: dict, claim: dict, row_verdict: str) -> dict:
    """The notes a ledger row carries (CONTRACTS section 2): the three kinds of note and the leads the
    notebook recorded, and the title, chain of origin and search record of the current register."""
    search = claim.get("search")
    return {
        "title": claim.get("title"),
        **record_notes(record),
        "origin": claim.get("origin") or [],
        "search": search,
        "unverifiable_class": search.get("class") if row_verdict == "unverifiable" and search else None,
    }


RUNS_FIELDS = (
    "claim", "run", "notebook", "parameter_set", "is_check", "parameters", "reading", "reference_date",
    "stated", "unit", "reproduced", "verdict", "caveats", "datasets", "data_sha256",
    "qualifier", "confidence", "coverage",
)
READINGS_FIELDS = ("claim", "run", "parameter_set", "reading", "value", "unit", "verdict", "parameters", "details")


def _records_by_run(layout: Layout, manifest_runs: dict[str, dict]) -> dict[str, list[dict]]:
    out = {}
    for address in sorted(manifest_runs):
        path = layout.executed_notebook(address)
        if path.is_file():
            out[address] = recorded_in(json.loads(path.read_text(encoding="utf-8")))
    return out


def collect_runs(layout: Layout, register: Register, manifest_runs: dict[str, dict]) -> tuple[list[dict], list[dict]]:
    """(runs rows, readings rows): every claim record of every run, and the readings computed within runs.

    Verdicts are recomputed from the current register, as in :func:`collect`. A reading is an entry of
    ``details["readings"]`` of a claim record: ``{"reading": text, "value": number or None, ...}``;
    its verdict is the register's verdict for that value (or the entry's own ``verdict`` when it has
    no value).
    """
    runs, readings = [], []
    restated: dict[str, list[str]] = {}  # a claim -> the claims that restate it (duplicate_of)
    for claim_id, claim in register.claims.items():
        if claim.get("duplicate_of"):
            restated.setdefault(claim["duplicate_of"], []).append(claim_id)
    for address, records in _records_by_run(layout, manifest_runs).items():
        run = manifest_runs[address]
        notebook, _, set_name = address.partition("/")
        inputs = {i["dataset"]: i["sha256"] for i in run.get("inputs", [])}
        recorded = {r["claim"] for r in records}
        # a restatement takes the value of the claim it restates, judged against its own stated value
        records = records + [{**r, "claim": dup} for r in records for dup in restated.get(r["claim"], [])
                             if dup not in recorded]
        for record in records:
            claim_id = record["claim"]
            claim = register.claims.get(claim_id)
            if claim is None:
                continue  # collect() names unregistered ids
            used = record.get("datasets") or sorted(inputs)
            runs.append({
                "claim": claim_id, "run": address, "notebook": notebook, "parameter_set": set_name,
                "is_check": claim["check"]["notebook"] == notebook and claim["check"]["parameters"] == set_name,
                "parameters": run.get("parameters", {}),
                "reading": record.get("reading") or claim.get("reading"),
                "reference_date": reference_date(register, claim),
                "stated": claim["stated"].get("value"), "unit": claim["stated"].get("unit"),
                "reproduced": record["reproduced"],
                "verdict": verdict(claim, record["reproduced"], caveats=record.get("caveats") or (),
                                   earlier=record.get("earlier"), found=record.get("found")),
                **record_notes(record),
                "figures": record.get("figures") or [],
                "datasets": used,
                "data_sha256": {d: inputs.get(d) for d in used},
            })
            for entry in (record.get("details") or {}).get("readings") or []:
                if not isinstance(entry, dict) or "reading" not in entry:
                    continue
                value = entry.get("value")
                numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
                readings.append({
                    "claim": claim_id, "run": address, "parameter_set": set_name,
                    "reading": entry["reading"], "value": value, "unit": entry.get("unit") or claim["stated"].get("unit"),
                    "verdict": verdict(claim, float(value)) if numeric else entry.get("verdict"),
                    "parameters": run.get("parameters", {}),
                    "details": {k: v for k, v in entry.items() if k not in ("reading", "value", "unit", "verdict")},
                })
    return runs, readings


def _csv(rows: list[dict], fields: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        flat = {}
        for key in fields:
            value = row.get(key)
            if isinstance(value, list):
                value = " | ".join(map(str, value)) if key in NOTE_FIELDS else " ".join(map(str, value))
            elif isinstance(value, dict):
                value = (" ".join(f"{k}={v}" for k, v in value.items()) if key == "data_sha256"
                         else json.dumps(value, sort_keys=True, ensure_ascii=False))
            flat[key] = value
        writer.writerow(flat)
    return buffer.getvalue()


def write(layout: Layout, rows: list[dict], *, register: Register | None = None,
          manifest_runs: dict[str, dict] | None = None) -> None:
    """Write ``_build/ledger.json``/``.csv`` and the every-run ledgers ``ledger-runs`` and ``ledger-readings``.

    Each ledger row gains ``stated_text`` and ``reproduced_text``: its stated value and what the data
    show, in the words of :mod:`analysis.wording` (the same words the report prints).

    The runs come from ``manifest_runs`` (default: the manifest the build just wrote) and the verdicts
    from ``register`` (default: ``claims/register.yml``).
    """
    register = register or Register.load(layout)
    with_words(rows, register)
    write_json_if_changed(layout.build_dir / "ledger.json", rows)
    write_if_changed(layout.build_dir / "ledger.csv", _csv(rows, LEDGER_FIELDS))
    if manifest_runs is None:
        from .manifest import read_manifest

        manifest_runs = (read_manifest(layout) or {}).get("runs", {})
    runs, readings = collect_runs(layout, register, manifest_runs)
    write_json_if_changed(layout.build_dir / "ledger-runs.json", runs)
    write_if_changed(layout.build_dir / "ledger-runs.csv", _csv(runs, RUNS_FIELDS))
    write_json_if_changed(layout.build_dir / "ledger-readings.json", readings)
    write_if_changed(layout.build_dir / "ledger-readings.csv", _csv(readings, READINGS_FIELDS))


def with_words(rows: list[dict], register: Register) -> list[dict]:
    """``rows`` (changed in place, and returned) as :func:`write` writes them: each with ``stated_text``
    and ``reproduced_text``, its values in the words the report prints (:mod:`analysis.wording`)."""
    from .wording import reproduced_words, stated_words

    for row in rows:
        row["stated_text"] = stated_words(register.claims.get(row["claim"]) or {}, row)
        row["reproduced_text"] = reproduced_words(row)
    return rows


def read(layout: Layout) -> list[dict] | None:
    path = layout.build_dir / "ledger.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


LOCK_INPUT_KEYS = ("run", "parameters", "notebook_code_sha256", "data_sha256")


def lock_entries(rows: list[dict]) -> dict[str, dict]:
    """Per claim: the accepted stated value, reproduced value and verdict, and what they were computed
    from (run, parameters, notebook code sha256, data sha256 per dataset), so a later move names its cause."""
    out = {}
    for r in rows:
        entry = {"stated": r["stated"], "reproduced": r["reproduced"], "verdict": r["verdict"]}
        if r.get("notebook") is not None:
            entry["run"] = f"{r['notebook']}/{r['parameter_set']}"
        for key in ("parameters", "notebook_code_sha256", "data_sha256"):
            if r.get(key) is not None:
                entry[key] = r[key]
        out[r["claim"]] = entry
    return out


def read_lock(path: Path) -> dict[str, dict] | None:
    """The committed lock (None if there is none); FileError naming the file and line if it is damaged."""
    from .errors import FileError, bad_format, shown
    from .files import MAX_PROJECT_FILE_BYTES, parse_json, read_text, seen_valid

    if not path.is_file():
        return None
    hint = (f"restore it with `git checkout -- {shown(path)}`, or rewrite it from the current build with "
            "`python -m analysis lock` (after reviewing the values)")
    text = read_text(path, hint=hint, limit=MAX_PROJECT_FILE_BYTES)
    lock = parse_json(text, path, hint=hint)
    if not isinstance(lock, dict) or not isinstance(lock.get("claims", {}), dict):
        raise bad_format(path, "lock file", "expected an object with a 'claims' mapping", hint)
    layout = Layout(Path(path).resolve().parent.parent)
    if not seen_valid(layout, "lock", text):
        from . import schemas

        schemas.check(schemas.LockFile, lock, source=shown(path), text=None, error=FileError, place=schemas.lock_place,
                      hint=hint)
        seen_valid(layout, "lock", text, remember=True)
    return lock


def write_lock(path: Path, rows: list[dict]) -> None:
    write_if_changed(path, canonical_json({"claims": lock_entries(rows)}))


def changes(before: dict[str, dict], rows: list[dict], *, rel_tol: float = 1e-9, layout: Layout | None = None) -> list[dict]:
    """Claims whose reproduced value or verdict differs from ``before`` (a lock or a release), plus added/removed.

    With ``layout``, each moved claim also gets ``causes`` (see :func:`causes`).
    """
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
    if layout is not None:
        explain = _Explainer(layout)
        for change in out:
            if change["before"] is not None and change["after"] is not None:
                change["causes"] = explain.causes(change["before"], change["after"])
    return out


# --- why a claim moved -----------------------------------------------------------------------------
MAX_ROWS_SHOWN = 12


class _Explainer:
    """Names the causes of moves; keeps the catalog and the data diffs it already made."""

    def __init__(self, layout: Layout):
        self.layout = layout
        self._catalog = None
        self._diffs: dict[tuple, dict] = {}

    @property
    def catalog(self):
        if self._catalog is None:
            from .catalog import Catalog

            self._catalog = Catalog.read_only(self.layout)
        return self._catalog

    def causes(self, before: dict, after: dict) -> list[dict]:
        return causes(self.layout, before, after, explain_data=self.data_change)

    def data_change(self, dataset: str, old_sha: str | None, new_sha: str | None) -> dict:
        key = (dataset, old_sha, new_sha)
        if key not in self._diffs:
            self._diffs[key] = data_change(self.layout, dataset, old_sha, new_sha, catalog=self.catalog)
        return self._diffs[key]


def causes(layout: Layout, before: dict, after: dict, *, explain_data=None) -> list[dict]:
    """What changed between two lock entries of a claim: a list of causes, each a dict with ``kind``
    (``data``, ``parameters``, ``code``, ``stated``, ``run``, ``none`` or ``unknown``) and ``text``.

    A ``data`` cause names the dataset and its changed rows (``rows``: lines as ``data diff`` prints
    them, old -> new). ``unknown``: the earlier entry does not record its inputs (a lock written before
    causes were tracked).
    """
    explain_data = explain_data or (lambda name, old, new: data_change(layout, name, old, new))
    out = []
    if before.get("stated") != after.get("stated"):
        out.append({"kind": "stated", "text": f"the register's stated value changed ({before.get('stated')} -> {after.get('stated')})"})
    if not any(k in before for k in ("parameters", "data_sha256", "notebook_code_sha256")):
        out.append({"kind": "unknown", "text": "the earlier record does not say what it was computed from "
                    "(written before causes were tracked); `python -m analysis lock` records it from now on"})
        return out
    if before.get("run") and after.get("run") and before["run"] != after["run"]:
        out.append({"kind": "run", "text": f"the claim is checked by another run ({before['run']} -> {after['run']})"})
    old_params, new_params = before.get("parameters") or {}, after.get("parameters") or {}
    moved = {k: (old_params.get(k), new_params.get(k)) for k in sorted(set(old_params) | set(new_params))
             if old_params.get(k) != new_params.get(k)}
    if moved:
        out.append({"kind": "parameters", "changes": {k: list(v) for k, v in moved.items()},
                    "text": "parameters changed: " + ", ".join(f"{k} {a!r} -> {b!r}" for k, (a, b) in moved.items())})
    old_code, new_code = before.get("notebook_code_sha256"), after.get("notebook_code_sha256")
    if old_code and new_code and old_code != new_code:
        notebook = (after.get("run") or "").partition("/")[0]
        out.append({"kind": "code", "rows": code_diff(layout, notebook, old_code),
                    "text": f"the code of notebooks/{notebook}.ipynb changed (code sha256 {old_code[:12]} -> {new_code[:12]})"})
    old_data, new_data = before.get("data_sha256") or {}, after.get("data_sha256") or {}
    replaced = snapshot_replacements(layout, old_data, new_data)
    for old_name, new_name in replaced.items():
        out.append(snapshot_change(layout, old_name, old_data[old_name], new_name, new_data[new_name]))
    for dataset in sorted(set(old_data) | set(new_data)):
        a, b = old_data.get(dataset), new_data.get(dataset)
        if a == b or dataset in replaced or dataset in replaced.values():
            continue
        if a is None:
            out.append({"kind": "data", "dataset": dataset, "rows": [], "text": f"now also computed from dataset {dataset}"})
        elif b is None:
            out.append({"kind": "data", "dataset": dataset, "rows": [], "text": f"no longer computed from dataset {dataset}"})
        else:
            out.append(explain_data(dataset, a, b))
    if not out:
        out.append({"kind": "none", "text": "no input of the claim changed (same run, parameters, notebook code and "
                    "data): the register's tolerance or the analysis package (verdict rules, helpers) did"})
    return out


def data_change(layout: Layout, dataset: str, old_sha: str, new_sha: str, *, catalog=None) -> dict:
    """A ``data`` cause: dataset ``dataset`` went from content ``old_sha`` to ``new_sha``; its changed rows
    as ``data diff`` shows them (found in git history or the accepted-file store)."""
    from .datadiff import diff_tables

    head = f"dataset {dataset} changed (sha256 {old_sha[:12]} -> {new_sha[:12]})"
    cause = {"kind": "data", "dataset": dataset, "before_sha256": old_sha, "after_sha256": new_sha, "rows": []}
    try:
        if catalog is None:
            from .catalog import Catalog

            catalog = Catalog.read_only(layout)
        entry = catalog.entry(dataset)
        path = catalog.path(dataset)
        old, new = content_of(layout, path, old_sha), content_of(layout, path, new_sha)
    except Exception:  # noqa: BLE001 - naming the cause must never stop a build
        old = new = None
    if old is None or new is None:
        cause["text"] = head + "; the earlier content is not in git history or _build/.state/accepted/, so its rows cannot be shown"
        return cause
    diff = diff_tables(dataset, entry, old, new, new_label=f"sha256 {new_sha[:12]}", baseline_label=f"sha256 {old_sha[:12]}")
    lines = [line.strip() for line in diff.render().splitlines()[1:] if line.strip().startswith(("-", "~", "+"))]
    cause["summary"] = diff.summary()
    cause["rows"] = lines[:MAX_ROWS_SHOWN]
    more = len(lines) - len(cause["rows"])
    if more > 0:
        cause["rows"].append(f"... and {more} more (python -m analysis data diff {dataset})")
    cause["text"] = f"{head}: {diff.summary()}"
    return cause


def snapshot_replacements(layout: Layout, old_data: dict, new_data: dict) -> dict[str, str]:
    """``{old: new}`` for each dataset the claim no longer reads whose refresh series now gives it a newer
    snapshot it does read (``data refresh --accept`` added it; analysis.catalog.series_members)."""
    gone = [d for d in old_data if d not in new_data]
    came = [d for d in new_data if d not in old_data]
    if not gone or not came:
        return {}
    try:
        from .catalog import Catalog, series_key

        catalog = Catalog.read_only(layout)
        keys = {d: series_key(d, catalog.entry(d)) for d in gone + came if d in catalog.resources}
    except Exception:  # noqa: BLE001 - naming the cause must never stop a build
        return {}
    out = {}
    for old in gone:
        for new in came:
            if keys.get(old) is not None and keys.get(old) == keys.get(new) and new not in out.values():
                out[old] = new
                break
    return out


def snapshot_change(layout: Layout, old_name: str, old_sha: str, new_name: str, new_sha: str) -> dict:
    """A ``data`` cause: the claim now reads ``new_name``, a newer snapshot of the series ``old_name``
    belongs to; its rows as ``data refresh`` showed them (old snapshot -> new snapshot)."""
    from .catalog import Catalog
    from .datadiff import diff_tables

    head = f"a newer snapshot of its data was accepted: {old_name} -> {new_name}"
    cause = {"kind": "data", "dataset": new_name, "replaces": old_name, "before_sha256": old_sha,
             "after_sha256": new_sha, "rows": []}
    try:
        catalog = Catalog.read_only(layout)
        old = content_of(layout, catalog.path(old_name), old_sha)
        new = content_of(layout, catalog.path(new_name), new_sha)
        entry = catalog.entry(new_name)
    except Exception:  # noqa: BLE001 - naming the cause must never stop a build
        old = new = None
    if old is None or new is None:
        cause["text"] = head
        return cause
    diff = diff_tables(new_name, entry, old, new, new_label=new_name, baseline_label=old_name)
    lines = [line.strip() for line in diff.render().splitlines()[1:] if line.strip().startswith(("-", "~", "+"))]
    cause["summary"] = diff.summary()
    cause["rows"] = lines[:MAX_ROWS_SHOWN]
    if len(lines) > MAX_ROWS_SHOWN:
        cause["rows"].append(f"... and {len(lines) - MAX_ROWS_SHOWN} more")
    cause["text"] = f"{head}: {diff.summary()}"
    return cause


def code_diff(layout: Layout, notebook: str, old_code_sha256: str) -> list[str]:
    """The changed lines of a notebook's code cells since the committed version whose code sha256 is
    ``old_code_sha256`` (a unified diff, at most MAX_ROWS_SHOWN lines); [] when git history lacks it."""
    import difflib
    import hashlib

    from .datadiff import GIT_HISTORY_LIMIT, _git

    path = layout.notebook_source(notebook)
    rel = layout.relative(path)

    def code_cells(text: str) -> list[str]:
        cells = json.loads(text).get("cells", [])
        return ["".join(c["source"]) if isinstance(c.get("source"), list) else c.get("source", "")
                for c in cells if c.get("cell_type") == "code"]

    try:
        log = _git(layout.root, "log", f"-n{GIT_HISTORY_LIMIT}", "--format=%H", "--", rel)
        for commit in (log.stdout.decode().split() if log.returncode == 0 else []):
            shown = _git(layout.root, "show", f"{commit}:./{rel}")
            if shown.returncode != 0:
                continue
            old = code_cells(shown.stdout.decode("utf-8"))
            if hashlib.sha256(json.dumps(old).encode()).hexdigest() != old_code_sha256:
                continue
            new = code_cells(path.read_text(encoding="utf-8"))
            diff = difflib.unified_diff("\n\n".join(old).splitlines(), "\n\n".join(new).splitlines(), lineterm="", n=0)
            lines = [d for d in diff if d[:1] in "+-" and not d.startswith(("+++", "---"))]
            more = len(lines) - MAX_ROWS_SHOWN
            return lines[:MAX_ROWS_SHOWN] + ([f"... and {more} more lines (git diff {commit[:10]} -- {rel})"] if more > 0 else [])
    except (OSError, ValueError, subprocess.SubprocessError):
        pass  # naming the cause must never stop a build
    return []


def content_of(layout: Layout, path: Path, sha256: str) -> bytes | None:
    """The bytes of data file ``path`` with content ``sha256``: the file itself, git history or the accepted store."""
    from .catalog import accepted_store_path
    from .datadiff import find_in_git
    from .files import file_sha256_bytes

    if path.is_file():
        data = path.read_bytes()
        if file_sha256_bytes(data) == sha256:
            return data
    stored = accepted_store_path(layout, sha256)
    if stored.is_file() and file_sha256_bytes(stored.read_bytes()) == sha256:
        return stored.read_bytes()
    found = find_in_git(layout.root, layout.relative(path), sha256)
    return found[0] if found else None


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
            f"{len(moved)} claim(s) moved against {layout.relative(layout.lock)}: "
            + ", ".join(c["claim"] for c in moved) + " (the build output above says what moved and why)",
            hint="if the change is intended, review it and run `python -m analysis lock`; otherwise find what changed",
        )
    return moved


def _number(value):
    """A reproduced value without float noise (770.5500000000001 -> 770.55), and a whole number without a
    decimal point (a rank 1.0 -> 1, a count 23.0 -> 23)."""
    if not isinstance(value, float) or value != value or value in (float("inf"), float("-inf")):
        return value
    value = float(f"{value:.12g}")
    return int(value) if value.is_integer() else value


def describe_change(change: dict, *, with_causes: bool = True) -> str:
    """The move in one line (``claim: old (verdict) -> new (verdict)``), then one indented line per cause
    and per changed data row."""
    before, after = change["before"], change["after"]
    if change["change"] == "added":
        return f"{change['claim']}: new claim, {_number(after['reproduced'])} ({after['verdict']})"
    if change["change"] == "removed":
        return f"{change['claim']}: no longer in the ledger (was {_number(before['reproduced'])}, {before['verdict']})"
    line = (f"{change['claim']}: {_number(before['reproduced'])} ({before['verdict']}) -> "
            f"{_number(after['reproduced'])} ({after['verdict']})")
    if not with_causes or not change.get("causes"):
        return line
    out = [line]
    for cause in change["causes"]:
        out.append(f"    because {cause['text']}")
        out += [f"      {row}" for row in cause.get("rows", [])]
    return "\n".join(out)


def committed_lock(layout: Layout) -> dict[str, dict] | None:
    """The claims of ``claims/lock.json`` as last committed in git (None: no git, not committed, or damaged too)."""
    rel = layout.relative(layout.lock)
    try:
        shown = subprocess.run(["git", "show", f"HEAD:./{rel}"], cwd=layout.root, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    if shown.returncode != 0:
        return None
    try:
        lock = json.loads(shown.stdout.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    claims = lock.get("claims") if isinstance(lock, dict) else None
    return claims if isinstance(claims, dict) and all(isinstance(e, dict) for e in claims.values()) else None
