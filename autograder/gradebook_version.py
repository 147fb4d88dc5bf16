"""nbgrader's gradebook schema version, read in this process instead of by a subprocess.

When nbgrader creates a gradebook it stamps it with the head revision of its alembic migrations,
which it learns by running the ``alembic heads`` command (``nbgrader.api.get_alembic_version``):
1.8 s for every gradebook created (the grading command's scratch gradebook, each
``nbgrader generate_assignment`` of a new course).  :func:`alembic_head` reads the same revision
from the same migration scripts with alembic's own ``ScriptDirectory`` (0.2 s, once per process);
:func:`install` makes nbgrader use it.  Nothing else about the gradebook changes.
"""
from __future__ import annotations

import functools


@functools.cache
def alembic_head() -> str:
    """The single head revision of nbgrader's migrations (what ``alembic heads`` prints first)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    config = Config()
    config.set_main_option("script_location", ALEMBIC_DIR)
    heads = ScriptDirectory.from_config(config).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"nbgrader's migrations have {len(heads)} heads ({heads}); expected one")
    return heads[0]


def install() -> None:
    """Make this process's nbgrader stamp new gradebooks with :func:`alembic_head` (no subprocess)."""
    import nbgrader.api

    if getattr(nbgrader.api.get_alembic_version, "__module__", "") != __name__:
        nbgrader.api.get_alembic_version = alembic_head
