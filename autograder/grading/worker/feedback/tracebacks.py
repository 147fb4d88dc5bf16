"""Tracebacks a student can use: their own code and the failing line, not the grader's insides.

An error in a graded test cell carries IPython's full traceback: the test cell's frame (whose context
lines can show hidden tests), then frames inside the course's checks (``autograder/tracker/...``) and
TensorFlow. ``student_traceback`` keeps the frames of the notebook's own cells (the student's code is
theirs to see), shows a test cell's failing line only where it is visible, and folds every frame from a
file into one line saying where it was.
"""
from __future__ import annotations

import re

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from ...protocol import nbgrader_md
from .hidden import hidden_lines, is_graded_test

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TEST_FRAME = re.compile(r"^File <test cell (?P<name>[^>]+)>:(?P<line>\d+)")
_CELL_FRAME = re.compile(r"^Cell In\[\d+\], line \d+")
_FILE_FRAME = re.compile(r"^File (?P<path>[^\n]+?):(?P<line>\d+)(?:, in |$)")
_CONTEXT = re.compile(r"^(?:-*> )?\s*(?P<number>\d+)\s")
_SKIPPING = re.compile(r"^\[\.\.\. skipping hidden \d+ frame\]$")


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


def _where(path: str) -> str:
    if "/autograder/" in path:
        return "the course's checks"
    if "/tensorflow/" in path or "/keras/" in path:
        return "TensorFlow / Keras"
    return "installed libraries"


def _test_frame(chunk: str, name: str, line: int, sources: dict[str, str]) -> str:
    hidden = hidden_lines(sources.get(name, ""))
    head = f"In test cell `{name}`, line {line}"
    if line in hidden or name not in sources:
        return f"{head}: a line of the hidden tests (not shown)"
    shown = [head + ":"]
    for text in chunk.splitlines()[1:]:
        match = _CONTEXT.match(text)
        if match and int(match.group("number")) not in hidden:
            shown.append(text)
    return "\n".join(shown)


def student_traceback(traceback: list[str], sources: dict[str, str]) -> list[str]:
    """The frames of ``traceback`` (IPython's, one chunk per entry) that a student should see.

    ``sources``: grade_id -> source of every graded test cell (to tell hidden lines from visible ones).
    """
    kept: list[str] = []
    folded: list[str] = []

    def flush() -> None:
        if folded:
            places = sorted(set(folded), key=folded.index)
            kept.append(f"[... {len(folded)} frame{'s' * (len(folded) > 1)} inside {' and '.join(places)} ...]")
            folded.clear()

    for raw in traceback:
        chunk = strip_ansi(raw).strip("\n")
        first = chunk.strip().splitlines()[0] if chunk.strip() else ""
        if not first or _SKIPPING.match(first) or set(first) <= {"-"} and "Traceback" not in chunk:
            continue
        if first.startswith("---") and "Traceback" in chunk:
            kept.append(chunk.splitlines()[-1].strip())
        elif match := _TEST_FRAME.match(first):
            flush()
            kept.append(_test_frame(chunk.strip(), match.group("name"), int(match.group("line")), sources))
        elif _CELL_FRAME.match(first):
            flush()
            kept.append(chunk.strip())
        elif match := _FILE_FRAME.match(first):
            folded.append(_where(match.group("path")))
        else:
            flush()
            kept.append(chunk.strip())
    flush()
    return kept


def graded_test_sources(nb) -> dict[str, str]:
    return {nbgrader_md(cell)["grade_id"]: cell.source for cell in nb.cells if is_graded_test(cell)}


class StudentTracebacks(Preprocessor):
    """Rewrite every error's traceback with ``student_traceback`` (feedback only)."""

    enabled = Bool(True).tag(config=True)
    release_tests = Bool(False, help="leave tracebacks whole (hidden tests released)").tag(config=True)

    def preprocess(self, nb, resources):
        if self.release_tests:
            return nb, resources
        sources = graded_test_sources(nb)
        for cell in nb.cells:
            for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
                if output.get("output_type") == "error":
                    output.traceback = student_traceback(list(output.get("traceback", [])), sources)
        return nb, resources
