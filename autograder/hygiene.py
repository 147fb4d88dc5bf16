"""Notebook hygiene: one idempotent cleaner and the rules it guarantees.

The cleaner removes what changes from run to run (execution timestamps, widget
state, interpreter patch versions, UI state) and fixes the kernel spec. Unlike
off-the-shelf cleaners it works from a *deny*-list, so nbgrader's cell metadata
(`metadata.nbgrader`) and `tags` always survive.

`problems()` lists every rule a stored notebook breaks; the hygiene test fails
on any of them, and `python -m autograder clean` repairs what can be repaired
without re-executing.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat

from .grading.protocol import nbgrader_md

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python", "file_extension": ".py", "mimetype": "text/x-python"}
NOTEBOOK_METADATA_KEYS = {"kernelspec", "language_info"}
# Cell metadata that records a particular run or a particular user's view, not the lesson.
VOLATILE_CELL_METADATA = {"execution", "ExecuteTime", "collapsed", "scrolled", "jupyter", "widgets", "papermill"}
# Output metadata keys that only describe a run.
VOLATILE_OUTPUT_METADATA = {"execution"}

# Tag on every exercise cell (solution or graded test): in the student version it raises until
# the exercise is solved, and nbval (`--nbval-lax` over notebooks/) must allow exactly that.
EXERCISE_TAG = "raises-exception"

# Lines TensorFlow's C++ side writes to stderr (absl format "I0000 00:00:..."), and its start-up banners.
TF_LOG_LINE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d|absl::InitializeLog|cuda drivers|oneDNN custom operations", re.M)
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def dumps(nb: nbformat.NotebookNode) -> str:
    """The canonical text of a notebook: nbformat's layout, sorted keys, final newline."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def clean(nb: nbformat.NotebookNode, *, keep_outputs: bool) -> nbformat.NotebookNode:
    """Return `nb` normalised in place: fixed metadata, stable ids; outputs kept or cleared."""
    nb.nbformat, nb.nbformat_minor = 4, 5
    nb.metadata = nbformat.from_dict({
        key: value for key, value in nb.metadata.items() if key in NOTEBOOK_METADATA_KEYS
    })
    nb.metadata.kernelspec = nbformat.from_dict(KERNELSPEC)
    nb.metadata.language_info = nbformat.from_dict(LANGUAGE_INFO)
    seen_ids: set[str] = set()
    for index, cell in enumerate(nb.cells):
        for key in VOLATILE_CELL_METADATA & set(cell.metadata):
            del cell.metadata[key]
        if cell.cell_type == "code" and _is_exercise(cell):
            cell.metadata["tags"] = sorted(set(cell.metadata.get("tags", [])) | {EXERCISE_TAG})
        if cell.metadata.get("tags") == []:
            del cell.metadata["tags"]
        if not cell.get("id") or cell.id in seen_ids:
            cell.id = _stable_id(cell, index)
        seen_ids.add(cell.id)
        if cell.cell_type != "code":
            continue
        if keep_outputs:
            for output in cell.outputs:
                for key in VOLATILE_OUTPUT_METADATA & set(output.get("metadata", {})):
                    del output.metadata[key]
        else:
            cell.outputs = []
            cell.execution_count = None
    return nb


def _is_exercise(cell: nbformat.NotebookNode) -> bool:
    nbgrader = nbgrader_md(cell)
    return bool(nbgrader.get("solution") or nbgrader.get("grade"))


def _stable_id(cell: nbformat.NotebookNode, index: int) -> str:
    grade_id = nbgrader_md(cell).get("grade_id")
    return re.sub(r"[^A-Za-z0-9_-]", "-", grade_id)[:64] if grade_id else f"cell-{index}"


def clean_file(path: Path, *, keep_outputs: bool, check: bool = False) -> bool:
    """Clean a notebook file. Returns True when the file was (or, with check, would be) changed."""
    original = path.read_text(encoding="utf-8")
    cleaned = dumps(clean(nbformat.reads(original, as_version=4), keep_outputs=keep_outputs))
    if cleaned == original:
        return False
    if not check:
        path.write_text(cleaned, encoding="utf-8")
    return True


def problems(path: Path, *, kind: str) -> list[str]:
    """Every hygiene rule the stored notebook at `path` breaks. kind: 'solution' or 'student'."""
    text = path.read_text(encoding="utf-8")
    nb = nbformat.reads(text, as_version=4)
    found = []
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as err:
        found.append(f"not a valid nbformat 4 notebook: {err.message}")
    if dumps(clean(nbformat.reads(text, as_version=4), keep_outputs=kind == "solution")) != text:
        found.append("metadata not normalised (run `python3 course.py clean`)")
    code = [c for c in nb.cells if c.cell_type == "code"]
    if kind == "solution":
        found += _solution_problems(code)
    else:
        for n, cell in enumerate(code, 1):
            if cell.outputs or cell.execution_count is not None:
                found.append(f"code cell {n} of a student notebook has outputs")
            if any(marker in cell.source for marker in SOLUTION_MARKERS):
                found.append(f"code cell {n} of a student notebook still holds a solution or hidden-test marker")
    return found


def _solution_problems(code: list) -> list[str]:
    found = []
    counts = [cell.execution_count for cell in code]
    if counts != list(range(1, len(code) + 1)):
        found.append(f"not executed top to bottom on a fresh kernel (execution counts {counts}); "
                     "run `python3 course.py execute`")
    first_tf = next((n for n, c in enumerate(code) if re.search(r"^\s*(import|from) tensorflow", c.source, re.M)), None)
    if first_tf is not None:
        before = "\n".join(c.source for c in code[: first_tf + 1])
        if "silence_tensorflow" not in before and "TF_CPP_MIN_LOG_LEVEL" not in before:
            found.append("TensorFlow is imported before its C++ logs are silenced")
    for n, cell in enumerate(code, 1):
        for output in cell.outputs:
            if output.output_type == "error":
                found.append(f"code cell {n} stores an error ({output.ename}); catch it and print it instead")
            if output.output_type == "stream" and TF_LOG_LINE.search(output.text):
                found.append(f"code cell {n} stores TensorFlow log noise: {TF_LOG_LINE.search(output.text).group(0)!r}")
            if "application/vnd.jupyter.widget-view+json" in output.get("data", {}):
                found.append(f"code cell {n} stores widget state")
    return found
