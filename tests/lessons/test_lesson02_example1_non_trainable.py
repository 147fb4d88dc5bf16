"""Lesson 2 graded like a class: empty scores 0, the solution full marks, each mistake loses its cells."""
from lesson_grading import WrongAnswer, check_lesson

ASSIGNMENT = "lesson02_example1_non_trainable"

WRONG_ANSWERS = [
    # Exercise 1: hand every variable to the tape and the optimizer, trusting trainable=False to protect
    # the frozen ones. The visible test passes (its frozen variable has trainable=False, so its gradient
    # is None); the hidden test freezes a variable whose flag is True, and the optimizer updates it.
    WrongAnswer(
        student="all_variables_to_optimizer",
        answers={"train_step": (
            "def train_step(trainable_vars, frozen_vars, optimizer, loss_fn):\n"
            "    variables = trainable_vars + frozen_vars\n"
            "    with tf.GradientTape() as tape:\n"
            "        loss = loss_fn()\n"
            "    grads = tape.gradient(loss, variables)\n"
            "    optimizer.apply_gradients(zip(grads, variables))\n"
            "    return loss\n")},
        fails=frozenset({"test_train_step_freezes"}),
        feedback=("`scale`: expected frozen, but it was updated",
                  "leave it out of the list you pass to `apply_gradients`"),
    ),
    # Exercise 1: the document's own bug (its Examples 1 and 3): the loss computed before the tape opens.
    WrongAnswer(
        student="loss_outside_tape",
        answers={"train_step": (
            "def train_step(trainable_vars, frozen_vars, optimizer, loss_fn):\n"
            "    loss = loss_fn()\n"
            "    with tf.GradientTape() as tape:\n"
            "        l = loss\n"
            "    grads = tape.gradient(l, trainable_vars)\n"
            "    optimizer.apply_gradients(zip(grads, trainable_vars))\n"
            "    return loss\n")},
        fails=frozenset({"test_train_step_freezes", "test_train_step_loss"}),
        feedback=("`w`: expected updated, but it was frozen",
                  "No gradients provided for any variable",
                  "computed outside the `with tf.GradientTape()` block"),
    ),
    # Exercise 2: forgetting tape.watch: the gradient of a trainable=False variable is None.
    WrongAnswer(
        student="forgot_tape_watch",
        answers={"frozen_gradient": (
            "def frozen_gradient(var, loss_fn):\n"
            "    with tf.GradientTape() as tape:\n"
            "        loss = loss_fn()\n"
            "    return tape.gradient(loss, var)\n")},
        fails=frozenset({"test_frozen_gradient_value"}),
        feedback=("frozen_gradient returned None", "Call tape.watch(var)"),
    ),
]


def test_lesson_grades_empty_correct_and_wrong_submissions(graded):
    """Empty: 0; solution: full marks; each realistic mistake: exactly its cells lost, with its message."""
    check_lesson(graded, WRONG_ANSWERS)
