"""Lesson 1 graded like a class: empty scores 0, the solution full marks, each mistake loses its cells."""
import pytest
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
    # Exercise 1: a NumPy array of floats is float64; the statement asks for float32.
    WrongAnswer(
        student="scale_from_float64_array",
        answers={"non_trainable_scale": 'scale = tf.Variable(np.array([0.5, 2.0]), trainable=False, name="scale")'},
        fails=frozenset({"correct_non_trainable_scale"}),
        feedback=("Make it float32 (dtype=tf.float32, or a float32 array): scale is float64",),
    ),
    # Exercise 2: returns TensorFlow's names, with their ':0' suffix.
    WrongAnswer(
        student="names_keep_suffix",
        answers={"watched_names": (
            "def watched_names(fn, variables):\n"
            "    with tf.GradientTape() as tape:\n"
            "        fn()\n"
            "    watched = {v.ref() for v in tape.watched_variables()}\n"
            "    return [v.name for v in variables if v.ref() in watched]")},
        fails=frozenset({"test_watched_names_default", "test_watched_names_unread"}),
        feedback=("Remove TensorFlow's ':0' suffix from each name",),
    ),
    # Exercise 2: runs fn before opening the tape, so the tape watches nothing.
    WrongAnswer(
        student="fn_outside_tape",
        answers={"watched_names": (
            "def watched_names(fn, variables):\n"
            "    fn()\n"
            "    with tf.GradientTape() as tape:\n"
            "        pass\n"
            "    watched = {v.ref() for v in tape.watched_variables()}\n"
            "    return [v.name.split(':')[0] for v in variables if v.ref() in watched]")},
        fails=frozenset({"test_watched_names_default", "test_watched_names_unread"}),
        feedback=("Call fn() inside the `with tf.GradientTape() as tape:` block",),
    ),
    # Exercise 3: updates in place but forgets to return the variable.
    WrongAnswer(
        student="forgot_return_w",
        answers={"sgd_step": "def sgd_step(w, grad, lr):\n    w.assign_sub(lr * grad)"},
        fails=frozenset({"test_sgd_step_in_place"}),
        feedback=("End sgd_step with `return w`",),
    ),
]


RIGHT_ANSWERS = [
    # Exercise 1: the values from a float32 NumPy array, from a tensor, or a list with an explicit dtype.
    RightAnswer(student="scale_from_float32_array", answers={"non_trainable_scale": (
        'scale = tf.Variable(np.array([0.5, 2.0], dtype=np.float32), trainable=False, name="scale")')}),
    RightAnswer(student="scale_from_constant", answers={"non_trainable_scale": (
        'scale = tf.Variable(initial_value=tf.constant([0.5, 2.0]), trainable=False, name="scale")')}),
    RightAnswer(student="scale_with_dtype", answers={"non_trainable_scale": (
        'scale = tf.Variable([0.5, 2], dtype=tf.float32, name="scale", trainable=False)')}),
    # Exercise 2: membership by identity, by name, or by id(); the suffix removed another way.
    RightAnswer(student="watched_by_identity", answers={"watched_names": (
        "def watched_names(fn, variables):\n"
        "    with tf.GradientTape() as tape:\n"
        "        fn()\n"
        "    watched = tape.watched_variables()\n"
        "    return [v.name.split(':')[0] for v in variables if any(v is u for u in watched)]")}),
    RightAnswer(student="watched_by_name", answers={"watched_names": (
        "def watched_names(fn, variables):\n"
        "    with tf.GradientTape() as tape:\n"
        "        fn()\n"
        "    watched = set(u.name for u in tape.watched_variables())\n"
        "    names = []\n"
        "    for v in variables:\n"
        "        if v.name in watched:\n"
        "            names.append(v.name.removesuffix(':0'))\n"
        "    return names")}),
    RightAnswer(student="watched_by_id", answers={"watched_names": (
        "def watched_names(fn, variables):\n"
        "    tape = tf.GradientTape()\n"
        "    with tape:\n"
        "        fn()\n"
        "    ids = [id(u) for u in tape.watched_variables()]\n"
        "    return [v.name[:-2] for v in variables if id(v) in ids]")}),
    # Exercise 3 with `assign` of the new value instead of `assign_sub`: the same variable, updated in place.
    RightAnswer(student="sgd_step_with_assign",
                answers={"sgd_step": "def sgd_step(w, grad, lr):\n    w.assign(w - lr * grad)\n    return w"}),
    # Exercise 3 with `assign_add` of the negative step, with keras.ops, or with a Keras SGD optimizer.
    RightAnswer(student="sgd_step_with_assign_add_ops", answers={"sgd_step": (
        "def sgd_step(w, grad, lr):\n"
        "    w.assign_add(keras.ops.multiply(-lr, grad))\n"
        "    return w")}),
    RightAnswer(student="sgd_step_with_optimizer", answers={"sgd_step": (
        "def sgd_step(w, grad, lr):\n"
        "    keras.optimizers.SGD(learning_rate=lr).apply_gradients([(grad, w)])\n"
        "    return w")}),
]


# Also graded with plain `nbgrader autograde`: the same scores, cell by cell.
COMPARE_WITH_NBGRADER = True

# Damaged copies of the correct notebook graded with the class (issue 21; tests/grading/damage.py says what each
# does): every cell's nbgrader metadata stripped (0 / 6 before the repair), the first answer split in two, the
# last answer merged into the one before, a py:percent round trip with jupytext that keeps no metadata.
DAMAGED_CASES = ("stripped_all", "split_answer", "merged_answers", "jupytext_percent")


def test_lesson_grades_empty_correct_and_wrong_submissions(graded):
    """Empty: 0; solution: full marks; each realistic mistake: exactly its cells lost, with its message."""
    check_lesson(graded, WRONG_ANSWERS, RIGHT_ANSWERS)


def test_points_per_exercise(graded):
    """Exercise 1: 2 points; exercise 2: 1 + 1; exercise 3: 2 (6 in all)."""
    assert graded.max_points == {"correct_non_trainable_scale": 2.0, "test_watched_names_default": 1.0,
                                 "test_watched_names_unread": 1.0, "test_sgd_step_in_place": 2.0}


@pytest.mark.parametrize("case", ["stripped_all", "split_answer", "jupytext_percent"])
def test_damaged_copy_repaired_scores_as_undamaged(graded, case):
    """6 / 6, not marked for review, the repair noted in the report and in grades.csv's review_reason."""
    report, row = graded.damaged[f"damaged-{case}"], graded.damaged_csv[f"damaged-{case}"]
    assert (report["score"], report["max_score"], report["needs_review"]) == (6.0, 6.0, False), report["review"]
    (repair,) = report["repairs"]
    assert repair["note"].startswith("repaired: nbgrader metadata missing on 8 cells") and not repair["problems"]
    assert (row["score"], row["needs_review"], row["review_reason"]) == ("6.0", "no", f"{ASSIGNMENT}: {repair['note']}")


def test_damaged_copy_unplaced_answer_withholds_only_its_tests(graded):
    """The last answer merged into the one before: one message naming that answer cell and its neighbours, its
    test's points withheld for review, the other cells graded (4 of 6)."""
    report, row = graded.damaged["damaged-merged_answers"], graded.damaged_csv["damaged-merged_answers"]
    message = ("answer cell for `sgd_step` not found: the notebook has 0 cells where 1 was expected, between "
               "`test_watched_names_unread` and `test_sgd_step_in_place`; its tests are withheld for review, "
               "the other cells are graded")
    assert (report["score"], report["needs_review"]) == (4.0, True)
    assert [r["reason"] for r in report["review"]] == [message]
    assert report["withheld"] == {f"{ASSIGNMENT}/test_sgd_step_in_place": 2.0}
    assert (row["needs_review"], row["review_reason"]) == ("yes", f"{ASSIGNMENT}, sgd_step: {message}")
