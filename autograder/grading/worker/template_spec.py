"""What identifies a warm template (the modules it imports, its kernels' environment, the guard's protected
packages), and how a template process is started.

The worker's executor (:class:`.guarded_execute.GuardedExecute`) asks its template cache (:func:`.warm.template_for`)
for a template by these three; the command (``parent/template_server.py``) computes them for the first
notebook, from the course's config alone, to start the machine's template server before any worker has a
submission.  Both go through this module, so a worker's request and the server's match, and both start
their template process with :func:`start_template`.  It imports only
traitlets, the standard library and :mod:`..protocol` (the command calls it first thing).
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

from traitlets.config import Config

from ..protocol import PROTECTED_PACKAGES, is_trusted_cell, kernel_env

KERNEL_ENV_KEEP = ("LANG", "LC_ALL", "TZ")   # the only variables of the grader's environment a kernel keeps


def kernel_base_env(extra_env: dict[str, str]) -> dict[str, str]:
    """The environment every kernel gets (and its warm template): nothing of the grader's own, ``extra_env``
    (the course's ``GuardedExecute.extra_env``) added."""
    env = {k: os.environ[k] for k in KERNEL_ENV_KEEP if k in os.environ}
    env.update({
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
        "TMPDIR": "/tmp", "PYTHONNOUSERSITE": "1",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "PYTHONHASHSEED": "0", **kernel_env(),
        # A module first imported by the notebook (a lesson's helper) must not try to write its bytecode
        # next to the course's code: the sandbox refuses it, and the guard would report the attempt.
        "PYTHONDONTWRITEBYTECODE": "1",
        **extra_env,
    })
    return env


def warm_template(imports: list[str], env: dict[str, str], protected_packages: list[str]) -> dict:
    """What identifies a warm template: the modules it imports, its kernels' environment, the guard's protected
    packages (keyword arguments of :func:`.warm.template_for`; what a template server must match)."""
    return {"imports": sorted(set(imports)), "env": dict(env), "protected_packages": sorted(set(protected_packages))}


def template_spec(config: Config, nb) -> dict | None:
    """The warm template :class:`.guarded_execute.GuardedExecute` would start for ``nb`` under ``config`` (a
    course's, with the grading limits), read from the config without loading the grading machinery; None when
    its kernels start cold."""
    from .static_checks import trusted_bindings

    section = config.GuardedExecute
    if section.get("kernels", "warm") != "warm":
        return None
    imports, _ = trusted_bindings([cell.source for cell in nb.cells if is_trusted_cell(cell)])
    return warm_template(imports, kernel_base_env(dict(section.get("extra_env", {}))),
                         list(section.get("protected_packages", PROTECTED_PACKAGES)))


def can_fork_templates() -> bool:
    """Whether this platform has what forked templates and kernels need (fork, pidfds, SCM_RIGHTS)."""
    return (hasattr(os, "fork") and hasattr(os, "pidfd_open") and hasattr(signal, "pidfd_send_signal")
            and hasattr(socket, "send_fds"))


def start_template(fd: int, what: dict, env: dict[str, str], home: str, stderr) -> subprocess.Popen:
    """A template process (``python -P -m autograder.grading.kernel.template FD WHAT``) serving the socket ``fd``:
    the kernels' ``env`` with its own ``home``, in ``/``, in its own session, its stderr to ``stderr``."""
    env = {**env, "HOME": home, "MPLCONFIGDIR": os.path.join(home, "matplotlib"),
           "IPYTHONDIR": os.path.join(home, "ipython")}
    argv = [sys.executable, "-P", "-m", "autograder.grading.kernel.template", str(fd), json.dumps(what)]
    return subprocess.Popen(argv, env=env, cwd="/", pass_fds=(fd,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=stderr, start_new_session=True)
