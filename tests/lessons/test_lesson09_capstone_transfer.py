"""Lesson 9 graded like a class: empty scores 0, the solution full marks, each mistake loses its cells."""
from lesson_grading import WrongAnswer, check_lesson

ASSIGNMENT = "lesson09_capstone_transfer"

WRONG_ANSWERS = [
    # Exercise 1: the base is not frozen, so training updates it along with the new head.
    WrongAnswer(
        student="base_not_frozen",
        answers={"build_transfer_model": (
            "def build_transfer_model(base, num_classes):\n"
            "    inputs = keras.Input(base.input_shape[1:], name='features')\n"
            "    outputs = keras.layers.Dense(num_classes, activation='softmax', name='head')(base(inputs, training=False))\n"
            "    return keras.Model(inputs, outputs, name='transfer')\n")},
        fails=frozenset({"test_build_transfer_frozen"}),
        feedback=("`base/block1_dense/kernel`: expected frozen, but it was updated",
                  "Freeze it with `trainable=False` before `compile()`"),
    ),
    # Exercise 2: relies on an earlier compile(): the base frozen since then keeps training.
    WrongAnswer(
        student="train_head_without_compile",
        answers={"train_head": (
            "def train_head(model, X, y, num_epochs):\n"
            "    return model.fit(X, y, epochs=num_epochs, batch_size=16, verbose=0)\n")},
        fails=frozenset({"test_train_head_frozen", "test_train_head_accuracy"}),
        feedback=("`base/block1_dense/kernel`: expected frozen, but it was updated",
                  "the layer was frozen after `compile()`, which Keras silently ignores"),
    ),
    # Exercise 3: BatchNormalization unfrozen with the top block: it trains and its statistics drift.
    WrongAnswer(
        student="fine_tune_unfreezes_batchnorm",
        answers={"fine_tune": (
            "def fine_tune(model, base, num_top_layers, lr, X, y, num_epochs):\n"
            "    for layer in base.layers[-num_top_layers:]:\n"
            "        layer.trainable = True\n"
            "    model.compile(optimizer=keras.optimizers.SGD(lr), loss='categorical_crossentropy')\n"
            "    return model.fit(X, y, epochs=num_epochs, batch_size=16, verbose=0)\n")},
        fails=frozenset({"test_fine_tune_updates"}),
        feedback=("`base/block2_bn/moving_mean`: expected frozen, but it was updated",
                  "BatchNormalization updates its moving mean/variance whenever it runs in training mode"),
    ),
]


def test_lesson_grades_empty_correct_and_wrong_submissions(graded):
    """Empty: 0; solution: full marks; each realistic mistake: exactly its cells lost, with its message."""
    check_lesson(graded, WRONG_ANSWERS)


def test_points_per_exercise(graded):
    """Exercise 1: 2 + 1; exercise 2: 2 + 1; exercise 3: 2 + 1 (9 in all)."""
    assert graded.max_points == {"test_build_transfer_frozen": 2.0, "test_build_transfer_structure": 1.0,
                                 "test_train_head_frozen": 2.0, "test_train_head_accuracy": 1.0,
                                 "test_fine_tune_updates": 2.0, "test_fine_tune_recompiled": 1.0}
