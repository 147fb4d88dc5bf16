"""Grade one submission: the unit of work that runs in a worker process (local pool or Dask).

:func:`grade_submission` takes a :class:`SubmissionJob` (plain data: the course config, the
assignment's source files, a template gradebook holding only the assignment's definitions, the one
student's submitted files) and returns a :class:`SubmissionResult` (plain data: per-cell grades and
comments, the autograded files, the feedback files, the collected tracker JSON, status/reason).
It builds a private scratch nbgrader course, runs nbgrader's own ``Autograde`` converter there
(sanitize, restore locked cells and hidden tests from the gradebook, execute, save grades, late
penalties), then nbgrader's ``GenerateFeedback``.  It never touches the course directory or its
gradebook: the parent process is the only writer (see :mod:`.record`).
"""
from __future__ import annotations

import io
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from .collect import CellResult, collect_cells

_ONE_AT_A_TIME = threading.Lock()  # nbgrader's converters chdir(): one submission per process at a time


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


def _write_tree(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        if ".." in Path(rel).parts or Path(rel).is_absolute():
            raise ValueError(f"refusing path outside the scratch course: {rel!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _check_notebooks(job: SubmissionJob) -> tuple[list[str], list[str]]:
    """(problems that stop grading, warnings) for the submitted notebooks."""
    import nbformat

    problems, warnings = [], []
    submitted = {Path(rel).name: data for rel, data in job.submitted_files.items()
                 if rel.endswith(".ipynb") and "/" not in rel}
    expected = sorted(rel for rel in job.source_files if rel.endswith(".ipynb") and "/" not in rel)
    if not set(submitted) & set(expected):
        found = f" (found only {', '.join(sorted(submitted))})" if submitted else ""
        problems.append(f"student {job.student}: no notebook of the assignment in "
                        f"submitted/{job.student}/{job.assignment}/{found} "
                        f"(expected {', '.join(expected)})")
    for name in expected:
        if name not in submitted and submitted:
            warnings.append(f"student {job.student}: {name} is missing from the submission (scored 0)")
    for name in sorted(submitted):
        if name not in expected:
            warnings.append(f"student {job.student}: {name} is not a notebook of {job.assignment} "
                            f"(expected {', '.join(expected)}); it was not graded")
    for name, data in sorted(submitted.items()):
        if name not in expected:
            continue
        try:
            nb = nbformat.reads(data.decode("utf-8"), as_version=4)
            nbformat.validate(nb)
        except Exception as err:
            message = str(err).strip().splitlines()[0] if str(err).strip() else ""
            problems.append(f"student {job.student}: {name} is not a valid notebook "
                            f"({type(err).__name__}: {message[:300]})")
            continue
        for cell in nb.cells:
            md = cell.get("metadata", {}).get("nbgrader")
            if md is not None and not isinstance(md, dict):
                problems.append(f"student {job.student}: {name} has malformed nbgrader cell metadata")
                break
    return problems, warnings


def _static_findings(job: SubmissionJob) -> dict[str, list]:
    """notebook name -> findings of :func:`.static_checks.scan` (submitted against source)."""
    import nbformat

    from .static_checks import Finding, scan

    found = {}
    for rel, data in job.source_files.items():
        if not rel.endswith(".ipynb") or "/" in rel or rel not in job.submitted_files:
            continue
        try:
            source = nbformat.reads(data.decode("utf-8"), as_version=4)
            submitted = nbformat.reads(job.submitted_files[rel].decode("utf-8"), as_version=4)
            found[Path(rel).stem] = scan(submitted, source)
        except Exception as err:  # noqa: BLE001 - an unreadable cell must not pass unchecked
            found[Path(rel).stem] = [Finding(-1, None, f"could not be checked before running "
                                                       f"({type(err).__name__}: {str(err)[:200]})")]
    return found


def _scratch_config(job: SubmissionJob, root: Path):
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    from .kernel import kernel_config

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    overrides = Config()
    cd = overrides.CourseDirectory
    cd.root = str(root)
    cd.source_directory = "source"
    cd.release_directory = "release"
    cd.submitted_directory = "submitted"
    cd.autograded_directory = "autograded"
    cd.feedback_directory = "feedback"
    cd.db_url = f"sqlite:///{root / 'gradebook.db'}"
    cd.course_id = job.course_id
    cd.assignment_id = job.assignment
    cd.student_id = job.student
    cd.notebook_id = "*"
    config.merge(overrides)
    config.merge(kernel_config(report_dir=str(root / "guard"), hide=[str(root), *job.hide], limits=job.limits))
    return config


def _read_gradebook(result: SubmissionResult, db_url: str, job: SubmissionJob) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(db_url, job.course_id) as gb:
        submission = gb.find_submission(job.assignment, job.student)
        result.timestamp = submission.timestamp.isoformat() if submission.timestamp else None
        for nb in submission.notebooks:
            for grade in nb.grades:
                result.grades.append(GradeRecord(nb.name, grade.name, grade.auto_score, grade.max_score,
                                                 bool(grade.needs_manual_grade)))
            for comment in nb.comments:
                result.comments.append(CommentRecord(nb.name, comment.name, comment.auto_comment))
            result.notebooks.append(NotebookRecord(nb.name, nb.late_submission_penalty,
                                                   f"{nb.name}.ipynb" in job.submitted_files))


def grade_submission(job: SubmissionJob) -> SubmissionResult:
    """Autograde one student's submission in a private scratch course; never raises."""
    with _ONE_AT_A_TIME:
        return _grade(job)


def _grade(job: SubmissionJob) -> SubmissionResult:
    from .kernel import kernel_env

    start = time.perf_counter()
    for key, value in kernel_env().items():
        os.environ.setdefault(key, value)
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")

    result = SubmissionResult(job.assignment, job.student, status="failed")
    log_buffer = io.StringIO()
    logger = logging.getLogger(f"autograder.grading.worker.{os.getpid()}")
    logger.handlers[:] = [logging.StreamHandler(log_buffer)]
    logger.handlers[0].setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    logger.setLevel(logging.INFO)
    logger.propagate = False
    scratch = Path(tempfile.mkdtemp(prefix=f"grade-{job.assignment}-"))
    try:
        problems, result.warnings = _check_notebooks(job)
        if problems:
            result.reason = "; ".join(problems)
            return result
        static = _static_findings(job)
        (scratch / "nbgrader_config.py").write_bytes(job.config_py)
        (scratch / "gradebook.db").write_bytes(job.template_gradebook)
        _write_tree(scratch / "source" / job.assignment, job.source_files)
        _write_tree(scratch / "submitted" / job.student / job.assignment, job.submitted_files)
        config = _scratch_config(job, scratch)

        from nbgrader.converters import Autograde, GenerateFeedback, NbGraderException
        from nbgrader.coursedir import CourseDirectory

        coursedir = CourseDirectory(config=config, log=logger)
        converter = Autograde(coursedir=coursedir, config=config, log=logger)
        converter.force = True
        converter.create_student = True
        try:
            converter.start()
        except NbGraderException:
            errors = [line for line in log_buffer.getvalue().splitlines() if line.startswith("[ERROR]")]
            result.reason = (f"student {job.student}: nbgrader could not autograde the submission: "
                             + (" | ".join(errors[:6]) or "see log"))
            return result
        _read_gradebook(result, config.CourseDirectory.db_url, job)
        _review(result, static, scratch / "guard")

        autograded = scratch / "autograded" / job.student / job.assignment
        result.autograded_files = {rel: data for rel, data in _read(autograded).items()}
        grades = {(g.notebook, g.name): g for g in result.grades}
        for rel, data in sorted(result.autograded_files.items()):
            if rel.endswith(".ipynb") and "/" not in rel:
                result.cells.extend(collect_cells(Path(rel).stem, data, grades))

        if job.feedback:
            try:
                from .figures import TrackerFigures

                feedback_config = config.copy()
                feedback_config.GenerateFeedback.preprocessors = [
                    "nbgrader.preprocessors.GetGrades",
                    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
                    TrackerFigures]
                feedback = GenerateFeedback(coursedir=coursedir, config=feedback_config, log=logger)
                feedback.force = True
                feedback.start()
                result.feedback_files = _read(scratch / "feedback" / job.student / job.assignment)
            except Exception as err:  # feedback is a courtesy; the grades stand
                result.warnings.append(f"student {job.student}: feedback not generated "
                                       f"({type(err).__name__}: {err})")
        result.status = "graded"
        return result
    except BaseException as err:  # noqa: BLE001 - a worker must report, never die silently
        if isinstance(err, KeyboardInterrupt):
            raise
        result.status = "failed"
        result.reason = (f"student {job.student}: grading crashed: {type(err).__name__}: {err}\n"
                         + traceback.format_exc(limit=5))
        return result
    finally:
        result.log = log_buffer.getvalue()[-20000:]
        result.seconds = time.perf_counter() - start
        shutil.rmtree(scratch, ignore_errors=True)


def _review(result: SubmissionResult, static: dict[str, list], guard_dir: Path) -> None:
    """Withhold the points of every graded cell a finding affects (see :mod:`.review`)."""
    from .review import apply_review, collect_items

    items = []
    for notebook in sorted({n.name for n in result.notebooks}):
        path = guard_dir / f"{notebook}.json"
        findings = json.loads(path.read_text()) if path.exists() else None
        if findings is not None:
            result.guard[notebook] = {k: findings.get(k) for k in ("sandbox", "sandbox_why", "dead", "seconds")}
        elif any(n.name == notebook and n.submitted for n in result.notebooks):
            findings = {"notebook": ["the grader's guard left no report for this notebook"]}
        items += collect_items(notebook, findings, static.get(notebook, []))
    withheld = apply_review(result.grades, items)
    result.review = [{"notebook": i.notebook, "cell": i.cell, "reason": i.reason} for i in items]
    result.withheld = {f"{nb}/{cell}": score for (nb, cell), score in withheld.items()}


def _read(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def result_summary(result: SubmissionResult) -> dict:
    """A short JSON-friendly view (for logs and debugging)."""
    return json.loads(json.dumps({"student": result.student, "status": result.status, "reason": result.reason,
                                  "grades": [g.__dict__ for g in result.grades]}))
