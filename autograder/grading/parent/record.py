"""The single writer: everything grading writes into the course directory goes through here.

Only the parent process calls it, one result at a time, so workers never open the course's
gradebook.  Order for each graded submission (so that a kill at any point is safe):

1. ``DIR/autograded/<student>/<ASSIGNMENT>/`` and ``DIR/feedback/<student>/<ASSIGNMENT>/``
   replaced as whole folders (written beside, then renamed into place);
2. ``DIR/gradebook.db``: student, submission, grades, comments and late penalties in ONE
   transaction, updating rows in place (nbgrader's own identity: assignment, notebook, cell,
   student), so a rerun replaces and never duplicates; manual scores are kept, as nbgrader does;
3. ``DIR/reports/<student>/<ASSIGNMENT>.json`` written atomically, LAST: it is the record that
   the submission is fully recorded (``status: graded`` plus the digest of what was graded), which
   a rerun uses to skip it.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

from ..worker.job import CellResult, SubmissionResult
from .course import Course


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)   # a full disk: the old file stays as it was, no partial copy beside it
        raise _naming(err, path) from err


def _naming(err: OSError, path: Path) -> OSError:
    """``err`` with the file it is about (a failed write() names none)."""
    return err if err.filename else OSError(err.errno, err.strerror, str(path))


def replace_folder(folder: Path, files: dict[str, bytes]) -> None:
    """Make ``folder`` hold exactly ``files`` (written beside it, then swapped in)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.with_name(f".{folder.name}.{os.getpid()}.new")
    old = folder.with_name(f".{folder.name}.{os.getpid()}.old")
    for stale in [*folder.parent.glob(f".{folder.name}.*.new"), *folder.parent.glob(f".{folder.name}.*.old")]:
        shutil.rmtree(stale, ignore_errors=True)   # left by a run killed mid-swap
    try:
        for rel, data in files.items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        staging.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        shutil.rmtree(staging, ignore_errors=True)   # a full disk: the old folder stays, the space is given back
        raise _naming(err, folder / rel if files else folder) from err
    if folder.exists():
        os.replace(folder, old)
    os.replace(staging, folder)
    shutil.rmtree(old, ignore_errors=True)


def report_path(course: Course, student: str) -> Path:
    return course.root / "reports" / student / f"{course.assignment}.json"


def read_report(course: Course, student: str) -> dict | None:
    try:
        return json.loads(report_path(course, student).read_text())
    except (OSError, ValueError):
        return None


class Recorder:
    """Writes results into the course directory and its gradebook (open once, in the parent); one recorder
    serves every assignment of the course directory (:meth:`record` is told which)."""

    def __init__(self, course: Course, *, busy_wait: float = 60.0, say=None):
        from nbgrader.api import Gradebook

        from .gradebook_busy import shorten_busy_timeout

        self.course = course
        self.busy_wait = busy_wait   # seconds to wait for a gradebook another program holds locked
        self.say = say               # how waiting is reported (default: a line on stderr)
        self.gradebook = Gradebook(course.db_url, course.course_id)
        shorten_busy_timeout(self.gradebook)

    def _in_transaction(self, action, what: str):
        """``action()`` (one gradebook transaction), waiting while another program holds the gradebook locked;
        a full disk becomes a GradingError naming the gradebook (the transaction is rolled back by SQLite)."""
        from sqlalchemy.exc import OperationalError

        from .gradebook_busy import retrying

        options = {"say": self.say} if self.say else {}
        try:
            return retrying(action, db_path=self.course.db_path, what=what, wait_seconds=self.busy_wait,
                            rollback=self.gradebook.db.rollback, **options)
        except OperationalError as err:
            raise write_failed(self.course.db_path, err, what) from err

    def close(self) -> None:
        self.gradebook.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- gradebook ---------------------------------------------------------------------
    def _write_gradebook(self, result: SubmissionResult, assignment: str) -> None:
        import warnings

        def write():
            with warnings.catch_warnings():  # SQLAlchemy's autoflush note while the new rows are linked up
                warnings.simplefilter("ignore")
                self._write_gradebook_rows(result, assignment)

        self._in_transaction(write, f"the grades of student {result.student} ({assignment})")

    def _write_gradebook_rows(self, result: SubmissionResult, assignment: str) -> None:
        from nbgrader import utils
        from nbgrader.api import (Comment, Grade, MissingEntry, Student, SubmittedAssignment,
                                  SubmittedNotebook)

        gb, db = self.gradebook, self.gradebook.db
        try:
            try:
                student = gb.find_student(result.student)
            except MissingEntry:
                student = Student(id=result.student)
                db.add(student)
                db.flush()
            timestamp = utils.parse_utc(result.timestamp) if result.timestamp else None
            try:
                submission = gb.find_submission(assignment, result.student)
                if timestamp is not None:
                    submission.timestamp = timestamp
            except MissingEntry:  # mirror the assignment's structure, as Gradebook.add_submission does
                submission = SubmittedAssignment(assignment=gb.find_assignment(assignment), student=student,
                                                 timestamp=timestamp)
                for notebook in submission.assignment.notebooks:
                    nb = SubmittedNotebook(notebook=notebook, assignment=submission)
                    for cell in notebook.grade_cells:
                        Grade(cell_id=cell.id, notebook=nb)
                    for cell in notebook.solution_cells:
                        Comment(cell_id=cell.id, notebook=nb)
                    for cell in notebook.task_cells:
                        Comment(cell_id=cell.id, notebook=nb)
                        Grade(cell_id=cell.id, notebook=nb)
                db.add(submission)
                db.flush()
            submitted = {n.name: n for n in result.notebooks}
            for record in result.notebooks:
                nb = gb.find_submission_notebook(record.name, assignment, result.student)
                nb.late_submission_penalty = record.late_submission_penalty
            for record in result.grades:
                grade = gb.find_grade(record.name, record.notebook, assignment, result.student)
                grade.auto_score = record.auto_score
                missing = record.notebook in submitted and not submitted[record.notebook].submitted
                grade.needs_manual_grade = record.needs_manual_grade or (
                    grade.manual_score is not None and not missing)
            # Formgrader lists the withheld cells (needs_manual_grade); each answer's automatic comment says why.
            # (`SubmittedNotebook.flagged` is left to human graders, as nbgrader documents it.)
            findings = review_by_notebook(result.review)
            for record in result.comments:
                comment = gb.find_comment(record.name, record.notebook, assignment, result.student)
                comment.auto_comment = with_review_note(record.auto_comment, findings.get(record.notebook))
            db.commit()
        except BaseException:
            db.rollback()
            raise

    def _ensure_submission(self, student: str, assignment: str) -> None:
        """A submission that could not be graded still exists in the gradebook (ungraded), as with nbgrader."""
        import warnings

        from .errors import GradingError

        def write():
            with warnings.catch_warnings():  # nbgrader's add_submission trips a harmless SQLAlchemy warning
                warnings.simplefilter("ignore")
                self.gradebook.update_or_create_student(student)
                self.gradebook.update_or_create_submission(assignment, student)

        try:
            self._in_transaction(write, f"the (failed) submission of student {student} ({assignment})")
        except GradingError:
            raise   # locked for good, or the disk is full: the run stops, the next one records it
        except Exception:  # noqa: BLE001 - the report still says why it failed
            self.gradebook.db.rollback()

    # -- the report --------------------------------------------------------------------
    def _report(self, result: SubmissionResult, submission_digest: str, assignment: str) -> dict:
        gb = self.gradebook
        submission = gb.find_submission(assignment, result.student)
        cells_by_key: dict[tuple[str, str], CellResult] = {(c.notebook, c.grade_id): c for c in result.cells}
        order = {(c.notebook, c.grade_id): i for i, c in enumerate(result.cells)}
        notebooks = []
        submitted = {n.name: n.submitted for n in result.notebooks}
        for nb in sorted(submission.notebooks, key=lambda n: n.name):
            cells = []
            for grade in sorted(nb.grades, key=lambda g: order.get((nb.name, g.name), 10**6)):
                cell = cells_by_key.get((nb.name, grade.name))
                points = grade.score
                passed = None if grade.needs_manual_grade or points is None else points >= grade.max_score
                cells.append({
                    "grade_id": grade.name, "kind": cell.kind if cell else grade.cell.__class__.__name__,
                    "points": points, "max_points": grade.max_score, "auto_points": grade.auto_score,
                    "manual_points": grade.manual_score, "needs_manual_grade": bool(grade.needs_manual_grade),
                    "passed": passed,
                    "error": cell.error if cell else None, "traceback": cell.traceback if cell else None,
                    "tracker": cell.tracker if cell else [],
                    # What the student's feedback shows (no hidden test, no grader frame): see README, "Feedback".
                    "student": {"message": cell.error if cell else None,
                                "traceback": cell.student_traceback if cell else None},
                })
            notebooks.append({"notebook": nb.name, "submitted": submitted.get(nb.name, True),
                              "score": nb.score, "max_score": nb.max_score,
                              "late_submission_penalty": nb.late_submission_penalty or 0.0, "cells": cells})
        penalty = submission.late_submission_penalty or 0.0
        return {"student_id": result.student, "assignment": assignment, "status": "graded", "reason": "",
                "score": max(0.0, submission.score - penalty), "raw_score": submission.score,
                "late_submission_penalty": penalty, "max_score": submission.max_score,
                "timestamp": result.timestamp, "warnings": result.warnings,
                "needs_review": bool(result.review), "review": result.review, "withheld": result.withheld,
                "repairs": result.repairs,
                "guard": result.guard, "stats": result.stats, "submission_digest": submission_digest, "notebooks": notebooks}

    # -- public ------------------------------------------------------------------------
    def record(self, result: SubmissionResult, submission_digest: str, course: Course | None = None) -> dict:
        """Write one result of ``course`` (default: the recorder's); return the report written (also for failures)."""
        course, student = course or self.course, result.student
        try:
            if result.status != "graded":
                self._ensure_submission(student, course.assignment)
                report = {"student_id": student, "assignment": course.assignment, "status": "failed",
                          "reason": result.reason, "warnings": result.warnings,
                          "submission_digest": submission_digest, "log_tail": result.log[-4000:]}
                atomic_write(report_path(course, student), _dumps(report))
                return report
            replace_folder(course.root / "autograded" / student / course.assignment, result.autograded_files)
            if result.feedback_files:
                replace_folder(course.root / "feedback" / student / course.assignment, result.feedback_files)
            self._write_gradebook(result, course.assignment)
            report = self._report(result, submission_digest, course.assignment)
            atomic_write(report_path(course, student), _dumps(report))
            return report
        except OSError as err:   # a full disk, a read-only course directory: say which file, stop the run
            raise write_failed(Path(err.filename or course.root), err,
                               f"the results of student {student} ({course.assignment})") from err

    def export_csv(self, dest: Path) -> None:
        """nbgrader's own CSV export of the whole gradebook (one row per student and assignment), plus
        ``needs_review`` and ``review_reason`` from each submission's report (see :mod:`autograder.grading.worker.review`)."""
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        try:
            self._export_csv(tmp, dest)
        except OSError as err:
            tmp.unlink(missing_ok=True)   # the old grades.csv stays as it was
            raise write_failed(dest, err, "grades.csv") from err

    def _export_csv(self, tmp: Path, dest: Path) -> None:
        import csv

        from nbgrader.plugins.export import CsvExportPlugin

        CsvExportPlugin(to=str(tmp)).export(self.gradebook)
        with open(tmp, newline="") as fh:
            rows = list(csv.DictReader(fh))
            fields = list(rows[0].keys()) if rows else []
        if fields:
            for row in rows:
                report = _read_json(self.course.root / "reports" / row["student_id"] / f"{row['assignment']}.json")
                items = (report or {}).get("review") or []
                row["needs_review"] = "yes" if items else "no"
                notes = [f"{r['notebook']}: {r['note']}" for r in (report or {}).get("repairs") or [] if r.get("note")]
                row["review_reason"] = " | ".join([*notes, *(
                    f"{i['notebook']}{', ' + i['cell'] if i.get('cell') else ''}: {i['reason']}" for i in items[:5])])[:1000]
            with open(tmp, "w", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=[*fields, "needs_review", "review_reason"])
                writer.writeheader()
                writer.writerows(rows)
        os.replace(tmp, dest)


def write_failed(path: Path, err: BaseException, what: str):
    """The GradingError for a write that failed (``err``: an OSError, or SQLite's error for the gradebook)."""
    from .errors import GradingError

    reason = getattr(err, "strerror", None) or str(getattr(err, "orig", None) or err)
    full = getattr(err, "errno", None) == errno.ENOSPC or "disk is full" in reason or "disk I/O" in reason
    advice = ("free some space on that filesystem, then run the same command again" if full
              else "fix that, then run the same command again")
    return GradingError(f"could not write {path} ({reason}) while recording {what}; the run stopped there. "
                        f"gradebook.db, grades.csv and the reports hold everything recorded before, nothing half "
                        f"written; {advice}: it grades what is not recorded yet")


REVIEW_NOTE = "Marked for review by the autograder (its graded cells earn 0 until you give a score):"


def review_by_notebook(review: list[dict]) -> dict[str, list[str]]:
    """notebook -> the reasons a submission's ``review`` items give (``cell: reason``)."""
    found: dict[str, list[str]] = {}
    for item in review:
        found.setdefault(item["notebook"], []).append(
            (f"cell {item['cell']}: " if item.get("cell") else "") + item["reason"])
    return found


def with_review_note(comment: str | None, reasons: list[str] | None) -> str | None:
    """The answer cell's automatic comment, with the review's reasons first (formgrader shows it to the grader)."""
    if not reasons:
        return comment
    note = "\n".join([REVIEW_NOTE, *(f"- {reason}" for reason in reasons)])
    return f"{note}\n\n{comment}" if comment else note


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _dumps(report: dict) -> bytes:
    return (json.dumps(report, indent=1, sort_keys=True, ensure_ascii=False, default=str) + "\n").encode()
