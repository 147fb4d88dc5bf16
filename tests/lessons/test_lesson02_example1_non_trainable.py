"""Lesson 2 graded like a class: empty scores 0, the solution full marks, each mistake loses its cells."""
from lesson_grading import RightAnswer, WrongAnswer, check_lesson

ASSIGNMENT = "lesson02_example1_non_trainable"

WRONG_ANSWERS = [
    # Exercise 1: hand every variable to the tape and the optimizer, trusting trainable=False to protect
    # the frozen ones. The visible test's second check freezes `shift`, whose flag is True: the optimizer
    # updates it, and the tracker says to leave it out of the list.
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
        feedback=("`shift`: expected frozen, but it was updated",
                  "leave it out of the list you pass to `apply_gradients`"),
    ),
    # Exercise 1: decides by the flags instead of the lists: `shift` (trainable=True, in frozen_vars) is trained.
    WrongAnswer(
        student="trainable_by_flag",
        answers={"train_step": (
            "def train_step(trainable_vars, frozen_vars, optimizer, loss_fn):\n"
            "    variables = [v for v in trainable_vars + frozen_vars if v.trainable]\n"
            "    with tf.GradientTape() as tape:\n"
            "        loss = loss_fn()\n"
            "    grads = tape.gradient(loss, variables)\n"
            "    optimizer.apply_gradients(zip(grads, variables))\n"
            "    return loss\n")},
        fails=frozenset({"test_train_step_freezes"}),
        feedback=("`shift`: expected frozen, but it was updated",),
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
    # Exercise 1: returns the loss recomputed after the update instead of the one the step used.
    WrongAnswer(
        student="returns_loss_after_update",
        answers={"train_step": (
            "def train_step(trainable_vars, frozen_vars, optimizer, loss_fn):\n"
            "    with tf.GradientTape() as tape:\n"
            "        loss = loss_fn()\n"
            "    grads = tape.gradient(loss, trainable_vars)\n"
            "    optimizer.apply_gradients(zip(grads, trainable_vars))\n"
            "    return loss_fn()\n")},
        fails=frozenset({"test_train_step_loss"}),
        feedback=("Return the loss computed inside the tape, before the update",),
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
        feedback=("Call tape.watch(var) inside the `with tf.GradientTape()` block, before loss_fn()",
                  "frozen_gradient returned None"),
    ),
    # Exercise 2: watches the variable after the loss was computed: the tape recorded nothing about it.
    WrongAnswer(
        student="watch_after_loss",
        answers={"frozen_gradient": (
            "def frozen_gradient(var, loss_fn):\n"
            "    with tf.GradientTape() as tape:\n"
            "        loss = loss_fn()\n"
            "        tape.watch(var)\n"
            "    return tape.gradient(loss, var)\n")},
        fails=frozenset({"test_frozen_gradient_value"}),
        feedback=("before loss_fn()",),
    ),
]


RIGHT_ANSWERS = [
    # Exercise 1: Keras 3's `optimizer.apply(grads, variables)` instead of `apply_gradients(zip(...))`.
    RightAnswer(student="train_step_with_apply", answers={"train_step": (
        "def train_step(trainable_vars, frozen_vars, optimizer, loss_fn):\n"
        "    with tf.GradientTape() as tape:\n"
        "        loss = loss_fn()\n"
        "    grads = tape.gradient(loss, trainable_vars)\n"
        "    optimizer.apply(grads, trainable_vars)\n"
        "    return loss\n")}),
    # Exercise 1: a tape that watches only the trainable list, and None gradients dropped before the step.
    RightAnswer(student="train_step_watch_only_trainable", answers={"train_step": (
        "def train_step(trainable_vars, frozen_vars, optimizer, loss_fn):\n"
        "    with tf.GradientTape(watch_accessed_variables=False) as tape:\n"
        "        for v in trainable_vars:\n"
        "            tape.watch(v)\n"
        "        loss = loss_fn()\n"
        "    grads = tape.gradient(loss, trainable_vars)\n"
        "    optimizer.apply_gradients([(g, v) for g, v in zip(grads, trainable_vars) if g is not None])\n"
        "    return loss\n")}),
    # Exercise 1: gradients of every variable, only the trainable ones' applied; the loss as a Python float.
    RightAnswer(student="train_step_gradients_of_all", answers={"train_step": (
        "def train_step(trainable_vars, frozen_vars, optimizer, loss_fn):\n"
        "    with tf.GradientTape() as tape:\n"
        "        tape.watch(frozen_vars)\n"
        "        loss = loss_fn()\n"
        "    grads = tape.gradient(loss, trainable_vars + frozen_vars)\n"
        "    n = len(trainable_vars)\n"
        "    optimizer.apply_gradients(zip(grads[:n], trainable_vars))\n"
        "    return loss.numpy().item()\n")}),
    # Exercise 2: a tape that watches only `var`.
    RightAnswer(student="frozen_gradient_watch_only_var", answers={"frozen_gradient": (
        "def frozen_gradient(var, loss_fn):\n"
        "    with tf.GradientTape(watch_accessed_variables=False) as tape:\n"
        "        tape.watch(var)\n"
        "        loss = loss_fn()\n"
        "    return tape.gradient(loss, var)\n")}),
    # Exercise 2: the gradient of a one-element list, returned as a NumPy array.
    RightAnswer(student="frozen_gradient_list_numpy", answers={"frozen_gradient": (
        "def frozen_gradient(var, loss_fn):\n"
        "    tape = tf.GradientTape()\n"
        "    with tape:\n"
        "        tape.watch([var])\n"
        "        loss = loss_fn()\n"
        "    (grad,) = tape.gradient(loss, [var])\n"
        "    return grad.numpy()\n")}),
]


def test_lesson_grades_empty_correct_and_wrong_submissions(graded):
    """Empty: 0; solution: full marks; each realistic mistake: exactly its cells lost, with its message."""
    check_lesson(graded, WRONG_ANSWERS, RIGHT_ANSWERS)
