"""Turn a publisher's rows into the table's CSV: the ``columns`` and ``where`` of a refresh spec.

``columns`` maps each table column to a rule: ``{"from": RESPONSE_COLUMN}``, optionally with
``"codes"`` (publisher code -> table value, e.g. ``{"EU27_2020": "EU27"}``) and ``"multiplier"``
(e.g. ``0.001`` for millions -> billions, ``0.01`` for percent -> fraction), or ``{"value": CONSTANT}``
(a unit, a measure name, a locator). Multipliers are applied in decimal arithmetic, so a published
``806013.4`` million becomes ``806.0134`` billion, not ``806.0134000000001``. ``where`` keeps only the
rows whose response columns have the given value(s). Rows without a value are left out (a value the
publisher did not publish is not data). Rows are written sorted by the schema's primary key.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation

from ..errors import RefreshError

EMPTY = {"", "NaN", "nan", "NA", ":", ".."}


def _matches(row: dict, where: dict) -> bool:
    for column, wanted in where.items():
        allowed = wanted if isinstance(wanted, list) else [wanted]
        if row.get(column) not in allowed:
            return False
    return True


def _scaled(text: str, multiplier, context: str) -> str:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        raise RefreshError(f"{context}: {text!r} is not a number") from None
    number = number * Decimal(str(multiplier))
    out = format(number.normalize(), "f")
    return "0" if out in ("-0", "") else out


def to_table(rows: list[dict], columns_in_response: list[str], spec: dict, schema: dict, *, source: str) -> bytes:
    """The table's CSV bytes (UTF-8, ``\\n`` line ends, the schema's column order) from publisher rows."""
    fields = [f["name"] for f in schema["fields"]]
    types = {f["name"]: f.get("type", "string") for f in schema["fields"]}
    rules = spec.get("columns")
    if rules is None:  # the publisher's file already has the table's columns
        rules = {name: {"from": name} for name in fields if name in columns_in_response}
    unknown = [c for c in rules if c not in fields]
    if unknown:
        raise RefreshError(f"{source}: refresh.columns names {', '.join(unknown)}, which the table's schema does not have "
                           f"(its columns: {', '.join(fields)})", hint="fix refresh.columns in data/datapackage.json")
    wanted = {rule["from"] for rule in rules.values() if "from" in rule} | set(spec.get("where") or {})
    missing = sorted(c for c in wanted if c not in columns_in_response)
    if missing:
        raise RefreshError(f"{source}: the response has no column {', '.join(missing)} (its columns: "
                           f"{', '.join(columns_in_response) or 'none'}); the publisher may have changed its format",
                           hint="compare the staged response with refresh.columns / refresh.where in data/datapackage.json")
    value_column = "value" if "value" in rules else None
    out_rows = []
    where = spec.get("where") or {}
    for number, row in enumerate(rows, start=1):
        if where and not _matches(row, where):
            continue
        out = {}
        for column, rule in rules.items():
            if "value" in rule:
                out[column] = str(rule["value"])
                continue
            text = (row.get(rule["from"]) or "").strip()
            if text in EMPTY:
                out[column] = ""
                continue
            if "codes" in rule:
                text = str(rule["codes"].get(text, text))
            if "multiplier" in rule:
                text = _scaled(text, rule["multiplier"], f"{source}, response row {number}, column {rule['from']}")
            out[column] = text
        if value_column and out.get(value_column, "") == "":
            continue
        out_rows.append(out)
    if not out_rows:
        raise RefreshError(f"{source}: the response has no rows with a value"
                           + (f" matching refresh.where {where}" if where else ""),
                           hint="check the query and refresh.where in data/datapackage.json; the publisher may have "
                                "renamed its codes")
    key = schema.get("primaryKey") or fields
    key = [key] if isinstance(key, str) else list(key)

    def sort_key(r):
        parts = []
        for k in key:
            v = r.get(k, "")
            if types.get(k) in ("integer", "number", "year"):
                try:
                    parts.append((0, float(v), ""))
                    continue
                except ValueError:
                    pass
            parts.append((1, 0.0, v))
        return parts

    out_rows.sort(key=sort_key)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(fields)
    for r in out_rows:
        writer.writerow([r.get(f, "") for f in fields])
    return buffer.getvalue().encode("utf-8")
