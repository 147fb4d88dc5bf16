"""Another program holding ``gradebook.db`` (formgrader, ``nbgrader`` itself, a database browser) delays
recording; it never corrupts it and never loses a grade.

SQLite lets one writer at a time in: a write that finds the database locked waits ``ATTEMPT_SECONDS`` (SQLite's
busy timeout), then fails with "database is locked".  :func:`retrying` rolls that transaction back (nothing of
it was written), says once that it is waiting and for whom, and tries again until ``wait_seconds`` have passed;
then it gives up with a :class:`GradingError`: the run stops cleanly (what was recorded stays recorded, the
rest is graded by the next run).
"""
from __future__ import annotations

import logging
import sys
import time
from contextlib import contextmanager
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .errors import GradingError

T = TypeVar("T")
ATTEMPT_SECONDS = 1.0   # SQLite's busy timeout for each try (nbgrader's engine would wait 5 s)


def is_busy(err: BaseException | None) -> bool:
    """Whether ``err`` (or what caused it: nbgrader turns SQLAlchemy's error into its ``InvalidEntry``) is SQLite's
    "database is locked"."""
    seen = 0
    while err is not None and seen < 10:
        text = str(getattr(err, "orig", None) or err).lower()
        if "database is locked" in text or "database table is locked" in text:
            return True
        err, seen = err.__cause__ or err.__context__, seen + 1
    return False


@contextmanager
def _quiet_nbgrader():
    """nbgrader logs every failed commit with a traceback (tornado's ``app_log``); the wait is said once instead."""
    logger = logging.getLogger("tornado.application")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def shorten_busy_timeout(gradebook) -> None:
    """Make each try of an nbgrader ``Gradebook`` wait ``ATTEMPT_SECONDS`` for a lock (our loop does the rest)."""
    from sqlalchemy import event

    def on_connect(dbapi_connection, _record):
        dbapi_connection.execute(f"PRAGMA busy_timeout = {int(ATTEMPT_SECONDS * 1000)}")

    event.listen(gradebook.engine, "connect", on_connect)
    gradebook.engine.dispose()   # connections made before the listener get it too (they are made again)


def retrying(action: Callable[[], T], *, db_path: Path, what: str, wait_seconds: float, rollback: Callable[[], None],
             say: Callable[[str], None] = lambda m: print(m, file=sys.stderr)) -> T:
    """``action()``, tried again while the gradebook is locked by someone else, for up to ``wait_seconds``."""
    started = time.monotonic()
    told = False
    while True:
        try:
            with _quiet_nbgrader():
                return action()
        except Exception as err:  # noqa: BLE001 - SQLAlchemy's OperationalError, or nbgrader's InvalidEntry made of it
            if not is_busy(err):
                raise
            rollback()
            waited = time.monotonic() - started
            if waited >= wait_seconds:
                raise GradingError(
                    f"the gradebook {db_path} stayed locked by another program for {waited:.0f} s, so {what} "
                    f"could not be recorded; the run stopped there (everything recorded before is kept, nothing "
                    f"was half written). Close the program holding it (formgrader, another nbgrader command) and "
                    f"run the same command again") from err
            if not told:
                say(f"grade: {db_path} is locked by another program (formgrader? another nbgrader command?); "
                    f"waiting up to {wait_seconds:.0f} s to record {what}")
                told = True
            time.sleep(0.2)
