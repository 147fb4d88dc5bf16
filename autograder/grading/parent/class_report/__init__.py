"""The instructor's view of one assignment, rebuilt from every submission's report after each grading run
(and by ``python -m autograder class-report``): ``data`` (gather and count), ``figures`` (matplotlib),
``page`` (the HTML), ``export`` (JSON, CSV, the per-question grades for an LMS).

Writes ``DIR/reports/<ASSIGNMENT>.html``, ``DIR/reports/<ASSIGNMENT>-class.json`` and
``DIR/reports/<ASSIGNMENT>-class.csv``, and ``DIR/grades-<ASSIGNMENT>.csv`` (per question, Canvas layout).
"""
from __future__ import annotations

from pathlib import Path


def build(course, gradebook) -> dict[str, Path]:
    """Write the class report of ``course`` (a :class:`..course.Course`) from its reports and ``gradebook``
    (an open nbgrader Gradebook); return what was written, by kind."""
    from ..record import atomic_write
    from . import data, export, page

    exercises = data.source_exercises(course.source_dir)
    reports_dir = course.root / "reports"
    counted = data.gather(course.assignment, data.read_reports(reports_dir, course.assignment), exercises)
    written = {
        "html": reports_dir / f"{course.assignment}.html",
        "json": reports_dir / f"{course.assignment}-class.json",
        "csv": reports_dir / f"{course.assignment}-class.csv",
        "grades": course.root / f"grades-{course.assignment}.csv",
    }
    atomic_write(written["json"], export.class_json(counted))
    atomic_write(written["csv"], export.class_csv(counted))
    atomic_write(written["grades"], export.per_question_csv(gradebook, course.assignment, exercises))
    atomic_write(written["html"], page.render(counted).encode())
    return written


def prepare():
    """Import what :func:`build` needs (matplotlib and jinja2: about half a second of CPU) in a daemon thread, so
    that a grading run can do it while its last submissions are graded instead of after them; returns the thread.
    A later import of the same modules waits for this one (Python's import lock); a failed one is left for
    :func:`build` to meet, and report, itself."""
    import threading

    def imports() -> None:
        try:
            import jinja2  # noqa: F401
            import matplotlib.backends.backend_agg  # noqa: F401
            import matplotlib.figure  # noqa: F401
        except Exception:  # noqa: BLE001, S110 - build() imports them again and reports what fails
            pass

    thread = threading.Thread(target=imports, name="class-report-imports", daemon=True)
    thread.start()
    return thread


def build_after_grading(course, gradebook) -> None:
    """:func:`build`, after a grading run (also an interrupted one): a report that cannot be built is a warning
    on stderr, never a lost run (the grades are recorded already)."""
    import sys

    try:
        build(course, gradebook)
    except Exception as err:  # noqa: BLE001 - the grades are safe; say what is missing and why
        print(f"grade: the class report of {course.assignment} was not written: {type(err).__name__}: {err} "
              f"(rebuild it with `python -m autograder class-report {course.assignment} --course-dir {course.root}`)",
              file=sys.stderr)


def rebuild(course_dir: Path, assignments: list[str]) -> list[dict[str, Path]]:
    """Without grading: export ``DIR/grades.csv`` again and rebuild each assignment's class report from the
    reports and the gradebook (after manual grading in formgrader, both show the manual scores)."""
    from ..course import GradingError, resolve
    from ..record import Recorder

    courses = [resolve(course_dir, assignment) for assignment in assignments]
    if not courses[0].db_path.is_file():
        raise GradingError(f"no gradebook at {courses[0].db_path}: grade the assignment first")
    with Recorder(courses[0]) as recorder:
        recorder.export_csv(courses[0].root / "grades.csv")
        return [build(course, recorder.gradebook) for course in courses]
