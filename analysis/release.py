"""Releases: the record of a published report version, and what changed since the previous one.

The project has one version number, ``analysis.__version__``. ``python -m analysis release`` records
the current (fully current) build as ``releases/v<version>/``:

* ``ledger.json``   the claims ledger of that version (every claim's stated, reproduced value, verdict);
* ``manifest.json`` the build manifest (parameters, inputs with sha256, outputs, run times, versions);
* ``figures.json``  every figure id with its checksum and review status;
* ``summary.md``    a short human-readable summary;
* ``release.json``  the commit it was built from and whether the tree had uncommitted changes.

A release is recorded only from a committed tree: uncommitted (or untracked) files under the build's
inputs would make the recorded commit a lie, so ``release`` refuses them, naming the files, unless
``--allow-dirty`` insists; then the release says so on screen, in ``summary.md`` and in ``release.json``.

These are small text files, committed with the code. Reading releases and comparing with them lives in
``analysis.history`` (used by the report too); imports go one way: release -> build -> report -> history. Later builds compare themselves with the newest
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
import subprocess
from pathlib import Path

from . import ledger
from .build import Context, build_lock, plan
from .errors import ReleaseError
from .files import canonical_json
from .history import (Changes, figure_changes, load_release, previous_release, release_dir,  # noqa: F401 (re-exported)
                      released_versions, version_key, what_changed)
from .paths import Layout


#: What a build reads: untracked files here make a tree dirty too (other untracked files do not).
BUILD_INPUTS = ("analysis", "notebooks", "data", "claims", "report", "reviews", "project.yml", "_quarto.yml",
                "pyproject.toml", "environment.yml")


def uncommitted_files(layout: Layout) -> list[str] | None:
    """Project files that differ from the last commit (tracked and changed, staged, deleted, or untracked
    under :data:`BUILD_INPUTS`), as ``git status`` shows them; None if the project is not a git checkout
    with a commit."""
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=layout.root, capture_output=True, text=True, timeout=60)

    try:
        top = git("rev-parse", "--show-toplevel")
        if top.returncode != 0 or git("rev-parse", "--verify", "-q", "HEAD").returncode != 0:
            return None
        status = git("status", "--porcelain=v1", "--untracked-files=all", "--", ".")
    except (OSError, subprocess.SubprocessError):
        return None
    prefix = Path(layout.root).resolve().relative_to(Path(top.stdout.strip()).resolve()).as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    out = []
    for line in status.stdout.splitlines():
        code, path = line[:2], line[3:].split(" -> ")[-1].strip('"')
        path = path[len(prefix):] if path.startswith(prefix) else path
        if code == "??" and not path.startswith(tuple(f"{p}/" for p in BUILD_INPUTS) + BUILD_INPUTS):
            continue
        out.append(f"{code.strip() or '?'} {path}")
    return out


def check_tree(layout: Layout, *, allow_dirty: bool, echo=print) -> dict:
    """The source state a release records; ReleaseError for a dirty tree (or no git) unless ``allow_dirty``."""
    from .report import git_state

    changed = uncommitted_files(layout)
    commit, _, why = git_state(layout.root)
    if changed is None:
        if not allow_dirty:
            missing = why == "git was not found on PATH"
            raise ReleaseError((f"{why}, so a release could not name the sources it was built from" if missing else
                                "the project is not a git checkout with a commit, so a release could not name the "
                                "sources it was built from"),
                               hint=("install git (or put it on PATH), then release; " if missing else
                                     "commit the project (git init; git add -A; git commit), build, then release; ")
                                    + "or pass --allow-dirty to record it anyway (the release says so)")
    elif changed and not allow_dirty:
        shown = "\n    ".join(changed[:20]) + (f"\n    ... and {len(changed) - 20} more" if len(changed) > 20 else "")
        raise ReleaseError(f"the working tree has {len(changed)} uncommitted change(s), so the release would not match "
                           f"commit {str(commit)[:10]}:\n    {shown}",
                           hint="commit (or revert) them, build, then release; or pass --allow-dirty to record this "
                                "build anyway (the release says so)")
    dirty = changed is None or bool(changed)
    if dirty:
        state = f"a tree with no commit to name ({why or 'not a git checkout'})" if changed is None else \
            f"{len(changed)} uncommitted change(s)"
        echo(f"Warning: releasing with --allow-dirty from {state}; the release records it.")
    return {"commit": commit, "dirty": dirty, "allow_dirty": allow_dirty and dirty, "uncommitted": changed or []}


def record_release(layout: Layout, *, allow_dirty: bool = False, echo=print) -> Path:
    """Record the current build as ``releases/v<version>/``; return the folder.

    Refuses (ReleaseError, nothing written) when that version is already released, when the tree has
    uncommitted changes (unless ``allow_dirty``), when the project was never built, or when any notebook
    run is stale or the ledger and report sources lag the runs.
    """
    from . import __version__
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
    source = check_tree(layout, allow_dirty=allow_dirty, echo=echo)
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
            (tmp / "summary.md").write_text(_summary(version, info, rows, figures, changed, source), encoding="utf-8")
            (tmp / "release.json").write_text(canonical_json({"version": version, **source}), encoding="utf-8")
            os.replace(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    not_approved = [f for f, e in figures.items() if e["status"] != "approved"]
    if not_approved:
        echo(f"Note: {len(not_approved)} of {len(figures)} figure(s) are not approved in this release "
             f"(see {layout.relative(folder / 'summary.md')}).")
    return folder


def _summary(version: str, info: dict, rows: list[dict], figures: dict, changed: Changes, source: dict) -> str:
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
        *([f"- released with --allow-dirty: {len(source['uncommitted'])} uncommitted change(s)"
           + (": " + ", ".join(f"`{c}`" for c in source["uncommitted"][:10]) if source["uncommitted"] else
              " (not a git checkout)")] if source["allow_dirty"] else []),
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
