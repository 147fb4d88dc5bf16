"""The warm template (kernel side): imports the heavy modules once, then forks one grading kernel per request.

Started by the worker (:class:`autograder.grading.worker.warm.Template`) as ``python -P -m
autograder.grading.kernel.template FD``; see that module for the whole design.  A forked child takes its own
session, environment and file descriptors, enters the sandbox (:func:`.sandbox.enter`) and becomes the
kernel (:func:`.guard.main`), exactly as a cold kernel does.  The template runs no student code and holds no
secret; it refuses to fork once TensorFlow's runtime has started (:func:`fork_hazard`).
"""
from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import sys
import threading
import time
import traceback

from ..protocol import MAX_MESSAGE, Profile, die_with_parent, proc_status

# Imported by every template, whatever the notebook imports: the kernel machinery and the guard, and what
# ipykernel imports only when a kernel starts (its debugger brings debugpy: 0.25 s of every cold start).
BASE_IMPORTS = ("IPython", "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger",
                "sqlite3", "pydoc", "tornado.queues", "http.server", "xmlrpc.client",
                "IPython.core.completerlib", "IPython.core.debugger", "IPython.core.oinspect",
                "IPython.extensions.storemagic", "IPython.utils.wildcard", "tornado.platform.asyncio",
                "IPython.core.inputtransformer2", "matplotlib_inline.backend_inline", "autograder.grading.kernel.guard",
                "autograder.grading.kernel.sandbox")


# -- the template process --------------------------------------------------------------------------

def fork_hazard() -> str:
    """Why forking this process now could hand a kernel a broken runtime ('' when it is safe)."""
    if threading.active_count() != 1:
        return f"the template runs {threading.active_count()} Python threads"
    context = sys.modules.get("tensorflow.python.eager.context")   # loaded with TensorFlow (never imported here)
    if context is not None:
        ctx = context._context   # created at import; its runtime handle exists once an op has run
        if ctx is not None and ctx._context_handle is not None:
            return "TensorFlow's runtime was started in the template (an op ran before the fork)"
    return ""


def _status(forks: int, threads_at_start: int) -> dict:
    fields = proc_status()
    return {"pid": os.getpid(), "forks": forks, "rss_kb": fields.get("VmRSS"), "peak_rss_kb": fields.get("VmHWM"),
            "vm_kb": fields.get("VmSize"), "threads": fields.get("Threads"), "threads_at_start": threads_at_start,
            "hazard": fork_hazard()}


def _reap(signum, frame) -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _become_kernel(request: dict, fds: list[int], sock: socket.socket, ready_w: int) -> None:
    """In the forked child: own session, environment, file descriptors, sandbox; then the guard and ipykernel."""
    sock.close()
    os.setsid()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    env = dict(request["env"])
    for name, fd in zip(request["fd_env"], fds):
        os.set_inheritable(fd, True)
        env[name] = str(fd)
    keep = {0, 1, 2, ready_w, *fds}
    for entry in os.listdir("/proc/self/fd"):
        fd = int(entry)
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass   # the descriptor listdir() itself used
    os.environ.clear()
    os.environ.update(env)
    from . import sandbox

    profile = Profile.from_env()
    os.write(ready_w, b"ok")
    os.close(ready_w)
    sandbox.run_kernel(profile, request["argv"])


def _fork_kernel(request: dict, fds: list[int], sock: socket.socket) -> tuple[dict, list[int]]:
    ready_r, ready_w = os.pipe()
    template = os.getpid()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            die_with_parent(template)   # the kernel dies with the template (which dies with its worker)
            os.close(ready_r)
            _become_kernel(request, fds, sock, ready_w)
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        except BaseException:  # noqa: BLE001 - a kernel that cannot start dies; the worker sees it die
            try:
                os.write(2, traceback.format_exc().encode())
            except OSError:
                pass
        finally:
            try:
                atexit._run_exitfuncs()
            finally:
                os._exit(code)
    os.close(ready_w)
    for fd in fds:
        os.close(fd)
    answer = os.read(ready_r, 16)
    os.close(ready_r)
    try:
        pidfd = os.pidfd_open(pid)
    except OSError as err:
        return {"error": f"the forked kernel exited at once ({err})"}, []
    if answer != b"ok":
        os.close(pidfd)
        return {"error": "the forked kernel failed before its sandbox"}, []
    return {"pid": pid}, [pidfd]


def serve(fd: int, imports: list[str], protected_packages: list[str]) -> None:
    """The template: import, take the guard's snapshot, report, then fork one kernel per request until the
    worker goes away."""
    import importlib

    sock = socket.socket(fileno=fd)
    failed = {}
    loaded = frozenset()
    for name in (*BASE_IMPORTS, None, *imports):
        if name is None:   # what a notebook's imports find already loaded: importing it again runs nothing
            loaded = frozenset(sys.modules)
            continue
        try:
            importlib.import_module(name)
        except BaseException as err:  # noqa: BLE001 - the notebook will show the same failure
            failed[name] = f"{type(err).__name__}: {err}"[:300]
    from . import guard

    guard.prepare(imports, protected_packages, loaded)
    import gc

    gc.collect()
    gc.freeze()   # the imported objects stay where they are: forked kernels share their pages longer
    # Reap each kernel as it exits (its CPU time then counts in the worker's RUSAGE_CHILDREN, as a cold one's does).
    signal.signal(signal.SIGCHLD, _reap)
    threads_at_start = proc_status(keys=("Threads",))["Threads"]
    forks = 0
    hello = {"ready": True, "failed": failed, "loaded": sorted(loaded), **_status(forks, threads_at_start)}
    socket.send_fds(sock, [json.dumps(hello).encode()], [])
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, 8)
        except InterruptedError:
            continue
        except OSError:
            return
        if not data:
            return   # the worker is gone
        request = json.loads(data)
        reply, reply_fds = {}, []
        if request.get("op") == "spawn":
            hazard = fork_hazard()
            if hazard:
                for f in fds:
                    os.close(f)
                reply = {"error": f"refusing to fork: {hazard}"}
            else:
                cpu = time.process_time()
                reply, reply_fds = _fork_kernel(request, fds, sock)
                reply["fork_cpu"] = time.process_time() - cpu   # the template's share of the kernel's start
                forks += 1
        else:
            for f in fds:
                os.close(f)
            reply = _status(forks, threads_at_start)
        socket.send_fds(sock, [json.dumps(reply).encode()], reply_fds)
        for f in reply_fds:
            os.close(f)


def main(argv: list[str]) -> None:
    what = json.loads(argv[1]) if len(argv) > 1 else {}
    if what.get("parent_pid"):
        die_with_parent(what["parent_pid"])   # gone with the worker, however it dies (its socket may outlive it)
    serve(int(argv[0]), what.get("imports", []), what.get("protected_packages", []))




if __name__ == "__main__":
    main(sys.argv[1:])
