"""The contract between the grading parent and a worker: a job in, a result out, both plain data.

A :class:`SubmissionJob` carries everything a worker needs (no shared filesystem: a Dask worker on another
machine grades it the same way); a :class:`SubmissionResult` carries everything the parent records.  The
parent imports this module only, never the worker's pipeline (:mod:`.pipeline`), for these types.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CellResult:
    notebook: str
    grade_id: str
    kind: str                        # "code" (autograded test cell), "solution" (manually graded answer), "task"
    max_points: float
    auto_points: float | None        # nbgrader's autograder score (None: needs manual grading)
    error: str | None = None         # "ename: evalue" of each error, and any stderr
    traceback: str | None = None     # the error's traceback, ANSI colours removed
    tracker: list[dict] = field(default_factory=list)   # the published tracker JSON, in output order
    # What the student's feedback shows of the failure: the traceback without hidden tests or the grader's
    # frames (worker.feedback.tracebacks). ``error``/``traceback`` are the instructor's, whole.
    student_traceback: str | None = None


@dataclass
class SubmissionJob:
    assignment: str
    student: str
    course_id: str
    config_py: bytes                 # the course's nbgrader_config.py
    source_files: dict[str, bytes]   # the assignment's source folder
    template_gradebook: bytes        # SQLite file with only the assignment's definitions
    submitted_files: dict[str, bytes]  # submitted/<student>/<assignment>/ (notebooks, timestamp.txt, data)
    feedback: bool = True
    release_tests: bool = False      # feedback shows hidden tests (instructor's choice, e.g. after the deadline)
    hide: list[str] = field(default_factory=list)     # paths the student's kernel must not see
    limits: dict = field(default_factory=dict)        # GuardedExecute settings (timeouts, memory, ...)


@dataclass
class GradeRecord:
    notebook: str
    name: str
    auto_score: float | None
    max_score: float
    needs_manual_grade: bool


@dataclass
class CommentRecord:
    notebook: str
    name: str
    auto_comment: str | None


@dataclass
class NotebookRecord:
    name: str
    late_submission_penalty: float | None
    submitted: bool                  # False: no such file in the submission (nbgrader scores it 0)


@dataclass
class SubmissionResult:
    assignment: str
    student: str
    status: str                      # "graded" or "failed"
    reason: str = ""                 # why it failed: student, file and problem
    warnings: list[str] = field(default_factory=list)
    timestamp: str | None = None     # the submission's timestamp (ISO), from timestamp.txt
    notebooks: list[NotebookRecord] = field(default_factory=list)
    grades: list[GradeRecord] = field(default_factory=list)
    comments: list[CommentRecord] = field(default_factory=list)
    cells: list[CellResult] = field(default_factory=list)   # graded cells with error text and tracker JSON
    autograded_files: dict[str, bytes] = field(default_factory=dict)
    feedback_files: dict[str, bytes] = field(default_factory=dict)
    log: str = ""
    seconds: float = 0.0
    review: list[dict] = field(default_factory=list)  # {notebook, cell, reason}: points withheld until an instructor decides
    withheld: dict[str, float | None] = field(default_factory=dict)  # "notebook/cell" -> the score nbgrader gave
    guard: dict[str, dict] = field(default_factory=dict)  # notebook -> the guard's findings (sandbox mode, kernel death)
    stats: dict = field(default_factory=dict)  # the worker's peak memory and its warm template's status
    repairs: list[dict] = field(default_factory=list)  # {notebook, note, problems}: damaged notebooks (worker.repair)
