"""Values in the words a reader uses: the stated value as the document states it, and what the data show.

One place for every number the report, the ledgers and the notebooks print as text:

* :func:`value_words` turns a value, its unit and its comparison (or the document's own qualifier)
  into words: ``69%``, ``about $22 billion``, ``at least 1,000``, ``first``, ``among the top three``,
  ``one day``, ``by 2034``, ``nearly 60``;
* :func:`stated_words` gives a register claim's stated value as its document states it (``69% (1960)``,
  ``the 1990s``, ``by the early 2030s``), from the register's ``stated`` fields;
* :func:`reproduced_words` gives what the data show for a ledger row, rounded to one decimal more
  than the document prints, or why there is no number;
* :func:`rounded` and :func:`fmt` format numbers (no exponent, no float noise).

``_build/ledger.csv``/``.json`` carry ``stated_text`` and ``reproduced_text`` from these functions, so
a reader of the ledger files sees the same words as a reader of the report.
"""

from __future__ import annotations

CARDINALS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine",
             10: "ten"}
ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", 6: "sixth", 7: "seventh", 8: "eighth",
            9: "ninth", 10: "tenth"}
#: the words in front of a value for each comparison of the register (``stated.comparison``)
COMPARISON_WORDS = {"=": "", "~": "about ", ">": "more than ", ">=": "at least ", "<": "less than ", "<=": "at most "}
#: units of time spans, singular: small whole numbers of them are written in words ("one day", "four years")
TIME_SPANS = {"days": "day", "weeks": "week", "months": "month", "years": "year"}


def fmt(value) -> str:
    """A number as a reader wants to see it (no exponent, no float noise); text is returned as it is."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = f"{value:.6g}"
    return f"{value:.2f}" if "e" in text else text


def number(value) -> str:
    """A number with thousands separators: '1,000', '22', '9.09', '1,821.5'."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if float(value).is_integer():
            return f"{int(value):,}"
        return f"{value:,.6g}" if abs(value) >= 1000 else fmt(value)
    return str(value)


def value_words(value, unit: str | None, *, comparison: str = "=", qualifier: str | None = None) -> str:
    """A value with its unit in words: '69%', 'about $22 billion', 'at least 1,000', 'first', 'one day'.

    ``qualifier`` is the document's (or the source's) own word in front of the value ("nearly",
    "over", "only", "~"); when given it replaces the words of ``comparison``.
    """
    if value is None:
        return "no number"
    unit = unit or ""
    whole = isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer()
    if unit == "rank" and whole:
        return _rank_words(int(value), comparison, qualifier)
    if unit == "percent":
        body = f"{number(value)}%"
    elif unit == "percentage points":
        body = f"{number(value)} percentage {'point' if value == 1 else 'points'}"
    elif unit.startswith("USD "):
        body = f"${number(value)} {unit[4:]}"
    elif unit == "count":
        body = number(value)
    elif unit in TIME_SPANS:
        single = TIME_SPANS[unit]
        if whole and int(value) in CARDINALS:
            body = f"{CARDINALS[int(value)]} {single if int(value) == 1 else unit}"
        else:
            body = f"{number(value)} {single if value == 1 else unit}"
    elif unit == "year":
        body = number(value).replace(",", "")
    else:
        body = f"{number(value)} {unit}".strip()
    return _lead(comparison, qualifier, unit) + body


def _lead(comparison: str, qualifier: str | None, unit: str) -> str:
    """The words in front of a value: the qualifier as printed, else those of the comparison."""
    if qualifier:
        qualifier = " ".join(str(qualifier).split())
        return qualifier if qualifier in ("~", "≈") else qualifier + " "
    if unit == "year" and comparison == "<=":
        return "by "
    if unit == "year" and comparison == ">=":
        return "in or after "
    return COMPARISON_WORDS.get(comparison or "=", f"{comparison} ")


def _rank_words(rank: int, comparison: str, qualifier: str | None) -> str:
    """'first', 'third', 'among the top three', 'about fifth'."""
    ordinal = ORDINALS.get(rank, f"number {rank}")
    if qualifier:
        return f"{' '.join(str(qualifier).split())} {ordinal}"
    if comparison in ("<=", "<"):
        top = rank if comparison == "<=" else rank - 1
        if top <= 1:
            return "first"
        return f"among the top {CARDINALS.get(top, str(top))}"
    if comparison in (">=", ">"):
        return f"{ordinal} or lower" if comparison == ">=" else f"below {ordinal}"
    return _lead(comparison, None, "rank") + ordinal


def rounded(value, stated, unit: str | None = None):
    """``value`` to one decimal more than ``stated`` is printed with (as many for counts, years, ranks)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return value
    text = fmt(stated) if isinstance(stated, (int, float)) and not isinstance(stated, bool) else ""
    decimals = len(text.partition(".")[2]) if "." in text else 0
    if unit not in ("count", "year", "rank"):
        decimals += 1
    out = round(float(value), decimals)
    return int(out) if out.is_integer() else out


def stated_words(claim: dict, row: dict | None = None) -> str:
    """The stated value as the document states it: '69% (1960)', 'nearly 60', 'the 1990s', 'one day (2024)'.

    The register's optional ``stated.text`` wins; a period encoded as its midpoint with an absolute
    tolerance of half its width (a decade) is named as the decade; otherwise the value, unit and
    the document's qualifier (``stated.qualifier``, else the comparison) in words, with the year the
    value refers to in brackets. ``row`` (a ledger row) fills in what ``claim`` lacks.
    """
    stated = dict((claim or {}).get("stated") or {})
    if row is not None:
        for key, row_key in (("value", "stated"), ("unit", "unit"), ("comparison", "comparison"), ("year", "year")):
            if stated.get(key) is None and row.get(row_key) is not None:
                stated[key] = row.get(row_key)
    if stated.get("text"):
        return " ".join(str(stated["text"]).split())
    value, unit, comparison = stated.get("value"), stated.get("unit"), stated.get("comparison") or "="
    decade = _decade(value, unit, (claim or {}).get("tolerance") or {})
    if decade:
        return decade
    text = value_words(value, unit, comparison=comparison, qualifier=stated.get("qualifier"))
    year = stated.get("year")
    if year is not None and unit != "year":
        text += f" ({year})"
    return text


def _decade(value, unit, tolerance: dict) -> str | None:
    """'the 1990s' for a year midpoint 1994.5 with an absolute tolerance of 4.5; None otherwise."""
    if unit != "year" or value is None or tolerance.get("type") != "absolute":
        return None
    half = float(tolerance.get("value") or 0)
    lo, hi = float(value) - half, float(value) + half
    if lo.is_integer() and hi - lo == 9 and int(lo) % 10 == 0:
        return f"the {int(lo)}s"
    return None


def reproduced_words(row: dict) -> str:
    """What the data show for a ledger row, in words: '34.7%', 'one day', or why there is no number
    ('no data', 'no data for it; the number is <the measure it really is>')."""
    unit = row.get("unit")
    if row.get("reproduced") is not None:
        return value_words(rounded(row["reproduced"], row.get("stated"), unit), unit, qualifier=row.get("qualifier"))
    found = row.get("found")
    if found:
        return f"no data for it; the number is {found.get('measure') or 'another measure'}"
    return "no data"


def earlier_words(row: dict) -> str | None:
    """An outdated claim's earlier value, when it held and where it is printed: '28% (2019; SEI 2022)',
    or None when the record has none."""
    earlier = row.get("earlier")
    if not isinstance(earlier, dict) or earlier.get("value") is None:
        return None
    where = [str(x) for x in (earlier.get("date") or earlier.get("year"), earlier.get("edition")) if x]
    value = value_words(rounded(earlier["value"], row.get("stated"), row.get("unit")), row.get("unit"))
    return f"{value} ({'; '.join(where)})" if where else value

