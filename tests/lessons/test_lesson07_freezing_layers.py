"""Lesson 7 graded like a class: empty scores 0, the solution full marks, each mistake loses its cells."""
from lesson_grading import WrongAnswer, check_lesson

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
        feedback=("the layer was frozen after `compile()`, which Keras silently ignores",),
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
        feedback=("not on their variables",
                  "BatchNormalization updates its moving mean/variance whenever it runs in training mode"),
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
]


def test_lesson_grades_empty_correct_and_wrong_submissions(graded):
    """Empty: 0; solution: full marks; each realistic mistake: exactly its cells lost, with its message."""
    check_lesson(graded, WRONG_ANSWERS)
