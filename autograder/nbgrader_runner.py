"""Running nbgrader's command-line apps from Python, the way an instructor's shell would."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


class NbgraderError(RuntimeError):
    """An nbgrader command exited non-zero; the message carries its output."""


def nbgrader_env() -> dict[str, str]:
    """This interpreter's bin/ first on PATH: nbgrader runs the `alembic` executable for its gradebook."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env


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
