"""The class report's data as files: ``<ASSIGNMENT>-class.json`` (everything), ``<ASSIGNMENT>-class.csv``
(one row per exercise and cause, with its students), and the per-question grades for a learning-management
system (Canvas's gradebook CSV layout), read from the gradebook so that manual scores count."""
from __future__ import annotations

import csv
import io
import json

# Canvas's gradebook import: these identity columns, then one column per assignment (a new name creates a new
# assignment), a second row "Points Possible".
CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
NEEDS_REVIEW = "Needs Review (ignore on import)"
# A text cell that starts with one of these is a formula to a spreadsheet (CSV injection): such text is written
# with a leading apostrophe, which spreadsheets show as text (OWASP's advice for CSV exports).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def as_text(value: str) -> str:
    """``value`` safe to open in a spreadsheet: never read as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def class_json(data: dict) -> bytes:
    return (json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def class_csv(data: dict) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["notebook", "exercise", "graded", "failed", "cause", "students", "share", "who"])
    for exercise in data["exercises"]:
        rows = exercise["causes"] or [{"cause": "", "count": 0, "share": 0.0, "students": []}]
        for cause in rows:
            writer.writerow([exercise["notebook"], exercise["title"], exercise["graded"], exercise["failed"],
                             cause["cause"], cause["count"], f"{cause['share']:.4f}",
                             as_text(" ".join(cause["students"]))])
    return out.getvalue().encode()


def column_names(assignment: str, exercises: list) -> list[str]:
    """One column name per exercise, ``<assignment>: <title>`` (the notebook added where titles repeat)."""
    titles = [e.title for e in exercises]
    return [f"{assignment}: {e.title}" + (f" ({e.notebook})" if titles.count(e.title) > 1 else "")
            for e in exercises]


def per_question_csv(gradebook, assignment: str, exercises: list) -> bytes:
    """One row per student of the gradebook who has a submission: points per exercise (nbgrader's score:
    the manual score where an instructor gave one), the total after late penalty, and whether any of
    its cells still needs manual grading."""
    from nbgrader.api import MissingEntry

    columns = column_names(assignment, exercises)
    total_column = f"{assignment} (total)"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CANVAS_IDENTITY, *columns, total_column, NEEDS_REVIEW])
    writer.writerow(["Points Possible", "", "", "", "", *(f"{e.max_points:g}" for e in exercises),
                     f"{sum(e.max_points for e in exercises):g}", ""])
    for student in sorted(gradebook.students, key=lambda s: s.id):
        try:
            submission = gradebook.find_submission(assignment, student.id)
        except MissingEntry:
            continue
        grades = {(nb.name, g.name): g for nb in submission.notebooks for g in nb.grades}
        points = [sum((grades[(e.notebook, c)].score or 0.0) for c in e.cells if (e.notebook, c) in grades)
                  for e in exercises]
        review = any(g.needs_manual_grade for g in grades.values())
        name = f"{student.last_name}, {student.first_name}" if student.last_name and student.first_name else student.id
        total = max(0.0, submission.score - (submission.late_submission_penalty or 0.0))
        writer.writerow([as_text(name), "", "", as_text(student.id), "", *(f"{p:g}" for p in points), f"{total:g}",
                         "yes" if review else "no"])
    return out.getvalue().encode()
