"""nbgrader wiring: notebooks/ is exactly what `nbgrader generate_assignment` makes from solutions/, plus the
start page that `course.py release` writes beside the lessons."""
import re

import nbformat
import pytest

from autograder import hygiene, paths, release, start_page
from autograder.grading.protocol import nbgrader_md

# Cell ids are the only metadata allowed to differ: nbformat may mint new ones.
VOLATILE = ("id",)


def _comparable(path):
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        for key in VOLATILE:
            cell.pop(key, None)
    return hygiene.dumps(nb)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    return release.generate_into(tmp_path_factory.mktemp("course"))


def test_every_assignment_has_a_student_version():
    """Each solutions/<assignment> has a notebooks/<assignment> with the same notebook names, and vice versa."""
    solutions = {p.relative_to(paths.SOLUTIONS) for p in paths.SOLUTIONS.glob("*/*.ipynb")}
    students = {p.relative_to(paths.NOTEBOOKS) for p in paths.NOTEBOOKS.glob("*/*.ipynb")}
    assert solutions == students


@pytest.mark.parametrize("assignment", paths.assignments())
def test_committed_student_versions_equal_nbgrader_output(regenerated, assignment):
    """Regenerating with nbgrader into a scratch course reproduces the committed student notebooks."""
    for fresh in paths.notebooks_of(regenerated, assignment):
        committed = paths.NOTEBOOKS / assignment / fresh.name
        assert committed.exists(), f"{committed} is missing: run `python3 course.py release`"
        assert _comparable(fresh) == _comparable(committed), (
            f"{committed.relative_to(paths.ROOT)} differs from what nbgrader generates from solutions/: "
            "run `python3 course.py release` and commit the result")


def test_student_versions_hide_solutions_and_hidden_tests(regenerated):
    """nbgrader replaced every solution with a stub and removed every hidden test."""
    for path in regenerated.glob("*/*.ipynb"):
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
        nb = nbformat.read(str(path), as_version=4)
        stubs = [c for c in nb.cells if nbgrader_md(c).get("solution") and c.cell_type == "code"]
        assert stubs and all("raise NotImplementedError()" in c.source for c in stubs)


def test_committed_start_page_equals_generated(regenerated):
    """notebooks/START_HERE.ipynb, the page JupyterLab shows first, is exactly what `course.py release` writes."""
    fresh = regenerated / start_page.FILENAME
    committed = paths.NOTEBOOKS / start_page.FILENAME
    assert fresh.exists(), "release did not write the start page"
    assert committed.exists(), f"{committed.relative_to(paths.ROOT)} is missing: run `python3 course.py release`"
    assert _comparable(fresh) == _comparable(committed), (
        f"{committed.relative_to(paths.ROOT)} differs from what `python3 course.py release` generates: "
        "run it and commit the result (edit autograder/start_page.py, never the page itself)")


def test_start_page_lists_every_lesson_in_order():
    """The start page links every lesson of solutions/, in order, each with a one-line summary and a run time,
    and says how to validate and how to submit."""
    nb = nbformat.read(str(paths.NOTEBOOKS / start_page.FILENAME), as_version=4)
    assert {c.cell_type for c in nb.cells} == {"markdown"}, "the start page has markdown cells only"
    text = "\n".join(c.source for c in nb.cells)
    rows = [line for line in text.splitlines() if line.startswith("| ") and "](" in line]
    assignments = paths.assignments()
    assert len(rows) == len(assignments)
    for number, (assignment, row) in enumerate(zip(assignments, rows), 1):
        link = f"{assignment}/{assignment}.ipynb"
        assert row.startswith(f"| {number} | [{assignment}]({link}) |"), row
        assert (paths.NOTEBOOKS / link).exists(), link
        assert re.search(r"\| about \d+ s \|$", row), f"no run time in {row!r}"
    assert "**Validate**" in text and "## Submit" in text
