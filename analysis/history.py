"""Released versions on disk (``releases/v<version>/``): finding them, reading them, and what changed
since the previous one. Read by the report (what changed) and by ``release`` (which records them).

This module imports neither the build nor the report, so the import direction stays one way:
``release`` -> ``build`` -> ``report`` -> ``history``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ReleaseError
from .paths import Layout


def version_key(version: str):
    """A sortable key for a version string (PEP 440 when possible, else numeric parts)."""
    try:
        from packaging.version import InvalidVersion, Version

        try:
            return (0, Version(version))
        except InvalidVersion:
            pass
    except ImportError:  # pragma: no cover - packaging comes with matplotlib
        pass
    parts = tuple(int(p) if p.isdigit() else 0 for p in version.replace("-", ".").split("."))
    return (1, parts)


def release_dir(layout: Layout, version: str) -> Path:
    return layout.releases_dir / f"v{version}"


def released_versions(layout: Layout) -> list[str]:
    """Versions recorded under ``releases/`` (oldest first)."""
    if not layout.releases_dir.is_dir():
        return []
    found = [p.name[1:] for p in layout.releases_dir.iterdir()
             if p.is_dir() and p.name.startswith("v") and (p / "ledger.json").is_file()]
    return sorted(found, key=version_key)


def previous_release(layout: Layout, version: str) -> str | None:
    """The newest released version lower than ``version``, or None."""
    lower = [v for v in released_versions(layout) if version_key(v) < version_key(version)]
    return lower[-1] if lower else None


def load_release(layout: Layout, version: str) -> dict:
    """The recorded files of a release: {"ledger": rows, "manifest": ..., "figures": {...}}."""
    folder = release_dir(layout, version)
    out = {}
    for name in ("ledger", "manifest", "figures"):
        path = folder / f"{name}.json"
        try:
            out[name] = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
        except json.JSONDecodeError as exc:
            raise ReleaseError(f"{layout.relative(path)} is not valid JSON: {exc}", hint="restore it from git") from exc
    return out


@dataclass
class Changes:
    """What moved since the previous release (and against the lock and a same-version release)."""

    version: str
    previous: str | None = None
    claims: list[dict] = field(default_factory=list)
    figures: list[dict] = field(default_factory=list)
    same_version: list[dict] | None = None  # differences from an existing release of the current version
    lock: list[dict] | None = None  # drift against claims/lock.json (None: no lock)


def figure_changes(before: dict[str, dict], after: dict[str, str | None]) -> list[dict]:
    """Figures added, removed or redrawn (checksum changed) between a release and now."""
    out = []
    for fid in sorted(set(before) | set(after)):
        if fid not in before:
            out.append({"figure": fid, "change": "added", "before": None, "after": after[fid]})
        elif fid not in after:
            out.append({"figure": fid, "change": "removed", "before": before[fid].get("sha256"), "after": None})
        elif before[fid].get("sha256") != after[fid]:
            out.append({"figure": fid, "change": "redrawn", "before": before[fid].get("sha256"), "after": after[fid]})
    return out


def what_changed(layout: Layout, rows: list[dict], figure_shas: dict[str, str | None], version: str) -> Changes:
    """Compare the current ledger and figures with the previous release, the same-version release and the lock."""
    from .ledger import changes, read_lock

    result = Changes(version=version, previous=previous_release(layout, version))
    if result.previous is not None:
        old = load_release(layout, result.previous)
        result.claims = changes(released_entries(old), rows, layout=layout)
        result.figures = figure_changes(old["figures"] or {}, figure_shas)
    if version in released_versions(layout):
        same = load_release(layout, version)
        result.same_version = changes(released_entries(same), rows, layout=layout)
    lock = read_lock(layout.lock)
    if lock is not None:
        result.lock = changes(lock.get("claims", {}), rows, layout=layout)
    return result


def released_entries(release: dict) -> dict[str, dict]:
    """A release's claims as lock entries (value, verdict and what they were computed from).

    The release's ledger rows hold parameters and data sha256; the notebook code sha256 comes from its
    manifest where the ledger rows lack it (releases recorded before it was in the ledger).
    """
    from .ledger import lock_entries

    entries = lock_entries(release.get("ledger") or [])
    runs = (release.get("manifest") or {}).get("runs", {})
    for entry in entries.values():
        if "notebook_code_sha256" not in entry and entry.get("run") in runs:
            entry["notebook_code_sha256"] = runs[entry["run"]].get("notebook_code_sha256")
    return entries
