"""Students' self-check: nbgrader's Validate passes a solved lesson and names the exercise left unsolved.

The "solved" case runs for one lesson (nbval replays every solution and the lesson tests grade every
solution full marks); the "left unsolved" case runs for every lesson, two validations at a time.
"""
import concurrent.futures
import shutil
import subprocess
import sys

import nbformat
import pytest

from autograder import nbgrader_course as course
from autograder import paths
from autograder.grading.protocol import nbgrader_md
from autograder.nbgrader_runner import nbgrader_env


def _validate(notebook):
    """What the Validate button runs: `nbgrader validate NOTEBOOK` in the notebook's folder."""
    result = subprocess.run([sys.executable, "-m", "nbgrader", "validate", notebook.name],
                            cwd=notebook.parent, env=nbgrader_env(), capture_output=True, text=True, timeout=600)
    return result.stdout + result.stderr


def _first_line(source):
    """The start of a test cell's docstring (nbgrader's report cuts long lines at about 90 characters)."""
    return source.strip().splitlines()[0].strip('"')[:60]


SOLVED_CHECKED = ("lesson01_variables",)   # nbval and the lesson grading tests prove every solution passes


def _prepare(tmp_path, assignment):
    """(student notebook, {case: notebook path}): 'partial' leaves the last exercise as the stub."""
    (source_path,) = paths.notebooks_of(paths.SOLUTIONS, assignment)
    student = nbformat.read(str(paths.NOTEBOOKS / assignment / source_path.name), as_version=4)
    answers = course.solution_answers(nbformat.read(str(source_path), as_version=4))
    last = list(answers)[-1]
    cases = {"partial": {k: v for k, v in answers.items() if k != last}}
    if assignment in SOLVED_CHECKED:
        cases["solved"] = answers
        cases["damaged"] = answers      # solved, then every cell's nbgrader metadata lost (issue 21)
    out = {}
    for case, chosen in cases.items():
        folder = tmp_path / assignment / case
        folder.mkdir(parents=True)
        shutil.copytree(paths.NOTEBOOKS / assignment, folder, dirs_exist_ok=True)
        nb = course.answer(student, chosen)
        if case == "damaged":
            for cell in nb.cells:
                cell.metadata.pop("nbgrader", None)
        nbformat.write(nb, str(folder / source_path.name))
        out[case] = folder / source_path.name
    return student, last, out


@pytest.fixture(scope="module")
def validated(tmp_path_factory):
    """Every lesson's Validate output, two `nbgrader validate` runs at a time."""
    tmp = tmp_path_factory.mktemp("validate")
    prepared = {a: _prepare(tmp, a) for a in paths.assignments()}
    jobs = [(a, case, nb) for a, (_, _, cases) in prepared.items() for case, nb in cases.items()]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        outputs = list(pool.map(lambda job: _validate(job[2]), jobs))
    results = {(a, case): out for (a, case, _), out in zip(jobs, outputs)}
    return prepared, results


@pytest.mark.parametrize("assignment", SOLVED_CHECKED)
def test_validate_passes_when_solved(validated, assignment):
    _, results = validated
    assert "Success! Your notebook passes all the tests." in results[(assignment, "solved")], results[(assignment, "solved")]


@pytest.mark.parametrize("assignment", SOLVED_CHECKED)
def test_validate_says_a_damaged_notebook_is_damaged(validated, assignment):
    """A solved notebook whose cells lost nbgrader's metadata (an editor): Validate neither passes nor fails its
    tests by accident; it says the notebook was damaged and how to get a clean copy (autograder/damage_notice.py)."""
    _, results = validated
    damaged = results[(assignment, "damaged")]
    assert "VALIDATION FAILED ON 1 CELL(S)" in damaged and "Success!" not in damaged, damaged
    assert "This notebook was damaged: nbgrader metadata missing on 8 cells (editor)." in damaged, damaged
    assert "fetch the assignment again" in damaged and f"notebooks/{assignment}/{assignment}.ipynb" in damaged


@pytest.mark.parametrize("assignment", paths.assignments())
def test_validate_names_the_unsolved_exercise(validated, assignment):
    """Last exercise left as the stub: validation fails on that exercise's tests only."""
    prepared, results = validated
    student, last, _ = prepared[assignment]
    partial = results[(assignment, "partial")]
    assert "VALIDATION FAILED" in partial, partial
    # The failing cells are the graded cells after the unsolved exercise, up to the next exercise.
    cells = student.cells
    start = next(i for i, c in enumerate(cells) if nbgrader_md(c).get("grade_id") == last)
    failing = [c for c in cells[start + 1:] if nbgrader_md(c).get("grade")]
    assert failing, f"no graded cell follows the exercise {last}"
    assert _first_line(failing[0].source) in partial, partial
    earlier = [c for c in cells[:start] if nbgrader_md(c).get("grade")]
    for cell in earlier:
        assert _first_line(cell.source) not in partial, f"a solved exercise was reported: {_first_line(cell.source)}"
