"""Publisher interfaces: fetch a table from a statistics publisher's own machine-readable interface.

A catalog resource opts in with a ``refresh`` property (docs/refresh.md). It names the interface and
the query, and maps the response's columns to the table's columns:

* ``sdmx``       SDMX REST (OECD, Eurostat, ...): the query is built by ``sdmx1`` (:mod:`.sdmx`)
* ``worldbank``  the World Bank indicators API (:mod:`.worldbank`)
* ``file``       a CSV or XLSX file at a stable URL, with sheet and cell range (:mod:`.file`)

Every interface returns the response as rows of named fields; :mod:`.mapping` turns them into the
table's CSV. Nothing here knows the catalog: ``analysis.refresh`` stages, validates, diffs and
accepts. The code path is the same against the real publisher and against a local replay server:
only the base URL differs (``base_url``, or the ``CLAIMCHECK_PUBLISHER_URL`` environment variable).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from ..errors import CatalogError, RefreshError

BASE_URL_ENV = "CLAIMCHECK_PUBLISHER_URL"
SERIES_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")
TABLE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_]*$")
RULE_KEYS = {"from", "value", "codes", "multiplier"}


@dataclass
class Fetched:
    """One publisher response, as rows of named string fields, and where it came from."""

    url: str                      # the request as sent (after any base-URL override)
    query: dict                   # what was asked, in the interface's own terms
    rows: list[dict[str, str]]
    columns: list[str]
    release: str                  # the publisher's own word on the edition, where it gives one
    raw: bytes = b""              # the response body as received (kept in staging for inspection)
    notes: list[str] = field(default_factory=list)


def interface_module(name: str):
    """The module implementing interface ``name``."""
    from . import file, sdmx, worldbank

    return {"sdmx": sdmx, "worldbank": worldbank, "file": file}[name]


def normalised(spec: dict) -> dict:
    """The spec with its defaults: the old form {"url", "format"} is the ``file`` interface."""
    spec = dict(spec)
    spec.setdefault("interface", "file")
    return spec


def check_spec(spec, where: str) -> None:
    """Raise CatalogError naming ``where`` if a resource's ``refresh`` property is malformed."""
    if not isinstance(spec, dict):
        raise CatalogError(f"{where}: refresh must be an object naming an interface (sdmx, worldbank or file), found {spec!r}",
                           hint="see docs/refresh.md")
    spec = normalised(spec)
    interface = spec["interface"]
    if interface not in ("sdmx", "worldbank", "file"):
        raise CatalogError(f"{where}: refresh.interface must be sdmx, worldbank or file, found {interface!r}",
                           hint="see docs/refresh.md")
    for key, pattern, what in (("series", SERIES_PATTERN, "lower-case kebab-case (the source id of its snapshots)"),
                               ("table", TABLE_PATTERN, "snake_case (the table name of its snapshots)")):
        if key in spec and not (isinstance(spec[key], str) and pattern.match(spec[key])):
            raise CatalogError(f"{where}: refresh.{key} must be {what}, found {spec[key]!r}")
    columns = spec.get("columns")
    if columns is not None:
        if not isinstance(columns, dict) or not columns:
            raise CatalogError(f"{where}: refresh.columns must map each table column to a rule "
                               "({\"from\": COLUMN} or {\"value\": CONSTANT})")
        for column, rule in columns.items():
            if not isinstance(rule, dict) or not (("from" in rule) ^ ("value" in rule)) or set(rule) - RULE_KEYS:
                raise CatalogError(f"{where}: refresh.columns.{column} must be {{\"from\": COLUMN}} (optionally with "
                                   "\"codes\" and \"multiplier\") or {\"value\": CONSTANT}, found " + repr(rule))
            if "codes" in rule and not isinstance(rule["codes"], dict):
                raise CatalogError(f"{where}: refresh.columns.{column}.codes must map publisher codes to table values")
            if "multiplier" in rule and (isinstance(rule["multiplier"], bool) or not isinstance(rule["multiplier"], (int, float))):
                raise CatalogError(f"{where}: refresh.columns.{column}.multiplier must be a number, found {rule['multiplier']!r}")
    where_rule = spec.get("where")
    if where_rule is not None and not (isinstance(where_rule, dict)
                                       and all(isinstance(v, (str, list)) for v in where_rule.values())):
        raise CatalogError(f"{where}: refresh.where must map response columns to a value or a list of values")
    interface_module(interface).check(spec, where)


def base_url_override(base_url: str | None = None) -> str | None:
    """The base URL every publisher request is sent to instead of its own host (None: the publisher's)."""
    value = base_url or os.environ.get(BASE_URL_ENV) or None
    if value and not re.match(r"^https?://[^\s/]+", value):
        raise RefreshError(f"the base URL {value!r} is not an http:// or https:// address",
                           hint=f"pass --base-url http://HOST:PORT or unset {BASE_URL_ENV}")
    return value


def rebase(url: str, base_url: str | None) -> str:
    """``url`` with its scheme and host replaced by those of ``base_url`` (path and query kept)."""
    if not base_url:
        return url
    target, base = urlsplit(url), urlsplit(base_url)
    return urlunsplit((base.scheme, base.netloc, target.path, target.query, ""))


def fetch(spec: dict, *, timeout: float, base_url: str | None = None) -> Fetched:
    """Ask the publisher for the table ``spec`` describes; RefreshError on any failure."""
    spec = normalised(spec)
    return interface_module(spec["interface"]).fetch(spec, timeout=timeout, base_url=base_url_override(base_url))


def http_get(url: str, *, timeout: float, headers: dict | None = None, params: dict | None = None,
             max_bytes: int = 200 * 1024 * 1024):
    """GET ``url`` with requests; return the response, or RefreshError saying what went wrong."""
    import requests
    import urllib3

    headers = {"User-Agent": "claimcheck-analysis data refresh", **(headers or {})}
    shown_url = url
    try:
        response = requests.get(url, headers=headers, params=params, timeout=timeout, stream=True)
        shown_url = response.url
        body = response.raw.read(max_bytes + 1, decode_content=True)
    except (requests.exceptions.Timeout, urllib3.exceptions.ReadTimeoutError) as exc:
        raise RefreshError(f"no answer from {shown_url} within {timeout:g} s (nothing under data/ was changed)",
                           hint="try again later, or allow more time with --timeout SECONDS") from exc
    except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as exc:
        host = "{0.scheme}://{0.netloc}".format(urlsplit(shown_url))
        kind = "could not connect to" if isinstance(exc, requests.exceptions.ConnectionError) else "failed to read from"
        raise RefreshError(f"{kind} {host} ({exc.__class__.__name__}) asking {shown_url} (nothing under data/ was changed)",
                           hint="check the network connection (or --base-url); the publisher may be down") from exc
    if len(body) > max_bytes:
        raise RefreshError(f"the answer from {shown_url} is larger than {max_bytes} bytes; expected one table",
                           hint="narrow the query (key, countries, period) in the resource's refresh spec")
    if response.status_code >= 400:
        snippet = body[:300].decode("utf-8", "replace").strip().replace("\n", " ")
        side = "the publisher's server failed" if response.status_code >= 500 else "the publisher refused the query"
        raise RefreshError(
            f"{side}: HTTP {response.status_code} {response.reason} from {shown_url}"
            + (f" ({snippet})" if snippet else "") + " (nothing under data/ was changed)",
            hint=("try again later: the service may be down or overloaded" if response.status_code >= 500 else
                  "check the query in the resource's refresh spec (dataflow, key, indicator, countries, period)"),
        )
    response._content = body  # noqa: SLF001 - keep the decoded body for .text/.json()
    return response
