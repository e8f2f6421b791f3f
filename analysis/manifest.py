"""Run records and the build manifest: what ran, with which inputs, producing what, how long it took."""

from __future__ import annotations

import json
import platform
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from .files import canonical_json, write_if_changed
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
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None  # a damaged record counts as no record: the run is redone


def write_run_record(layout: Layout, address: str, record: dict) -> None:
    write_if_changed(layout.run_record(address), canonical_json(record))


def write_manifest(layout: Layout, records: dict[str, dict], *, started: str, executed: list[str]) -> dict:
    """Write ``_build/manifest.json`` from the current run records (executed now or carried over)."""
    manifest = {
        "project_version": package_versions()["analysis"],
        "build_started": started,
        "build_finished": now(),
        "executed_this_build": sorted(executed),
        "platform": {"system": platform.system(), "machine": platform.machine(), "python": sys.version.split()[0]},
        "runs": {address: records[address] for address in sorted(records)},
    }
    write_if_changed(layout.manifest, canonical_json(manifest))
    return manifest


def read_manifest(layout: Layout) -> dict | None:
    path = Path(layout.manifest)
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))
