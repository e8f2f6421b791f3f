"""``data refresh``: fetch a refreshable table from its publisher, and keep what is new as a dated snapshot.

A resource with a ``refresh`` property (docs/refresh.md) can be refreshed from the publisher's own
interface (:mod:`analysis.publishers`). Its *series* is the resource and every dated snapshot taken
since, ``<series>-<YYYY-MM>.<table>`` (:func:`analysis.catalog.series_members`). ``refresh``:

1. asks the publisher (progress on stderr; a server error or timeout is a clear RefreshError),
2. maps the answer to the table's columns and stages both under ``_build/staging/``,
3. validates the staged table against the schema of the series' newest member,
4. diffs it against that newest member (rows added, removed, changed),
5. and only with ``accept``, and only if something changed, adds a NEW resource beside the earlier
   ones (its own file, checksum, access date, URL and query), declares it for every notebook that
   reads the series (``project.yml``), and leaves every earlier file and entry as it was.

On any failure nothing under ``data/`` (nor ``project.yml``) changes.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import publishers
from .catalog import Catalog, dump_descriptor, remember_accepted, series_key, series_members
from .datadiff import TableDiff, diff_tables
from .errors import CatalogError, ClaimcheckError, RefreshError, SchemaError
from .files import atomic_write_bytes, file_sha256_bytes, parse_yaml
from .publishers import mapping

DEFAULT_TIMEOUT = 30.0  # seconds per request


@dataclass
class Refreshed:
    """Outcome of one refresh: what was asked, what it gave, how it differs, and what was added."""

    address: str            # <series>.<table>
    latest: str             # the series' newest member before this refresh (the diff's baseline)
    snapshot: str           # the name a new snapshot gets (added only if ``installed``)
    url: str
    release: str
    staged: Path
    diff: TableDiff
    rows: int
    installed: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def has_news(self) -> bool:
        """True if the publisher's table differs in value from the newest snapshot."""
        return self.diff.has_value_changes


def series_address(name: str, entry: dict) -> str:
    series, table = series_key(name, entry)
    return f"{series}.{table}"


def refreshable(catalog: Catalog) -> dict[str, list[str]]:
    """Every refreshable series in the catalog: ``{"<series>.<table>": [members, oldest first]}``."""
    out: dict[str, list[str]] = {}
    for name, entry in catalog.resources.items():
        if entry.get("refresh") is not None:
            address = series_address(name, entry)
            if address not in out:
                out[address] = series_members(catalog, name)
    return out


def resolve(catalog: Catalog, name: str) -> tuple[str, list[str]]:
    """The series ``name`` means (a member's name, or ``<series>.<table>``): (address, members)."""
    every = refreshable(catalog)
    if name in every:
        return name, every[name]
    if name in catalog.resources:
        entry = catalog.entry(name)
        if entry.get("refresh") is None:
            raise RefreshError(
                f"dataset {name} has no 'refresh' property in {catalog.layout.relative(catalog.layout.datapackage)}: "
                "it is not published through an interface the project can query",
                hint="see docs/refresh.md for the refreshable tables and how to add a refresh spec; a table "
                     "transcribed from a PDF is updated by hand, then `python -m analysis data accept NAME`",
            )
        return series_address(name, entry), series_members(catalog, name)
    from .names import did_you_mean

    raise CatalogError(f"no dataset or refreshable series named {name!r}{did_you_mean(name, list(catalog.resources) + list(every))}",
                       hint="python -m analysis data list shows the datasets; the 'refresh' column marks the refreshable ones")


def staging_dir(catalog: Catalog) -> Path:
    return catalog.layout.build_dir / "staging"


def _print(echo, text: str) -> None:
    if echo is not None:
        echo(text)


def refresh(catalog: Catalog, name: str, *, accept: bool = False, timeout: float = DEFAULT_TIMEOUT,
            today: str | None = None, base_url: str | None = None, echo=None) -> Refreshed:
    """Fetch series ``name`` from its publisher, validate and diff it; with ``accept`` add a dated snapshot.

    Raises RefreshError (no refresh spec, the server failed, timed out or answered something else),
    SchemaError (the answer does not fit the table's schema) or DataIntegrityError (the newest member's
    file has unaccepted edits). Nothing under data/ changes unless ``accept`` is set, the answer passed
    every check and differs from the newest snapshot.
    """
    address, members = resolve(catalog, name)
    latest = members[-1]
    entry = catalog.entry(latest)
    spec = publishers.normalised(entry["refresh"])
    series, table = series_key(latest, entry)
    today = today or dt.date.today().isoformat()
    snapshot = f"{series}-{today[:7]}.{table}"
    layout = catalog.layout
    catalog.verify_checksum(latest)  # the baseline must be the accepted file
    _print(echo, f"{address}: asking {spec['interface']} interface (timeout {timeout:g} s) ...")
    fetched = publishers.fetch(spec, timeout=timeout, base_url=base_url)
    _print(echo, f"{address}: {len(fetched.rows)} rows from {fetched.url}")
    staged = staging_dir(catalog) / f"{snapshot}.csv"
    atomic_write_bytes(staged.with_suffix(".response"), fetched.raw)
    if spec["interface"] == "file" and spec.get("columns") is None and spec.get("format", "csv") == "csv":
        data = fetched.raw  # the publisher's CSV is the table, byte for byte
    else:
        data = mapping.to_table(fetched.rows, fetched.columns, spec, entry["schema"], source=f"{address} ({fetched.url})")
    atomic_write_bytes(staged, data)
    try:
        catalog.validate(latest, staged)
    except SchemaError as exc:
        raise SchemaError(
            f"the table built from {fetched.url} for {address} does not match the schema of {latest} "
            f"(nothing in data/ was changed; the table is kept at {layout.relative(staged)} and the response at "
            f"{layout.relative(staged.with_suffix('.response'))}):\n    " + exc.message.split(":\n    ", 1)[-1],
            hint="if the publisher changed the table's structure or units deliberately, update the schema or "
                 "refresh.columns in data/datapackage.json after review and refresh again",
        ) from exc
    diff = diff_tables(latest, entry, catalog.path(latest).read_bytes(), data,
                       new_label=f"{fetched.url} (staged at {layout.relative(staged)})",
                       baseline_label=f"{latest} (accessed {entry['obtained'].get('accessed')})")
    result = Refreshed(address, latest, snapshot, fetched.url, fetched.release, staged, diff,
                       rows=max(len(data.splitlines()) - 1, 0))
    if accept and result.has_news:
        install(catalog, result, spec, data, fetched, today)
        result.installed = True
    return result


def _snapshot_entry(catalog: Catalog, result: Refreshed, spec: dict, data: bytes, fetched, today: str) -> dict:
    """The resource descriptor of a new snapshot: the newest member's schema, its own provenance."""
    base = catalog.entry(result.latest)
    series, table = series_key(result.latest, base)
    publisher = spec.get("publisher") or {}
    first = base["sources"][0]
    query = fetched.query
    locator = spec.get("locator") or "; ".join(f"{k} {v}" for k, v in query.items() if k != "url")
    entry = {
        "name": result.snapshot,
        "path": f"raw/{series}-{today[:7]}/{table}.csv",
        "title": f"{spec.get('title') or base['title']} ({publisher.get('name') or first.get('publisher')}, retrieved {today})",
        "description": spec.get("description") or base.get("description", ""),
        "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
        "hash": f"sha256:{file_sha256_bytes(data)}",
        "bytes": len(data),
        "sources": [{
            "title": publisher.get("title") or first["title"],
            "publisher": publisher.get("name") or first.get("publisher", ""),
            "year": int(today[:4]),
            "path": fetched.url,
            "locator": locator,
        }],
        "licenses": copy.deepcopy(publisher.get("licenses") or base["licenses"]),
        "obtained": {
            "method": "downloaded",
            "detail": (f"`python -m analysis data refresh {result.address}`: {spec['interface']} query to the publisher, "
                       "its answer mapped to the table's columns by the refresh spec (no value typed by hand)"),
            "url": fetched.url,
            "query": query,
            "release": fetched.release,
            "previous": result.latest,
            "accessed": today,
        },
        "confidence": f"high: downloaded from {publisher.get('name') or first.get('publisher', 'the publisher')}'s own "
                      f"{spec['interface']} interface on {today}",
        "schema": copy.deepcopy(base["schema"]),
        "refresh": copy.deepcopy(base["refresh"]),
    }
    return entry


def install(catalog: Catalog, result: Refreshed, spec: dict, data: bytes, fetched, today: str) -> None:
    """Add the snapshot: its file, its resource (after the series' newest member), its project.yml lines."""
    layout = catalog.layout
    if result.snapshot in catalog.resources:
        raise RefreshError(
            f"{result.snapshot} already exists: a snapshot of {result.address} was accepted this month, and the "
            "publisher's data differ from it again (nothing was changed)",
            hint=f"review `python -m analysis data refresh {result.address}`; a snapshot is never edited in place, so "
                 "accept the new data next month or, if this month's snapshot was a mistake, remove it first",
        )
    entry = _snapshot_entry(catalog, result, spec, data, fetched, today)
    target = layout.data_dir / entry["path"]
    if target.exists():
        raise RefreshError(f"{layout.relative(target)} already exists but no resource names it (nothing was changed)",
                           hint="remove the stray file or add it to the catalog, then refresh again")
    datapackage_before = layout.datapackage.read_bytes()
    project_before = layout.project_file.read_bytes() if layout.project_file.is_file() else None
    descriptor = json.loads(datapackage_before)
    names = [r["name"] for r in descriptor["resources"]]
    descriptor["resources"].insert(names.index(result.latest) + 1, entry)
    try:
        atomic_write_bytes(target, data)
        Catalog(layout, descriptor).check_structure()
        atomic_write_bytes(layout.datapackage, dump_descriptor(descriptor).encode("utf-8"))
        declare_in_project(layout, series_members(catalog, result.latest), result.snapshot)
    except BaseException:
        target.unlink(missing_ok=True)
        try:
            target.parent.rmdir()
        except OSError:
            pass
        atomic_write_bytes(layout.datapackage, datapackage_before)
        if project_before is not None:
            atomic_write_bytes(layout.project_file, project_before)
        raise
    remember_accepted(layout, target, file_sha256_bytes(data))
    catalog.descriptor = descriptor
    result.staged.unlink(missing_ok=True)


_NOTEBOOK_LINE = re.compile(r"^  (?P<name>[A-Za-z0-9_]+):\s*$")
_ITEM_LINE = re.compile(r"^(?P<indent>\s*)- (?P<name>\S+)\s*$")
_FLOW_LINE = re.compile(r"^(?P<head>\s*datasets:\s*\[)(?P<items>[^\]]*)(?P<tail>\].*)$")


def declare_in_project(layout, members: list[str], snapshot: str) -> list[str]:
    """Add ``snapshot`` to the ``datasets`` of every notebook in project.yml that reads a member of its
    series, right after the last member listed. Edits the text, so comments and layout stay as written.
    Returns the notebooks changed."""
    path = layout.project_file
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    known = set(members)
    notebook, last_item = None, {}
    for i, line in enumerate(lines):
        header = _NOTEBOOK_LINE.match(line)
        if header:
            notebook = header.group("name")
            continue
        if notebook is None:
            continue
        item = _ITEM_LINE.match(line)
        if item and item.group("name") in known:
            last_item[notebook] = ("block", i, item.group("indent"))
        flow = _FLOW_LINE.match(line)
        if flow and known & {x.strip() for x in flow.group("items").split(",")}:
            last_item[notebook] = ("flow", i, "")
    for notebook, (kind, i, indent) in sorted(last_item.items(), key=lambda kv: -kv[1][1]):
        if kind == "block":
            newline = "\n" if lines[i].endswith("\n") else ""
            lines.insert(i + 1, f"{indent}- {snapshot}{newline}")
        else:
            flow = _FLOW_LINE.match(lines[i].rstrip("\n"))
            lines[i] = f"{flow.group('head')}{flow.group('items')}, {snapshot}{flow.group('tail')}\n"
    new_text = "".join(lines)
    parsed = parse_yaml(new_text, source=layout.relative(path))  # the strict loader, as every command reads it
    for notebook in last_item:
        if snapshot not in (parsed["notebooks"][notebook].get("datasets") or []):
            raise RefreshError(f"could not declare {snapshot} for notebook {notebook} in {layout.relative(path)} "
                               "(nothing was changed)", hint=f"add `- {snapshot}` to its datasets by hand")
    if new_text != text:
        atomic_write_bytes(path, new_text.encode("utf-8"))
    return sorted(last_item)


def refresh_all(catalog: Catalog, *, accept: bool = False, timeout: float = DEFAULT_TIMEOUT, today: str | None = None,
                base_url: str | None = None, echo=None) -> list[tuple[str, Refreshed | ClaimcheckError]]:
    """Refresh every refreshable series; a failure of one is reported and the others go on."""
    out = []
    for address in refreshable(catalog):
        try:
            out.append((address, refresh(catalog, address, accept=accept, timeout=timeout, today=today,
                                         base_url=base_url, echo=echo)))
        except ClaimcheckError as exc:
            out.append((address, exc))
    return out


def stderr_echo(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
