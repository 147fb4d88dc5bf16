"""Lesson 1 graded like a class: empty scores 0, the solution full marks, each mistake loses its cells."""
import pytest
from lesson_grading import WrongAnswer, check_lesson, grade_lesson

ASSIGNMENT = "lesson01_variables"

WRONG_ANSWERS = [
    WrongAnswer(
        student="forgot_trainable_false",
        answers={"non_trainable_scale": 'scale = tf.Variable([0.5, 2.0], name="scale")'},
        fails=frozenset({"correct_non_trainable_scale"}),
        feedback=("scale.trainable is True",),
    ),
]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return grade_lesson(tmp_path_factory.mktemp("course"), ASSIGNMENT, WRONG_ANSWERS)


def test_lesson_grades_empty_correct_and_wrong_submissions(graded):
    """Empty: 0; solution: full marks; each realistic mistake: exactly its cells lost, with its message."""
    check_lesson(graded, WRONG_ANSWERS)
