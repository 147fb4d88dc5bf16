"""The instructor's grading command: nbgrader's autograde, in parallel, sandboxed, with richer feedback.

Laid out by process, each trusting less than the one before (docs/architecture.md):

* :mod:`.parent` — the grading command (``python -m autograder grade``): resolves the course
  (``course``), builds one job per submission, runs them (``executors``: local pool or Dask), and is the
  only writer of the course directory and its gradebook (``record``); ``command`` is the CLI and summary.
* :mod:`.worker` — grades ONE submission in a scratch nbgrader course: the job and result contract
  (``job``), the pipeline (``pipeline``), nbgrader's Execute hardened (``guarded_execute``, with
  ``kernel_config``, ``kernel_client``, ``sandbox_mode``, the warm-kernel client ``warm``), the checks of
  the guard's reports (``review``), the reading of the submitted source (``static_checks``), and what the
  autograded notebook says (``collect``, ``figures``).
* :mod:`.kernel` — runs beside the student's code: the sandbox entry (``sandbox``), the guard
  (``guard``), the template side of warm kernels (``template``).  It imports only :mod:`.protocol` and
  the standard library (and the IPython kernel it becomes): tests/grading/test_layout.py.
* :mod:`.protocol` — what crosses between worker and kernel: names, the sandbox profile, signed reports,
  cell predicates, the guard's policy tables.

Importing this package loads none of them: the names below are looked up on first use, so a kernel that
imports :mod:`.kernel.guard` loads no parent or worker code.
"""
from __future__ import annotations

_EXPORTS = {"grade": "parent.command", "GradingSummary": "parent.command", "GradingError": "parent.course",
            "SubmissionJob": "worker.job", "SubmissionResult": "worker.job", "grade_submission": "worker.pipeline"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
