"""A CSV or XLSX file the publisher keeps at a stable URL.

Spec::

    {"interface": "file", "url": "https://.../table.xlsx", "format": "xlsx",
     "sheet": "Table 2", "range": "A4:F40", "columns": {...}}

A CSV is read as is (UTF-8, header row). An XLSX is read with openpyxl: the named ``sheet`` (the first
when not given) and cell ``range`` (the used range when not given), whose first row is the header.
Without ``columns`` the file must already have the table's columns (the resource's CSV as published).
"""

from __future__ import annotations

import csv
import io
import re

from ..errors import CatalogError, RefreshError
from . import Fetched, http_get, rebase

FORMATS = ("csv", "xlsx")


def check(spec: dict, where: str) -> None:
    url = spec.get("url")
    if not isinstance(url, str) or not re.match(r"^https?://[^\s/]+", url):
        raise CatalogError(f"{where}: refresh.url must be an http:// or https:// address, found {url!r}")
    fmt = spec.get("format", "csv")
    if fmt not in FORMATS:
        raise CatalogError(f"{where}: refresh.format must be csv or xlsx, found {fmt!r}")
    if "range" in spec and not (isinstance(spec["range"], str) and re.match(r"^[A-Z]+[0-9]+:[A-Z]+[0-9]+$", spec["range"])):
        raise CatalogError(f"{where}: refresh.range must be a cell range like \"A4:F40\", found {spec['range']!r}")
    if fmt == "csv" and ("sheet" in spec or "range" in spec):
        raise CatalogError(f"{where}: refresh.sheet and refresh.range apply to xlsx files only")


def query(spec: dict) -> dict:
    return {k: spec[k] for k in ("url", "format", "sheet", "range") if k in spec}


def read_xlsx(body: bytes, spec: dict, url: str) -> tuple[list[str], list[dict]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(body), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a file that is not XLSX
        raise RefreshError(f"the file at {url} is not a readable XLSX workbook: {exc}",
                           hint="check refresh.url and refresh.format in data/datapackage.json") from exc
    sheet_name = spec.get("sheet") or book.sheetnames[0]
    if sheet_name not in book.sheetnames:
        raise RefreshError(f"the workbook at {url} has no sheet {sheet_name!r} (sheets: {', '.join(book.sheetnames)})",
                           hint="fix refresh.sheet in data/datapackage.json")
    sheet = book[sheet_name]
    cells = sheet[spec["range"]] if spec.get("range") else sheet.iter_rows()
    values = [["" if c.value is None else str(c.value).strip() for c in row] for row in cells]
    if not values:
        raise RefreshError(f"{url}: sheet {sheet_name!r}, range {spec.get('range', 'used')} is empty")
    header = values[0]
    return header, [dict(zip(header, row)) for row in values[1:] if any(row)]


def fetch(spec: dict, *, timeout: float, base_url: str | None) -> Fetched:
    url = rebase(spec["url"], base_url)
    response = http_get(url, timeout=timeout)
    body = response.content
    if not body.strip():
        raise RefreshError(f"the file at {url} is empty; expected a table with a header row",
                           hint="check refresh.url in data/datapackage.json")
    if spec.get("format", "csv") == "xlsx":
        columns, rows = read_xlsx(body, spec, url)
    else:
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise RefreshError(f"the file at {url} is not UTF-8 text (byte {exc.start}); expected a CSV table",
                               hint="check refresh.url and refresh.format in data/datapackage.json") from exc
        reader = csv.DictReader(io.StringIO(text, newline=""))
        rows = [dict(r) for r in reader]
        columns = list(reader.fieldnames or [])
    return Fetched(url=url, query=query(spec), rows=rows, columns=columns, release="", raw=body)
