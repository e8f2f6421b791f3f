"""SDMX REST (OECD, Eurostat, and every other service ``sdmx1`` knows): one dataflow, key and period.

Spec::

    {"interface": "sdmx", "service": "OECD", "agency": "OECD.STI.STP", "dataflow": "DSD_MSTI@DF_MSTI",
     "version": "1.3", "key": "USA+CHN.A.G.USD_PPP.V._Z", "period": {"start": "1981", "end": null},
     "params": {"dimensionAtObservation": "AllDimensions"}, "where": {...}, "columns": {...}}

``service`` is an ``sdmx1`` source id (``OECD``, ``ESTAT``, ...): ``sdmx1`` knows its base URL and
builds the query URL (``/data/{agency},{dataflow},{version}/{key}?startPeriod=...``) and rejects
parameters the SDMX REST standard does not have. The data are asked for as SDMX-CSV, one flat table
whose columns are the dataflow's dimension and attribute ids (``REF_AREA``, ``TIME_PERIOD``,
``OBS_VALUE``, ...), which ``refresh.columns`` maps to the table. A service that answers SDMX-ML
instead is read with ``sdmx1``'s own reader (generic data need no structure definition).
"""

from __future__ import annotations

import csv
import io
import warnings

from ..errors import CatalogError, RefreshError
from . import Fetched, http_get, rebase

CSV_ACCEPT = {
    "ESTAT": "application/vnd.sdmx.data+csv;version=1.0.0",
}
DEFAULT_CSV_ACCEPT = "application/vnd.sdmx.data+csv; charset=utf-8"


def check(spec: dict, where: str) -> None:
    """The SDMX part of a refresh spec: service, dataflow, optional agency/version/key/period/params.

    (Whether sdmx1 knows the service is checked when the query is built: importing sdmx1 takes a second
    and a half, too much for every catalog load.)"""
    for key in ("service", "dataflow"):
        if not isinstance(spec.get(key), str) or not spec[key]:
            raise CatalogError(f"{where}: refresh.{key} is required for an sdmx interface", hint="see docs/refresh.md")
    for key in ("agency", "version", "key"):
        if key in spec and not isinstance(spec[key], str):
            raise CatalogError(f"{where}: refresh.{key} must be a string, found {spec[key]!r}")
    period = spec.get("period") or {}
    if not isinstance(period, dict) or set(period) - {"start", "end"}:
        raise CatalogError(f"{where}: refresh.period must be {{\"start\": ..., \"end\": ...}}, found {period!r}")
    if not isinstance(spec.get("params", {}), dict):
        raise CatalogError(f"{where}: refresh.params must be an object of SDMX REST query parameters")


def query(spec: dict) -> dict:
    """The query in SDMX terms (recorded with each snapshot)."""
    out = {k: spec[k] for k in ("service", "agency", "dataflow", "version", "key") if spec.get(k)}
    period = {k: v for k, v in (spec.get("period") or {}).items() if v is not None}
    if period:
        out["period"] = period
    if spec.get("params"):
        out["params"] = dict(spec["params"])
    return out


def request_url(spec: dict) -> str:
    """The query URL at the publisher, as ``sdmx1`` builds it (no network)."""
    import sdmx

    if spec["service"] not in sdmx.list_sources():
        raise RefreshError(f"refresh.service {spec['service']!r} is not an SDMX service sdmx1 knows (e.g. OECD, ESTAT, "
                           "ECB, IMF_DATA)", hint="python -c 'import sdmx; print(sdmx.list_sources())'")
    flow = spec["dataflow"]
    if spec.get("agency"):
        flow = ",".join([spec["agency"], flow] + ([spec["version"]] if spec.get("version") else []))
    params = {}
    period = spec.get("period") or {}
    if period.get("start") is not None:
        params["startPeriod"] = str(period["start"])
    if period.get("end") is not None:
        params["endPeriod"] = str(period["end"])
    params.update({k: str(v) for k, v in (spec.get("params") or {}).items()})
    kwargs = {"params": params, "dry_run": True}
    if spec.get("key"):
        kwargs["key"] = spec["key"]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prepared = sdmx.Client(spec["service"]).data(flow, **kwargs)
    except ValueError as exc:
        raise RefreshError(f"sdmx1 cannot build the query for dataflow {flow} of {spec['service']}: {exc}",
                           hint="fix refresh.params/key in data/datapackage.json (see docs/refresh.md)") from exc
    return prepared.url


def read_csv(body: bytes, url: str) -> tuple[list[str], list[dict]]:
    """Rows of an SDMX-CSV message."""
    text = body.decode("utf-8-sig", errors="replace")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = [dict(r) for r in reader]
    return list(reader.fieldnames or []), rows


def read_xml(body: bytes, url: str) -> tuple[list[str], list[dict]]:
    """Rows of an SDMX-ML data message, read by sdmx1 (observation value in ``OBS_VALUE``)."""
    import sdmx

    try:
        message = sdmx.read_sdmx(io.BytesIO(body))
        frames = [sdmx.to_pandas(ds) for ds in message.data]
    except Exception as exc:  # noqa: BLE001 - any reader failure is a format problem of this response
        raise RefreshError(f"the answer from {url} is not an SDMX data message sdmx1 can read: {exc}",
                           hint="open the staged response in _build/staging/ to see what the service sent") from exc
    rows: list[dict] = []
    columns: list[str] = []
    for series in frames:
        frame = series.reset_index()
        frame = frame.rename(columns={frame.columns[-1]: "OBS_VALUE"})
        columns = list(frame.columns)
        rows += [{k: ("" if v is None else str(v)) for k, v in r.items()} for r in frame.to_dict("records")]
    return columns, rows


def fetch(spec: dict, *, timeout: float, base_url: str | None) -> Fetched:
    """Ask the SDMX service for the dataflow's observations as SDMX-CSV."""
    url = rebase(request_url(spec), base_url)
    accept = spec.get("accept") or CSV_ACCEPT.get(spec["service"], DEFAULT_CSV_ACCEPT)
    response = http_get(url, timeout=timeout, headers={"Accept": accept})
    body = response.content
    kind = response.headers.get("Content-Type", "")
    if body.lstrip()[:1] == b"<" or "xml" in kind:
        columns, rows = read_xml(body, url)
    else:
        columns, rows = read_csv(body, url)
    if not columns or "OBS_VALUE" not in columns:
        raise RefreshError(f"the answer from {url} is not SDMX data: no OBS_VALUE column "
                           f"(Content-Type {kind or 'not given'}; first bytes {body[:80]!r})",
                           hint="open the staged response in _build/staging/ to see what the service sent")
    updated = sorted({r.get("LAST UPDATE", "") for r in rows} - {""})
    release = f"last updated {updated[-1]}" if updated else ""
    return Fetched(url=url, query=query(spec), rows=rows, columns=columns, release=release, raw=body)
