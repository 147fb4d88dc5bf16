"""Lesson 5 graded like a class: empty scores 0, the solution full marks, other correct answers full marks,
each mistake loses exactly its cells, with a message that names the fix."""
from lesson_grading import RightAnswer, WrongAnswer, check_lesson

ASSIGNMENT = "lesson05_graph_view"

WRONG_ANSWERS = [
    # Exercise 1: "every variable the loss reads moves" (b is trainable=False, d and e reach it only through
    # an integer and a boolean).
    WrongAnswer(
        student="predicts_read_variables_move",
        answers={"prediction": 'prediction = {"a": "updated", "b": "updated", "c": "updated",\n'
                               '              "d": "updated", "e": "updated", "f": "updated"}'},
        fails=frozenset({"test_prediction"}),
        feedback=("`b`: change your prediction to 'frozen': it has trainable=False",
                  "`d`: change your prediction to 'frozen': the loss has no differentiable path back to it",
                  "`e`: change your prediction to 'frozen'"),
    ),
    # Exercise 1: "tf.stop_gradient anywhere cuts the variable off" (c keeps an uncut path).
    WrongAnswer(
        student="stop_gradient_cuts_everything",
        answers={"prediction": 'prediction = {"a": "updated", "b": "frozen", "c": "frozen",\n'
                               '              "d": "frozen", "e": "frozen", "f": "updated"}'},
        fails=frozenset({"test_prediction"}),
        feedback=("`c`: change your prediction to 'updated'", "one uncut differentiable path to the loss is enough"),
    ),
    # Exercise 2: a default tape only watches trainable variables, so `scale`'s path is missed.
    WrongAnswer(
        student="default_tape_misses_frozen_path",
        answers={"has_gradient_path": (
            "def has_gradient_path(loss_fn, variables):\n"
            "    with tf.GradientTape() as tape:\n"
            "        loss = loss_fn()\n"
            "    grads = tape.gradient(loss, variables)\n"
            "    return {v.name.split(':')[0]: g is not None for v, g in zip(variables, grads)}\n")},
        fails=frozenset({"test_has_gradient_path_frozen"}),
        feedback=("`scale`: watch it yourself (watch_accessed_variables=False, then tape.watch(v))",
                  "You said False, expected True"),
    ),
    # Exercise 2: zeros instead of None, and "a path" judged by a non-zero value (relu at a negative input).
    WrongAnswer(
        student="nonzero_means_path",
        answers={"has_gradient_path": (
            "def has_gradient_path(loss_fn, variables):\n"
            "    floats = [v for v in variables if v.dtype.is_floating]\n"
            "    with tf.GradientTape(watch_accessed_variables=False) as tape:\n"
            "        tape.watch(floats)\n"
            "        loss = loss_fn()\n"
            "    grads = tape.gradient(loss, floats, unconnected_gradients=tf.UnconnectedGradients.ZERO)\n"
            "    path = {v.name.split(':')[0]: False for v in variables}\n"
            "    path.update({v.name.split(':')[0]: bool(np.any(g.numpy() != 0)) for v, g in zip(floats, grads)})\n"
            "    return path\n")},
        fails=frozenset({"test_has_gradient_path"}),
        feedback=("`r`: test `gradient is not None`, not its value",),
    ),
    # Exercise 3: "a path to the loss means it moves", forgetting that the step's tape ignores frozen variables.
    WrongAnswer(
        student="path_means_moves",
        answers={"will_move": (
            "def will_move(loss_fn, variables):\n"
            "    path = has_gradient_path(loss_fn, variables)\n"
            "    return {name: 'updated' if p else 'frozen' for name, p in path.items()}\n")},
        fails=frozenset({"test_will_move_frozen"}),
        feedback=("`scale`: change will_move to 'frozen': it has trainable=False",),
        alone=True,  # it calls has_gradient_path: another submission's wrong version of it would mask this one
    ),
    # Exercise 3: "trainable means moves", forgetting the path.
    WrongAnswer(
        student="trainable_means_moves",
        answers={"will_move": (
            "def will_move(loss_fn, variables):\n"
            "    return {v.name.split(':')[0]: 'updated' if v.trainable else 'frozen' for v in variables}\n")},
        fails=frozenset({"test_will_move_trainable", "test_will_move_frozen"}),
        feedback=("`f`: change will_move to 'frozen': the loss has no differentiable path back to it",),
    ),
]

RIGHT_ANSWERS = [
    # Exercise 1: the same prediction written with dict(...).
    RightAnswer(student="prediction_dict_call", answers={"prediction": (
        'prediction = dict(a="updated", b="frozen", c="updated", d="frozen", e="frozen", f="updated")')}),
    # Exercise 1: the same prediction built by a comprehension.
    RightAnswer(student="prediction_comprehension", answers={"prediction": (
        'moving = {"a", "c", "f"}\n'
        'prediction = {name: "updated" if name in moving else "frozen" for name in "abcdef"}')}),
    # Exercise 2: the default watching kept, the non-trainable floats watched by hand.
    RightAnswer(student="paths_default_tape_plus_watch", answers={"has_gradient_path": (
        "def has_gradient_path(loss_fn, variables):\n"
        "    floats = [v for v in variables if v.dtype.is_floating]\n"
        "    with tf.GradientTape() as tape:\n"
        "        for v in floats:\n"
        "            if not v.trainable:\n"
        "                tape.watch(v)\n"
        "        loss = loss_fn()\n"
        "    grads = dict(zip([v.name for v in floats], tape.gradient(loss, floats)))\n"
        "    return {v.name[:-2]: grads.get(v.name) is not None for v in variables}\n")}),
    # Exercise 2: one tape per variable.
    RightAnswer(student="paths_one_tape_each", answers={"has_gradient_path": (
        "def has_gradient_path(loss_fn, variables):\n"
        "    result = {}\n"
        "    for v in variables:\n"
        "        name = v.name.split(':')[0]\n"
        "        if not v.dtype.is_floating:\n"
        "            result[name] = False\n"
        "            continue\n"
        "        with tf.GradientTape(watch_accessed_variables=False) as tape:\n"
        "            tape.watch(v)\n"
        "            loss = loss_fn()\n"
        "        result[name] = tape.gradient(loss, v) is not None\n"
        "    return result\n")}),
    # Exercise 3: ask a default tape directly which gradients are not None.
    RightAnswer(student="moves_from_default_tape", answers={"will_move": (
        "def will_move(loss_fn, variables):\n"
        "    with tf.GradientTape() as tape:\n"
        "        loss = loss_fn()\n"
        "    grads = tape.gradient(loss, variables)\n"
        "    return {v.name.split(':')[0]: 'frozen' if g is None else 'updated' for v, g in zip(variables, grads)}\n")}),
    # Exercise 3: the tape's watched variables intersected with has_gradient_path.
    RightAnswer(student="moves_watched_and_path", answers={"will_move": (
        "def will_move(loss_fn, variables):\n"
        "    with tf.GradientTape() as tape:\n"
        "        loss_fn()\n"
        "    watched = {v.name for v in tape.watched_variables()}\n"
        "    path = has_gradient_path(loss_fn, variables)\n"
        "    names = {v.name: v.name.split(':')[0] for v in variables}\n"
        "    return {names[n]: 'updated' if n in watched and path[names[n]] else 'frozen' for n in names}\n")}),
]


def test_lesson_grades_empty_correct_and_wrong_submissions(graded):
    """Empty: 0; solution and every right answer: full marks; each realistic mistake: exactly its cells lost."""
    check_lesson(graded, WRONG_ANSWERS, RIGHT_ANSWERS)


def test_points_per_exercise(graded):
    """Exercise 1: 2 points, exercise 2: 4, exercise 3: 3, as the lesson's grading cell says."""
    assert graded.max_points == {"test_prediction": 2.0, "test_has_gradient_path": 2.0,
                                 "test_has_gradient_path_frozen": 2.0, "test_will_move_trainable": 1.0,
                                 "test_will_move_frozen": 2.0}
