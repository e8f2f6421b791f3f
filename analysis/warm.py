"""Warm runs: a template process imports the heavy third-party libraries once per build and forks a
fresh kernel for each notebook run.

Starting ``python -m ipykernel_launcher`` and importing pandas, numpy, matplotlib, seaborn, IPython
and ipykernel costs 1-2 s of CPU per run; on a shared 2-core machine that is a large share of a
build. The template (:func:`serve`) imports those libraries, then waits on a Unix socket. For each
run, a jupyter_client kernel provisioner (:class:`WarmProvisioner`) asks it to fork; the child
takes the run's environment, working directory and stdio, and becomes an ordinary ipykernel.

What stays exact:

* every run still starts from a fresh interpreter namespace: a forked child has the template's
  imported modules but no user variables, and the template never executes notebook code;
* only third-party libraries are preloaded: the child drops every ``analysis`` module from
  ``sys.modules`` before the kernel starts, so the modules a run imports (part of its cache key)
  are recorded exactly as in a cold kernel;
* the template sets ``MPLBACKEND`` to the inline backend before importing matplotlib, exactly as
  ipykernel does at start, and never imports the backend itself, so figures render the same;
* numpy's global random state is re-seeded from the OS in each child (as a fresh process would be).

POSIX only (``fork`` and ``SCM_RIGHTS``); elsewhere, or if the template cannot start, runs are cold.
``CLAIMCHECK_COLD=1`` turns warm runs off.
"""

from __future__ import annotations

import asyncio
import atexit
import importlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOCKET_ENV = "CLAIMCHECK_WARM_SOCKET"
last_kernel: str | None = None  # in a worker: how its last kernel started ("warm" or "cold")
COLD_ENV = "CLAIMCHECK_COLD"
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
PRELOAD = ("numpy", "pandas", "matplotlib", "matplotlib.pyplot", "seaborn", "frictionless",
           "IPython", "ipykernel.kernelapp", "ipykernel.ipkernel")
FRESH_IN_EACH_RUN = ("analysis", "matplotlib_inline.backend_inline")  # dropped from sys.modules in each child


def available() -> bool:
    """Warm runs are possible here (POSIX fork and fd passing) and not turned off."""
    return hasattr(os, "fork") and hasattr(socket, "send_fds") and os.environ.get(COLD_ENV, "") in ("", "0")


# The template process -----------------------------------------------------------------------------

def serve(socket_path: str, running_lock: str | None = None) -> None:
    """Run the template: preload, then fork one kernel per request until the build process goes away."""
    from .processes import die_with_parent, hold_running_lock

    parent = os.getppid()
    die_with_parent(parent)  # killed with the build, even by SIGKILL
    if running_lock:
        hold_running_lock(running_lock)  # inherited by every kernel it forks
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)  # what ipykernel sets before matplotlib loads
    for name in PRELOAD:
        importlib.import_module(name)
    import threading

    if threading.active_count() != 1:  # forking a multi-threaded process is unsafe: stay cold
        raise SystemExit(f"warm template: preloading started {threading.active_count() - 1} thread(s)")
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # kernels are reaped at once; their exit is seen by pid
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(socket_path)
    server.listen(8)
    server.settimeout(1.0)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while os.getppid() == parent:
        try:
            conn, _ = server.accept()
        except socket.timeout:
            continue
        with conn:
            conn.settimeout(30)
            message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 2)
            request = json.loads(message.decode("utf-8"))
            pid = os.fork()
            if pid == 0:
                server.close()
                conn.close()
                _become_kernel(request, fds)  # never returns
            for fd in fds:
                os.close(fd)
            conn.sendall(json.dumps({"pid": pid}).encode("utf-8"))


def _become_kernel(request: dict, fds: list[int]) -> None:
    """In the forked child: take the run's stdio, environment and folder, then start ipykernel."""
    code = 1
    try:
        from .processes import die_with_parent

        die_with_parent(os.getppid())  # killed with the template, which dies with the build
        os.setsid()  # its own process group, as jupyter_client gives a launched kernel
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        atexit._clear()  # the template's exit handlers are not the kernel's
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(fds[0], 1)
        os.dup2(fds[1], 2)
        for fd in (devnull, *fds):
            os.close(fd)
        os.environ.clear()
        os.environ.update(request["env"])
        # ipykernel exits when this parent goes away: the template, which exits when the build does
        os.environ["JPY_PARENT_PID"] = str(os.getppid())
        os.chdir(request["cwd"])
        if sys.path and sys.path[0] in ("", os.getcwd()):  # as ipykernel_launcher does
            del sys.path[0]
        for name in list(sys.modules):
            if any(name == fresh or name.startswith(fresh + ".") for fresh in FRESH_IN_EACH_RUN):
                del sys.modules[name]
        import numpy

        numpy.random.seed()  # fresh entropy, as in a new process
        sys.argv = [request["argv0"], *request["args"]]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance(argv=request["args"])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        try:
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


class Template:
    """The template process of one build: started before the first run, stopped after the last."""

    def __init__(self, root: Path, log: Path, running_lock: Path | None = None):
        self.folder = tempfile.mkdtemp(prefix="claimcheck-warm-")
        self.socket_path = os.path.join(self.folder, "t.sock")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
        env.pop(SOCKET_ENV, None)
        # the template may start while the build still checks its inputs, and a build stopped by those
        # checks leaves the project untouched: the log is written beside the socket and copied to ``log``
        # once the template has been waited for (see _keep_log)
        self.log = log
        self.waited = False
        self._log_path = os.path.join(self.folder, "template.log")
        self._log = open(self._log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-c", "import sys; from analysis.warm import serve; serve(*sys.argv[1:])", self.socket_path,
             *([str(running_lock)] if running_lock else [])],
            cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._log,
        )

    def wait_ready(self, timeout: float = 300) -> bool:
        """True once the template has preloaded and listens; False if it failed (runs are then cold)."""
        import selectors

        self.waited = True
        with selectors.DefaultSelector() as sel:
            sel.register(self.process.stdout, selectors.EVENT_READ)
            if sel.select(timeout) and self.process.stdout.readline().strip() == b"ready":
                return True
        self.stop()
        return False

    def stop(self) -> None:
        """Stop the template (running kernels are not its to stop: each belongs to its run)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process.stdout.close()
        self._log.close()
        self._keep_log()
        for path in (self.socket_path, self._log_path):
            try:
                os.unlink(path)
            except OSError:
                pass
        os.rmdir(self.folder) if os.path.isdir(self.folder) and not os.listdir(self.folder) else None

    def _keep_log(self) -> None:
        """Copy the template's log to the build's state folder, if this build used (waited for) the template."""
        if not self.waited or not os.path.exists(self._log_path):
            return
        try:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self._log_path, self.log)
        except OSError:
            pass  # a diagnostic only


# The kernel provisioner (in each worker) --------------------------------------------------------

def request_fork(socket_path: str, cmd: list[str], env: dict, cwd: str) -> int:
    """Ask the template to fork a kernel running ``cmd``'s arguments; returns the kernel's pid."""
    args = list(cmd)
    if "-m" in args:  # [python, -m, ipykernel_launcher, -f, conn.json] -> [-f, conn.json]
        args = args[args.index("-m") + 2:]
    import ipykernel_launcher

    request = {"args": args, "argv0": ipykernel_launcher.__file__,
               "env": {k: v for k, v in env.items() if k != SOCKET_ENV}, "cwd": str(cwd)}
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(60)
        conn.connect(socket_path)
        socket.send_fds(conn, [json.dumps(request).encode("utf-8")], [sys.stdout.fileno(), sys.stderr.fileno()])
        reply = b""
        while chunk := conn.recv(4096):
            reply += chunk
    return int(json.loads(reply.decode("utf-8"))["pid"])


class ForkedKernel:
    """The part of ``subprocess.Popen`` jupyter_client uses, for a kernel forked by the template."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except (ProcessLookupError, PermissionError):
                self.returncode = 0  # the template reaps it; its status is not ours to read
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("kernel", timeout)
            time.sleep(0.05)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def manager_class(socket_path: str | None):
    """An AsyncKernelManager class whose kernels are forked by the template listening at ``socket_path``
    (or, without one, started cold as jupyter_client starts them); either way each kernel holds this
    worker's share of the build's running lock (see :mod:`analysis.processes`)."""
    from jupyter_client import AsyncKernelManager
    from jupyter_client.provisioning import LocalProvisioner

    from .processes import _HELD

    class HeldProvisioner(LocalProvisioner):
        """jupyter_client's local launch, with the running lock's descriptor passed to the kernel."""

        async def launch_kernel(self, cmd, **kwargs):
            if _HELD is not None:
                kwargs["pass_fds"] = tuple(kwargs.get("pass_fds", ())) + (_HELD,)
            return await super().launch_kernel(cmd, **kwargs)

    class WarmProvisioner(HeldProvisioner):
        """Launches the kernel by asking the template to fork (the rest is LocalProvisioner's)."""

        async def launch_kernel(self, cmd, **kwargs):
            cwd = kwargs.get("cwd") or os.getcwd()
            env = dict(kwargs.get("env") or os.environ)
            loop = asyncio.get_running_loop()
            global last_kernel
            try:
                pid = await loop.run_in_executor(None, request_fork, socket_path, cmd, env, cwd)
            except (OSError, ValueError, KeyError) as exc:  # the template went away: start this kernel cold
                print(f"warm template unreachable ({exc}); starting a cold kernel", file=sys.stderr)
                last_kernel = "cold"
                return await super().launch_kernel(cmd, **kwargs)
            last_kernel = "warm"
            self.process = ForkedKernel(pid)
            self.pid = self.pgid = pid  # the child calls setsid(): its group id is its pid
            self.cwd = cwd
            return self.connection_info

    provisioner = WarmProvisioner if socket_path else HeldProvisioner

    class WarmKernelManager(AsyncKernelManager):
        async def _async_pre_start_kernel(self, **kw):
            if self.provisioner is None:
                import uuid

                self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
                self.provisioner = provisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
            return await super()._async_pre_start_kernel(**kw)

    return WarmKernelManager
