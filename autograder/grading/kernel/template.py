"""The warm template (kernel side): imports the heavy modules once, then forks one grading kernel per request.

Started by the worker (:class:`autograder.grading.worker.warm.Template`) as ``python -P -m
autograder.grading.kernel.template FD``; see that module for the whole design.  In local grading the
command starts one *template server* at its start (:mod:`autograder.grading.parent.template_server`): it
imports the same modules once for the whole machine, and each worker's template is forked from it
(:func:`serve_workers`) instead of importing them again.  A forked child takes its own
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
import struct
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
                "autograder.grading.kernel.sandbox",
                # What every lesson's kernel imported on its own before this list had them (18 ms of each): IPython's
                # shell at its start, the image plugins PIL loads at a figure's first PNG (the inline backend's),
                # NumPy's random generators (Keras's set_random_seed; matplotlib has already imported NumPy).
                "IPython.core.logger", "IPython.core.magic_arguments", "IPython.core.magics.ast_mod",
                "IPython.core.magics.execution", "IPython.core.magics.pylab", "IPython.utils.module_paths",
                "PIL.BmpImagePlugin", "PIL.GifImagePlugin", "PIL.JpegImagePlugin", "PIL.PpmImagePlugin",
                "numpy.random", "secrets")


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
    return {"pid": os.getpid(), "parent_pid": os.getppid(), "forks": forks, "rss_kb": fields.get("VmRSS"),
            "peak_rss_kb": fields.get("VmHWM"), "vm_kb": fields.get("VmSize"), "threads": fields.get("Threads"),
            "threads_at_start": threads_at_start, "hazard": fork_hazard()}


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


def _import_all(names) -> dict[str, str]:
    """Import each of ``names``; the ones that failed (name -> error: the notebook will show the same failure)."""
    import importlib

    failed = {}
    for name in names:
        try:
            importlib.import_module(name)
        except BaseException as err:  # noqa: BLE001
            failed[name] = f"{type(err).__name__}: {err}"[:300]
    return failed


def _snapshot(imports: list[str], protected_packages: list[str], loaded: frozenset[str]) -> None:
    """Take the guard's snapshot for a notebook importing ``imports``, and freeze what is loaded so that forked
    kernels share its pages longer."""
    from . import guard

    guard.prepare(imports, protected_packages, loaded)
    import gc

    gc.collect()
    gc.freeze()


# Never a cell's file (IPython names those /tmp/ipykernel_<pid>/<hash>.py), so no kernel's traceback can be
# told the warm-up's source.
WARM_UP_FILE = "/autograder-template/warm-up.py"


def warm_tracebacks() -> None:
    """Format one traceback of a cell-like file the way a kernel's IPython does (its default mode and theme,
    read from ``InteractiveShell``'s traits), so that
    what every kernel would otherwise build again at its first error is built once, here, and shared by every
    fork: ``inspect``'s map of module files (each of the thousands of loaded modules' real path), the Python
    lexer's compiled token tables (pygments), the formatter's styles, the source parser (stack_data, executing).
    Pure Python: no thread starts, TensorFlow is not touched (:func:`fork_hazard`).  About 40 ms of a grading
    kernel's CPU for a notebook that raises once, 0.1 s for one that raises a dozen times.  Only a saving: if
    IPython's formatter changed and this failed, the template would serve as before (its log says why)."""
    import linecache

    source = "def answer():\n    raise ValueError('warm-up')\n\nanswer()\n"
    linecache.cache[WARM_UP_FILE] = (len(source), None, source.splitlines(True), WARM_UP_FILE)
    try:
        from IPython.core import ultratb
        from IPython.core.interactiveshell import InteractiveShell

        formatter = ultratb.AutoFormattedTB(mode=InteractiveShell.xmode.default_value,
                                            theme_name=InteractiveShell.colors.default_value, tb_offset=1)
        try:
            exec(compile(source, WARM_UP_FILE, "exec"), {"__name__": "__main__"})
        except ValueError:
            formatter.structured_traceback(*sys.exc_info())
    except Exception as err:  # noqa: BLE001 - a warm-up that fails costs each kernel its first traceback, no more
        print(f"autograder template: tracebacks not warmed up ({type(err).__name__}: {err})", file=sys.stderr)
    finally:
        linecache.cache.pop(WARM_UP_FILE, None)


def load(imports: list[str], protected_packages: list[str]) -> tuple[dict[str, str], frozenset[str]]:
    """Import the kernel machinery, then the notebook's ``imports``; take the guard's snapshot.  Returns the
    imports that failed (name -> error) and the modules loaded before the notebook's imports (what a
    notebook's imports find already loaded: importing it again runs nothing)."""
    failed = _import_all(BASE_IMPORTS)
    loaded = frozenset(sys.modules)
    failed.update(_import_all(imports))
    warm_tracebacks()
    _snapshot(imports, protected_packages, loaded)
    # Reap each child as it exits (a kernel's CPU time then counts in the worker's RUSAGE_CHILDREN, as a cold
    # one's does; a template server's templates, in the command's).
    signal.signal(signal.SIGCHLD, _reap)
    return failed, loaded


def serve(sock: socket.socket, failed: dict[str, str], loaded: frozenset[str]) -> None:
    """The template, once loaded: report, then fork one kernel per request until the worker goes away."""
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


# -- the template server: one import for every worker of the machine --------------------------------------

def _fork_template(worker_fd: int, listener: socket.socket, conn: socket.socket, request: dict,
                   failed: dict[str, str], loaded: frozenset[str]) -> tuple[dict, list[int]]:
    """Fork a template that serves the worker at the other end of ``worker_fd`` (a socket pair's end the
    worker sent): what the worker would have started itself, without importing again what the server has.
    It imports what the worker's notebook needs beyond that (:func:`_import_more`)."""
    server = os.getpid()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            die_with_parent(server)   # gone with the server (which dies with the command); and with its worker,
            listener.close()          # when the worker's end of the socket closes
            conn.close()
            more = _import_more(request["imports"], request["protected_packages"], loaded)
            serve(socket.socket(fileno=worker_fd), {**failed, **more}, loaded)
            code = 0
        except BaseException:  # noqa: BLE001 - the worker sees the socket close and starts its own template
            try:
                os.write(2, traceback.format_exc().encode())
            except OSError:
                pass
        finally:
            os._exit(code)
    os.close(worker_fd)
    try:
        return {"pid": pid}, [os.pidfd_open(pid)]
    except OSError as err:
        return {"error": f"the forked template exited at once ({err})"}, []


def _import_more(imports: list[str], protected_packages: list[str], loaded: frozenset[str]) -> dict[str, str]:
    """In a template forked by the server: import those of ``imports`` not loaded yet (a lesson's own helper
    module), and take the guard's snapshot again if any was; the imports that failed (name -> error)."""
    more = [name for name in imports if name not in sys.modules]
    failed = _import_all(more)
    if more:
        _snapshot(imports, protected_packages, loaded)
    return failed


def serve_workers(listener: socket.socket, spec: dict, failed: dict[str, str], loaded: frozenset[str],
                  command_pid: int) -> None:
    """The template server: for each worker that connects and asks for a template (its imports, kernels'
    environment and protected packages) that this one's ``spec`` can become, fork one and hand the worker its
    process handle; a worker that asks for another is told why (it starts its own template).  Only the command
    that started the server (``command_pid``) and its children (its workers) are served: never a kernel, whose
    parent is a template, even if it finds the socket."""
    while True:
        try:
            conn, _ = listener.accept()
        except InterruptedError:
            continue
        except OSError:
            return
        with conn:
            conn.settimeout(30)   # a client that connects and sends nothing holds up no one for long
            try:
                data, fds, _, _ = socket.recv_fds(conn, MAX_MESSAGE, 1)
            except OSError:
                continue
            reply, reply_fds = _answer(conn, data, fds, spec, listener, failed, loaded, command_pid)
            try:
                socket.send_fds(conn, [json.dumps(reply).encode()], reply_fds)
            except OSError:
                pass
            for fd in reply_fds:
                os.close(fd)


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rpartition(")")[2].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _answer(conn: socket.socket, data: bytes, fds: list[int], spec: dict, listener: socket.socket,
            failed: dict[str, str], loaded: frozenset[str], command_pid: int) -> tuple[dict, list[int]]:
    pid, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    try:
        request = json.loads(data) if data else {}
    except ValueError:
        request = {}
    refusal = ("not the same user" if uid != os.getuid()
               else "neither the command nor one of its workers" if command_pid not in (pid, _parent_of(pid))
               else "no socket sent" if len(fds) != 1
               else _differs(request, spec, loaded) or fork_hazard())
    if refusal:
        for fd in fds:
            os.close(fd)
        return {"error": f"the template server refuses: {refusal}"}, []
    return _fork_template(fds[0], listener, conn, request, failed, loaded)


def _differs(request: dict, spec: dict, loaded: frozenset[str]) -> str:
    """Why the server cannot fork the template the worker asks for ('' when it can): the same environment and
    protected packages, and every module the server imported for its notebook also imported by the worker's
    (more is fine: the forked template imports the rest; the modules every template loads do not count)."""
    imports = request.get("imports")
    if not (isinstance(imports, list) and all(isinstance(name, str) for name in imports)):
        return "another template (no list of imports)"
    for name in ("env", "protected_packages"):
        if request.get(name) != spec.get(name):
            return f"another template (its {name} differ)"
    unused = set(spec["imports"]) - loaded - set(imports)
    if unused:
        return f"another template (its notebook does not import {', '.join(sorted(unused))})"
    return ""


def main(argv: list[str]) -> None:
    """``FD JSON``: serve the worker at the other end of socket FD; with ``"server": true`` in JSON, FD is a
    listening socket and every worker that connects gets a template forked from this one."""
    what = json.loads(argv[1]) if len(argv) > 1 else {}
    if what.get("parent_pid"):
        die_with_parent(what["parent_pid"])   # gone with its starter, however it dies (its socket may outlive it)
    imports, protected = what.get("imports", []), what.get("protected_packages", [])
    failed, loaded = load(imports, protected)
    sock = socket.socket(fileno=int(argv[0]))
    if what.get("server"):
        spec = {"imports": imports, "env": what.get("env"), "protected_packages": protected}
        serve_workers(sock, spec, failed, loaded, what["parent_pid"])
    else:
        serve(sock, failed, loaded)


if __name__ == "__main__":
    main(sys.argv[1:])
