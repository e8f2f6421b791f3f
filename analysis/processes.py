"""The build's processes die with it, and no later build starts while one of them could still write.

* Every worker process and the warm-kernel template ask Linux to kill them when their parent dies
  (``prctl(PR_SET_PDEATHSIG)``, :func:`die_with_parent`); a warm kernel does the same with its
  template. A cold kernel started by jupyter_client exits when its worker goes away (ipykernel's
  parent poller, ``JPY_PARENT_PID``). So a build killed with SIGKILL leaves no process behind.
* Each of those processes (cold kernels through an inherited descriptor) holds a shared ``flock`` on
  ``_build/.state/running.lock`` for as long as it lives. A build, after taking the build lock, takes
  that lock exclusively (:func:`wait_for_orphans`): while any process of an earlier build lives, it
  waits a little, then refuses, naming the processes. The build lock alone is released by the kernel
  when the build's main process dies, even if an orphan still writes.
* SIGTERM (and SIGHUP) stop a build as Ctrl-C does (:func:`stop_on_termination`): workers are stopped,
  finished runs kept, partial files never used; the command says so and exits 128 + the signal.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

RUNNING_LOCK = "running.lock"
PR_SET_PDEATHSIG = 1
ORPHAN_WAIT = 15.0  # seconds a build waits for the processes of a killed build to exit
ORPHAN_WAIT_ENV = "CLAIMCHECK_ORPHAN_WAIT"  # another number of seconds (the fault tests wait less)


class Terminated(KeyboardInterrupt):
    """The command received SIGTERM or SIGHUP; handled like Ctrl-C (a KeyboardInterrupt)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


def stop_on_termination() -> None:
    """Turn SIGTERM and SIGHUP into :class:`Terminated`, raised in the main thread (call once, from it)."""

    def handler(signum, frame):
        signal.signal(signum, signal.SIG_IGN)  # one clean stop, not a second one in the middle of it
        raise Terminated(signum)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        try:
            signal.signal(signum, handler)
        except (ValueError, OSError):  # not the main thread, or no such signal here
            pass


def die_with_parent(parent: int | None = None, signum: int = signal.SIGKILL) -> None:
    """Ask Linux to send ``signum`` to this process when its parent exits; exit now if it already has.

    ``parent`` is the pid the parent had when this process was started (checked after the request,
    so a parent that died just before cannot be missed). A no-op where prctl is not available.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if parent is not None and os.getppid() != parent:
        os._exit(1)


def lock_path(state_dir: Path | str) -> Path:
    return Path(state_dir) / RUNNING_LOCK


_HELD: int | None = None


def hold_running_lock(path: Path | str) -> int | None:
    """Take a shared lock on the build's running lock for the life of this process; return its descriptor
    (inheritable, so a kernel started with ``pass_fds`` holds it too). None where flock is unavailable."""
    global _HELD
    if _HELD is not None:
        return _HELD
    try:
        import fcntl

        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_SH)
    except (ImportError, OSError):
        return None
    os.set_inheritable(fd, True)
    _HELD = fd
    return fd


def worker_start(parent: int, running_lock: str) -> None:
    """Initializer of the build's worker processes: die with the build, hold the running lock."""
    die_with_parent(parent)
    hold_running_lock(running_lock)


def holders(path: Path | str) -> list[int]:
    """Pids of the processes that have ``path`` open (Linux /proc; empty elsewhere or when unreadable)."""
    target = os.path.realpath(path)
    found = []
    for entry in Path("/proc").glob("[0-9]*") if Path("/proc/self/fd").is_dir() else []:
        try:
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) == target:
                    found.append(int(entry.name))
                    break
        except OSError:
            continue
    return sorted(p for p in found if p != os.getpid())


def wait_for_orphans(state_dir: Path, *, timeout: float | None = None) -> None:
    """Return once no process of an earlier build holds the running lock (BuildLocked after ``timeout``).

    Called under the build lock: the processes of a build that was killed exit within a second or
    two (they die with their parent); one that does not is named, and nothing is changed.
    """
    from .errors import BuildLocked

    try:
        import fcntl
    except ImportError:
        return
    if timeout is None:
        try:
            timeout = float(os.environ.get(ORPHAN_WAIT_ENV) or ORPHAN_WAIT)
        except ValueError:
            timeout = ORPHAN_WAIT
    path = lock_path(state_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return  # a read-only _build/: the build itself says so when it writes
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(fd, fcntl.LOCK_UN)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    pids = holders(path)
                    named = f" (pid {', '.join(map(str, pids))})" if pids else ""
                    raise BuildLocked(
                        f"a process of an earlier build{named} is still running and could still write into _build/; "
                        f"it holds {path.name} in {path.parent}", hint=(
                            f"wait for it to end, or end it (kill {' '.join(map(str, pids))}), then build again; "
                            "nothing was changed by this attempt" if pids else
                            "wait for it to end (ps shows it), then build again; nothing was changed by this attempt")
                    ) from None
                time.sleep(0.2)
    finally:
        os.close(fd)
