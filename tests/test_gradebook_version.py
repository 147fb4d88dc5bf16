"""New gradebooks are stamped with nbgrader's migration head without nbgrader's `alembic heads` subprocess."""
import sqlite3
import subprocess

import nbgrader.api
import pytest

from autograder import gradebook_version
from autograder.nbgrader_runner import nbgrader_env


def test_alembic_head_is_what_nbgrader_itself_finds(monkeypatch):
    """The in-process reading equals nbgrader's own (which runs the `alembic` executable)."""
    monkeypatch.setenv("PATH", nbgrader_env()["PATH"])
    original = nbgrader.api.get_alembic_version
    if original is gradebook_version.alembic_head:   # installed earlier in this process: call nbgrader's code
        pytest.skip("nbgrader.api.get_alembic_version is already replaced in this process")
    assert gradebook_version.alembic_head() == original()


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
