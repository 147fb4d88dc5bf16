"""The machine's template server (local grading only): the notebook's modules imported once, at the start.

Each local worker forks its grading kernels from a warm *template* (:mod:`..worker.warm`).  Started by each
worker, every template imports TensorFlow again (about 5 CPU s), and only once the worker has its first
submission in hand.  Instead, the command starts one template server before it starts the workers
(``python -P -m autograder.grading.kernel.template FD {"server": true, ...}``): it imports the modules of the
first assignment's notebook while the workers load theirs, then forks each worker a template of its own
(:func:`autograder.grading.kernel.template.serve_workers`), which serves that worker exactly as a template the
worker had started would.

The server is started as a worker's template is: the kernels' scrubbed environment, working directory
``/``, its own session, no secret; it dies with the command (``PR_SET_PDEATHSIG``), its templates die with
it, and each template also exits when its worker's socket closes.  It listens on a Unix socket in a private
folder (mode 0700) under this machine's temporary directory, which sandboxed kernels do not see (their
``/tmp`` is their own), and serves only the command and its children (its workers): a kernel that found
the socket is refused.  A notebook that imports more than the server has gets a template that imports the
rest.  A worker whose notebook imports less, or needs another kernel environment or guard, or that finds the
server gone, starts its own template as before: the server only saves time, it decides nothing.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from ..protocol import STDERR_ENV
from ..worker import scratch
from ..worker.template_spec import can_fork_templates, start_template
from .errors import GradingError


class TemplateServer:
    """A running template server for ``spec`` (imports, env, protected_packages); ``path`` is its socket."""

    def __init__(self, spec: dict, log_dir: str | None = None):
        self._dir = scratch.make("agts")   # mode 0700
        self.path = os.path.join(self._dir, "socket")
        self.spec = spec
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        stderr = subprocess.DEVNULL
        try:
            listener.bind(self.path)
            listener.listen(64)
            if os.environ.get(STDERR_ENV) or log_dir:
                stderr = open(os.environ.get(STDERR_ENV) or os.path.join(log_dir, "template-server.log"), "ab")
            self.process = start_template(listener.fileno(), {"server": True, **spec, "parent_pid": os.getpid()},
                                          spec["env"], os.path.join(self._dir, "home"), stderr)
        except BaseException:
            shutil.rmtree(self._dir, ignore_errors=True)
            raise
        finally:
            listener.close()   # the server holds the only copy: once it is gone, a worker's connect fails
            if stderr is not subprocess.DEVNULL:
                stderr.close()

    def close(self) -> None:
        """Stop the server (its templates follow it: their kernels have been stopped by their workers)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self._dir, ignore_errors=True)


def assignment_spec(config_file: Path, source_dir: Path, limits: dict | None) -> dict | None:
    """The template the assignment's first notebook (by name) is graded with, as a worker computes it from the
    course's config (``config_file``) and ``limits``; None when its kernels start cold or it has no notebook."""
    import nbformat

    from ..worker.template_spec import template_spec
    from .course import load_config

    notebooks = sorted(source_dir.glob("*.ipynb"))
    if not notebooks:
        return None
    config = load_config(config_file)
    if (limits or {}).get("kernels"):
        config.GuardedExecute.kernels = limits["kernels"]
    return template_spec(config, nbformat.read(notebooks[0], as_version=4))


def start(config_file: Path, source_dir: Path, limits: dict | None, log_dir: str | None) -> TemplateServer | None:
    """A template server for the assignment whose sources are in ``source_dir``; None where warm kernels are
    not used or the server cannot start (the workers then start their own templates, as on a Dask cluster)."""
    if not can_fork_templates():
        return None
    try:
        spec = assignment_spec(config_file, source_dir, limits)
        return TemplateServer(spec, log_dir) if spec else None
    except (OSError, ValueError, GradingError) as err:
        print(f"autograder: no template server ({err}); each worker starts its own template", file=sys.stderr)
        return None
