"""Running nbgrader's command-line apps from Python, the way an instructor's shell would."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


class NbgraderError(RuntimeError):
    """An nbgrader command exited non-zero; the message carries its output."""


def python_first_on_path(env=None, bindir=None) -> dict:
    """``env`` (default: this process's environment, changed in place) with ``bindir`` (default: this
    interpreter's bin/) first on PATH (nbgrader runs the `alembic` executable for its gradebook) and
    TensorFlow's C++ logs quiet (:func:`autograder.grading.protocol.kernel_env`)."""
    from .grading.protocol import kernel_env

    env = os.environ if env is None else env
    bindir = str(bindir or Path(sys.executable).parent)
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


def generate_assignments(root: Path, assignments: list[str], *, database: bool = True,
                         db_url: str | None = None) -> None:
    """nbgrader's ``generate_assignment --force`` for each of ``assignments`` in the course at ``root`` (its
    ``nbgrader_config.py``), in this process with nbgrader's own API (``NbGraderAPI.generate_assignment``, what
    its formgrader runs): one nbgrader start-up for all, instead of 1.8 s of command start-up each, and new
    gradebooks stamped without a subprocess (:mod:`autograder.gradebook_version`).  ``database=False`` is
    ``--no-db``; ``db_url``: the gradebook to write (default: the config's).  Raise NbgraderError with nbgrader's
    log when one fails."""
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    from .gradebook_version import install

    root = Path(root).resolve()
    install()
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    if db_url:
        config.CourseDirectory.db_url = db_url
    if not database:   # what the command's --no-db flag sets
        config.GenerateAssignment.no_database = True
        config.SaveCells.enabled = False
    api = NbGraderAPI(config=config)
    for assignment in assignments:
        result = api.generate_assignment(assignment, force=True, create=database)
        if not result["success"]:
            raise NbgraderError(f"generate_assignment {assignment} failed in {root}:\n"
                                f"{result.get('error', '')}\n{result.get('log', '')}")
