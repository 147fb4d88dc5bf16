"""Warm kernels: each grading kernel is forked from a template that has already imported the heavy modules.

A cold grading kernel is a new Python process that imports IPython, the kernel machinery and the
notebook's modules (TensorFlow: about 2.5 s of CPU) before the first cell runs, for every notebook
of every student.  Here each worker process has one *template* process that has imported them once and
then waits: in local grading, forked by the command's template server (which imported them once for the
whole machine: ``parent/template_server.py``); otherwise (a Dask worker, a notebook that needs other imports
or kernel environment, no server) started by the worker (``python -P -m autograder.grading.kernel.template
FD``).  For each
notebook, :class:`ForkProvisioner` (a jupyter_client kernel provisioner: nbclient and nbgrader talk
to the kernel as usual) asks the template to fork; the forked process enters exactly the sandbox a
cold kernel gets (:func:`autograder.grading.kernel.sandbox.enter`: limits, namespaces, private filesystem view, capabilities
dropped), then runs the guard and ipykernel, as ``python -m autograder.grading.kernel.sandbox`` would.

What keeps this as safe as a cold start:

* the template never runs student code or tests, and holds no secret: it is started with the
  kernels' scrubbed environment and its working directory is ``/``; a forked kernel gets its own
  environment, file descriptors and sandbox before anything of the notebook runs;
* forking after ``import tensorflow`` is safe as long as the template has run no TensorFlow op
  (TensorFlow's runtime, with its thread pools, starts with the first op).  The template checks
  that before every fork (:func:`autograder.grading.kernel.template.fork_hazard`) and refuses to fork otherwise: the worker then falls
  back to a cold kernel and says why;
* the worker and the template talk over a private socket pair (no path, no port); file descriptors
  travel with ``SCM_RIGHTS``, and the worker watches each kernel through a pidfd.

Where forking is not available (no ``os.fork`` or pidfd, the template failed to start or refuses to
fork), grading uses cold kernels and the findings say ``kernel: cold`` with the reason.

Where a warm kernel's start goes (one notebook at a time on a quiet 2-core machine, about 0.14 s from
the executor's start to its first cell): the fork, 10 ms; the sandbox (:func:`autograder.grading.kernel.sandbox.enter`), 12 ms
(mount(2) calls: with a ``mount`` process each, hiding a home directory that holds the Python installation
took 100 ms); the guard, 3 ms (its snapshot of the protected packages is taken here, in the template, once:
:func:`autograder.grading.kernel.guard.prepare`; 60-80 ms in each kernel otherwise); ipykernel's ``initialize()``, 50 ms; the
first answer, 15 ms later.  Much of what remains is copy-on-write page faults: every object a forked
kernel touches (a reference count is enough) costs a copied page, which is why the kernel is built
without ipykernel's debugger list of every module (:func:`autograder.grading.kernel.guard.main`) and why the executor's client
does not wait on fixed timers (:mod:`.kernel_client`).
"""
from __future__ import annotations

import atexit
import json
import os
import select
import signal
import socket
import subprocess
import threading
import time

from ..protocol import MAX_MESSAGE, STDERR_ENV, TEMPLATE_SERVER_ENV
from . import scratch
from .template_spec import can_fork_templates, start_template

START_TIMEOUT = 180.0


class WarmUnavailable(RuntimeError):
    """No warm kernel here: the reason is the message."""


# -- in the worker ---------------------------------------------------------------------------------

class ForkedProcess:
    """What jupyter_client needs of a ``Popen`` for a kernel forked by the template (not our child)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int, pidfd: int, fork_cpu: float = 0.0):
        self.pid = pid
        self.fork_cpu = fork_cpu   # CPU seconds the template spent forking it
        self.returncode: int | None = None
        self._pidfd = pidfd
        self._signal = 0

    def _exited(self, timeout: float | None) -> bool:
        if self.returncode is not None:
            return True
        readable, _, _ = select.select([self._pidfd], [], [], timeout)
        if readable:
            self.returncode = -self._signal if self._signal else 1   # the status belongs to the template
            os.close(self._pidfd)
            self._pidfd = -1
            return True
        return False

    def poll(self) -> int | None:
        return self.returncode if self._exited(0) else None

    def wait(self, timeout: float | None = None) -> int:
        if not self._exited(timeout):
            raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            self._signal = signum if signum in (signal.SIGKILL, signal.SIGTERM) else self._signal
            try:
                signal.pidfd_send_signal(self._pidfd, signum)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class Template:
    """The worker's handle on one template process (see the module docstring)."""

    def __init__(self, imports: list[str], env: dict[str, str], protected_packages: list[str] = (),
                 server: str | None = None):
        if not can_fork_templates():
            raise WarmUnavailable("this platform cannot fork kernels (os.fork, pidfd or SCM_RIGHTS missing)")
        self.imports, self.protected_packages, self.env = list(imports), list(protected_packages), dict(env)
        self._lock = threading.Lock()
        self._home = None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        started = time.perf_counter()
        try:
            self.server_refusal = ""   # why the template server did not fork this template ('' when it did)
            self.process = self._from_server(server, theirs) if server else None
            if self.process is None:
                self.process = self._start(theirs)
        finally:
            theirs.close()
        self._sock = ours
        self.info = self._receive(START_TIMEOUT)[0]
        if not self.info.get("ready"):
            self.close()
            raise WarmUnavailable(f"the template process did not start: {self.info.get('error', 'no answer')}")
        self.start_seconds = time.perf_counter() - started
        self.loaded = frozenset(self.info.pop("loaded", ()))   # modules loaded before the notebook's imports
        self.info["origin"] = "server" if isinstance(self.process, ForkedProcess) else "own"

    def _from_server(self, server: str, theirs: socket.socket) -> ForkedProcess | None:
        """A template forked by the machine's template server at the path ``server``, serving ``theirs``;
        None (the reason in ``server_refusal``) when the server is gone or serves other imports."""
        request = {"imports": self.imports, "env": self.env, "protected_packages": self.protected_packages}
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as conn:
                conn.settimeout(START_TIMEOUT)   # the server answers once it has imported the modules
                conn.connect(server)
                socket.send_fds(conn, [json.dumps(request).encode()], [theirs.fileno()])
                data, fds, _, _ = socket.recv_fds(conn, MAX_MESSAGE, 1)
        except OSError as err:
            self.server_refusal = f"the template server did not answer ({err})"
            return None
        reply = json.loads(data) if data else {"error": "the template server closed the connection"}
        if "error" in reply or len(fds) != 1:
            for fd in fds:
                os.close(fd)
            self.server_refusal = reply.get("error", "the template server sent no process handle")
            return None
        return ForkedProcess(reply["pid"], fds[0])

    def _start(self, theirs: socket.socket) -> subprocess.Popen:
        """This worker's own template process, serving ``theirs``."""
        self._home = scratch.make("agw")
        stderr = open(os.environ[STDERR_ENV], "ab") if os.environ.get(STDERR_ENV) else subprocess.DEVNULL
        try:
            what = {"imports": self.imports, "protected_packages": self.protected_packages, "parent_pid": os.getpid()}
            return start_template(theirs.fileno(), what, self.env, self._home, stderr)
        except OSError as err:
            raise WarmUnavailable(f"the template process did not start ({err})") from err
        finally:
            if stderr is not subprocess.DEVNULL:
                stderr.close()

    def serves(self, imports: list[str], protected_packages: list[str]) -> bool:
        """Whether a notebook with these imports can be forked from this template: the same protected
        packages, and the same imports apart from modules it had loaded anyway (``warnings``, say)."""
        return (set(protected_packages) == set(self.protected_packages)
                and set(imports) - self.loaded == set(self.imports) - self.loaded)

    def _receive(self, timeout: float) -> tuple[dict, list[int]]:
        ready, _, _ = select.select([self._sock], [], [], timeout)
        if not ready:
            return {"error": f"no answer within {timeout:.0f} s"}, []
        try:
            data, fds, _, _ = socket.recv_fds(self._sock, MAX_MESSAGE, 8)
        except OSError as err:
            return {"error": f"the template's socket failed ({err})"}, []
        if not data:
            return {"error": "the template process exited"}, []
        return json.loads(data), fds

    def _ask(self, request: dict, fds: list[int] = (), timeout: float = 60.0) -> tuple[dict, list[int]]:
        with self._lock:
            try:
                socket.send_fds(self._sock, [json.dumps(request).encode()], list(fds))
            except OSError as err:
                return {"error": f"the template process is gone ({err})"}, []
            return self._receive(timeout)

    def alive(self) -> bool:
        return self.process.poll() is None

    def status(self) -> dict:
        return self._ask({"op": "status"})[0]

    def spawn(self, argv: list[str], env: dict[str, str], fd_env: dict[str, int]) -> ForkedProcess:
        """A kernel forked from the template with ``argv`` (after the program), ``env`` and the file
        descriptors ``fd_env`` (environment variable -> descriptor: the kernel finds them there)."""
        names = list(fd_env)
        reply, fds = self._ask({"op": "spawn", "argv": argv, "env": env, "fd_env": names},
                               [fd_env[n] for n in names])
        if "error" in reply or len(fds) != 1:
            for fd in fds:
                os.close(fd)
            raise WarmUnavailable(reply.get("error", "the template sent no process handle"))
        return ForkedProcess(reply["pid"], fds[0], reply.get("fork_cpu", 0.0))

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass
        if self.process.poll() is None:
            try:
                self.process.wait(timeout=5)   # it exits when its socket closes
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._home:
            import shutil

            shutil.rmtree(self._home, ignore_errors=True)


_templates: dict[str, Template] = {}
_broken: dict[str, str] = {}


def current_status() -> dict | None:
    """The status of this worker's live template (None when it has none), and whether it was forked by the
    machine's template server or started by this worker (``origin``): for reports and benchmarks."""
    for template in _templates.values():
        if template.alive():
            return {**template.status(), "origin": template.info["origin"],
                    "server_refusal": template.server_refusal}
    return None


def template_for(imports: list[str], env: dict[str, str], protected_packages: list[str] = ()) -> Template:
    """This worker's template for notebooks that import ``imports`` with kernels in ``env`` and the guard's
    ``protected_packages`` (started once, restarted if it died; one at a time: one that does not serve these
    imports is replaced, see :meth:`Template.serves`)."""
    key = json.dumps([sorted(set(imports)), sorted(env.items()), sorted(set(protected_packages))])
    if key in _broken:
        raise WarmUnavailable(_broken[key])
    for template in _templates.values():
        if template.env == env and template.serves(imports, protected_packages) and template.alive():
            return template
    for old in _templates.values():
        old.close()
    _templates.clear()
    try:
        template = Template(sorted(set(imports)), env, sorted(set(protected_packages)),
                            server=os.environ.get(TEMPLATE_SERVER_ENV))
    except WarmUnavailable as err:
        _broken[key] = str(err)
        raise
    _templates[key] = template
    return template


@atexit.register
def close_templates() -> None:
    """Stop this process's templates (at exit; a test session calls it before it checks for leftovers)."""
    for template in _templates.values():
        template.close()
    _templates.clear()


def _provisioner_class():
    from jupyter_client.provisioning import LocalProvisioner
    from traitlets import Any

    class ForkProvisioner(LocalProvisioner):
        """LocalProvisioner whose kernel process is forked by a :class:`Template` instead of started by Popen."""

        template = Any()
        fd_env = Any()    # environment variable -> file descriptor the kernel must inherit
        on_cold = Any()   # called with the reason when the template cannot fork and a cold kernel starts

        async def launch_kernel(self, cmd: list[str], **kwargs):
            try:
                self.process = self.template.spawn(cmd[cmd.index("-f"):], kwargs["env"], self.fd_env)
            except WarmUnavailable as err:
                if self.on_cold is not None:
                    self.on_cold(str(err))
                return await super().launch_kernel(cmd, **kwargs)
            self.pid = self.pgid = self.process.pid   # the forked kernel leads its own session
            self.cwd = kwargs.get("cwd")
            return self.connection_info

        async def kill(self, restart: bool = False) -> None:
            await super().kill(restart=restart)
            # Wait on the pidfd (a SIGKILLed kernel is gone within milliseconds): jupyter_client polls
            # is_alive() every 0.1 s, so a kernel still there right after the signal costs 0.1 s.
            if isinstance(self.process, ForkedProcess):
                try:
                    self.process.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    pass

    return ForkProvisioner


def provisioner(km, template: Template, fd_env: dict[str, int], on_cold=None):
    """A provisioner for ``km`` (set as ``km.provisioner`` before the kernel starts)."""
    return _provisioner_class()(kernel_id=km.kernel_id or "graded", kernel_spec=km.kernel_spec, parent=km,
                                template=template, fd_env=fd_env, on_cold=on_cold)

