"""The class's picture of one assignment, gathered from the per-submission reports (``DIR/reports/<student>/
<ASSIGNMENT>.json``, written by :mod:`..record`) and counted: plain JSON-ready data for the page and exports.

An *exercise* is an answer (solution) cell and the graded cells after it, up to the next answer cell; its
title is the last markdown heading before the answer (as on the students' feedback page).  A student
*failed* an exercise when its graded cells earned less than their points (a written answer still
awaiting its manual grade is left out).  The *causes* of a student's failure are
the tracker's cause ids (``autograder.tracker.diagnosis``) in the published verdicts of the cells that lost
points, and ``marked for review`` for cells whose points were withheld; a failure with neither counts under
``no tracker verdict: <error type>``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

NO_VERDICT = "no tracker verdict"
REVIEW = "marked for review"
SLOWEST = 5


@dataclass
class Exercise:
    notebook: str
    title: str
    answer_id: str = ""                                  # grade_id of its answer cell
    cells: list[str] = field(default_factory=list)      # grade_ids of its graded cells, in notebook order
    max_points: float = 0.0


def _heading(source: str) -> str | None:
    headings = [line.lstrip("#").strip() for line in source.splitlines() if line.startswith("#")]
    return headings[-1] if headings else None


def exercises_of(notebook_name: str, nb: dict) -> list[Exercise]:
    """The exercises of one source notebook (nbformat JSON as a dict), in order."""
    found: list[Exercise] = []
    title = None
    for cell in nb.get("cells", []):
        source = "".join(cell.get("source", ""))
        md = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "markdown" and not md.get("solution"):
            title = _heading(source) or title
        if md.get("solution") or (md.get("grade") and not found):
            answer_id = md.get("grade_id", "") if md.get("solution") else ""
            found.append(Exercise(notebook_name, title or md.get("grade_id", "exercise"), answer_id))
        if md.get("grade"):
            found[-1].cells.append(md["grade_id"])
            found[-1].max_points += float(md.get("points") or 0)
    return [e for e in found if e.cells]


def source_exercises(source_dir: Path) -> list[Exercise]:
    """Every exercise of an assignment's source folder, notebooks in name order; titles that repeat (several
    answers under one heading) get their answer cell's id, ``Problem 1 (squares)``."""
    result = []
    for path in sorted(source_dir.glob("*.ipynb")):
        result += exercises_of(path.stem, json.loads(path.read_text()))
    titles = [e.title for e in result]
    for exercise in result:
        if titles.count(exercise.title) > 1:
            exercise.title = f"{exercise.title} ({exercise.answer_id or exercise.notebook})"
    return result


def read_reports(reports_dir: Path, assignment: str) -> list[dict]:
    """Every student's report of ``assignment`` (unreadable ones are left out), sorted by student."""
    found = []
    for path in sorted(reports_dir.glob(f"*/{assignment}.json")):
        try:
            found.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return found


def tracker_causes(cell: dict) -> dict[str, str]:
    """cause id -> an example explanation, from the tracker verdicts a cell of a report published."""
    causes: dict[str, str] = {}
    for bundle in cell.get("tracker") or []:
        expectation = (bundle or {}).get("expectation") or {}
        for failure in expectation.get("failures") or []:
            if failure.get("cause"):
                causes.setdefault(failure["cause"], failure.get("cause_text") or "")
    return causes


def student_causes(failed_cells: list[dict]) -> dict[str, str]:
    """Why one student lost points on an exercise (its cells that did), cause -> an example: the tracker's
    cause ids, and ``marked for review`` for withheld cells; only where there is neither, the error's type."""
    causes: dict[str, str] = {}
    for cell in failed_cells:
        if cell.get("needs_manual_grade"):
            causes.setdefault(REVIEW, "points withheld until an instructor grades the cell")
        causes.update({k: v for k, v in tracker_causes(cell).items() if k not in causes})
    if causes:
        return causes
    for cell in failed_cells:
        error = cell.get("error") or ""
        causes.setdefault(f"{NO_VERDICT}: {error.split(':', 1)[0].strip() or 'no error shown'}",
                          error.splitlines()[0] if error else "")
    return causes


def awaiting_grade(cell: dict) -> bool:
    """A manually graded answer that no one has graded yet: not a failure (a test cell withheld for review is)."""
    return bool(cell.get("needs_manual_grade")) and cell.get("kind") in ("solution", "task")


def _cells_by_key(report: dict) -> dict[tuple[str, str], dict]:
    return {(nb["notebook"], c["grade_id"]): c for nb in report.get("notebooks", []) for c in nb.get("cells", [])}


def gather(assignment: str, reports: list[dict], exercises: list[Exercise]) -> dict:
    """Count the class: scores, each graded cell's pass rate, each exercise's causes of failure (with their
    students), the students marked for review, the submissions that failed to grade, the slowest notebooks."""
    graded = [r for r in reports if r.get("status") == "graded"]
    max_score = max((r.get("max_score") or 0 for r in graded), default=sum(e.max_points for e in exercises))
    cells = []
    for exercise in exercises:
        for grade_id in exercise.cells:
            outcomes = [_cells_by_key(r).get((exercise.notebook, grade_id)) for r in graded]
            outcomes = [c for c in outcomes if c is not None]
            passed = sum(1 for c in outcomes if c.get("passed"))
            cells.append({"notebook": exercise.notebook, "grade_id": grade_id, "exercise": exercise.title,
                          "graded": len(outcomes), "passed": passed,
                          "pass_rate": passed / len(outcomes) if outcomes else None})
    per_exercise = []
    for exercise in exercises:
        failed_students: list[str] = []
        causes: dict[str, dict] = {}
        for report in graded:
            by_key = _cells_by_key(report)
            mine = [by_key.get((exercise.notebook, g)) for g in exercise.cells]
            mine = [c for c in mine if c is not None and not awaiting_grade(c)]
            if not mine or sum(c.get("points") or 0 for c in mine) >= sum(c.get("max_points") or 0 for c in mine):
                continue
            student = report["student_id"]
            failed_students.append(student)
            lost = [c for c in mine if (c.get("points") or 0) < (c.get("max_points") or 0)]
            for cause, text in student_causes(lost).items():
                entry = causes.setdefault(cause, {"cause": cause, "example": text, "students": []})
                entry["students"].append(student)
        ranked = sorted(causes.values(), key=lambda e: (-len(e["students"]), e["cause"]))
        for entry in ranked:
            entry["count"] = len(entry["students"])
            entry["share"] = entry["count"] / len(failed_students)
        per_exercise.append({"notebook": exercise.notebook, "title": exercise.title, "cells": exercise.cells,
                             "max_points": exercise.max_points, "graded": len(graded),
                             "failed": len(failed_students), "failed_students": failed_students, "causes": ranked})
    review = [{"student": r["student_id"], "items": r.get("review") or []} for r in graded if r.get("needs_review")]
    failed = [{"student": r.get("student_id"), "reason": r.get("reason", "")} for r in reports
              if r.get("status") != "graded"]
    timings = [{"student": r["student_id"], "notebook": nb, "seconds": g.get("seconds")}
               for r in graded for nb, g in (r.get("guard") or {}).items() if (g or {}).get("seconds") is not None]
    slowest = sorted(timings, key=lambda t: -t["seconds"])[:SLOWEST]
    return {"assignment": assignment, "students": len(reports), "graded": len(graded), "max_score": max_score,
            "scores": {r["student_id"]: r.get("score", 0.0) for r in graded},
            "cells": cells, "exercises": per_exercise, "review": review, "failed": failed, "slowest": slowest}
