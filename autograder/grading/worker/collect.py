"""What each graded cell of an autograded notebook says: pass/fail, error text, tracker verdicts.

Read from the autograded notebook's stored outputs (what nbgrader executed), never recomputed:
the tracker's verdicts are the ``application/vnd.autograder.tracker.v1+json`` part of the display
bundles that ``report.expect(...)`` published in the cell.
"""
from __future__ import annotations


from ...tracker.display import MIME_TYPE   # (the tracker package imports TensorFlow lazily: not here)
from ..protocol import nbgrader_md
from .feedback.tracebacks import graded_test_sources, strip_ansi, student_traceback
from .job import CellResult

def tracker_bundles(outputs) -> list[dict]:
    """The tracker JSON of every display bundle in a cell's outputs."""
    found = []
    for output in outputs:
        data = output.get("data") or {}
        if output.get("output_type") in ("display_data", "execute_result") and MIME_TYPE in data:
            value = data[MIME_TYPE]
            if isinstance(value, str):  # some writers store JSON MIME types as text
                import json
                value = json.loads(value)
            found.append(value)
    return found


def error_text(outputs) -> tuple[str | None, str | None]:
    errors, tracebacks = [], []
    for output in outputs:
        if output.get("output_type") == "error":
            errors.append(f"{output.get('ename')}: {output.get('evalue')}")
            tracebacks.append(strip_ansi("\n".join(output.get("traceback", []))))
        elif output.get("output_type") == "stream" and output.get("name") == "stderr":
            errors.append("stderr: " + strip_ansi("".join(output.get("text", ""))).strip())
    return ("\n".join(errors) or None), ("\n\n".join(tracebacks) or None)


def student_traceback_text(outputs, sources: dict[str, str]) -> str | None:
    texts = ["\n".join(student_traceback(list(o.get("traceback", [])), sources))
             for o in outputs if o.get("output_type") == "error"]
    return "\n\n".join(texts) or None


def collect_cells(notebook: str, data: bytes | str, grades: dict) -> list[CellResult]:
    """One CellResult per graded cell of the autograded notebook ``notebook`` (its JSON in ``data``).

    ``grades``: (notebook, grade_id) -> an object with ``auto_score`` and ``max_score`` (nbgrader's).
    """
    import nbformat

    nb = nbformat.reads(data.decode("utf-8") if isinstance(data, bytes) else data, as_version=4)
    sources = graded_test_sources(nb)
    cells = []
    for cell in nb.cells:
        md = nbgrader_md(cell)
        if not (md.get("grade") or md.get("task")):
            continue
        grade = grades.get((notebook, md.get("grade_id")))
        kind = "task" if md.get("task") else ("solution" if md.get("solution") else "code")
        outputs = cell.get("outputs", []) if cell.cell_type == "code" else []
        error, tb = error_text(outputs)
        cells.append(CellResult(
            notebook=notebook, grade_id=md.get("grade_id"), kind=kind,
            max_points=float(grade.max_score if grade else md.get("points", 0)),
            auto_points=None if grade is None or grade.auto_score is None else float(grade.auto_score),
            error=error, traceback=tb, tracker=tracker_bundles(outputs),
            student_traceback=student_traceback_text(outputs, sources)))
    return cells
