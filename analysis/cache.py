"""Data-aware cache of notebook runs, built on doit's checksum-based dependency database.

A run is current only when all of these are unchanged since its last successful execution:
its notebook's code cells, its parameters, the checksum of every dataset it reads (and that
dataset's catalog entry), the register entries it records, and the ``analysis`` package source.
Each input is a doit ``file_dep``; small key files under ``_build/.state`` stand in for the inputs
that are not files of their own (parameters, catalog entries, register entries). Dependencies and
targets are named by paths relative to the project root, so a copied or cloned project with its
``_build/`` is as current as the original (see ``docs/build-speed.md``).

``ResultStore`` keeps every successful result by the hash of its full input key, so a run whose
inputs return to an earlier state (a reverted data change) is restored instead of executed.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from doit.dependency import DatabaseException, Dependency, FileChangedChecker, SqliteDB
from doit.task import Task

from .files import atomic_write_bytes, canonical_json, compact_json, file_sha256_bytes, fingerprint, write_if_changed
from .paths import Layout
from .project import Run


class DurableSqliteDB(SqliteDB):
    """doit's sqlite backend with a commit that keeps the connection open.

    Each successful run is committed at once, so an interrupted build keeps what it finished.
    """

    def commit(self) -> None:
        for task_id in self._dirty:
            self._conn.execute("insert or replace into doit values (?,?)", (task_id, self.codec.encode(self._cache[task_id])))
        self._conn.commit()
        self._dirty = set()


class ContentChecker(FileChangedChecker):
    """doit checker comparing content fingerprints (timestamps alone never make a run stale).

    Dependencies are project-relative paths, resolved against ``root`` (set by :func:`checker_for`).
    """

    root: str = "."

    def _path(self, dep) -> str:
        return os.path.join(self.root, dep)

    def exists(self, file_path) -> bool:
        return os.path.exists(self._path(file_path))

    def info(self, file_path):
        try:
            return os.stat(self._path(file_path))
        except OSError:
            raise self.CheckerError(f"dependent file {file_path!r} does not exist") from None

    def check_modified(self, file_path, file_stat, state):
        return state != fingerprint(self._path(file_path))

    def get_state(self, dep, current_state):
        state = fingerprint(self._path(dep))
        return None if state == current_state else state


def checker_for(root: Path) -> type:
    """A :class:`ContentChecker` class resolving relative dependency paths against ``root``."""
    return type("RelativeContentChecker", (ContentChecker,), {"root": str(root)})


@dataclass
class Staleness:
    """Whether a run must execute, and why, in words a user understands."""

    address: str
    stale: bool
    reasons: list[str] = field(default_factory=list)


class RunCache:
    """The cache of one project. Use as a context manager so the database is closed."""

    def __init__(self, layout: Layout, *, datasets: dict[str, dict] | None = None, register: dict | None = None):
        self.layout = layout
        self.datasets = datasets or {}  # dataset name -> catalog entry (resource descriptor)
        self._written_dataset_keys: set[str] = set()
        self._written_register_keys: set[str] = set()
        self._written_run_keys: set[str] = set()
        self._root_prefix = str(layout.root).rstrip("/") + "/"
        self.register = register or {}  # notebook name -> list of register entries it records
        layout.state_dir.mkdir(parents=True, exist_ok=True)
        self.state_reset = False
        db = layout.state_dir / "doit.sqlite"
        checker = checker_for(layout.root)
        try:
            self.dep = self._open(db, checker)
        except (DatabaseException, sqlite3.DatabaseError):  # damaged: set aside, start afresh, say so per run
            os.replace(db, db.with_name("doit.sqlite.damaged"))
            self.state_reset = True
            self.dep = self._open(db, checker)

    @staticmethod
    def _open(db: Path, checker) -> Dependency:
        dep = Dependency(DurableSqliteDB, str(db), checker_cls=checker)
        try:
            dep.backend._conn.execute("select count(*) from doit").fetchone()
        except sqlite3.DatabaseError:
            dep.close()
            raise
        return dep

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.dep.close()

    # key files -----------------------------------------------------------------------------------
    def _params_key(self, run: Run) -> Path:
        return self.layout.state_dir / "params" / f"{run.address}.json"

    def _dataset_key(self, name: str) -> Path:
        return self.layout.state_dir / "catalog" / f"{name}.json"

    def _register_key(self, notebook: str) -> Path:
        return self.layout.state_dir / "register" / f"{notebook}.json"

    def package_files(self) -> list[Path]:
        return sorted(p for p in self.layout.package_dir.rglob("*.py") if "__pycache__" not in p.parts)

    def package_dependencies(self, run: Run) -> list[Path]:
        """The analysis modules the run's kernel imported last time (all of them before a first run)."""
        try:
            record = json.loads(self.layout.run_record(run.address).read_text(encoding="utf-8"))
            modules = record["analysis_modules"]
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            return self.package_files()
        if not modules:
            return self.package_files()
        return [self.layout.package_dir / m for m in modules]

    def write_keys(self, run: Run) -> None:
        """Write the key files standing for ``run``'s parameters, register entries and catalog entries
        (once per cache: they do not change while it is open)."""
        if run.address in self._written_run_keys:
            return
        write_if_changed(self._params_key(run), compact_json(run.parameters))
        if run.notebook not in self._written_register_keys:  # every set of a notebook records the same entries
            write_if_changed(self._register_key(run.notebook), compact_json(self.register.get(run.notebook, [])))
            self._written_register_keys.add(run.notebook)
        for name in run.datasets:
            if name not in self._written_dataset_keys:  # many runs read the same dataset
                # the refresh spec says how to ask the publisher for a newer snapshot; no notebook reads it
                entry = {k: v for k, v in self.datasets.get(name, {}).items() if k not in {"hash", "bytes", "obtained", "refresh"}}
                write_if_changed(self._dataset_key(name), compact_json(entry))
                self._written_dataset_keys.add(name)
        self._written_run_keys.add(run.address)

    def task(self, run: Run) -> Task:
        """The doit task standing for ``run``; writes its key files first."""
        self.write_keys(run)
        deps = [self.layout.notebook_source(run.notebook), self._params_key(run), self._register_key(run.notebook)]
        for name in run.datasets:
            deps += [self.layout.dataset_file(name), self._dataset_key(name)]
        deps += self.package_dependencies(run)
        targets = [self.layout.executed_notebook(run.address), self.layout.run_record(run.address)]
        return Task(run.address, actions=None, file_dep=[self._rel(d) for d in deps], targets=[self._rel(t) for t in targets])

    def _rel(self, path: Path) -> str:
        """A dependency's name in the database: its path relative to the project root (posix)."""
        text = str(path)
        if text.startswith(self._root_prefix) and os.sep == "/":  # the common case, without pathlib's parsing
            return text[len(self._root_prefix):]
        return Path(path).relative_to(self.layout.root).as_posix()

    # queries -------------------------------------------------------------------------------------
    def staleness(self, run: Run, *, previous_parameters: dict | None = None) -> Staleness:
        """Is ``run`` stale, and why? ``previous_parameters`` (from its last record) sharpen the reasons."""
        task = self.task(run)
        status = self.dep.get_status(task, {task.name: task}, get_log=True)
        if status.status == "up-to-date":
            return Staleness(run.address, False)
        reasons = self._explain(run, status, previous_parameters)
        return Staleness(run.address, True, reasons or ["inputs changed"])

    def record_success(self, run: Run) -> None:
        """Remember the inputs of a successful run (committed to the database at once)."""
        task = self.task(run)
        self.dep.save_success(task)
        self.dep.backend.commit()

    def forget(self, run: Run) -> None:
        self.dep.remove_success(self.task(run))
        self.dep.backend.commit()

    def _explain(self, run: Run, status, previous_parameters) -> list[str]:
        rel = self.layout.relative
        reasons = []
        if status.reasons.get("missing_target") and not self.layout.run_record(run.address).exists():
            return ["never executed (no output yet)" if previous_parameters is None else "output missing"]
        if self.dep._get(run.address, "deps:") is None and not status.reasons.get("missing_target"):
            where = rel(self.layout.state_dir)
            why = "was damaged and has been reset" if self.state_reset else "was reset or removed"
            return [f"its inputs were not recorded: the build state in {where}/ {why}, so nothing shows it current"]
        if status.reasons.get("missing_target"):
            reasons.append("output missing")
        if status.reasons.get("missing_file_dep"):
            reasons += [f"input missing: {p}" for p in status.reasons["missing_file_dep"]]
        changed = list(dict.fromkeys(status.reasons.get("changed_file_dep", [])))
        added = set(status.reasons.get("added_file_dep", []))
        for path in status.reasons.get("removed_file_dep", []):
            if "/catalog/" not in path:
                reasons.append(f"no longer reads {rel(self.layout.root / path)}")
        package_changed = []
        for path in changed:
            p = self.layout.root / path
            if path in added and "/catalog/" not in path:
                reasons.append(f"now reads {rel(p)}")
                continue
            if p == self.layout.notebook_source(run.notebook):
                reasons.append("notebook code changed")
            elif p == self._params_key(run):
                reasons += self._parameter_reasons(run, previous_parameters)
            elif p == self._register_key(run.notebook):
                reasons.append("its claims' register entries changed")
            elif p.parent.name == "catalog" and p.parent.parent == self.layout.state_dir:
                reasons.append(f"catalog entry of {p.stem} changed")
            elif self.layout.package_dir in p.parents:
                package_changed.append(rel(p))
            else:
                reasons.append(f"{rel(p)} changed")
        if package_changed:
            reasons.append("analysis package changed (" + ", ".join(package_changed) + ")")
        if status.reasons.get("checker_changed"):
            reasons.append("cache format changed")
        return reasons

    @staticmethod
    def _parameter_reasons(run: Run, previous: dict | None) -> list[str]:
        if previous is None:
            return ["parameters changed"]
        out = []
        for name in sorted(set(previous) | set(run.parameters)):
            if name not in run.parameters:
                out.append(f"parameter {name} removed")
            elif name not in previous:
                out.append(f"parameter {name} added ({run.parameters[name]!r})")
            elif previous[name] != run.parameters[name]:
                out.append(f"parameter {name} changed ({previous[name]!r} -> {run.parameters[name]!r})")
        return out or ["parameters changed"]


# Results restored by content -----------------------------------------------------------------------

def key_hash(key: dict) -> str:
    """sha256 of an input key's canonical JSON."""
    return file_sha256_bytes(compact_json(key).encode("utf-8"))


class ResultStore:
    """Content-addressed store of successful run results under ``_build/store/``.

    ``results/<base>/<full>.json`` holds a run record, where ``base`` hashes every input but the
    ``analysis`` modules and ``full`` hashes them all (the modules a run imports are known only after
    it ran, so candidates under ``base`` are checked against the current module sources).
    ``objects/<sha256>.ipynb`` holds the executed notebooks' bytes. Only hashes and project-relative
    paths are stored, so a copied project with its ``_build/`` restores the same results.
    """

    def __init__(self, cache: "RunCache"):
        self.cache = cache
        self.root = cache.layout.build_dir / "store"

    def input_key(self, run: Run, modules: list[str]) -> dict:
        """The full input key of ``run`` if it imports ``modules``: content hashes of everything it depends on."""
        layout = self.cache.layout
        self.cache.write_keys(run)
        return {
            "address": run.address,
            "notebook_code": fingerprint(layout.notebook_source(run.notebook)),
            "parameters": run.parameters,
            "register": fingerprint(self.cache._register_key(run.notebook)),
            "datasets": {name: {"file": fingerprint(layout.dataset_file(name)),
                                "entry": fingerprint(self.cache._dataset_key(name))} for name in sorted(run.datasets)},
            "modules": {m: fingerprint(layout.package_dir / m) for m in sorted(modules)},
        }

    def _base(self, run: Run) -> Path:
        key = self.input_key(run, [])
        key.pop("modules")
        return self.root / "results" / key_hash(key)

    def _object(self, sha256: str) -> Path:
        return self.root / "objects" / f"{sha256}.ipynb"

    def put(self, run: Run, record: dict) -> None:
        """Keep the result of a successful run (its executed notebook and record)."""
        out = self.cache.layout.executed_notebook(run.address)
        data = out.read_bytes()
        sha = file_sha256_bytes(data)
        if not self._object(sha).exists():
            atomic_write_bytes(self._object(sha), data)
        modules = record.get("analysis_modules") or []
        full = key_hash(self.input_key(run, modules))
        write_if_changed(self._base(run) / f"{full}.json", canonical_json({"notebook_sha256": sha, "record": record}))

    def lookup(self, run: Run) -> dict | None:
        """The stored result whose full input key equals ``run``'s current one, or None."""
        try:
            base = self._base(run)
            candidates = sorted(base.glob("*.json"))
        except OSError:  # an input is missing: nothing can match
            return None
        for path in candidates:
            try:
                entry = json.loads(path.read_text(encoding="utf-8"))
                modules = entry["record"].get("analysis_modules") or []
                if key_hash(self.input_key(run, modules)) == path.stem and self._object(entry["notebook_sha256"]).is_file():
                    return entry
            except (OSError, ValueError, KeyError, TypeError, RecursionError):
                continue  # a damaged or stale entry is no match
        return None

    def restore(self, run: Run, entry: dict) -> dict | None:
        """Put a stored result in place of ``run``'s output; return its record (None if the object is damaged)."""
        data = self._object(entry["notebook_sha256"]).read_bytes()
        if file_sha256_bytes(data) != entry["notebook_sha256"]:
            return None
        atomic_write_bytes(self.cache.layout.executed_notebook(run.address), data)
        return entry["record"]
