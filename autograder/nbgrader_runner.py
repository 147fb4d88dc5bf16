"""Running nbgrader's command-line apps from Python, the way an instructor's shell would."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


class NbgraderError(RuntimeError):
    """An nbgrader command exited non-zero; the message carries its output."""


def python_first_on_path(env=None) -> dict:
    """``env`` (default: this process's environment, changed in place) with this interpreter's bin/ first on
    PATH (nbgrader runs the `alembic` executable for its gradebook) and TensorFlow's C++ logs quiet."""
    from .grading.protocol import kernel_env

    env = os.environ if env is None else env
    bindir = str(Path(sys.executable).parent)
    if env.get("PATH", "").split(os.pathsep)[:1] != [bindir]:
        env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    for key, value in kernel_env().items():
        env.setdefault(key, value)
    return env


def nbgrader_env() -> dict[str, str]:
    """The environment nbgrader's apps run in: this one, with :func:`python_first_on_path`."""
    return python_first_on_path(dict(os.environ))


def run_nbgrader(*args: str, cwd: Path, env: dict[str, str] | None = None, plain: bool = False) -> str:
    """Run `nbgrader ARGS` in `cwd` (where nbgrader looks for nbgrader_config.py); return its output.

    New gradebooks are stamped without nbgrader's `alembic heads` subprocess (1.8 s each, see
    autograder.gradebook_version); ``plain=True`` runs nbgrader exactly as installed."""
    module = "nbgrader" if plain else "autograder.nbgrader_app"
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd, env=env or nbgrader_env(), capture_output=True, text=True,
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise NbgraderError(f"`nbgrader {' '.join(args)}` failed in {cwd} (exit {result.returncode}):\n{output}")
    return output
