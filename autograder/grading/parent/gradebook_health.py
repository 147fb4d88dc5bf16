"""A damaged ``gradebook.db`` is refused before anything is written to it.

A gradebook truncated by a full disk or a crash, or a file that is not an SQLite database at all, would make
nbgrader fail deep inside SQLAlchemy (or, for an empty file, quietly build a new gradebook in it).
:func:`check` opens it without writing, runs SQLite's own ``PRAGMA quick_check`` and looks for nbgrader's tables;
anything wrong is a :class:`GradingError` naming the file and saying what to do.  Nothing is written.
"""
from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from .errors import GradingError

NBGRADER_TABLES = {"assignment", "notebook", "student", "submitted_assignment", "grade"}


def problem(db_path: Path) -> str:
    """What is wrong with the gradebook at ``db_path`` ('' when it is sound or does not exist yet)."""
    if not db_path.exists():
        return ""
    size = db_path.stat().st_size
    if size == 0:
        return "it is empty (0 bytes): a write to it was cut short"
    try:
        # mode=rw: never creates a file; a hot journal left by a killed writer is rolled back, as any SQLite
        # client would; the checks themselves write nothing.
        with closing(sqlite3.connect(f"file:{db_path}?mode=rw", uri=True, timeout=30)) as db:
            result = db.execute("PRAGMA quick_check").fetchall()
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.OperationalError as err:
        if "locked" in str(err):
            return ""   # busy, not damaged: recording waits for it (gradebook_busy)
        return f"it cannot be read as an SQLite database ({err}; {size} bytes)"
    except sqlite3.DatabaseError as err:
        return f"it is not a readable SQLite database ({err}; {size} bytes)"
    if result != [("ok",)]:
        return f"SQLite's integrity check fails: {'; '.join(str(r[0]) for r in result[:3])}"
    missing = NBGRADER_TABLES - tables
    if tables and missing:
        return f"it is an SQLite database but not an nbgrader gradebook (no table {', '.join(sorted(missing))})"
    return ""


def check(db_path: Path) -> None:
    """Raise GradingError naming ``db_path`` if it is damaged (see :func:`problem`)."""
    why = problem(db_path)
    if why:
        raise GradingError(
            f"the gradebook {db_path} is damaged: {why}. Nothing was written to it. Restore it from a backup "
            f"(the reports in {db_path.parent / 'reports'} say what was graded), or move it aside to start a new "
            f"gradebook, then run the command again")
