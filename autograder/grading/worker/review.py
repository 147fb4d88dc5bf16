"""Deciding which graded cells an instructor must look at, and withholding their points meanwhile.

Two sources of findings per notebook:

* :func:`check_reports`: the guard's channel, checked by :class:`.guarded_execute.GuardedExecute`
  after the kernel is gone (every report authentic and in sequence; each test ran under the guard
  exactly once; its outcome matches what the notebook shows; nothing replaced what the tests rely
  on; no watched event);
* :func:`.static_checks.scan`: the submitted notebook read before it ran.

:func:`apply_review` turns them into nbgrader's own vocabulary: an affected graded cell gets
``auto_score = 0`` and ``needs_manual_grade = True`` (so it appears in formgrader's "needs manual
grade" list and earns nothing until an instructor gives a manual score), and the submission's
``review`` list says which cell and why.  A finding in a student's cell or in the notebook as a
whole affects every graded cell of that notebook: code can change any test's outcome.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..protocol import nbgrader_md, verify_line


@dataclass
class ReviewItem:
    notebook: str
    cell: str | None     # the graded cell (grade_id), None for the whole notebook
    reason: str
    affects: tuple[str, ...] = ()   # further graded cells whose points wait for the instructor (by grade_id)

    def text(self) -> str:
        where = f"{self.notebook}" + (f", cell `{self.cell}`" if self.cell else "")
        return f"{where}: {self.reason}"


def check_reports(key: bytes, lines: list[tuple[int, bytes]], tests: dict, nb, dead_reason: str) -> dict:
    """Findings from the guard's channel for one executed notebook (plain JSON data)."""
    notebook_reasons: list[str] = []
    cell_reasons: dict[str, list[str]] = {}
    records = []
    expected = 1
    for cell_index, line in lines:
        record = verify_line(key, line)
        if record is None:
            notebook_reasons.append(f"a report on the grader's channel failed its authenticity check "
                                    f"(written by the notebook's code?) while cell {cell_index + 1} ran")
            continue
        if record.get("seq") != expected:
            notebook_reasons.append(f"reports on the grader's channel are missing or out of order "
                                    f"(got {record.get('seq')}, expected {expected})")
        expected = int(record.get("seq", expected)) + 1
        records.append((cell_index, record))
    if tests and not any(r.get("kind") == "hello" for _, r in records) and not dead_reason:
        notebook_reasons.append("the grader's guard never reported from the kernel")
    for cell_index, record in records:
        if record.get("kind") == "event":
            notebook_reasons.append(f"cell {cell_index + 1}: {record.get('event')} "
                                    f"{record.get('arg', '')!s} (at {record.get('where', '?')})".replace("  ", " "))
    for nonce, (index, grade_id, _source) in tests.items():
        cell = nb.cells[index]
        failed_visibly = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        mine = [r for _, r in records if r.get("nonce") == nonce]
        results = [r for r in mine if r.get("kind") == "result"]
        reasons = []
        for r in mine:
            for problem in r.get("problems") or []:
                reasons.append(f"{'before' if r.get('kind') == 'start' else 'after'} the test ran: {problem}")
        if not failed_visibly:
            if not results:
                reasons.append("the test did not run under the grader's guard (the cell's code was changed "
                               "on its way to Python)")
            elif len(results) > 1:
                reasons.append("the test ran more than once")
            elif results[0].get("status") != "ok":
                reasons.append(f"the test failed ({results[0].get('ename')}) but the notebook shows no error: "
                               "the failure was hidden")
            else:
                reasons += _result_shown(cell, results[0].get("shown"))
        if reasons:
            cell_reasons[grade_id] = list(dict.fromkeys(reasons))
    hello = next((r for _, r in records if r.get("kind") == "hello"), {})
    return {"notebook": list(dict.fromkeys(notebook_reasons))[:50], "cells": cell_reasons,
            "dead": dead_reason, "tests": len(tests),
            # where the guard's snapshot was taken: "template" (warm kernel) or "kernel"
            "snapshot": (hello.get("snapshot") or {}).get("from", "")}


# Display rounding an honest notebook may apply (`%precision 3`) is not a finding; more than this is.
PARTIAL_CREDIT_TOLERANCE = 0.01


def _grade_of(text, max_points: float) -> float:
    """nbgrader's partial credit for an execute_result's text/plain (utils.get_partial_grade)."""
    if isinstance(text, list):
        if len(text) > 1:
            return max_points
        text = text[0] if text else ""
    try:
        grade = float(text)
    except (TypeError, ValueError):
        return max_points
    return min(grade, max_points) if grade >= 0 else max_points


def _result_shown(cell, shown: dict | None) -> list[str]:
    """A test cell's displayed result must be the one the test computed (nbgrader reads it as partial credit).

    The guard reports the value of the test's last expression (``shown``); the notebook's outputs
    are what nbgrader scores.  Code that silences the displayhook (no result: full credit) or
    changes the formatter (``2.0`` for any float) shows more than the test computed.
    """
    if not shown or shown.get("type") == "other":
        return []    # no result, or one whose text only its own __repr__ knows (the static checks look at those)
    max_points = float(nbgrader_md(cell).get("points") or 0)
    outputs = cell.get("outputs", [])
    if any(o.get("output_type") == "stream" and o.get("name") == "stderr" for o in outputs):
        return []    # nbgrader scores a cell with stderr output 0
    results = [o for o in outputs if o.get("output_type") == "execute_result"]
    text = results[0].get("data", {}).get("text/plain") if results else None
    on_page = _grade_of(text, max_points) if results else max_points
    computed = _grade_of(shown.get("text"), max_points) if shown.get("type") == "number" else max_points
    if on_page > computed + PARTIAL_CREDIT_TOLERANCE:
        what = f"shows {text!r}" if results else "shows no result"
        return [f"the test computed {shown.get('text', 'nothing')} but the notebook {what}: its displayed result "
                f"was changed (worth {on_page:g} instead of {computed:g} points)"]
    return []


def collect_items(notebook: str, guard_findings: dict | None, static_findings: list) -> list[ReviewItem]:
    items: list[ReviewItem] = []
    if guard_findings:
        items += [ReviewItem(notebook, None, reason) for reason in guard_findings.get("notebook", [])]
        for grade_id, reasons in guard_findings.get("cells", {}).items():
            items += [ReviewItem(notebook, grade_id, reason) for reason in reasons]
    for finding in static_findings:
        cell_note = f"cell {finding.cell + 1}" if finding.cell >= 0 else "the notebook"
        if finding.cell < 0 or "metadata" in finding.reason or "appears twice" in finding.reason:
            items.append(ReviewItem(notebook, finding.grade_id, finding.reason))
        else:
            items.append(ReviewItem(notebook, None, f"{cell_note}: {finding.reason}"))
    return items


def apply_review(grades: list, items: list[ReviewItem]) -> dict[tuple[str, str], float | None]:
    """Withhold the points of every graded cell an item affects; return (notebook, cell) -> withheld score."""
    withheld: dict[tuple[str, str], float | None] = {}
    whole = {item.notebook for item in items if item.cell is None}
    cells = {(item.notebook, item.cell) for item in items if item.cell is not None}
    cells |= {(item.notebook, cell) for item in items for cell in item.affects}
    for grade in grades:
        if grade.notebook in whole or (grade.notebook, grade.name) in cells:
            withheld[(grade.notebook, grade.name)] = grade.auto_score
            grade.auto_score = 0.0
            grade.needs_manual_grade = True
    return withheld
