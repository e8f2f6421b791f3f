"""The claims register and verdicts.

Notebooks call :func:`record` with the value they reproduced for a registered claim. The verdict is
computed here, in one place, from the register's stated value, comparison and tolerance, plus any
caveat the notebook states explicitly:

* ``unverifiable``            no value could be reproduced from public data (a reason is required);
* ``reproduced``              the reproduced value agrees with the stated one within tolerance;
* ``reproduced-with-caveat``  it agrees, but the notebook records that the label, measure, year or
                              source attribution does not;
* ``outdated``                it disagrees, but the notebook shows the stated value was true for an
                              earlier year or edition;
* ``not-reproduced``          the data contradict it.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from .errors import ClaimRecordError, RegisterError
from .paths import Layout

MIME = "application/vnd.claimcheck.claim+json"
VERDICTS = ("reproduced", "reproduced-with-caveat", "outdated", "not-reproduced", "unverifiable")
COMPARISONS = ("=", "~", ">", ">=", "<", "<=")
TOLERANCE_TYPES = ("absolute", "relative", "exact")


@dataclass(frozen=True)
class Register:
    """The parsed, checked claims register."""

    path: Path
    documents: dict[str, dict]
    claims: dict[str, dict]

    @classmethod
    def load(cls, layout: Layout | None = None) -> "Register":
        layout = layout or Layout.find()
        return _load_register(str(layout.register))

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


@lru_cache(maxsize=4)
def _load_register(path: str) -> Register:
    p = Path(path)
    if not p.is_file():
        raise RegisterError(f"{p} does not exist", hint="restore claims/register.yml from git")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RegisterError(f"{p.name} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("claims"), list):
        raise RegisterError(f"{p.name}: expected a mapping with 'documents' and a 'claims' list")
    documents = raw.get("documents") or {}
    claims: dict[str, dict] = {}
    for i, claim in enumerate(raw["claims"]):
        where = f"{p.name}: claim #{i + 1} ({claim.get('id', 'no id') if isinstance(claim, dict) else claim!r})"
        if not isinstance(claim, dict):
            raise RegisterError(f"{where}: expected a mapping")
        for key in ("id", "document", "quote", "stated", "check", "tolerance"):
            if key not in claim:
                raise RegisterError(f"{where}: missing {key!r}")
        if claim["id"] in claims:
            raise RegisterError(f"{where}: duplicate claim id {claim['id']!r}", hint="claim ids must be unique")
        if claim["document"] not in documents:
            raise RegisterError(f"{where}: unknown document {claim['document']!r}")
        check = claim["check"]
        if not isinstance(check, dict) or not check.get("notebook"):
            raise RegisterError(f"{where}: 'check' needs a notebook (and a parameter set)")
        check.setdefault("parameters", "default")
        stated = claim["stated"]
        if not isinstance(stated, dict) or "value" not in stated:
            raise RegisterError(f"{where}: 'stated' needs a value (null if the claim has no number)")
        if stated.get("comparison", "=") not in COMPARISONS:
            raise RegisterError(f"{where}: comparison must be one of {COMPARISONS}")
        tol = claim["tolerance"]
        if not isinstance(tol, dict) or tol.get("type") not in TOLERANCE_TYPES:
            raise RegisterError(f"{where}: tolerance type must be one of {TOLERANCE_TYPES}")
        if tol["type"] != "exact" and not isinstance(tol.get("value"), (int, float)):
            raise RegisterError(f"{where}: a {tol['type']} tolerance needs a numeric value")
        if not tol.get("why"):
            raise RegisterError(f"{where}: the tolerance needs a 'why' a reviewer can dispute")
        if claim.get("duplicate_of") and claim["duplicate_of"] not in {c.get("id") for c in raw["claims"]}:
            raise RegisterError(f"{where}: duplicate_of names unknown claim {claim['duplicate_of']!r}")
        claims[claim["id"]] = claim
    return Register(p, documents, claims)


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


def verdict(claim: dict, reproduced: float | None, *, caveats=(), earlier: dict | None = None) -> str:
    """The verdict for ``claim`` given what a notebook reproduced (see the module docstring)."""
    stated = claim["stated"].get("value")
    if reproduced is None or stated is None:
        return "unverifiable"
    comparison = claim["stated"].get("comparison", "=")
    if agrees(float(stated), float(reproduced), comparison, claim["tolerance"]):
        return "reproduced-with-caveat" if caveats else "reproduced"
    if earlier is not None and agrees(float(stated), float(earlier["value"]), comparison, claim["tolerance"]):
        return "outdated"
    return "not-reproduced"


def record(
    claim_id: str,
    reproduced: float | None,
    *,
    unit: str | None = None,
    rationale: str,
    caveats: list[str] | tuple = (),
    earlier: dict | None = None,
    reason: str | None = None,
    figures: list[str] | tuple = (),
    details: dict | None = None,
):
    """Record the reproduced value of a registered claim in the executed notebook; return the verdict.

    ``reproduced`` is in the register's unit for the claim (``unit`` must match it when given) or
    None when no public data could be reached, in which case ``reason`` says why and what would
    settle it. ``caveats`` are explicit statements of what does not match (label, measure, year,
    source attribution). ``earlier`` = {"value", "year" or "edition", "source"} shows when the stated
    value was true. ``figures`` are labels of the figures that show the evidence.
    """
    from IPython.display import display

    from .catalog import loaded

    register = Register.load()
    claim = register.claim(claim_id)
    stated_unit = claim["stated"].get("unit")
    if unit is not None and stated_unit is not None and unit != stated_unit:
        raise ClaimRecordError(
            f"claim {claim_id}: reproduced value given in {unit!r} but the register states {stated_unit!r}",
            hint="convert the reproduced value to the register's unit",
        )
    if reproduced is None and not reason:
        raise ClaimRecordError(f"claim {claim_id}: an unverifiable claim needs a reason", hint="pass reason='...'")
    if reproduced is not None:
        if isinstance(reproduced, bool) or not isinstance(reproduced, (int, float)) or not math.isfinite(reproduced):
            raise ClaimRecordError(f"claim {claim_id}: reproduced value {reproduced!r} is not a finite number")
        reproduced = float(reproduced)
    if earlier is not None and "value" not in earlier:
        raise ClaimRecordError(f"claim {claim_id}: 'earlier' needs a value (and a year or edition)")
    if isinstance(caveats, str):
        caveats = [caveats]
    result = verdict(claim, reproduced, caveats=caveats, earlier=earlier)
    payload = {
        "claim": claim_id,
        "stated": claim["stated"].get("value"),
        "reproduced": reproduced,
        "unit": stated_unit,
        "verdict": result,
        "rationale": rationale,
        "caveats": list(caveats),
        "earlier": earlier,
        "reason": reason,
        "figures": list(figures),
        "details": details or {},
        "datasets": sorted({entry["dataset"] for entry in loaded}),
        "run": os.environ.get("CLAIMCHECK_RUN"),
    }
    json.dumps(payload)  # fail here, not in the build, if something is not serialisable
    shown = "—" if reproduced is None else f"{reproduced:g}"
    summary = f"**{claim_id}**: stated {claim['stated'].get('value')} {stated_unit or ''}, reproduced {shown} → **{result}**"
    from . import runlog

    runlog.append({"event": "claim"})
    display({MIME: payload, "text/markdown": summary, "text/plain": summary}, raw=True)
    return result


def recorded_in(notebook_json: dict) -> list[dict]:
    """Claim records stored in an executed notebook, in cell order."""
    found = []
    for cell in notebook_json.get("cells", []):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if MIME in data:
                found.append(data[MIME])
    return found
