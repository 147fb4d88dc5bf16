#!/usr/bin/env python3
"""Front door of the course: needs only Python 3.11 and pip.

    python3 course.py lab        # create .venv if needed, open the course in JupyterLab
    python3 course.py test       # create .venv if needed, run every test suite

Other commands (all run inside .venv, all delegate to `python -m autograder`):

    python3 course.py release    # regenerate notebooks/ from solutions/ with nbgrader
    python3 course.py execute    # execute solutions/ on a fresh kernel and store them clean
    python3 course.py clean      # normalise notebook metadata (--check: fail instead of writing)
    python3 course.py lock       # rewrite requirements/constraints.txt from the environment
    python3 course.py env        # only create/update the environment

This file uses the standard library only: it runs before the environment exists.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("COURSE_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
STAMP = VENV / ".course-installed"
INSTALL_INPUTS = ("pyproject.toml", "requirements/constraints.txt")
# Validate's settings for students, where nbgrader finds them from any folder (pyproject.toml installs the same
# file for a regular install; an editable install skips data files, so ensure_env copies it).
STUDENT_CONFIG = ROOT / "jupyter-config" / "nbgrader_config.py"

# The suites `test` runs. Each is one pytest invocation; all must pass. The two nbval runs each
# drive a single kernel (one core), so they run side by side first; the main suite runs last, in
# two processes of its own (MAIN_SUITE), so its summary is the final line.
NBVAL_SUITES = {
    # Every solution notebook is replayed and each cell's output compared with the
    # stored one: a behaviour change in TensorFlow shows up as a failing cell here.
    "nbval replay of solutions/": [
        "--nbval", "--nbval-current-env", "--nbval-cell-timeout=300",
        "--nbval-sanitize-with", "tests/nbval_sanitize.cfg", "solutions",
    ],
    # The student versions run top to bottom as a student's "Run All" would: only the exercise
    # cells and the cells that call a student's function (tagged raises-exception) may raise;
    # outputs are not compared.
    "nbval-lax run of notebooks/": [
        "--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout=300", "notebooks",
    ],
}
# The main suite runs in two pytest-xdist processes (CI has two cores): each test file goes whole to one of them, and
# tests/lessons/ as one unit, longest first (tests/work_units.py). The slowest tests are listed at the end, so a
# maintainer sees what the 12-minute budget is spent on.
MAIN_SUITE = ("unit and integration tests", ["tests", "--numprocesses=2", "--durations=25"])
NO_TESTS_COLLECTED = 5  # pytest's exit status


def _say(message: str) -> None:
    print(f"[course] {message}", flush=True)


def _install_fingerprint() -> str:
    digest = hashlib.sha256()
    for name in INSTALL_INPUTS:
        digest.update((ROOT / name).read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def install_student_config() -> None:
    """Put Validate's settings in the environment's etc/jupyter/ (read by nbgrader from any folder)."""
    target = VENV / "etc" / "jupyter" / STUDENT_CONFIG.name
    if not target.exists() or target.read_bytes() != STUDENT_CONFIG.read_bytes():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(STUDENT_CONFIG.read_bytes())


def ensure_env() -> None:
    """Create .venv and install the pinned course environment, unless already current."""
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"[course] Python 3.11 is required (TensorFlow 2.21 wheels); this is {sys.version.split()[0]}.")
    fingerprint = _install_fingerprint()
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text() == fingerprint:
        install_student_config()
        return
    if not PYTHON.exists():
        _say(f"creating the virtual environment {VENV}")
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    _say("installing the pinned course environment (first run: a few minutes)")
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check", "install", "--quiet"]
    subprocess.run(pip + ["--upgrade", "pip"], check=True)
    subprocess.run(pip + ["-c", str(ROOT / "requirements/constraints.txt"), "-e", f"{ROOT}[test]"], check=True)
    install_student_config()
    STAMP.write_text(fingerprint)
    _say("environment ready")


def env_vars() -> dict[str, str]:
    """The environment for anything run inside .venv: its bin/ first on PATH (nbgrader runs `alembic`), TensorFlow's
    C++ logs quiet."""
    from autograder.nbgrader_runner import python_first_on_path   # (standard library only: no .venv needed)

    env = python_first_on_path(dict(os.environ), BIN)
    env["VIRTUAL_ENV"] = str(VENV)
    return env


def run(argv: list[str]) -> int:
    return subprocess.call(argv, cwd=ROOT, env=env_vars())


def cmd_lab(args: list[str]) -> int:
    env = env_vars()
    # Run from the repository root so nbgrader's server extension finds nbgrader_config.py.
    argv = [str(BIN / "jupyter"), "lab", *args]
    if not any(a.startswith(("--ServerApp.root_dir", "--notebook-dir")) for a in args):
        argv.append(f"--ServerApp.root_dir={ROOT / 'notebooks'}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")  # containers and CI machines often run as root
    _say("starting JupyterLab on notebooks/ (Ctrl-C to stop)")
    return subprocess.call(argv, cwd=ROOT, env=env)


def cmd_test(args: list[str]) -> int:
    failed = []
    logs = {}
    procs = {}
    for name, suite in NBVAL_SUITES.items():
        _say(f"running {name} (in parallel)")
        logs[name] = tempfile.TemporaryFile("w+")
        procs[name] = subprocess.Popen([str(PYTHON), "-m", "pytest", *suite, *args], cwd=ROOT, env=env_vars(),
                                       stdout=logs[name], stderr=subprocess.STDOUT)
    for name, proc in procs.items():
        code = proc.wait()
        logs[name].seek(0)
        _say(f"output of {name}:")
        print(logs[name].read(), flush=True)
        if code != 0 and not (code == NO_TESTS_COLLECTED and args):  # `-k` may select none of a suite
            failed.append(name)
    name, suite = MAIN_SUITE
    _say(f"running {name}")
    if run([str(PYTHON), "-m", "pytest", *suite, *args]) != 0:
        failed.append(name)
    if failed:
        _say("FAILED: " + ", ".join(failed))
        return 1
    _say("all test suites passed")
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    ensure_env()
    if command == "env":
        return 0
    if command == "lab":
        return cmd_lab(rest)
    if command == "test":
        return cmd_test(rest)
    return run([str(PYTHON), "-m", "autograder", command, *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
