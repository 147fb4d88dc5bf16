"""The wiring end to end: generate, submit as a correct and an incorrect student, autograde, score."""
import pytest

from autograder import nbgrader_course as course

ASSIGNMENT = "lesson01_variables"
NOTEBOOK = "lesson01_variables.ipynb"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = course.make_course(tmp_path_factory.mktemp("course"), [ASSIGNMENT])
    student = course.release_notebook(root, ASSIGNMENT, NOTEBOOK)
    answers = course.solution_answers(course.source_notebook(root, ASSIGNMENT, NOTEBOOK))
    submissions = {
        "correct": course.answer(student, answers),
        # Forgot trainable=False: the visible test catches it.
        "trainable": course.answer(student, {"non_trainable_scale": 'scale = tf.Variable([0.5, 2.0], name="scale")'}),
        # Passes the visible test but not the hidden one (wrong name).
        "misnamed": course.answer(student, {"non_trainable_scale":
                                            'scale = tf.Variable([0.5, 2.0], trainable=False, name="s")'}),
        "empty": student,
    }
    for name, nb in submissions.items():
        course.submit(root, name, ASSIGNMENT, {NOTEBOOK: nb})
    course.autograde(root, ASSIGNMENT)
    return course.scores(root, ASSIGNMENT)


def test_correct_submission_earns_full_marks(graded):
    """The instructor's own answer, typed by a student, gets every point."""
    assert graded["correct"]["correct_non_trainable_scale"] == 2.0


@pytest.mark.parametrize("student", ["trainable", "misnamed", "empty"])
def test_incorrect_submissions_earn_nothing(graded, student):
    """A wrong answer fails the visible or the hidden test; an untouched stub fails too."""
    assert graded[student]["correct_non_trainable_scale"] == 0.0
