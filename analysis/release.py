"""Releases: the record of a published report version, and what changed since the previous one.

The project has one version number, ``analysis.__version__``. ``python -m analysis release`` records
the current (fully current) build as ``releases/v<version>/``:

* ``ledger.json``   the claims ledger of that version (every claim's stated, reproduced value, verdict);
* ``manifest.json`` the build manifest (parameters, inputs with sha256, outputs, run times, versions);
* ``figures.json``  every figure id with its checksum and review status;
* ``summary.md``    a short human-readable summary.

These are small text files, committed with the code. Later builds compare themselves with the newest
release whose version is lower than the current one ("what changed since the previous version"): claims
whose value or verdict moved (:func:`analysis.ledger.changes`) with their causes (the ledger rows keep
each claim's parameters and data sha256, the manifest its notebook's code sha256, and the data rows
themselves are found by sha256 in git history), figures whose image changed, and drift against the
accepted lock ``claims/lock.json`` when it exists.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .files import canonical_json
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


def record_release(layout: Layout, *, echo=print) -> Path:
    """Record the current build as ``releases/v<version>/``; return the folder.

    Refuses (ReleaseError, nothing written) when that version is already released, when the project was
    never built, or when any notebook run is stale or the ledger and report sources lag the runs.
    """
    from . import __version__, ledger
    from .build import Context, build_lock, plan
    from .manifest import read_manifest
    from .report import build_info
    from .review import load_reviews, read_index, status_of

    version = __version__
    folder = release_dir(layout, version)
    if folder.exists():
        raise ReleaseError(
            f"version {version} was already released ({layout.relative(folder)}/ exists)",
            hint="bump __version__ in analysis/__init__.py (e.g. to the next patch or minor version), "
                 "build, then release; a released version is never overwritten",
        )
    with build_lock(layout):
        context = Context.load(layout)
        manifest, rows, index = read_manifest(layout), ledger.read(layout), read_index(layout)
        if manifest is None or rows is None or index is None:
            raise ReleaseError("the project has not been fully built (no manifest, ledger or figure index in _build/)",
                               hint="run `python -m analysis build`, then release")
        the_plan = plan(context)
        if the_plan.stale:
            listing = "\n    ".join(f"{a}: {'; '.join(r)}" for a, r in the_plan.stale.items())
            raise ReleaseError(f"the build is stale; these runs would execute again:\n    {listing}",
                               hint="run `python -m analysis build`, check the report, then release")
        if manifest.get("project_version") != version:
            raise ReleaseError(f"the last build was made by version {manifest.get('project_version')}, not {version}",
                               hint="run `python -m analysis build`, then release")
        if context.register is not None:
            fresh = ledger.collect(layout, context.register, manifest["runs"])
            if json.loads(canonical_json(fresh)) != json.loads(canonical_json(rows)):
                raise ReleaseError("_build/ledger.json does not match the executed notebooks",
                                   hint="run `python -m analysis build` (without selecting runs), then release")
        if index.get("build_finished") != manifest.get("build_finished"):
            raise ReleaseError("the report sources and review packets lag the last build",
                               hint="run `python -m analysis build` (without selecting runs), then release")
        reviews = load_reviews(layout)
        figures = {fid: {"sha256": e["sha256"], "run": e["run"], "label": e["label"],
                         "status": status_of(e["sha256"], reviews.get(fid, [])).state}
                   for fid, e in index["figures"].items()}
        info = build_info(layout, manifest)
        changed = what_changed(layout, rows, {f: e["sha256"] for f, e in figures.items()}, version)
        tmp = folder.with_name(f".{folder.name}.tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            (tmp / "ledger.json").write_text(canonical_json(rows), encoding="utf-8")
            (tmp / "manifest.json").write_text(canonical_json(manifest), encoding="utf-8")
            (tmp / "figures.json").write_text(canonical_json(figures), encoding="utf-8")
            (tmp / "summary.md").write_text(_summary(version, info, rows, figures, changed), encoding="utf-8")
            os.replace(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    not_approved = [f for f, e in figures.items() if e["status"] != "approved"]
    if not_approved:
        echo(f"Note: {len(not_approved)} of {len(figures)} figure(s) are not approved in this release "
             f"(see {layout.relative(folder / 'summary.md')}).")
    return folder


def _summary(version: str, info: dict, rows: list[dict], figures: dict, changed: Changes) -> str:
    from collections import Counter

    from .ledger import describe_change
    from .report import fmt

    verdicts = Counter(r["verdict"] for r in rows)
    states = Counter(e["status"] for e in figures.values())
    lines = [
        f"# Release v{version}",
        "",
        f"- built: {info['date']} (build finished {info['build_finished']})",
        f"- source commit: {info['commit']}",
        f"- data package sha256: {info['data_sha256']}",
        f"- claims: {len(rows)} ({', '.join(f'{n} {v}' for v, n in sorted(verdicts.items())) or 'none'})",
        f"- figures: {len(figures)} ({', '.join(f'{n} {s}' for s, n in sorted(states.items())) or 'none'})",
        "",
        f"## Changes since {'v' + changed.previous if changed.previous else 'the start (first release)'}",
        "",
    ]
    moved = []
    for c in changed.claims:
        moved.append(f"- {describe_change(c, with_causes=False)}")
        for cause in c.get("causes", []):
            moved.append(f"  - because {cause['text']}")
            moved += [f"    - `{row}`" for row in cause.get("rows", [])]
    moved += [f"- {f['figure']}: figure {f['change']}" for f in changed.figures]
    lines += moved or ["- none" if changed.previous else "- first release"]
    lines += ["", "## Claims", "", "| claim | stated | reproduced | verdict |", "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['claim']} | {fmt(r['stated'])} | {fmt(r['reproduced'])} | {r['verdict']} |")
    lines += ["", "## Figures", "", "| figure | sha256 | review |", "|---|---|---|"]
    for fid, e in sorted(figures.items()):
        lines.append(f"| {fid} | {str(e['sha256'])[:12]} | {e['status']} |")
    return "\n".join(lines) + "\n"
