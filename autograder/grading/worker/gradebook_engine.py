"""One SQLAlchemy engine per scratch gradebook while a submission is graded.

nbgrader opens the scratch course's gradebook about ten times for one submission (the assignment, each
notebook, the grades, the feedback), and each ``Gradebook(db_url)`` makes a new engine with
``create_engine``.  SQLAlchemy caches the SQL it compiles per engine (and per dialect object, which each
engine has its own of), so every open compiled again each query it ran: 8 % of the worker's CPU per
submission.  Inside :func:`one_engine_per_gradebook` nbgrader gets the same engine each time it opens the
same gradebook: the same database, connections from the same pool, each query compiled once per submission.
``Gradebook.close()`` still disposes of the engine's connections as it always does; the engines are
disposed of once more when the submission is done (its scratch gradebook is deleted next).
"""
from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def one_engine_per_gradebook():
    """While the block runs, ``nbgrader.api.create_engine`` (what ``Gradebook`` calls) returns one engine per
    database URL and options.  One submission at a time per process (``pipeline._ONE_AT_A_TIME``)."""
    try:
        from nbgrader import api
    except ImportError:   # grading says so itself (``grade_submission`` never raises)
        yield {}
        return
    original = api.create_engine
    engines = {}

    def create_engine(url, *args, **kwargs):
        key = (str(url), args, tuple(sorted(kwargs.items())))
        if key not in engines:
            engines[key] = original(url, *args, **kwargs)
        return engines[key]

    api.create_engine = create_engine
    try:
        yield engines
    finally:
        api.create_engine = original
        for engine in engines.values():
            try:
                engine.dispose()
            except Exception:  # noqa: BLE001 - a scratch gradebook, deleted next: nothing to keep
                pass
