"""The World Bank indicators API (``https://api.worldbank.org/v2``): one indicator, some countries.

Spec::

    {"interface": "worldbank", "indicator": "GB.XPD.RSDV.GD.ZS", "countries": ["USA", "CHN"],
     "period": {"start": 2000, "end": 2023}, "columns": {...}}

The request is the API's documented basic call,
``/v2/country/{countries;...}/indicator/{indicator}?format=json&date=START:END&per_page=N``, paged
until every page is read. Its JSON answer is ``[metadata, [observation, ...]]``; each observation is
flattened to fields ``indicator.id``, ``country.id``, ``country.value``, ``countryiso3code``,
``date``, ``value``, ``unit``, ``obs_status``, ``decimal`` for ``refresh.columns``. The metadata's
``lastupdated`` is the release. (The API's answers are plain JSON of two levels; ``wbgapi`` would add
a second query language and global state for what is one GET per page: docs/refresh.md says more.)
"""

from __future__ import annotations

import json

from ..errors import CatalogError, RefreshError
from . import Fetched, http_get, rebase

API = "https://api.worldbank.org/v2"
PER_PAGE = 1000
MAX_PAGES = 100


def check(spec: dict, where: str) -> None:
    """The World Bank part of a refresh spec: indicator, countries, optional period."""
    if not isinstance(spec.get("indicator"), str) or not spec["indicator"]:
        raise CatalogError(f"{where}: refresh.indicator (e.g. \"GB.XPD.RSDV.GD.ZS\") is required for the worldbank interface")
    countries = spec.get("countries")
    if not isinstance(countries, list) or not countries or not all(isinstance(c, str) and c for c in countries):
        raise CatalogError(f"{where}: refresh.countries must be a non-empty list of World Bank country codes (\"USA\", \"CHN\", \"EUU\")")
    period = spec.get("period") or {}
    if not isinstance(period, dict) or set(period) - {"start", "end"}:
        raise CatalogError(f"{where}: refresh.period must be {{\"start\": YEAR, \"end\": YEAR}}, found {period!r}")


def query(spec: dict) -> dict:
    out = {"indicator": spec["indicator"], "countries": list(spec["countries"])}
    period = {k: v for k, v in (spec.get("period") or {}).items() if v is not None}
    if period:
        out["period"] = period
    return out


def request_url(spec: dict, page: int = 1) -> str:
    """The URL of one page of the query at the World Bank."""
    period = spec.get("period") or {}
    params = [f"format=json", f"per_page={PER_PAGE}"]
    if period.get("start") is not None or period.get("end") is not None:
        params.append(f"date={period.get('start', 1960)}:{period.get('end', 2100)}")
    if page > 1:
        params.append(f"page={page}")
    return f"{API}/country/{';'.join(spec['countries'])}/indicator/{spec['indicator']}?" + "&".join(params)


def flatten(record: dict) -> dict[str, str]:
    out = {}
    for key, value in record.items():
        if isinstance(value, dict):
            for sub, inner in value.items():
                out[f"{key}.{sub}"] = "" if inner is None else str(inner)
        else:
            out[key] = "" if value is None else str(value)
    return out


def fetch(spec: dict, *, timeout: float, base_url: str | None) -> Fetched:
    """Read every page of the indicator for the countries."""
    rows: list[dict] = []
    raw = b""
    release = ""
    first_url = rebase(request_url(spec), base_url)
    page, pages = 1, 1
    while page <= pages and page <= MAX_PAGES:
        url = rebase(request_url(spec, page), base_url)
        response = http_get(url, timeout=timeout, headers={"Accept": "application/json"})
        raw += response.content
        try:
            answer = json.loads(response.content.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RefreshError(f"the answer from {url} is not JSON ({exc}); first bytes {response.content[:80]!r}",
                               hint="open the staged response in _build/staging/ to see what the API sent") from exc
        if isinstance(answer, list) and answer and isinstance(answer[0], dict) and "message" in answer[0]:
            messages = "; ".join(m.get("value", "") for m in answer[0]["message"])
            raise RefreshError(f"the World Bank API refused the query {url}: {messages}",
                               hint="check refresh.indicator and refresh.countries in data/datapackage.json")
        if not (isinstance(answer, list) and len(answer) == 2 and isinstance(answer[0], dict)):
            raise RefreshError(f"the answer from {url} is not a World Bank data page ([metadata, observations])",
                               hint="open the staged response in _build/staging/ to see what the API sent")
        meta, records = answer
        pages = int(meta.get("pages") or 1)
        release = release or (f"last updated {meta['lastupdated']}" if meta.get("lastupdated") else "")
        rows += [flatten(r) for r in (records or [])]
        page += 1
    columns = sorted({k for r in rows for k in r})
    return Fetched(url=first_url, query=query(spec), rows=rows, columns=columns, release=release, raw=raw)
