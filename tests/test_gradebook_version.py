"""New gradebooks are stamped with nbgrader's migration head without nbgrader's `alembic heads` subprocess."""
import sqlite3
import subprocess
import sys

import nbgrader.api

from autograder import gradebook_version
from autograder.nbgrader_runner import nbgrader_env


def test_alembic_head_is_what_nbgrader_itself_finds():
    """The in-process reading equals nbgrader's own (which runs the `alembic` executable), asked in a fresh
    process: this one may have installed the replacement already (the lesson tests' course does)."""
    nbgrader_own = subprocess.run(
        [sys.executable, "-c", "import nbgrader.api; print(nbgrader.api.get_alembic_version())"],
        capture_output=True, text=True, env=nbgrader_env(), check=True).stdout.strip()
    assert nbgrader_own and gradebook_version.alembic_head() == nbgrader_own


def test_a_new_gradebook_is_stamped_without_a_subprocess(tmp_path, monkeypatch):
    """After install(), creating a gradebook runs no `alembic` and records the same head revision."""
    monkeypatch.setattr(nbgrader.api, "get_alembic_version", nbgrader.api.get_alembic_version)  # undone after
    gradebook_version.install()
    gradebook_version.install()   # idempotent

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"a subprocess was started: {args}")

    monkeypatch.setattr(subprocess, "check_output", no_subprocess)
    monkeypatch.setattr(nbgrader.api.sp, "check_output", no_subprocess)
    db = tmp_path / "gradebook.db"
    with nbgrader.api.Gradebook(f"sqlite:///{db}", "course"):
        pass
    (version,) = sqlite3.connect(db).execute("SELECT version_num FROM alembic_version").fetchone()
    assert version == gradebook_version.alembic_head()
