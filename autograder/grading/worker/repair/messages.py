"""The instructor's words for a repair (a note, not a penalty) and for what could not be repaired."""
from __future__ import annotations

from .match import Unmatched
from .repair import Repair

_WHAT = {
    "metadata": "nbgrader metadata missing on {n} cell{s}",
    "ids": "cell ids missing on {n} cell{s}",
    "format": "saved as an older nbformat (4.4 or before)",
    "type": "{n} cell{s} changed type (code/markdown), restored",
    "split": "{n} answer cell{s} found among extra cells by {its} stub",
    "moved": "{n} cell{s} moved",
    "copy": "{n} copied test or locked cell{s} graded as the student's own code",
}


def note(repair: Repair) -> str:
    """"repaired: nbgrader metadata missing on 12 cells (editor); matched by content" ("" when nothing was done)."""
    parts = []
    for kind, template in _WHAT.items():
        n = repair.damage.get(kind, 0)
        if n:
            parts.append(template.format(n=n, s="" if n == 1 else "s", its="its" if n == 1 else "their"))
    if not parts:
        return ""
    editor = " (editor)" if repair.damage.get("metadata") else ""
    return f"repaired: {', '.join(parts)}{editor}; matched by content"


def _place(grade_id: str | None, side: str) -> str:
    return f"`{grade_id}`" if grade_id else f"the {side} of the notebook"


def unmatched_message(item: Unmatched) -> str:
    """"answer cell for `sgd_step` not found: the notebook has 2 cells where 1 was expected, between ..."."""
    cells = "cell" if item.found == 1 else "cells"
    verb = "was" if item.expected == 1 else "were"
    return (f"answer cell for `{item.grade_id}` not found: the notebook has {item.found} {cells} where "
            f"{item.expected} {verb} expected, between {_place(item.before, 'start')} and {_place(item.after, 'end')}; "
            f"its tests are withheld for review, the other cells are graded")


def student_notes(repairs: list[dict]) -> dict[str, list[str]]:
    """notebook -> the lines its feedback page gives the student about the repair (``SubmissionResult.repairs``)."""
    notes: dict[str, list[str]] = {}
    for repair in repairs:
        lines = notes.setdefault(repair["notebook"], [])
        if repair.get("note"):
            what = repair["note"].removeprefix("repaired: ").removesuffix("; matched by content").replace(" (editor)", "")
            lines.append(f"Your notebook reached the grader damaged: {what}, as editors that do not know nbgrader "
                         "leave it. It was matched to the assignment by content and graded as usual; to be safe, "
                         "work in a clean copy of the assignment.")
        for problem in repair.get("problems", []):
            lines.append(f"{problem['message'].split(';')[0][0].upper()}{problem['message'].split(';')[0][1:]}: "
                         "an instructor will grade its tests by hand.")
    return {name: lines for name, lines in notes.items() if lines}
