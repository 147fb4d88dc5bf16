"""The instructor's grading command: nbgrader's autograde, in parallel, with richer feedback.

Modules: ``course`` (resolve DIR, the gradebook's assignment, the template gradebook),
``worker`` (grade ONE submission in a scratch nbgrader course: the unit run by a worker process),
``kernel`` (the one place that decides how kernels start), ``collect`` (per-cell pass/fail,
error text, tracker JSON from the autograded outputs), ``figures`` (the tracker figure in the
feedback), ``record`` (the single writer: autograded/, feedback/, gradebook, reports/),
``executors`` (local process pool or Dask), ``command`` (the CLI and the summary).
"""
from .command import GradingSummary, grade
from .course import GradingError
from .worker import SubmissionJob, SubmissionResult, grade_submission

__all__ = ["grade", "GradingSummary", "GradingError", "SubmissionJob", "SubmissionResult", "grade_submission"]
