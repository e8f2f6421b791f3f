"""Fault scenarios: each starts from a built copy of the small fixture project, provokes one fault,
and checks the exit status, the message, the protected files (by hash) and the recovery.

The project is built once per session; every scenario gets a fresh copy at the *same* path (the
build state records absolute paths), so a scenario pays only for the runs its fault re-executes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from analysis.files import dump_yaml


def _load_top_conftest():
    """tests/conftest.py as a module of its own name (this folder's conftest shadows the name 'conftest')."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("claimcheck_tests_conftest", Path(__file__).parents[1] / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_top = _load_top_conftest()
FIXTURES, TempProject, copy_project = _top.FIXTURES, _top.TempProject, _top.copy_project

EXTRAS = FIXTURES / "miniproject" / "extras"
PROTECTED = ("data", "claims", "reviews")


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class Scenario(TempProject):
    """A built project plus the assertions every fault scenario makes."""

    def protected(self) -> dict[str, str]:
        """sha256 of every file under data/, claims/, reviews/ and of every good output in _build/notebooks/."""
        files = [p for top in PROTECTED for p in (self.root / top).rglob("*") if p.is_file()]
        files += [p for p in (self.root / "_build" / "notebooks").rglob("*") if p.is_file() and p.suffix in (".ipynb", ".json")
                  and not p.name.startswith(".")]
        return {p.relative_to(self.root).as_posix(): sha(p) for p in files}

    def unchanged(self, before: dict[str, str], *, but: tuple[str, ...] = ()) -> None:
        """No protected file changed, appeared or vanished, except those under the prefixes in ``but``."""
        after = self.protected()
        keep = lambda d: {k: v for k, v in d.items() if not k.startswith(but or ("\0",))}  # noqa: E731
        assert keep(after) == keep(before), sorted(set(keep(after).items()) ^ set(keep(before).items()))

    def fails(self, *args: str, says: tuple[str, ...] = (), status: int = 1, env: dict | None = None):
        """Run the CLI; it must exit with ``status``, print no traceback, and say each of ``says``."""
        proc = self.cli(*args, env=env)
        assert proc.returncode == status, (proc.returncode, proc.stdout, proc.stderr)
        no_traceback(proc)
        for text in says:
            assert text in proc.stderr, f"{text!r} not in:\n{proc.stderr}"
        return proc

    def fails_within_memory(self, *args: str, says: tuple[str, ...] = (), gigabytes: float = 1.0, seconds: int = 60):
        """Like :meth:`fails`, with the command's address space limited to ``gigabytes`` (a command that tried
        to use more would end in MemoryError, not the expected message) and its time to ``seconds``."""
        import resource

        limit = int(gigabytes * 2**30)
        env = {k: v for k, v in os.environ.items() if k != "CLAIMCHECK_PROJECT_ROOT"}
        proc = subprocess.run([sys.executable, "-m", "analysis", *args], cwd=self.root, env=env, capture_output=True,
                              text=True, timeout=seconds,
                              preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)))
        assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
        no_traceback(proc)
        for text in says:
            assert text in proc.stderr, f"{text!r} not in:\n{proc.stderr}"
        return proc

    def ok(self, *args: str, env: dict | None = None):
        proc = self.cli(*args, env=env)
        assert proc.returncode == 0, (proc.stdout, proc.stderr)
        no_traceback(proc)
        return proc

    def recovers(self, *, executes: list[str] | None = None, restores: list[str] | None = None) -> None:
        """The next normal build succeeds (executing exactly ``executes`` and restoring exactly ``restores``
        from the content store, if given) and leaves nothing stale."""
        proc = self.ok("build", "--no-render")  # plans every run: exit 0 means none is left stale or failed
        if executes is not None:
            assert sorted(self.executed()) == sorted(executes), proc.stdout
        if restores is not None:
            found = re.search(r"Restored \d+ run\(s\) from _build/store[^:]*: (.*)", proc.stdout)
            assert sorted(found.group(1).split(", ") if found else []) == sorted(restores), proc.stdout
        leftovers = [p.name for p in (self.root / "_build" / "notebooks").rglob(".*") if p.is_file()]
        assert leftovers == [], leftovers

    def edit_yaml(self, rel: str, change) -> None:
        doc = yaml.safe_load(self.path(rel).read_text(encoding="utf-8"))
        change(doc)
        self.path(rel).write_text(dump_yaml(doc), encoding="utf-8")

    def edit_json(self, rel: str, change) -> None:
        doc = json.loads(self.path(rel).read_text(encoding="utf-8"))
        change(doc)
        self.path(rel).write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    def only_beta(self) -> None:
        """Reduce the project to its cheapest notebook (and its claim), so a full rebuild is one run."""
        self.edit_yaml("project.yml", lambda d: d.update(notebooks={"beta": d["notebooks"]["beta"]}))
        self.edit_yaml("claims/register.yml", lambda d: d.update(claims=[c for c in d["claims"] if c["check"]["notebook"] == "beta"]))

    def restore(self, rel: str, snapshot: Path) -> None:
        """Put back a file from the built snapshot (what `git checkout -- FILE` does in a real project)."""
        shutil.copy2(snapshot / rel, self.path(rel))

    def add_delta(self, **sets) -> None:
        """Install the fault notebook ``delta`` (reads src-two.values; can pause or kill its kernel)."""
        shutil.copy2(EXTRAS / "delta.ipynb", self.path("notebooks/delta.ipynb"))
        self.edit_yaml("project.yml", lambda d: d["notebooks"].update(
            {"delta": {"title": "Delta", "datasets": ["src-two.values"], "parameter_sets": {"default": {}, **sets}}}))

    def in_namespace(self, script: str, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
        """Run ``sh -c script`` in a private mount namespace (mounts vanish with it), in the project folder."""
        env = {k: v for k, v in os.environ.items() if k != "CLAIMCHECK_PROJECT_ROOT"}
        env["PY"] = sys.executable
        return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", *args],
                              cwd=self.root, env=env, capture_output=True, text=True, timeout=timeout)


def no_traceback(proc) -> None:
    for stream in (proc.stdout, proc.stderr):
        assert "Traceback (most recent call last)" not in stream, stream
        assert "internal error" not in stream, stream


@pytest.fixture(scope="session")
def _built_snapshot(tmp_path_factory):
    base = tmp_path_factory.mktemp("faults")
    work = copy_project(FIXTURES / "miniproject", base / "mini")
    shutil.rmtree(work.root / "extras", ignore_errors=True)
    work.cli("build", "--no-render", check=True)
    work.cli("lock", check=True)
    work.cli("build", "--no-render", check=True)  # report sources now follow the lock
    snapshot = base / "snapshot"
    shutil.copytree(work.root, snapshot, symlinks=True)
    return work.root, snapshot


@pytest.fixture
def snapshot(_built_snapshot) -> Path:
    """The built project as it was before the scenario (read-only use)."""
    return _built_snapshot[1]


@pytest.fixture
def built(_built_snapshot) -> Scenario:
    """A fresh copy of the built fixture project, at the path it was built in."""
    work, snapshot = _built_snapshot
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(snapshot, work, symlinks=True)
    return Scenario(work)


def can_unshare() -> str | None:
    """None if private mount namespaces work here, else the reason they do not."""
    if shutil.which("unshare") is None:
        return "the unshare program is not installed"
    proc = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                           "mount -t tmpfs -o size=64k tmpfs /mnt 2>&1 || mount -t tmpfs -o size=64k tmpfs /tmp 2>&1"],
                          capture_output=True, text=True)
    return None if proc.returncode == 0 else f"cannot mount in a private namespace (needs root): {proc.stdout.strip()}"


needs_mounts = pytest.mark.skipif(bool(can_unshare()), reason=str(can_unshare()))


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (Linux /proc), at this moment."""
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = {int(c) for c in (task / "children").read_text().split()}
            except OSError:
                continue
            todo += list(children - found)
            found |= children
    return found


def alive(pids) -> set[int]:
    """The pids of ``pids`` that are still running (zombies, which have already exited, do not count)."""
    out = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in ("Z", "X"):
            out.add(pid)
    return out
