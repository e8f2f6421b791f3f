"""Typed schemas of the project's own files: ``project.yml``, ``claims/register.yml``, ``claims/lock.json``
and the review records under ``reviews/`` (pydantic v2 models), and the one translation of a schema
failure into the project's wording: the file, the line, the field, what was expected.

The models only *check*: callers keep working on the parsed mappings (the register's claims stay the
dicts notebooks and templates read). Every model forbids unknown keys (with a "did you mean" for a
misspelt one) and is strict: ``"3"`` is no number, ``true`` is no number, a list is no title.

Imported lazily (pydantic costs a few hundred milliseconds to import): :func:`check` is called only
for a file version that was not validated before (see :func:`analysis.files.seen_valid`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Callable, Literal

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError, field_validator,
                      model_validator)
from pydantic_core import PydanticCustomError

from .names import did_you_mean
from .vocabulary import (COMPARISONS, DEFAULT_SET, KINDS, MAX_CELL_TIMEOUT, ORIGIN_LINKS, SEARCH_CLASSES, TITLE_LIMIT,
                         TOLERANCE_TYPES, VERDICTS, valid_timeout)

Number = Annotated[float, Field(allow_inf_nan=False)]
NonNegative = Annotated[float, Field(allow_inf_nan=False, ge=0)]
Text = Annotated[StrictStr, Field(min_length=1)]


class Strict(BaseModel):
    """Unknown keys refused (with close matches), no type coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data):
        if isinstance(data, dict):
            allowed = {f.alias or name for name, f in cls.model_fields.items()}
            unknown = [k for k in data if k not in allowed]
            if unknown:
                if len(unknown) == 1:
                    close = did_you_mean(unknown[0], sorted(allowed))
                else:  # one suggestion per misspelt key
                    guesses = [(k, did_you_mean(k, sorted(allowed), n=1)) for k in unknown]
                    close = ", ".join(f"{g.removeprefix('; did you mean ').removesuffix('?')} (for {k!r})"
                                      for k, g in guesses if g)
                    close = f"; did you mean {close}?" if close else ""
                raise PydanticCustomError("unknown_keys", "unknown key(s) {unknown}{close}",
                                          {"unknown": [str(k) for k in unknown], "close": close,
                                           "allowed": sorted(allowed)})
        return data


# project.yml -------------------------------------------------------------------------------------

class ConstraintSpec(Strict):
    """Extra checks on one parameter: ``choices``, ``min``, ``max``."""

    choices: list[Any] | None = Field(default=None, min_length=1)
    min: Number | None = None
    max: Number | None = None


class RuleSpec(Strict):
    """A condition over a notebook's parameters (and the data); its expressions must compile."""

    require: Text
    why: Text
    when: StrictStr | None = None

    @field_validator("require", "when")
    @classmethod
    def _compiles(cls, value, info):
        if value is not None:
            try:
                compile(value, f"<rule {info.field_name}>", "eval")
            except SyntaxError as exc:
                raise PydanticCustomError("rule_syntax", "rule {key} {expr} is not a valid expression: {why}",
                                          {"key": info.field_name, "expr": repr(value), "why": exc.msg}) from None
        return value


def _set_name(value: str) -> str:
    if not value or "/" in value:
        raise PydanticCustomError("set_name", "parameter set name {name} may not be empty or contain '/'",
                                  {"name": repr(value)})
    return value


class NotebookEntry(Strict):
    """One notebook of project.yml."""

    title: Text | None = None
    datasets: list[Text] | None = None
    parameter_sets: dict[StrictStr, dict[StrictStr, Any] | None] | None = None
    parameters: dict[StrictStr, ConstraintSpec] | None = None
    rules: list[RuleSpec] | None = None

    @field_validator("parameter_sets")
    @classmethod
    def _sets(cls, sets):
        if sets is None:
            return sets
        for name in sets:
            _set_name(name)
        if DEFAULT_SET not in sets:
            raise PydanticCustomError("default_set", "parameter_sets needs a {name} set", {"name": repr(DEFAULT_SET)})
        return sets


class ProjectFile(Strict):
    """project.yml: the report's title, the cell timeout and every notebook."""

    title: Text | None = None
    notebooks: dict[StrictStr, NotebookEntry]
    cell_timeout: Any = None

    @field_validator("cell_timeout")
    @classmethod
    def _timeout(cls, value):
        if value is not None and not valid_timeout(value):
            raise PydanticCustomError("cell_timeout", "cell_timeout must be a positive number of seconds, found {found} "
                                      "(accepted: more than 0 and at most {most})",
                                      {"found": repr(value), "most": MAX_CELL_TIMEOUT})
        return value


# claims/register.yml -------------------------------------------------------------------------------

class Document(Strict):
    citation: Text
    short: StrictStr | None = None
    note: StrictStr | None = None
    reference_date: StrictStr
    reference_date_basis: Text
    sha256: Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{64}$")] | None = None

    @field_validator("reference_date")
    @classmethod
    def _iso(cls, value):
        try:
            date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError("iso_date", "reference_date {value} is not an ISO date (YYYY-MM-DD)",
                                      {"value": repr(value)}) from None
        return value


def _year(value):
    if value is None or isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise PydanticCustomError("year_type", "expected a year (a whole number, or text such as '2016-17'), found {found}",
                              {"found": repr(value)})


class Stated(Strict):
    value: Number | None
    unit: StrictStr | None = None
    year: Annotated[Any, AfterValidator(_year)] = None
    comparison: Literal[COMPARISONS] = "="  # type: ignore[valid-type]
    measure: StrictStr | None = None
    date: StrictStr | None = None
    text: StrictStr | None = None
    qualifier: Text | None = None

    @field_validator("text")
    @classmethod
    def _words(cls, value):
        if value is not None and not value.strip():
            raise PydanticCustomError("stated_text", "stated.text must be the stated value in the document's own words "
                                      "(e.g. 'by the early 2030s'), as the report shows it")
        return value


class Tolerance(Strict):
    type: Literal[TOLERANCE_TYPES]  # type: ignore[valid-type]
    value: NonNegative | None = None
    unit: StrictStr | None = None
    why: StrictStr | None = None

    @model_validator(mode="after")
    def _complete(self):
        if self.type != "exact" and self.value is None:
            raise PydanticCustomError("tolerance_value", "a {kind} tolerance needs a numeric value (0 or more)",
                                      {"kind": self.type})
        if not (self.why or "").strip():
            raise PydanticCustomError("tolerance_why", "the tolerance needs a 'why' a reviewer can dispute")
        return self


class Check(Strict):
    notebook: Text
    parameters: Text = DEFAULT_SET


class OriginLink(Strict):
    link: Literal[ORIGIN_LINKS]  # type: ignore[valid-type]
    source: Text
    locator: Text
    dataset: Text | None = None
    evidence: Text


class Lead(Strict):
    source: Text
    locator: Text
    dataset: Text | None = None
    note: Text


class Looked(Strict):
    where: Text
    found: Text
    why_not: Text


class Search(Strict):
    class_: Literal[SEARCH_CLASSES] = Field(alias="class")  # type: ignore[valid-type]
    looked: list[Looked] = Field(min_length=1)


class Claim(Strict):
    id: Text
    document: Text
    section: StrictStr | None = None
    quote: Text
    stated: Stated
    source_given: StrictStr | None = None
    kind: Literal[KINDS] | None = None  # type: ignore[valid-type]
    reading: StrictStr | None = None
    check: Check
    tolerance: Tolerance
    topic: StrictStr | None = None
    note: StrictStr | None = None
    projection: StrictBool | None = None
    duplicate_of: StrictStr | None = None
    title: Annotated[StrictStr, Field(min_length=1, max_length=TITLE_LIMIT)] | None = None
    origin: list[OriginLink] | None = None
    leads: list[Lead] | None = None
    search: Search | None = None

    @field_validator("reading")
    @classmethod
    def _reading(cls, value):
        if value is not None and not value.strip():
            raise PydanticCustomError("reading", "'reading' must say, in words, the reading the claim is judged on")
        return value


class LeftOut(Strict):
    document: Text
    quote: Text
    why: Text


class RegisterFile(Strict):
    documents: dict[StrictStr, Document] | None = None
    claims: list[Claim]
    left_out: list[LeftOut] | None = None


# claims/lock.json ------------------------------------------------------------------------------------

class LockEntry(BaseModel):
    """What ``lock`` records per claim; keys written by newer versions are kept, known ones are typed."""

    model_config = ConfigDict(extra="allow", strict=True)

    stated: Number | None = None
    reproduced: Number | None = None
    verdict: Literal[VERDICTS]  # type: ignore[valid-type]
    run: StrictStr | None = None
    parameters: dict[StrictStr, Any] | None = None
    notebook_code_sha256: StrictStr | None = None
    data_sha256: dict[StrictStr, StrictStr] | None = None


class LockFile(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    claims: dict[StrictStr, LockEntry] = {}


# reviews/<notebook>/<set>/<label>/*.yml ------------------------------------------------------------------

class ReviewRecord(Strict):
    """One review of one figure, as ``review add`` writes it."""

    figure: Text
    reviewer: Text
    date: Text
    decision: Literal["approved", "changes-requested"]
    comment: StrictStr
    figure_sha256: StrictStr | None
    data_sha256: StrictStr | None = None
    datasets: dict[StrictStr, Any] | list[Any] | None = None  # the figure's datasets and their sha256s
    report_version: StrictStr | None = None


# Failures in the project's words --------------------------------------------------------------------------

EXPECTED = {
    "string_type": "text", "int_type": "a whole number", "float_type": "a number", "bool_type": "true or false",
    "dict_type": "a mapping", "model_type": "a mapping", "model_attributes_type": "a mapping", "list_type": "a list",
    "none_required": "nothing (null)",
}


def _found(value) -> str:
    if isinstance(value, (dict, list)):
        kind = "a mapping" if isinstance(value, dict) else "a list"
        text = repr(value)
        return f"{kind} {text[:60] + '...' if len(text) > 60 else text}"
    return f"{value!r} ({type(value).__name__})" if not isinstance(value, str) else repr(value)


CUSTOM = {"rule_syntax", "set_name", "default_set", "cell_timeout", "iso_date", "tolerance_value", "tolerance_why",
          "stated_text", "reading", "year_type"}


def describe(error: dict) -> str:
    """One pydantic error in the project's words: what was expected and what was found."""
    kind, ctx, found = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "missing":
        return f"missing {error['loc'][-1]!r}"
    if kind == "unknown_keys":
        return error["msg"]
    if kind in EXPECTED:
        return f"expected {EXPECTED[kind]}, found {_found(found)}"
    if kind == "literal_error":
        name = error["loc"][-1] if error["loc"] and isinstance(error["loc"][-1], str) else "the value"
        return f"{name} {found!r} is not one of {ctx.get('expected')}"
    if kind == "finite_number":
        return f"expected a finite number, found {found!r}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[kind]
        limit = next(iter(ctx.values()))
        return f"expected a number {bound} {limit:g}, found {found!r}"
    if kind in ("string_too_short", "too_short") and not found:
        return "must not be empty"
    if kind == "string_too_long":
        return f"at most {ctx.get('max_length')} characters, found {len(found)}"
    if kind == "string_pattern_mismatch":
        return f"expected text matching {ctx.get('pattern')}, found {_found(found)}"
    if kind in CUSTOM or ctx:
        return error["msg"]
    return f"{error['msg'].lower()}, found {_found(found)}"


def check(model: type[BaseModel], data, *, source: str, text: str | None, error: type[Exception],
          place: Callable[[tuple, Any], tuple[str, tuple]], hint: str | None = None, limit: int = 5) -> None:
    """Validate ``data`` (parsed from ``source``) against ``model``; raise ``error`` naming file, line and field.

    ``place(loc, data)`` turns an error location into (where, field path): e.g. ("claim #2 (x)",
    ("tolerance", "value")). ``text`` (the file's YAML) gives line numbers; JSON files have none.
    """
    try:
        model.model_validate(data)
        return
    except ValidationError as exc:
        errors = _unique(exc.errors(include_url=False))
    from .files import yaml_key_lines

    lines = yaml_key_lines(text) if text else {}
    problems = []
    for err in errors[:limit]:
        loc = tuple(err["loc"])
        if err["type"] == "unknown_keys":
            loc = loc + (err["ctx"]["unknown"][0],)
        elif err["type"] == "missing":
            pass
        where, field = place(tuple(p for p in loc if p != "[key]"), data)
        is_key = "[key]" in loc
        problem = describe(err)
        if err["type"] == "unknown_keys":
            field = field[:-1]
        elif err["type"] == "missing":
            field = field[:-1]
        if is_key:
            problem = f"the key {err.get('input')!r} must be text (quote it: '{err.get('input')}')" \
                if err["type"] == "string_type" else f"key: {problem}"
            field = field[:-1]
        line = _line(lines, loc)
        named = _field_text(field)
        if named and problem.startswith(named):  # the message names its field itself
            named = ""
        text_line = ": ".join(p for p in (source, where, named) if p) + f": {problem}"
        problems.append(text_line + (f" (line {line})" if line else ""))
    more = len(errors) - limit
    message = "\n    ".join(problems) + (f"\n    ... and {more} more" if more > 0 else "")
    first = errors[0]
    if first["type"] == "unknown_keys":
        hint = "allowed keys are " + ", ".join(first["ctx"]["allowed"])
    raise error(message, hint=hint) from None


def _field_text(field: tuple) -> str:
    """A field path as people read it: ``rules #1.require``, ``parameters.year.choices``."""
    text = ""
    for part in field:
        text += f" #{part + 1}" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _unique(errors: list[dict]) -> list[dict]:
    """One error per location (the first)."""
    seen, out = set(), []
    for err in errors:
        if tuple(err["loc"]) not in seen:
            seen.add(tuple(err["loc"]))
            out.append(err)
    return out


def _line(lines: dict[tuple, int], loc: tuple) -> int | None:
    path = tuple(str(p) if not isinstance(p, int) else p for p in loc if p != "[key]")
    while path:
        for candidate in (path, tuple(str(p) for p in path)):
            if candidate in lines:
                return lines[candidate]
        path = path[:-1]
    return None


# Where an error is, per file ---------------------------------------------------------------------------

def project_place(loc: tuple, data) -> tuple[str, tuple]:
    """project.yml: "notebook 'alpha'" and the field below it."""
    if len(loc) >= 2 and loc[0] == "notebooks":
        return f"notebook {loc[1]!r}", loc[2:]
    return "", loc


def register_place(loc: tuple, data) -> tuple[str, tuple]:
    """claims/register.yml: "claim #2 (usa-gerd-2020)", "document 'd'", "left_out #1", and the field."""
    if len(loc) >= 2 and loc[0] == "claims" and isinstance(loc[1], int):
        claim = data["claims"][loc[1]] if isinstance(data, dict) and isinstance(data.get("claims"), list) \
            and loc[1] < len(data["claims"]) else None
        name = claim.get("id", "no id") if isinstance(claim, dict) else claim
        return f"claim #{loc[1] + 1} ({name})", loc[2:]
    if len(loc) >= 2 and loc[0] == "documents":
        return f"document {loc[1]!r}", loc[2:]
    if len(loc) >= 2 and loc[0] == "left_out" and isinstance(loc[1], int):
        return f"left_out #{loc[1] + 1}", loc[2:]
    return "", loc


def lock_place(loc: tuple, data) -> tuple[str, tuple]:
    """claims/lock.json: "claim 'x'" and the field."""
    if len(loc) >= 2 and loc[0] == "claims":
        return f"claim {loc[1]!r}", loc[2:]
    return "", loc


def review_place(loc: tuple, data) -> tuple[str, tuple]:
    return "", loc
