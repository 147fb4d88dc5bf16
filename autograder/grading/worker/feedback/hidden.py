"""Hidden tests stay hidden: what a student may see of a graded test cell.

nbgrader's feedback prints every test cell as the autograder ran it, hidden tests included (its
issue 917). ``HideHiddenTests`` rewrites each graded test cell of the feedback copy so that it shows
the visible tests and, where a ``### BEGIN HIDDEN TESTS`` block stood, one line saying that hidden
tests ran there; the autograded notebook and the instructor's report keep everything.
"""
from __future__ import annotations

import re

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from ...protocol import is_test_cell as is_graded_test  # a graded test cell: graded code, not an answer

BEGIN = "### BEGIN HIDDEN TESTS"
END = "### END HIDDEN TESTS"
PLACEHOLDER = "# (hidden tests ran here: they are not shown in the feedback)"
_BLOCK = re.compile(rf"^[ \t]*{re.escape(BEGIN)}.*?^[ \t]*{re.escape(END)}[^\n]*\n?", re.DOTALL | re.MULTILINE)
_OPEN_BLOCK = re.compile(rf"^[ \t]*{re.escape(BEGIN)}.*\Z", re.DOTALL | re.MULTILINE)  # no END: hide to the end


def visible_source(source: str) -> str:
    """The test cell's source with each hidden block replaced by one placeholder line."""
    shown = _BLOCK.sub(lambda m: _indent(m.group(0)) + PLACEHOLDER + "\n", source)
    shown = _OPEN_BLOCK.sub(lambda m: _indent(m.group(0)) + PLACEHOLDER, shown)
    return shown.rstrip("\n")


def hidden_lines(source: str) -> set[int]:
    """1-based numbers of the source lines that belong to a hidden block (markers included)."""
    hidden, inside = set(), False
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            inside = True
        if inside:
            hidden.add(number)
        if stripped.startswith(END):
            inside = False
    return hidden


def hidden_text(source: str) -> list[str]:
    """The lines that only a source's hidden blocks hold (what must never reach a student): stripped, not
    blank, not a marker, and not also a line of the visible tests."""
    lines = source.splitlines()
    visible = {line.strip() for line in visible_source(source).splitlines()}
    return [lines[n - 1].strip() for n in sorted(hidden_lines(source))
            if lines[n - 1].strip() and not lines[n - 1].strip().startswith("###")
            and lines[n - 1].strip() not in visible]


def _indent(block: str) -> str:
    return block[: len(block) - len(block.lstrip(" \t"))]


class HideHiddenTests(Preprocessor):
    """Replace the hidden blocks of every graded test cell by a placeholder line (feedback only).

    ``release_tests = True`` (``--release-tests`` of the grading command) shows the tests whole, for an
    instructor who publishes them, for example after the deadline."""

    enabled = Bool(True).tag(config=True)
    release_tests = Bool(False, help="show hidden tests in the feedback").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if is_graded_test(cell) and not self.release_tests:
            cell.source = visible_source(cell.source)
        return cell, resources
