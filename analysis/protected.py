"""The protected trees (``data/``, ``claims/``, ``reviews/``): nothing there changes during a build.

Those files change only through explicit commands (``data accept``, ``lock``, ``review add``). A
notebook is code, and code can write anywhere: rewrite ``claims/lock.json``, drop a file into
``reviews/``, delete a data file. So the build takes a :class:`Snapshot` of the trees before its runs
(every file's sha256, with its bytes kept in memory up to :data:`KEEP_BYTES`; the real trees are a few
MB) and checks it after each run. A change fails that run, naming each file and what happened to it;
the files are put back as they were (from memory, the accepted-file store or git), and what the run
left there is moved aside to ``_build/failed/protected/`` so nothing anyone wrote is lost.

The check after a run compares each file's ``stat`` (size, inode, modification and change times:
writing or even re-dating a file changes its change time) and hashes only the files whose stat moved.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DataIntegrityError
from .files import atomic_write_bytes, file_sha256_bytes
from .paths import Layout

TREES = ("data", "claims", "reviews")
KEEP_BYTES = 64 * 1024 * 1024  # bytes of protected files kept in memory to restore them


def _stat_key(st: os.stat_result) -> tuple:
    return (st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_mode)


def refuse_links(layout: Layout) -> None:
    """DataIntegrityError naming the first symbolic link under ``data/`` (data files are regular files,
    as git tracks them; a link could point anywhere, /etc/passwd included)."""
    for top, dirs, files in os.walk(layout.data_dir):
        for name in sorted(dirs + files):
            path = Path(top) / name
            if path.is_symlink():
                rel = path.relative_to(layout.root).as_posix()
                try:
                    target = os.readlink(path)
                except OSError:
                    target = "?"
                raise DataIntegrityError(
                    f"{rel} is a symbolic link to {target}: files under data/ must be regular files, not links to "
                    "files elsewhere (nothing was read or changed)",
                    hint=f"put the file itself in its place (cp --remove-destination \"$(readlink -f {rel})\" {rel}), "
                         "review it with `python -m analysis data diff NAME` and accept it with "
                         f"`python -m analysis data accept NAME`; or restore it with `git checkout -- {rel}`")


@dataclass
class Change:
    path: str  # project-relative
    what: str  # "modified", "deleted", "added"
    restored: bool = False
    kept: str | None = None  # where the version the run left was moved (project-relative)


@dataclass
class Snapshot:
    """sha256 (and, within budget, the bytes) of every file under the protected trees."""

    layout: Layout
    files: dict[str, tuple[tuple, str]] = field(default_factory=dict)  # rel -> (stat key, sha256)
    kept: dict[str, bytes] = field(default_factory=dict)
    folders: set[str] = field(default_factory=set)  # folders that existed (an emptied new one is removed)

    @classmethod
    def take(cls, layout: Layout) -> "Snapshot":
        snapshot = cls(layout)
        budget = KEEP_BYTES
        for rel, path in snapshot._walk(snapshot.folders):
            try:
                st = path.stat()
                data = path.read_bytes()
            except OSError:
                continue  # unreadable (mode 000): the loads that need it say so
            snapshot.files[rel] = (_stat_key(st), file_sha256_bytes(data))
            if len(data) <= budget:
                snapshot.kept[rel] = data
                budget -= len(data)
        return snapshot

    def _walk(self, folders: set[str] | None = None):
        root = self.layout.root
        for tree in TREES:
            for top, dirs, files in os.walk(root / tree):
                dirs.sort()
                if folders is not None:
                    folders.add(Path(top).relative_to(root).as_posix())
                for name in sorted(files):
                    path = Path(top) / name
                    if not path.is_symlink():
                        yield path.relative_to(root).as_posix(), path

    def changes(self) -> list[Change]:
        """What changed since the snapshot (files modified, deleted or added), without touching anything."""
        found, seen = [], set()
        for rel, path in self._walk():
            seen.add(rel)
            known = self.files.get(rel)
            try:
                st = path.stat()
            except OSError:
                continue
            if known is None:
                found.append(Change(rel, "added"))
            elif _stat_key(st) != known[0]:
                try:
                    sha = file_sha256_bytes(path.read_bytes())
                except OSError:
                    continue
                if sha != known[1]:
                    found.append(Change(rel, "modified"))
                else:  # rewritten with the same bytes: nothing changed, remember the new stat
                    self.files[rel] = (_stat_key(st), sha)
        found += [Change(rel, "deleted") for rel in self.files if rel not in seen]
        return sorted(found, key=lambda c: c.path)

    def restore(self, changes: list[Change], aside: Path) -> None:
        """Put every changed file back as it was; what the run left goes to ``aside`` (kept, never deleted).

        A file whose earlier bytes cannot be found (not kept in memory, not in the accepted-file store,
        not in git) is left as the run left it, and the change says it was not restored."""
        root = self.layout.root
        for change in changes:
            path = root / change.path
            original = None if change.what == "added" else self._original(change.path)
            if change.what != "deleted" and (change.what == "added" or original is not None):
                target = aside / change.path
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, target)
                    change.kept = self.layout.relative(target)
                except OSError:
                    continue  # not kept aside: leave the file as it is
            try:
                if change.what == "added":
                    path.unlink()
                    self._remove_new_folders(path.parent)
                elif original is not None:
                    atomic_write_bytes(path, original)
                    os.chmod(path, self.files[change.path][0][4] & 0o7777)
                    self.files[change.path] = (_stat_key(path.stat()), self.files[change.path][1])
                else:
                    continue
                change.restored = True
            except Exception:  # noqa: BLE001 - FileError or OSError: the message says it was not restored
                pass

    def _remove_new_folders(self, folder: Path) -> None:
        """Remove the empty folders a run created (those the snapshot did not see)."""
        root = self.layout.root
        while folder != root and folder.relative_to(root).as_posix() not in self.folders:
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    def _original(self, rel: str) -> bytes | None:
        """The bytes ``rel`` had when the snapshot was taken: from memory, the accepted-file store or git."""
        sha = self.files[rel][1]
        if rel in self.kept:
            return self.kept[rel]
        stored = self.layout.state_dir / "accepted" / f"{sha}.csv"
        candidates = []
        try:
            candidates.append(stored.read_bytes())
        except OSError:
            pass
        try:
            shown = subprocess.run(["git", "show", f"HEAD:./{rel}"], cwd=self.layout.root, capture_output=True, timeout=60)
            if shown.returncode == 0:
                candidates.append(shown.stdout)
        except (OSError, subprocess.SubprocessError):
            pass
        return next((data for data in candidates if file_sha256_bytes(data) == sha), None)


def describe(changes: list[Change]) -> str:
    """``claims/lock.json (modified, restored)``, one per line."""
    lines = []
    for c in changes:
        state = "restored" if c.restored and c.what != "added" else ("removed" if c.restored else "NOT restored")
        kept = (f"; the version found after the run is kept in {c.kept}, to copy back if it was your own edit made "
                "during the build" if c.kept and c.what != "deleted" else "")
        lines.append(f"{c.path} ({c.what}, {state}{kept})")
    return "\n    ".join(lines)
