"""Exchange rates that publications print themselves: a euro amount with its dollar equivalent.

The catalog has no exchange-rate table. Where a publication prints "EUR 18 billion ($22 billion)", the
ratio is the rate it used; notebooks convert euros only at such a rate, and name it. Cost tables carry
the printed equivalent in a ``usd_equivalent_as_published`` column next to ``value`` (the euros).
"""

from __future__ import annotations

from .errors import LookupFailed
from .units import Rate, rate_from_pair

COLUMNS = ["source", "year", "measure", "value", "usd_equivalent_as_published"]


def printed(table):
    """The rows of a stacked cost table that print a dollar equivalent, with ``usd_per_eur``, by year."""
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise LookupFailed(f"cannot read printed EUR/USD pairings: the table has no column(s) {missing}",
                           hint="stack the cost tables with analysis.lookup.stack (it adds 'source')")
    pairs = table[table["usd_equivalent_as_published"].notna()][COLUMNS].copy()
    pairs["usd_per_eur"] = pairs["usd_equivalent_as_published"] / pairs["value"]
    return pairs.sort_values("year").reset_index(drop=True)


def choices(pairs) -> list[str]:
    """The values a ``eur_usd_pairing`` parameter may take: each publication, or lowest / highest."""
    return sorted(pairs["source"].unique()) + ["lowest", "highest"]


def rate(pairs, choice: str, labels: dict | None = None) -> Rate:
    """The EUR -> USD rate of one publication's printed pairing (its largest euro amount if it prints
    several), or the ``lowest`` / ``highest`` of all; the Rate's source names the publication and pair."""
    if choice in ("lowest", "highest"):
        row = pairs.loc[pairs["usd_per_eur"].idxmin() if choice == "lowest" else pairs["usd_per_eur"].idxmax()]
    else:
        mine = pairs[pairs["source"] == choice]
        if mine.empty:
            raise LookupFailed(f"no printed EUR/USD pairing from {choice!r}", hint=f"choose one of {choices(pairs)}")
        row = mine.sort_values("value").iloc[-1]
    name = (labels or {}).get(row["source"], row["source"])
    return rate_from_pair(row["value"], row["usd_equivalent_as_published"], "EUR", "USD",
                          f"{name}: EUR {row['value']:g}bn = ${row['usd_equivalent_as_published']:g}bn")
