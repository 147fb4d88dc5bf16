"""The one place where grading decides how a submission's kernel is started and watched.

nbgrader's ``Autograde`` runs ``Execute`` (an nbconvert ``ExecutePreprocessor``) on each
notebook.  Every scratch course a worker grades gets :func:`kernel_config` merged over the
course's own config: ``Execute`` is replaced by :class:`.guarded_execute.GuardedExecute`
(sandboxed kernel, guarded tests, time/memory/output limits), everything else in nbgrader's
autograde pipeline stays as it is.
"""
from __future__ import annotations

from traitlets.config import Config

LIMIT_NAMES = ("timeout", "notebook_timeout", "memory_mb", "file_mb", "disk_mb", "max_output_kb", "sandbox_mode",
               "kernels")


def kernel_config(report_dir: str = "", hide: list[str] | None = None, limits: dict | None = None) -> Config:
    """Config merged over the course's own config in each worker's scratch course."""
    from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput,
                                        SaveAutoGrades)
    from nbconvert.preprocessors import ClearMetadataPreprocessor

    from .guarded_execute import GuardedExecute

    c = Config()
    c.Autograde.autograde_preprocessors = [GuardedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                           SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
    # nbconvert validates the whole notebook after each preprocessor (a dozen times per submission); once, after
    # the last, is enough (nbgrader writes the notebook with nbformat, which validates it again).
    c.Exporter.optimistic_validation = True
    c.GuardedExecute.report_dir = report_dir
    c.GuardedExecute.hide = list(hide or [])
    for name, value in (limits or {}).items():
        if name not in LIMIT_NAMES:
            raise ValueError(f"unknown grading limit {name!r} (known: {', '.join(LIMIT_NAMES)})")
        if value is not None:
            setattr(c.GuardedExecute, name, value)
    return c
