"""Run records and the build manifest: what ran, with which inputs, producing what, how long it took."""

from __future__ import annotations

import json
import platform
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from .errors import FileError
from .files import compact_json, read_json, write_json_if_changed
from .paths import Layout

TRACKED_PACKAGES = (
    "pandas", "numpy", "matplotlib", "seaborn", "papermill", "nbclient", "ipykernel",
    "doit", "frictionless", "pyyaml",
)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages that shape the results."""
    from . import __version__

    versions = {"python": platform.python_version(), "analysis": __version__}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def read_run_record(layout: Layout, address: str) -> dict | None:
    path = layout.run_record(address)
    if not path.is_file():
        return None
    try:
        record = read_json(path)
    except FileError:
        return None  # a damaged record counts as no record: the run is redone
    return record if isinstance(record, dict) else None


def write_run_record(layout: Layout, address: str, record: dict) -> None:
    write_json_if_changed(layout.run_record(address), record)


def write_manifest(layout: Layout, records: dict[str, dict], *, started: str, executed: list[str]) -> dict:
    """Write ``_build/manifest.json`` from the current run records (executed now or carried over).

    A build that executed nothing and found the same records keeps the previous build's times, so
    the manifest still names the build whose outputs it lists (the report sources and release
    compare against it).
    """
    previous = read_manifest(layout, missing_ok=True)
    runs = {address: records[address] for address in sorted(records)}
    if not executed and previous is not None and previous.get("runs") == json.loads(compact_json(runs)) \
            and previous.get("project_version") == package_versions()["analysis"]:
        started, finished = previous.get("build_started", started), previous.get("build_finished") or now()
    else:
        finished = now()
    manifest = {
        "project_version": package_versions()["analysis"],
        "build_started": started,
        "build_finished": finished,
        "executed_this_build": sorted(executed),
        "platform": {"system": platform.system(), "machine": platform.machine(), "python": sys.version.split()[0]},
        "runs": runs,
    }
    if previous is not None and isinstance(previous.get("report_sources"), dict):
        manifest["report_sources"] = previous["report_sources"]  # checked, and replaced, when the sources are written
    write_json_if_changed(layout.manifest, manifest)
    return manifest


def read_manifest(layout: Layout, *, missing_ok: bool = False) -> dict | None:
    """The last build's manifest (None if there is none); a damaged one is None when ``missing_ok``."""
    path = Path(layout.manifest)
    if not path.is_file():
        return None
    try:
        manifest = read_json(path, hint="run `python -m analysis build` to rewrite it from the run records")
    except FileError:
        if missing_ok:
            return None
        raise
    return manifest if isinstance(manifest, dict) else None
