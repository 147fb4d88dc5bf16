"""Lesson 7 graded like a class: empty scores 0, the solution full marks, other correct answers full marks,
each mistake loses its cells with a message that names the fix."""
from lesson_grading import RightAnswer, WrongAnswer, check_lesson

ASSIGNMENT = "lesson07_freezing_layers"

WRONG_ANSWERS = [
    # Exercise 1: flags set, but the model is not recompiled: the already-traced fit() keeps training them.
    WrongAnswer(
        student="freeze_without_recompile",
        answers={"freeze": (
            "def freeze(model, layer_names, optimizer):\n"
            "    for layer in all_layers(model):\n"
            "        if layer.name in layer_names:\n"
            "            layer.trainable = False\n")},
        fails=frozenset({"test_freeze_fit", "test_freeze_batchnorm"}),
        feedback=("`base/hidden1/kernel`: expected frozen, but it was updated",
                  "Likely cause: Call `model.compile()` again after freezing",
                  "the layer was frozen after the model's first `fit()`"),
    ),
    # Exercise 1: freezing the variables instead of the layers: BatchNormalization stays in training mode.
    WrongAnswer(
        student="freeze_variables_not_layers",
        answers={"freeze": (
            "def freeze(model, layer_names, optimizer):\n"
            "    for layer in all_layers(model):\n"
            "        if layer.name in layer_names:\n"
            "            for v in layer.weights:\n"
            "                v.trainable = False\n"
            "    model.compile(optimizer=optimizer, loss=\"mse\")\n")},
        fails=frozenset({"test_freeze_flags", "test_freeze_batchnorm"}),
        feedback=("Set `trainable = False` on the layer `hidden1` itself, not on its variables",
                  "BatchNormalization updates its moving mean/variance whenever it runs in training mode"),
    ),
    # Exercise 1: a loop over model.layers sees only the top level: `hidden1` and `bn1`, nested inside `base`,
    # are never frozen (freezing `base` itself, in the hidden tests, still works).
    WrongAnswer(
        student="loop_over_model_layers",
        answers={"freeze": (
            "def freeze(model, layer_names, optimizer):\n"
            "    for layer in model.layers:\n"
            "        if layer.name in layer_names:\n"
            "            layer.trainable = False\n"
            "    model.compile(optimizer=optimizer, loss=\"mse\")\n")},
        fails=frozenset({"test_freeze_flags", "test_freeze_fit", "test_freeze_batchnorm"}),
        feedback=("Set `trainable = False` on `hidden1` too: it sits inside a nested model",
                  "Likely cause: Freeze it with `trainable=False` on the layer `hidden1` itself",
                  "the `trainable` flag was never set on `hidden1` nor on `base` around it",
                  "`hidden1` sits nested inside `base`", "`model._flatten_layers()`"),
    ),
    # Exercise 2: reading the answer from the flags instead of measuring it.
    WrongAnswer(
        student="changes_from_flags",
        answers={"weights_changed_by_fit": (
            "def weights_changed_by_fit(model, X, y, num_epochs):\n"
            "    model.fit(X, y, epochs=num_epochs, batch_size=16, verbose=0)\n"
            "    return (sorted(v.path for v in model.trainable_weights),\n"
            "            sorted(v.path for v in model.non_trainable_weights))\n")},
        fails=frozenset({"test_weights_changed_by_fit"}),
        feedback=("`base/bn1/moving_mean`: expected frozen, but it was updated",
                  "BatchNormalization updates its moving mean/variance"),
    ),
    # Exercise 2: every name in the report: a compiled model's snapshot also holds its loss's total and count.
    WrongAnswer(
        student="every_tracked_variable",
        answers={"weights_changed_by_fit": (
            "def weights_changed_by_fit(model, X, y, num_epochs):\n"
            "    snap = snapshot(model)\n"
            "    model.fit(X, y, epochs=num_epochs, batch_size=16, verbose=0)\n"
            "    report = snap.compare()\n"
            "    return sorted(report.updated), sorted(report.frozen)\n")},
        fails=frozenset({"test_weights_changed_by_fit"}),
        feedback=("Return only the model's weights (the `v.path` of each variable in `model.weights`)",
                  "'loss/count', 'loss/total'"),
    ),
]

RIGHT_ANSWERS = [
    # Exercise 1: Keras's own walk over nested layers, positional compile arguments.
    RightAnswer(student="flatten_layers", answers={"freeze": (
        "def freeze(model, layer_names, optimizer):\n"
        "    for layer in model._flatten_layers(include_self=False):\n"
        "        if layer.name in layer_names:\n"
        "            layer.trainable = False\n"
        "    model.compile(optimizer, \"mse\")\n")}),
    # Exercise 1: the student's own recursive walk.
    RightAnswer(student="recursive_walk", answers={"freeze": (
        "def freeze(model, layer_names, optimizer):\n"
        "    def walk(layer):\n"
        "        if layer.name in layer_names:\n"
        "            layer.trainable = False\n"
        "        for inner in getattr(layer, 'layers', []):\n"
        "            walk(inner)\n"
        "    walk(model)\n"
        "    model.compile(optimizer=optimizer, loss='mse')\n")}),
    # Exercise 1: a while loop over a stack, looking layers up by name through get_layer.
    RightAnswer(student="stack_of_layers", answers={"freeze": (
        "def freeze(model, layer_names, optimizer):\n"
        "    stack = list(model.layers)\n"
        "    while stack:\n"
        "        layer = stack.pop()\n"
        "        if layer.name in layer_names:\n"
        "            layer.trainable = False\n"
        "        if hasattr(layer, 'layers'):\n"
        "            stack.extend(layer.layers)\n"
        "    model.compile(optimizer=optimizer, loss=keras.losses.MeanSquaredError())\n")}),
    # Exercise 2: NumPy copies before fit(), compared exactly afterwards (no tracker).
    RightAnswer(student="numpy_copies", answers={"weights_changed_by_fit": (
        "def weights_changed_by_fit(model, X, y, num_epochs):\n"
        "    before = {v.path: v.numpy().copy() for v in model.weights}\n"
        "    model.fit(X, y, epochs=num_epochs, batch_size=16, verbose=0)\n"
        "    updated, frozen = [], []\n"
        "    for v in model.weights:\n"
        "        if np.array_equal(before[v.path], v.numpy()):\n"
        "            frozen.append(v.path)\n"
        "        else:\n"
        "            updated.append(v.path)\n"
        "    return sorted(updated), sorted(frozen)\n")}),
    # Exercise 2: the tracker on the list of weights only, with track().
    RightAnswer(student="track_model_weights", answers={"weights_changed_by_fit": (
        "def weights_changed_by_fit(model, X, y, num_epochs):\n"
        "    with track(model.weights) as t:\n"
        "        model.fit(X, y, epochs=num_epochs, batch_size=16, verbose=0)\n"
        "    return sorted(t.report.updated), sorted(t.report.frozen)\n")}),
    # Exercise 2: the whole model tracked, each weight's verdict looked up by its path.
    RightAnswer(student="verdict_per_path", answers={"weights_changed_by_fit": (
        "def weights_changed_by_fit(model, X, y, num_epochs):\n"
        "    snap = snapshot(model)\n"
        "    model.fit(X, y, epochs=num_epochs, batch_size=16, verbose=0)\n"
        "    report = snap.compare()\n"
        "    paths = sorted(v.path for v in model.weights)\n"
        "    updated = [p for p in paths if report[p].verdict == 'updated']\n"
        "    return updated, [p for p in paths if p not in updated]\n")}),
]


def test_lesson_grades_empty_correct_and_wrong_submissions(graded):
    """Empty: 0; solution and every other right answer: full marks; each realistic mistake: exactly its cells
    lost, with its message."""
    check_lesson(graded, WRONG_ANSWERS, RIGHT_ANSWERS)


def test_points_per_exercise(graded):
    """Exercise 1: 1 + 2 + 1 points; exercise 2: 2 (6 in all, as the lesson's grading cell says)."""
    assert graded.max_points == {"test_freeze_flags": 1.0, "test_freeze_fit": 2.0, "test_freeze_batchnorm": 1.0,
                                 "test_weights_changed_by_fit": 2.0}
