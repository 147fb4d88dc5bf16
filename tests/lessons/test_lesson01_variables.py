"""Lesson 1 graded like a class: empty scores 0, the solution full marks, each mistake loses its cells."""
from lesson_grading import RightAnswer, WrongAnswer, check_lesson

ASSIGNMENT = "lesson01_variables"

WRONG_ANSWERS = [
    # Exercise 1: the variable is trainable, so the tape would watch it.
    WrongAnswer(
        student="forgot_trainable_false",
        answers={"non_trainable_scale": 'scale = tf.Variable([0.5, 2.0], name="scale")'},
        fails=frozenset({"correct_non_trainable_scale"}),
        feedback=("scale.trainable is True",),
    ),
    # Exercise 1 again: passes every visible check, fails the hidden one (the variable's name).
    WrongAnswer(
        student="misnamed_scale",
        answers={"non_trainable_scale": 'scale = tf.Variable([0.5, 2.0], trainable=False, name="s")'},
        fails=frozenset({"correct_non_trainable_scale"}),
        feedback=("scale is named 's:0', expected 'scale'",),
    ),
    # Exercise 2: answers from the flag instead of asking the tape, so a trainable variable that
    # fn never reads is reported as watched (the default-watch test still passes).
    WrongAnswer(
        student="watched_means_trainable",
        answers={"watched_names": (
            "def watched_names(fn, variables):\n"
            "    fn()\n"
            "    return [v.name.split(':')[0] for v in variables if v.trainable]")},
        fails=frozenset({"test_watched_names_unread"}),
        feedback=("`unread` is trainable, but fn never reads it",),
    ),
    # Exercise 3: the NumPy habit `w = w - lr * grad` rebinds the name to a new tensor; the
    # tracker reports the name as replaced and teaches assign_sub.
    WrongAnswer(
        student="rebinds_w",
        answers={"sgd_step": (
            "def sgd_step(w, grad, lr):\n"
            "    w = w - lr * grad\n"
            "    return w")},
        fails=frozenset({"test_sgd_step_in_place"}),
        feedback=("expected updated, but it was replaced", "`w` now holds a tf.Tensor",
                  "Update it in place: `w.assign_sub(lr * g)`"),
    ),
]


RIGHT_ANSWERS = [
    # Exercise 3 with `assign` of the new value instead of `assign_sub`: the same variable, updated in place.
    RightAnswer(student="sgd_step_with_assign",
                answers={"sgd_step": "def sgd_step(w, grad, lr):\n    w.assign(w - lr * grad)\n    return w"}),
]


# Also graded with plain `nbgrader autograde`: the same scores, cell by cell.
COMPARE_WITH_NBGRADER = True


def test_lesson_grades_empty_correct_and_wrong_submissions(graded):
    """Empty: 0; solution: full marks; each realistic mistake: exactly its cells lost, with its message."""
    check_lesson(graded, WRONG_ANSWERS, RIGHT_ANSWERS)


def test_points_per_exercise(graded):
    """Exercise 1: 2 points; exercise 2: 1 + 1; exercise 3: 2 (6 in all)."""
    assert graded.max_points == {"correct_non_trainable_scale": 2.0, "test_watched_names_default": 1.0,
                                 "test_watched_names_unread": 1.0, "test_sgd_step_in_place": 2.0}
