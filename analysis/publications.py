"""Publication labels for figure axes and legends: "Publisher (year)" instead of source ids.

Figures for print name publications, never source ids (docs/notebook-shape.md). A source id names
the original publication (``<source-id>`` of a dataset address); its catalog entry's first source
gives the publisher and year. Two publications of one publisher and year are told apart the way
author-year citations do it: "Physics Today (2016a)", "Physics Today (2016b)".
"""

from __future__ import annotations

import re

from .errors import LookupFailed

#: Where a publisher's name stops for a label: a parenthesis, a volume number, a comma.
_SHORT = re.compile(r"\s+\(|\s+\d+\(|,\s")


def labels(names, *, layout=None) -> dict[str, str]:
    """``{source_id: "Publisher (year)"}`` for source ids or dataset names (``source-id.table``).

    The keys are the source ids (the part before the dot). Same publisher and year get a letter
    suffix in the order of the source ids, so every label names one publication.
    """
    from .catalog import Catalog

    catalog = Catalog.read_only(layout)
    by_source: dict[str, dict] = {}
    for name, entry in catalog.resources.items():
        by_source.setdefault(name.split(".")[0], entry)
    plain: dict[str, tuple[str, str]] = {}
    for source_id in sorted({str(n).split(".")[0] for n in names}):
        entry = by_source.get(source_id)
        if entry is None:
            raise LookupFailed(f"no dataset of source {source_id!r} in the catalog",
                               hint="name a source id or dataset from data/datapackage.json")
        source = (entry.get("sources") or [{}])[0]
        publisher = str(source.get("publisher") or entry.get("title") or source_id).strip()
        publisher = _SHORT.split(publisher)[0]  # "Physics Today 69(7), 36" -> "Physics Today"
        plain[source_id] = (publisher, str(source.get("year") or "n.d."))
    counts: dict[tuple[str, str], int] = {}
    for key in plain.values():
        counts[key] = counts.get(key, 0) + 1
    seen: dict[tuple[str, str], int] = {}
    out = {}
    for source_id, (publisher, year) in plain.items():
        suffix = ""
        if counts[(publisher, year)] > 1:
            suffix = "abcdefghijklmnopqrstuvwxyz"[seen.get((publisher, year), 0)]
            seen[(publisher, year)] = seen.get((publisher, year), 0) + 1
        out[source_id] = f"{publisher} ({year}{suffix})"
    return out


def label(name: str) -> str:
    """'Publisher (year)' for one source id or dataset name (no letter suffix)."""
    return labels([name])[str(name).split(".")[0]]
