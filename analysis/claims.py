"""The claims register and verdicts.

Notebooks call :func:`record` with the value they reproduced for a registered claim. The verdict is
computed here, in one place, from the register's stated value, comparison and tolerance, plus what
the notebook found (see ``docs/verdict-policy.md``). Each claim is judged as worded, at its
document's reference date; the order of the tests is the policy's:

* ``reproduced``              data for the claim's own measure agree with the stated value;
* ``reproduced-with-caveat``  they agree, with a minor flaw the notebook states (attribution, source
                              year, rounding, a looser wording of the same measure);
* ``mislabelled``             the stated number is printed in the claim's chain of origin (the cited
                              source, what it cites, or a publication the document demonstrably
                              reproduces: the register's ``origin``), but for another measure,
                              population, unit or scope;
* ``outdated``                the number was true at an earlier date, not at the document's date;
* ``not-reproduced``          the data for the claim's measure contradict it;
* ``unverifiable``            no data for the claim's measure could be reached (a reason is required).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .cells import payloads
from .errors import ClaimRecordError, RegisterError
from .files import parse_yaml
from .paths import Layout
from .vocabulary import COMPARISONS, KINDS, ORIGIN_LINKS, TITLE_LIMIT, TOLERANCE_TYPES, VERDICTS  # noqa: F401
from .vocabulary import SEARCH_CLASSES as REASON_CLASSES  # why a claim is unverifiable: its search record's class

MIME = "application/vnd.claimcheck.claim+json"


@dataclass(frozen=True)
class Register:
    """The parsed, checked claims register."""

    path: Path
    documents: dict[str, dict]
    claims: dict[str, dict]

    @classmethod
    def load(cls, layout: Layout | None = None) -> "Register":
        layout = layout or Layout.find()
        return _load_register(str(layout.register), _register_key(layout.register), str(layout.root))

    def for_notebook(self, notebook: str) -> list[dict]:
        return [c for c in self.claims.values() if c["check"]["notebook"] == notebook]

    def claim(self, claim_id: str) -> dict:
        try:
            return self.claims[claim_id]
        except KeyError:
            raise ClaimRecordError(
                f"claim id {claim_id!r} is not in {self.path.name}",
                hint="use an id from claims/register.yml, or register the claim first",
            ) from None


def _register_key(path: Path) -> tuple:
    try:
        stat = path.stat()
        return (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    except OSError:
        return ()


@lru_cache(maxsize=4)
def _load_register(path: str, version: tuple = (), root: str | None = None) -> Register:
    """Read and check the register: strict YAML, its typed schema (:class:`analysis.schemas.RegisterFile`),
    then what refers across it (unique ids, known documents). RegisterError names the claim, field and line."""
    from .errors import shown
    from .files import MAX_PROJECT_FILE_BYTES, read_text, seen_valid

    p = Path(path)
    if not p.is_file():
        raise RegisterError(f"{shown(p)} does not exist", hint="restore claims/register.yml from git")
    source = shown(p)
    text = read_text(p, limit=MAX_PROJECT_FILE_BYTES)
    raw = parse_yaml(text, source=source)
    if not isinstance(raw, dict):
        raise RegisterError(f"{p.name}: expected a mapping with 'documents' and a 'claims' list")
    layout = Layout(Path(root)) if root else None
    if layout is None or not seen_valid(layout, "register", text):
        from . import schemas

        schemas.check(schemas.RegisterFile, raw, source=source, text=text, error=RegisterError,
                      place=schemas.register_place, hint="see the field list at the top of claims/register.yml")
        if layout is not None:
            seen_valid(layout, "register", text, remember=True)
    documents = raw.get("documents") or {}
    for i, item in enumerate(raw.get("left_out") or []):
        if item["document"] not in documents:
            raise RegisterError(f"{p.name}: left_out #{i + 1}: unknown document {item['document']!r}")
    claims: dict[str, dict] = {}
    ids = {c["id"] for c in raw["claims"]}
    for i, claim in enumerate(raw["claims"]):
        where = f"{p.name}: claim #{i + 1} ({claim['id']})"
        if claim["id"] in claims:
            raise RegisterError(f"{where}: duplicate claim id {claim['id']!r}", hint="claim ids must be unique")
        if claim["document"] not in documents:
            raise RegisterError(f"{where}: unknown document {claim['document']!r}")
        if claim.get("duplicate_of") and claim["duplicate_of"] not in ids:
            raise RegisterError(f"{where}: duplicate_of names unknown claim {claim['duplicate_of']!r}")
        claim["check"].setdefault("parameters", "default")
        claims[claim["id"]] = claim
    return Register(p, documents, claims)


def reference_date(register: "Register", claim: dict) -> str:
    """The ISO date a claim is judged at: its document's reference date."""
    return str(register.documents[claim["document"]]["reference_date"])


def agrees(stated: float, reproduced: float, comparison: str, tolerance: dict) -> bool:
    """Does ``reproduced`` support ``stated`` under the claim's comparison and tolerance?"""
    kind = tolerance["type"]
    slack = 0.0 if kind == "exact" else float(tolerance["value"]) * (abs(stated) if kind == "relative" else 1.0)
    if comparison in ("=", "~"):
        return math.isclose(reproduced, stated) if kind == "exact" else abs(reproduced - stated) <= slack + 1e-12
    if comparison == ">":
        return reproduced > stated - (slack if kind != "exact" else 0)
    if comparison == ">=":
        return reproduced >= stated - slack
    if comparison == "<":
        return reproduced < stated + (slack if kind != "exact" else 0)
    if comparison == "<=":
        return reproduced <= stated + slack
    raise ValueError(f"unknown comparison {comparison!r}")


def verdict(claim: dict, reproduced: float | None, *, caveats=(), earlier: dict | None = None,
            found: dict | None = None) -> str:
    """The verdict for ``claim`` under the verdict policy (see the module docstring for the order).

    ``reproduced`` is the value of the claim's own measure at its document's date (None: no data);
    ``found`` is where the stated number is printed for another measure; ``earlier`` is when the
    number was true before the document's date.
    """
    stated = claim["stated"].get("value")
    if stated is None:
        return "unverifiable"
    comparison = claim["stated"].get("comparison", "=")
    tolerance = claim["tolerance"]
    if reproduced is not None and agrees(float(stated), float(reproduced), comparison, tolerance):
        return "reproduced-with-caveat" if caveats else "reproduced"
    if found is not None:
        return "mislabelled"
    if reproduced is None:
        return "unverifiable"
    if earlier is not None and agrees(float(stated), float(earlier["value"]), comparison, tolerance):
        return "outdated"
    return "not-reproduced"


def record(
    claim_id: str,
    reproduced: float | None,
    *,
    rationale: str,
    reading: str | None = None,
    unit: str | None = None,
    caveats: list[str] | tuple = (),
    confidence: list[str] | tuple = (),
    coverage: list[str] | tuple = (),
    qualifier: str | None = None,
    leads: list[dict] | tuple = (),
    found: dict | None = None,
    earlier: dict | None = None,
    reason: str | None = None,
    figures: list[str] | tuple = (),
    datasets: list | tuple = (),
    details: dict | None = None,
) -> str:
    """Record what a notebook found for a registered claim in the executed notebook; return the verdict.

    ``reproduced``  the value of the claim's own measure at its document's reference date, in the
                    register's unit (``unit``, when given, must match it); None when no data for that
                    measure exist, and then ``reason`` says why and what would settle it.
    ``rationale``   the finding in words, built from computed values (never typed numbers).
    ``reading``     the reading this run judges the claim on; defaults to the register's ``reading``.
                    A variant parameter set names its own (another measure, date, vintage, ...).
    ``caveats``     flaws of the claim itself, and only those: wrong attribution or year of its source,
                    rounding, a looser wording of the same measure. Only caveats turn ``reproduced``
                    into ``reproduced-with-caveat``.
    ``confidence``  how strong our evidence is (an organisation's own account, one news report, a
                    transcription from a chart, a value derived from a rounded share); never the verdict.
    ``coverage``    dates or scope the data do not reach (a year not yet published, a population the
                    series leaves out); never the verdict.
    ``qualifier``   the qualifier the source itself puts on the reproduced value ("nearly", "over",
                    "at least"), so that a bound is never printed as an exact value.
    ``leads``       [{"value", "measure", "dataset"[, "locator", "note"]}]: uncited publications that
                    print a related number; shown in the claim's section, never the verdict.
    ``found``       {"value", "measure", "dataset"[, "locator"]}: the stated number as printed in the
                    claim's chain of origin (the register's ``origin``: cited source, what it cites, or
                    a publication the document demonstrably reproduces), for the measure it really is
                    (gives ``mislabelled`` unless the claim's own measure agrees). Its dataset must be
                    one of the ``origin`` datasets; a number printed anywhere else is a lead.
    ``earlier``     {"value", "year" or "date" or "edition", "dataset" or "source"}: when the stated
                    number was true before the document's date (gives ``outdated``).
    ``figures``     labels of the figures and tables that show the evidence.
    ``datasets``    the tables (as loaded) or dataset names the value is computed from; by default
                    every dataset this run loaded.
    """
    from IPython.display import display

    from .catalog import loaded
    from .lookup import dataset_names

    register = Register.load()
    claim = register.claim(claim_id)
    where = f"claim {claim_id}"
    stated_unit = claim["stated"].get("unit")
    if unit is not None and stated_unit is not None and unit != stated_unit:
        raise ClaimRecordError(
            f"{where}: reproduced value given in {unit!r} but the register states {stated_unit!r}",
            hint="convert the reproduced value to the register's unit",
        )
    if reproduced is None and found is None and not reason:
        raise ClaimRecordError(f"{where}: an unverifiable claim needs a reason", hint="pass reason='...'")
    reproduced = _finite(reproduced, f"{where}: reproduced value")
    check_claim_notes(claim, where)
    if found is not None:
        missing = {"value", "measure", "dataset"} - set(found)
        if missing:
            raise ClaimRecordError(f"{where}: 'found' needs {sorted(missing)}", hint="found={'value', 'measure', 'dataset'}")
        found = {**found, "value": _finite(found["value"], f"{where}: found value"),
                 "dataset": dataset_names([found["dataset"]], what=where)[0]}
        chain = origin_datasets(claim)
        if found["dataset"] not in chain:
            raise ClaimRecordError(
                f"{where}: 'found' names dataset {found['dataset']!r}, which is not in the claim's chain of origin "
                f"({', '.join(sorted(chain)) or 'the register records no origin dataset for it'})",
                hint="'found' is a number printed in the cited source, what it cites, or a publication the document "
                     "demonstrably reproduces (docs/verdict-policy.md): record that link under the claim's 'origin' in "
                     "claims/register.yml with its evidence, or pass the number as a lead (leads=[...])",
            )
        stated = claim["stated"].get("value")
        if stated is None or not agrees(float(stated), found["value"], claim["stated"].get("comparison", "="), claim["tolerance"]):
            raise ClaimRecordError(
                f"{where}: 'found' value {found['value']:g} does not match the stated {stated}",
                hint="'found' is the stated number itself, printed for another measure",
            )
    if earlier is not None:
        if "value" not in earlier or not ({"year", "date", "edition"} & set(earlier)):
            raise ClaimRecordError(f"{where}: 'earlier' needs a value and a year, date or edition")
        earlier = {**earlier, "value": _finite(earlier["value"], f"{where}: earlier value")}
    caveats = _notes(caveats, f"{where}: caveats")
    confidence = _notes(confidence, f"{where}: confidence")
    coverage = _notes(coverage, f"{where}: coverage")
    if qualifier is not None and not (isinstance(qualifier, str) and qualifier.strip()):
        raise ClaimRecordError(f"{where}: qualifier must be the source's own word(s) in front of the value, e.g. 'nearly'")
    leads = [_lead(lead, f"{where}: lead #{i + 1}") for i, lead in enumerate(leads or ())]
    used = dataset_names(datasets, what=where) if datasets else sorted({entry["dataset"] for entry in loaded})
    result = verdict(claim, reproduced, caveats=caveats, earlier=earlier, found=found)
    run = os.environ.get("CLAIMCHECK_RUN")
    is_check = run == f"{claim['check']['notebook']}/{claim['check'].get('parameters', 'default')}"
    if result == "unverifiable" and is_check and not claim.get("search"):
        raise ClaimRecordError(
            f"{where}: the claim is unverifiable under its check run, but the register has no search record for it",
            hint="add 'search: {class: no-public-record-expected | public-record-not-found, looked: [{where, found, why_not}, ...]}' "
                 "to the claim in claims/register.yml, saying where was looked and why it does not settle the claim",
        )
    search = claim.get("search")
    payload = {
        "claim": claim_id,
        "stated": claim["stated"].get("value"),
        "reproduced": reproduced,
        "unit": stated_unit,
        "verdict": result,
        "reading": reading or claim.get("reading"),
        "reference_date": reference_date(register, claim),
        "rationale": rationale,
        "title": claim.get("title"),
        "caveats": caveats,
        "confidence": confidence,
        "coverage": coverage,
        "qualifier": qualifier,
        "leads": leads,
        "origin": claim.get("origin") or [],
        "search": search,
        "unverifiable_class": search["class"] if result == "unverifiable" and search else None,
        "found": found,
        "earlier": earlier,
        "reason": reason,
        "figures": list(figures),
        "details": details or {},
        "datasets": used,
        "run": run,
    }
    json.dumps(payload)  # fail here, not in the build, if something is not serialisable
    shown = "—" if reproduced is None else f"{reproduced:g}"
    summary = f"**{claim_id}**: stated {claim['stated'].get('value')} {stated_unit or ''}, reproduced {shown} → **{result}**"
    from . import runlog

    runlog.append({"event": "claim"})
    display({MIME: payload, "text/markdown": summary, "text/plain": summary}, raw=True)
    return result


def _notes(notes, what: str) -> list[str]:
    """A list of non-empty note strings (one string is taken as a list of one)."""
    if isinstance(notes, str):
        notes = [notes]
    out = []
    for note in notes or ():
        if not (isinstance(note, str) and note.strip()):
            raise ClaimRecordError(f"{what}: every note must be a non-empty string, got {note!r}")
        out.append(note)
    return out


def _lead(lead, what: str) -> dict:
    """A lead: an uncited publication that prints a related number ({value, measure, dataset[, locator, note]})."""
    from .lookup import dataset_names

    if not isinstance(lead, dict) or {"value", "measure", "dataset"} - set(lead):
        raise ClaimRecordError(f"{what}: a lead needs 'value', 'measure' and 'dataset'",
                               hint="leads=[{'value': 15, 'measure': '...', 'dataset': 'source-id.table', 'locator': '...'}]")
    unknown = set(lead) - {"value", "measure", "dataset", "locator", "note"}
    if unknown:
        raise ClaimRecordError(f"{what}: unknown key(s) {sorted(unknown)}", hint="a lead has value, measure, dataset, locator, note")
    return {**lead, "value": _finite(lead["value"], f"{what}: value"), "dataset": dataset_names([lead["dataset"]], what=what)[0]}


def origin_datasets(claim: dict) -> set[str]:
    """The catalog datasets of a claim's chain of origin (the register's ``origin`` links)."""
    return {link["dataset"] for link in claim.get("origin") or () if isinstance(link, dict) and link.get("dataset")}


def check_claim_notes(claim: dict, where: str) -> None:
    """Check a claim's audit fields (title, stated qualifier, origin, leads, search; CONTRACTS section 1).

    Kept apart from the register loader: RegisterError naming the claim and field when one is malformed.
    """
    def fail(field: str, expected: str):
        raise RegisterError(f"claims/register.yml: {where}: {field} {expected}",
                            hint="see the register header and docs/verdict-policy.md")

    title = claim.get("title")
    if title is not None and not (isinstance(title, str) and title.strip() and len(title) <= TITLE_LIMIT):
        fail("title", f"must be a hand-written title of at most {TITLE_LIMIT} characters")
    qualifier = (claim.get("stated") or {}).get("qualifier")
    if qualifier is not None and not (isinstance(qualifier, str) and qualifier.strip()):
        fail("stated.qualifier", "must be the document's own qualifier word(s), e.g. 'nearly'")
    origin = claim.get("origin")
    if origin is not None:
        if not isinstance(origin, list):
            fail("origin", "must be a list of links")
        for i, link in enumerate(origin):
            if not isinstance(link, dict) or link.get("link") not in ORIGIN_LINKS:
                fail(f"origin #{i + 1}", f"needs 'link' (one of {', '.join(ORIGIN_LINKS)})")
            for key in ("source", "locator", "evidence"):
                if not (isinstance(link.get(key), str) and link[key].strip()):
                    fail(f"origin #{i + 1}", f"needs '{key}' (publisher, title, year; locator; why the link holds)")
    for i, lead in enumerate(claim.get("leads") or []):
        if not isinstance(lead, dict) or not all(isinstance(lead.get(k), str) and lead[k].strip() for k in ("source", "locator", "note")):
            fail(f"leads #{i + 1}", "needs 'source', 'locator' and 'note'")
    search = claim.get("search")
    if search is not None:
        if not isinstance(search, dict) or search.get("class") not in REASON_CLASSES:
            fail("search", f"needs 'class' (one of {', '.join(REASON_CLASSES)})")
        looked = search.get("looked")
        if not isinstance(looked, list) or not looked:
            fail("search.looked", "must list where was looked")
        for i, item in enumerate(looked):
            if not isinstance(item, dict) or not all(isinstance(item.get(k), str) and item[k].strip() for k in ("where", "found", "why_not")):
                fail(f"search.looked #{i + 1}", "needs 'where', 'found' and 'why_not'")


def _finite(value, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        try:
            import numpy as np

            if isinstance(value, np.number) and math.isfinite(float(value)):
                return float(value)
        except ImportError:
            pass
        raise ClaimRecordError(f"{what} {value!r} is not a finite number")
    return float(value)


def recorded_in(notebook_json: dict) -> list[dict]:
    """Claim records stored in an executed notebook, in cell order."""
    return payloads(notebook_json, MIME)
