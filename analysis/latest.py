"""What the latest data say: one line per claim, beside the verdict at the document's date.

A notebook whose data have a refreshable series (``data refresh``, docs/refresh.md) has a ``latest``
parameter set. Its run reads the newest snapshot of the series (``analysis.catalog.newest``) and
records, per claim, a line such as "OECD MSTI (retrieved 2026-12-06): U.S. share of MSTI-area GERD
2023 = 29.4%". The verdict stays the one at the document's date; the line is shown next to it in the
claim's section and in the ledger (``analysis.report``). Before the first refresh the newest member of
a series is the transcribed table itself, and the line says which release that is.

The computations are small and in the open here so that every notebook computes them the same way;
the notebook shows the rows they use.
"""

from __future__ import annotations

import re

from .catalog import Catalog
from .cells import payloads

MIME = "application/vnd.claimcheck.latest+json"
AGGREGATES = {"WLD", "EU27", "EU28", "EU", "OECD", "MSTI", "TOP5", "AMERICAS", "ROW"}


def _short(title: str) -> str:
    """A title's own short name: its last parenthesis ("SEI 2024 Table SRD-1", "MSTI"), else the title."""
    match = re.search(r"\(([^()]+)\)\s*$", title)
    return match.group(1) if match else title


def release(dataset: str, *, layout=None) -> str:
    """Which release a dataset is, in a few words: "OECD MSTI, retrieved 2026-12-06" for a snapshot,
    "SEI 2024 Table SRD-1 (the newest release of this table in the catalog; ...)" for a transcribed table."""
    entry = Catalog.read_only(layout).entry(dataset)
    obtained = entry.get("obtained", {})
    if obtained.get("method") == "downloaded":
        source = entry["sources"][0]
        updated = f"; {obtained['release']}" if obtained.get("release") else ""
        return f"{source.get('publisher', '')} {_short(source['title'])}, retrieved {obtained.get('accessed')}{updated}".strip()
    return f"{_short(entry['title'])} (the newest release of this table in the catalog; not yet refreshed from the publisher)"


def area_share(frame, entity: str, *, measure: str = "gerd", label: str = "MSTI-area GERD") -> dict:
    """``entity``'s share of the sum over the table's economies (aggregates such as EU27 and OECD left
    out) in the latest year the entity reports; how many economies that sum covers is part of the line."""
    dataset = frame.attrs.get("dataset", "")
    rows = frame[(frame["measure"] == measure) & ~frame["entity"].isin(AGGREGATES)]
    years = rows.loc[rows["entity"] == entity, "year"]
    if years.empty:
        return {"dataset": dataset, "value": None, "text": f"{release(dataset)}: no {measure} for {entity}"}
    year = int(years.max())
    that_year = rows[rows["year"] == year]
    total = float(that_year["value"].sum())
    share = 100 * float(that_year.loc[that_year["entity"] == entity, "value"].iloc[0]) / total
    n = int(that_year["entity"].nunique())
    earlier = ""
    if "data_year" in that_year.columns:
        late = int((that_year["data_year"] < year).sum())
        earlier = f", {late} with data for an earlier year" if late else ""
    name = {"USA": "U.S.", "CHN": "China's"}.get(entity, entity)
    text = (f"{release(dataset)}: {name} share of {label} {year} = {share:.1f}% "
            f"({n} economies{earlier})")
    return {"dataset": dataset, "value": round(share, 2), "unit": "percent", "year": year, "text": text,
            "short": f"{share:.1f}% ({year})"}


def first_year_above(frame, entity: str, other: str, *, measure: str = "gerd") -> dict:
    """The first year ``entity``'s value exceeds ``other``'s in the table (None if it never does)."""
    dataset = frame.attrs.get("dataset", "")
    rows = frame[frame["measure"] == measure].pivot_table(index="year", columns="entity", values="value")
    both = rows[[entity, other]].dropna() if {entity, other} <= set(rows.columns) else rows.iloc[0:0]
    above = both[both[entity] > both[other]]
    names = {"CHN": "China", "EU27": "the EU-27", "USA": "the U.S."}
    a, b = names.get(entity, entity), names.get(other, other)
    if both.empty:
        return {"dataset": dataset, "value": None, "text": f"{release(dataset)}: no year with both {a} and {b}"}
    if above.empty:
        return {"dataset": dataset, "value": None,
                "text": f"{release(dataset)}: {a}'s GERD does not exceed {b}'s in any year up to {int(both.index.max())}",
                "short": f"not by {int(both.index.max())}"}
    year = int(above.index.min())
    return {"dataset": dataset, "value": year, "unit": "year", "year": year, "short": str(year),
            "text": f"{release(dataset)}: {a}'s GERD first exceeds {b}'s in {year} "
                    f"({above.loc[year, entity]:g} vs {above.loc[year, other]:g} {frame['unit'].iloc[0]})"}


def record(claim_id: str, line: dict) -> dict:
    """Show the line and store it in the executed notebook for the report (like ``claims.record``)."""
    from IPython.display import Markdown, display

    payload = {"claim": claim_id, **line}
    display(Markdown(f"**{claim_id}**, latest data: {line['text']}."), )
    display({MIME: payload, "text/plain": f"latest data for {claim_id}: {line['text']}"}, raw=True)
    return payload


def recorded_in(notebook_json: dict) -> dict[str, dict]:
    """Latest-data lines stored in an executed notebook, by claim id."""
    return {payload["claim"]: payload for payload in payloads(notebook_json, MIME)}
