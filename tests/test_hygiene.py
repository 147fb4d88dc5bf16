"""Notebook hygiene: stored notebooks follow the rules, and the cleaner keeps what nbgrader needs."""
import copy

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from autograder import hygiene, start_page
from autograder.nbgrader_course import cell_of
from autograder.paths import NOTEBOOKS, ROOT, SOLUTIONS

SOLUTION_FILES = sorted(SOLUTIONS.glob("*/*.ipynb"))
STUDENT_FILES = sorted(NOTEBOOKS.glob("*/*.ipynb"))
MAX_CODE_CELL_LINES = 25


def test_there_are_notebooks_to_check():
    """The course has at least one solution and one student notebook."""
    assert SOLUTION_FILES and STUDENT_FILES


@pytest.mark.parametrize("path", SOLUTION_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_solution_notebook_is_clean_and_executed(path):
    """Solutions: normalised metadata, executed in order on a fresh kernel, no errors, no TF log noise."""
    assert hygiene.problems(path, kind="solution") == []


@pytest.mark.parametrize("path", STUDENT_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_student_notebook_is_clean_and_empty(path):
    """Student versions: normalised metadata, no outputs, no solution or hidden-test text."""
    assert hygiene.problems(path, kind="student") == []


@pytest.mark.parametrize("path", SOLUTION_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_solution_code_cells_are_short(path):
    """No code cell of a solution is longer than 25 lines of source (solution and hidden tests included):
    longer code belongs in the `autograder` package as a documented helper with its own test."""
    nb = nbformat.read(str(path), as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    too_long = [f"code cell {n} ({len(cell.source.splitlines())} lines): {cell.source.splitlines()[0][:60]!r}"
                for n, cell in enumerate(code) if len(cell.source.splitlines()) > MAX_CODE_CELL_LINES]
    assert not too_long, (f"{len(too_long)} code cell(s) over {MAX_CODE_CELL_LINES} lines (counted from 0, as nbval "
                          "names them):\n" + "\n".join(too_long))


@pytest.mark.parametrize("path", SOLUTION_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_setup_shows_warnings_as_output(path):
    """Every lesson's setup keeps warnings off stderr, where nbgrader would take a test cell's points for them
    (README, "What students get back")."""
    nb = nbformat.read(str(path), as_version=4)
    setup = cell_of(nb, "setup")
    lines = [line.split("#")[0].strip() for line in setup.source.splitlines()]
    assert "show_warnings_as_output()" in lines, setup.source


def test_start_page_is_clean():
    """The generated start page (notebooks/START_HERE.ipynb) follows the student notebooks' rules."""
    assert hygiene.problems(NOTEBOOKS / start_page.FILENAME, kind="student") == []


def _messy_notebook():
    cell = new_code_cell("x = 1", execution_count=3, outputs=[new_output("stream", name="stdout", text="1\n")])
    cell.metadata.update({
        "nbgrader": {"grade": False, "grade_id": "answer", "locked": False, "schema_version": 3,
                     "solution": True, "task": False},
        "tags": ["raises-exception"],
        "execution": {"iopub.execute_input": "2026-11-25T10:00:00Z"},
        "ExecuteTime": {"end_time": "2026-11-25T10:00:01Z"},
        "scrolled": True,
        "collapsed": False,
    })
    nb = new_notebook(cells=[cell])
    nb.metadata.update({
        "kernelspec": {"display_name": "my-env", "language": "python", "name": "my-env"},
        "language_info": {"name": "python", "version": "3.11.7"},
        "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}}},
    })
    return nb


def test_cleaner_keeps_nbgrader_metadata_and_tags():
    """The trap of off-the-shelf cleaners: metadata.nbgrader and tags must survive."""
    nb = hygiene.clean(_messy_notebook(), keep_outputs=True)
    meta = nb.cells[0].metadata
    assert meta["nbgrader"]["grade_id"] == "answer" and meta["nbgrader"]["solution"] is True
    assert meta["tags"] == ["raises-exception"]


def test_cleaner_removes_volatile_metadata():
    """Timestamps, widget state, UI state and the interpreter's patch version go; the kernel spec is fixed."""
    nb = hygiene.clean(_messy_notebook(), keep_outputs=True)
    assert set(nb.cells[0].metadata) == {"nbgrader", "tags"}
    assert "widgets" not in nb.metadata
    assert nb.metadata.kernelspec == hygiene.KERNELSPEC
    assert "version" not in nb.metadata.language_info


def test_cleaner_keeps_or_clears_outputs_as_asked():
    """Solutions keep their outputs; student versions are stored without outputs or counts."""
    kept = hygiene.clean(_messy_notebook(), keep_outputs=True).cells[0]
    cleared = hygiene.clean(_messy_notebook(), keep_outputs=False).cells[0]
    assert kept.outputs[0].text == "1\n" and kept.execution_count == 3
    assert cleared.outputs == [] and cleared.execution_count is None


def test_cleaner_is_idempotent():
    """Cleaning a clean notebook changes nothing (the cleaner is the gate)."""
    once = hygiene.dumps(hygiene.clean(_messy_notebook(), keep_outputs=True))
    twice = hygiene.dumps(hygiene.clean(nbformat.reads(once, as_version=4), keep_outputs=True))
    assert once == twice


def test_rules_catch_a_notebook_run_out_of_order(tmp_path):
    """A solution whose cells ran out of order, or stores an error or TF log noise, is reported."""
    nb = hygiene.clean(_messy_notebook(), keep_outputs=True)
    second = copy.deepcopy(nb.cells[0])
    second.id = "second"
    second.execution_count = 1
    second.outputs = [
        new_output("error", ename="ValueError", evalue="boom", traceback=[]),
        new_output("stream", name="stderr",
                   text="I0000 00:00:1795615851.923505    2280 cudart_stub.cc:31] Could not find cuda drivers\n"),
    ]
    nb.cells.append(second)
    path = tmp_path / "bad.ipynb"
    path.write_text(hygiene.dumps(nb))
    found = "\n".join(hygiene.problems(path, kind="solution"))
    assert "not executed top to bottom" in found
    assert "stores an error (ValueError)" in found
    assert "TensorFlow log noise" in found


def test_rules_catch_solutions_left_in_a_student_notebook(tmp_path):
    """A student version with outputs or a solution marker is reported."""
    nb = _messy_notebook()
    nb.cells[0].source = "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"
    path = tmp_path / "student.ipynb"
    path.write_text(hygiene.dumps(hygiene.clean(nb, keep_outputs=True)))
    found = "\n".join(hygiene.problems(path, kind="student"))
    assert "has outputs" in found and "solution or hidden-test marker" in found


def test_rules_catch_tensorflow_imported_before_logs_are_silenced(tmp_path):
    """Importing TensorFlow before silencing its C++ logs is reported."""
    nb = new_notebook(cells=[new_code_cell("import tensorflow as tf", execution_count=1)])
    path = tmp_path / "loud.ipynb"
    path.write_text(hygiene.dumps(hygiene.clean(nb, keep_outputs=True)))
    assert "TensorFlow is imported before its C++ logs are silenced" in hygiene.problems(path, kind="solution")


def test_cleaner_tags_exercise_cells_as_raising():
    """Solution and graded cells get the raises-exception tag: unsolved, they raise in the student version."""
    nb = _messy_notebook()
    nb.cells[0].metadata["tags"] = []
    plain = new_code_cell("y = 2")
    graded = new_code_cell("assert x == 1")
    graded.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "locked": True, "points": 1,
                                   "schema_version": 3, "solution": False, "task": False}
    nb.cells += [plain, graded]
    cleaned = hygiene.clean(nb, keep_outputs=False)
    assert [c.metadata.get("tags") for c in cleaned.cells] == [["raises-exception"], None, ["raises-exception"]]
