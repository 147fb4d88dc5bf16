"""Students' self-check: nbgrader's Validate passes a solved lesson and names the exercise left unsolved."""
import concurrent.futures
import shutil
import subprocess
import sys

import nbformat
import pytest

from autograder import nbgrader_course as course
from autograder import paths
from autograder.nbgrader_runner import nbgrader_env


def _validate(notebook):
    """What the Validate button runs: `nbgrader validate NOTEBOOK` in the notebook's folder."""
    result = subprocess.run([sys.executable, "-m", "nbgrader", "validate", notebook.name],
                            cwd=notebook.parent, env=nbgrader_env(), capture_output=True, text=True, timeout=600)
    return result.stdout + result.stderr


def _first_line(source):
    """The start of a test cell's docstring (nbgrader's report cuts long lines at about 90 characters)."""
    return source.strip().splitlines()[0].strip('"')[:60]


@pytest.mark.parametrize("assignment", paths.assignments())
def test_validate_passes_when_solved_and_names_the_unsolved_exercise(tmp_path, assignment):
    """Solved: 'Success'. Last exercise left as the stub: validation fails on that exercise's tests only."""
    (source_path,) = paths.notebooks_of(paths.SOLUTIONS, assignment)
    student = nbformat.read(str(paths.NOTEBOOKS / assignment / source_path.name), as_version=4)
    answers = course.solution_answers(nbformat.read(str(source_path), as_version=4))
    last = list(answers)[-1]
    solved_dir, partial_dir = tmp_path / "solved", tmp_path / "partial"
    for folder, chosen in ((solved_dir, answers), (partial_dir, {k: v for k, v in answers.items() if k != last})):
        folder.mkdir()
        shutil.copytree(paths.NOTEBOOKS / assignment, folder, dirs_exist_ok=True)
        nbformat.write(course.answer(student, chosen), str(folder / source_path.name))
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        solved, partial = pool.map(_validate, [solved_dir / source_path.name, partial_dir / source_path.name])

    assert "Success! Your notebook passes all the tests." in solved, solved
    assert "VALIDATION FAILED" in partial, partial
    # The failing cells are the graded cells after the unsolved exercise, up to the next exercise.
    cells = student.cells
    start = next(i for i, c in enumerate(cells) if c.metadata.get("nbgrader", {}).get("grade_id") == last)
    failing = [c for c in cells[start + 1:] if c.metadata.get("nbgrader", {}).get("grade")]
    assert failing, f"no graded cell follows the exercise {last}"
    assert _first_line(failing[0].source) in partial, partial
    earlier = [c for c in cells[:start] if c.metadata.get("nbgrader", {}).get("grade")]
    for cell in earlier:
        assert _first_line(cell.source) not in partial, f"a solved exercise was reported: {_first_line(cell.source)}"
