"""Refresh a dataset whose source publishes a machine-readable file at a stable URL.

A resource opts in with ``"refresh": {"url": "https://...", "format": "csv"}``. ``refresh`` downloads
the file to ``_build/staging/<dataset>.csv``, validates it against the dataset's schema and diffs
it (by value) against the last accepted version. Only with ``accept=True`` does it move the file
into ``data/raw/`` and accept it. On any error nothing under ``data/`` changes.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .catalog import Catalog
from .files import atomic_write_bytes, file_sha256_bytes
from .datadiff import Accepted, TableDiff, accept, diff_dataset
from .errors import DataIntegrityError, RefreshError, SchemaError

DEFAULT_TIMEOUT = 30.0  # seconds per download
MAX_BYTES = 50 * 1024 * 1024  # a refreshable table is small; anything bigger is a wrong URL



@dataclass
class Refreshed:
    """Outcome of one refresh: the staged download, its diff, and whether it was installed."""

    name: str
    url: str
    staged: Path
    diff: TableDiff
    installed: bool
    accepted: Accepted | None = None


def staging_path(catalog: Catalog, name: str) -> Path:
    """Where a refresh stages its download: ``_build/staging/<dataset>.csv``."""
    return catalog.layout.build_dir / "staging" / f"{name}.csv"


def refresh_spec(catalog: Catalog, name: str) -> dict:
    """The dataset's ``refresh`` property; RefreshError if it has none."""
    entry = catalog.entry(name)
    spec = entry.get("refresh")
    if not spec:
        raise RefreshError(
            f"dataset {name} has no 'refresh' property in {catalog.layout.relative(catalog.layout.datapackage)}; "
            "only sources that publish a machine-readable file at a stable URL can be refreshed",
            hint='add "refresh": {"url": "https://...", "format": "csv"} to its resource, '
                 "or update the file by hand and run `python -m analysis data accept " + name + "`",
        )
    return spec


def download(url: str, *, timeout: float = DEFAULT_TIMEOUT, max_bytes: int = MAX_BYTES) -> bytes:
    """GET ``url`` and return the body; RefreshError naming the URL and the failure otherwise."""
    request = urllib.request.Request(url, headers={"User-Agent": "claimcheck-analysis data refresh"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = response.read(max_bytes + 1)
    except urllib.error.HTTPError as exc:
        raise RefreshError(f"download of {url} failed: HTTP {exc.code} {exc.reason}",
                           hint="check refresh.url in data/datapackage.json (has the publisher moved the file?)") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RefreshError(f"download of {url} failed: {reason}",
                           hint="check the network and refresh.url in data/datapackage.json") from exc
    if len(data) > max_bytes:
        raise RefreshError(f"download of {url} is larger than {max_bytes} bytes; expected a small CSV table",
                           hint="check refresh.url in data/datapackage.json")
    if not data.strip():
        raise RefreshError(f"download of {url} is empty; expected a CSV table with a header row",
                           hint="check refresh.url in data/datapackage.json")
    return data


def refresh(catalog: Catalog, name: str, *, install: bool = False, timeout: float = DEFAULT_TIMEOUT,
            today: str | None = None) -> Refreshed:
    """Download, validate and diff dataset ``name``'s published file; with ``install`` also accept it.

    Raises RefreshError (no refresh URL, download failed), SchemaError (the download does not match
    the schema; it stays in _build/staging/ for inspection) or DataIntegrityError (the working file
    has edits that were never accepted, which a refresh would overwrite). Nothing in data/ changes
    unless ``install`` is set and every check passed.
    """
    spec = refresh_spec(catalog, name)
    url = spec["url"]
    layout = catalog.layout
    target = catalog.path(name)
    rel = layout.relative(target)
    if install and target.exists():
        current = target.read_bytes()
        if f"sha256:{file_sha256_bytes(current)}" != catalog.entry(name)["hash"]:
            raise DataIntegrityError(
                f"{rel} (dataset {name}) has edits that were never accepted; a refresh would overwrite them "
                "(nothing was changed)",
                hint=f"review them with `python -m analysis data diff {name}`, then accept or revert them "
                     f"(git checkout -- {rel}) before refreshing",
            )
    data = download(url, timeout=timeout)
    staged = staging_path(catalog, name)
    atomic_write_bytes(staged, data)
    try:
        catalog.validate(name, staged)
    except SchemaError as exc:
        raise SchemaError(
            f"the file downloaded from {url} for dataset {name} does not match its schema "
            f"(nothing in data/ was changed; the download is kept at {layout.relative(staged)}):\n    "
            + exc.message.split(":\n    ", 1)[-1],
            hint="if the publisher changed the file's structure deliberately, update the schema in "
                 "data/datapackage.json after review and refresh again",
        ) from exc
    diff = diff_dataset(catalog, name, staged)
    diff.new_label = f"{url} (staged at {layout.relative(staged)})"
    if not install:
        return Refreshed(name, url, staged, diff, installed=False)
    previous = target.read_bytes() if target.exists() else None
    atomic_write_bytes(target, data)
    try:
        results = accept(catalog, [name], today=today, touch_unchanged=True)
    except BaseException:
        if previous is None:
            target.unlink(missing_ok=True)
        else:
            atomic_write_bytes(target, previous)
        raise
    staged.unlink(missing_ok=True)
    return Refreshed(name, url, staged, diff, installed=True, accepted=results[0])
