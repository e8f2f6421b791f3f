"""Adding a claim to ``claims/register.yml`` without hand-editing YAML (``claims add``).

The entry is rendered from a Jinja2 template (``templates/register/claim.yml.j2``) in the register's
own layout and inserted as text after the last claim of the same document, so every comment, blank line
and flow mapping of the file stays byte for byte (a YAML round-trip would re-flow them). Before the
file is written, the new text is parsed again: the entry must read back as exactly the claim given,
every other entry unchanged, no anchors or aliases; afterwards the register must load with the
project's own checks, or the old file is put back.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from .claims import COMPARISONS, KINDS, TOLERANCE_TYPES, Register
from .errors import RegisterError
from .files import atomic_write_bytes, parse_yaml
from .paths import Layout
from .vocabulary import TITLE_LIMIT  # one limit for the register, its schema and claims add

TEMPLATES = Path(__file__).parent / "templates"
CLAIM_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\- /]*(?<! )$")


def yaml_scalar(value) -> str:
    """A YAML value as the register writes it: plain where that reads back the same, else double quoted
    (JSON's string syntax is valid YAML); mappings in flow style, as the register's stated/check/tolerance."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {yaml_scalar(v)}" for k, v in value.items()) + "}"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RegisterError(f"{value!r} is not a finite number")
        return str(int(value)) if value.is_integer() else repr(value)
    text = str(value)
    if _PLAIN.match(text) and parse_yaml(text) == text:
        return text
    return json.dumps(text, ensure_ascii=False)


def render_entry(claim: dict) -> str:
    """The claim's register entry as text (ends with a newline)."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, autoescape=False)  # noqa: S701 - YAML, not HTML
    env.filters["yaml"] = yaml_scalar
    return env.get_template("register/claim.yml.j2").render(claim=claim).strip("\n") + "\n"


@dataclass
class NewClaim:
    """What ``add_claim`` wrote."""

    claim: dict
    text: str
    after: str | None          # the claim it was inserted after (None: first of its document, at the end)
    notes: list[str] = field(default_factory=list)


def build_claim(register: Register, project, *, claim_id: str, title: str, document: str, section: str, quote: str,
                value, unit: str, year, comparison: str, measure: str, kind: str, reading: str, notebook: str,
                parameters: str, tolerance: str, tolerance_value, tolerance_unit: str | None, why: str,
                source_given: str | None = None, topic: str | None = None, text: str | None = None,
                note: str | None = None) -> dict:
    """The register entry for a new claim, after every check a reviewer would make of it by hand."""
    from .names import did_you_mean

    where = f"claim {claim_id}"
    if not CLAIM_ID.match(claim_id):
        raise RegisterError(f"claim id {claim_id!r} is not kebab-case", hint="e.g. us-share-basic-research-1960")
    if claim_id in register.claims:
        raise RegisterError(f"claim id {claim_id!r} is already in claims/register.yml",
                            hint="claim ids are unique: choose another, or edit the existing entry")
    if document not in register.documents:
        raise RegisterError(f"{where}: unknown document {document!r}{did_you_mean(document, register.documents)}",
                            hint="known documents: " + ", ".join(register.documents))
    if notebook not in project.notebooks:
        raise RegisterError(f"{where}: no notebook {notebook!r} in project.yml{did_you_mean(notebook, project.notebooks)}",
                            hint="known notebooks: " + ", ".join(project.notebooks))
    sets = project.notebooks[notebook].parameter_sets
    if parameters not in sets:
        raise RegisterError(f"{where}: notebook {notebook!r} has no parameter set {parameters!r}"
                            f"{did_you_mean(parameters, sets)}", hint="known sets: " + ", ".join(sets))
    if not title.strip() or len(title) > TITLE_LIMIT:
        raise RegisterError(f"{where}: the title must be 1 to {TITLE_LIMIT} characters, found {len(title)}",
                            hint="a short title in sentence case, e.g. 'U.S. share of global basic research, 1960'")
    for label, given in (("quote", quote), ("section", section), ("measure", measure), ("reading", reading), ("why", why)):
        if not str(given).strip():
            raise RegisterError(f"{where}: {label} may not be empty")
    for label, given, allowed in (("kind", kind, KINDS), ("comparison", comparison, COMPARISONS),
                                  ("tolerance", tolerance, TOLERANCE_TYPES)):
        if given not in allowed:
            raise RegisterError(f"{where}: --{label} {given!r} is not one of {', '.join(allowed)}"
                                f"{did_you_mean(given, allowed)}")
    if tolerance != "exact" and tolerance_value is None:
        raise RegisterError(f"{where}: a {tolerance} tolerance needs --tolerance-value",
                            hint="e.g. --tolerance absolute --tolerance-value 0.5 --tolerance-unit 'percentage points'")
    stated = {"value": value, "unit": unit, "year": year, "comparison": comparison, "measure": measure}
    if text:
        stated = {"text": text, **stated}
    tol = {"type": tolerance}
    if tolerance != "exact":
        tol["value"] = tolerance_value
    if tolerance_unit:
        tol["unit"] = tolerance_unit
    tol["why"] = why
    claim = {"id": claim_id, "title": title, "document": document, "section": section, "quote": quote,
             "stated": stated, "source_given": source_given, "kind": kind, "reading": reading,
             "check": {"notebook": notebook, "parameters": parameters}, "tolerance": tol}
    if topic:
        claim["topic"] = topic
    if note:
        claim["note"] = note
    return claim


def insertion_point(text: str, raw: dict, document: str) -> tuple[int, str | None]:
    """Line index at which a new claim of ``document`` goes (after that document's last claim, else at the
    end of the claims list), and the id it follows."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(r"^claims:\s*(#.*)?$", line)), None)
    if start is None:
        raise RegisterError("claims/register.yml has no top-level 'claims:' line to add to")
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^[^\s#]", lines[i])), len(lines))
    items = [i for i in range(start + 1, end) if re.match(r"^  - ", lines[i])]
    claims = raw.get("claims") or []

    def back_over_blanks(i: int) -> int:
        while i > start + 1 and (not lines[i - 1].strip() or lines[i - 1].lstrip().startswith("#")):
            i -= 1
        return i

    if len(items) == len(claims):
        mine = [k for k, c in enumerate(claims) if isinstance(c, dict) and c.get("document") == document]
        if mine:
            k = mine[-1]
            stop = items[k + 1] if k + 1 < len(items) else end
            return back_over_blanks(stop), claims[k].get("id")
    return back_over_blanks(end), (claims[-1].get("id") if claims else None)


def add_claim(layout: Layout, claim: dict) -> NewClaim:
    """Insert ``claim`` into claims/register.yml (see the module docstring); return what was written."""
    path = layout.register
    before = path.read_bytes()
    text = before.decode("utf-8")
    raw = parse_yaml(text)
    entry = render_entry(claim)
    at, after = insertion_point(text, raw, claim["document"])
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n") and at == len(lines):
        lines[-1] += "\n"
    spaced = any(not lines[i - 1].strip() for i, line in enumerate(lines) if i and line.startswith("  - id:"))
    block = ("\n" if spaced and at and lines[at - 1].strip() and not lines[at - 1].rstrip().endswith("claims:") else "") + entry
    if spaced and at < len(lines) and lines[at].strip():
        block += "\n"
    new_text = "".join(lines[:at]) + block + "".join(lines[at:])
    if has_anchors(entry):
        raise RegisterError("internal: the rendered entry would contain a YAML anchor or alias; nothing was changed")
    parsed = parse_yaml(new_text)
    written = [c for c in parsed.get("claims", []) if isinstance(c, dict) and c.get("id") == claim["id"]]
    others_before = [c for c in raw.get("claims", [])]
    others_after = [c for c in parsed.get("claims", []) if not (isinstance(c, dict) and c.get("id") == claim["id"])]
    if written != [claim] or others_after != others_before or {k: v for k, v in parsed.items() if k != "claims"} != \
            {k: v for k, v in raw.items() if k != "claims"}:
        raise RegisterError("internal: the new register entry did not read back as written; nothing was changed",
                            hint="run the command again with --debug and report it")
    atomic_write_bytes(path, new_text.encode("utf-8"))
    try:
        _reload(layout)
    except Exception:
        atomic_write_bytes(path, before)
        raise
    return NewClaim(claim, entry, after)


def has_anchors(text: str) -> bool:
    """Does YAML ``text`` define an anchor or use an alias?"""
    import yaml

    return any(isinstance(e, yaml.AliasEvent) or getattr(e, "anchor", None) for e in yaml.parse(text))


def _reload(layout: Layout) -> Register:
    """Load the register afresh with the project's own checks (the loader keeps parsed registers by path)."""
    from . import claims as claims_module

    clear = getattr(getattr(claims_module, "_load_register", None), "cache_clear", None)
    if clear is not None:
        clear()
    return Register.load(layout)
