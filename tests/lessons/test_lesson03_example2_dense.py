"""Lesson 3 (the document's Example 2) graded like a class: empty 0, solution full marks, each mistake loses its cells."""
from lesson_grading import WrongAnswer, check_lesson

ASSIGNMENT = "lesson03_example2_dense"

# The body every answer shares: one SGD step per iteration on the mean squared error.
LOOP = """
    optimizer = keras.optimizers.SGD(learning_rate=lr)
    losses = []
    for step in range(num_steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(X) - y))
        grads = tape.gradient(loss, {variables})
        optimizer.apply_gradients(zip(grads, {variables}))
        losses.append(float(loss))
    return losses
"""

WRONG_ANSWERS = [
    WrongAnswer(
        # Exercise 1: hands the optimizer every trainable variable, so the kernel moves too.
        student="bias_only_gives_optimizer_all_variables",
        answers={"train_bias_only": "def train_bias_only(model, X, y, lr, num_steps):"
                                    + LOOP.format(variables="model.trainable_variables")},
        fails=frozenset({"test_train_bias_only_frozen"}),
        feedback=("`regressor/dense/kernel`: expected frozen, but it was updated",
                  "it is trainable and was in the variables given to the optimizer"),
    ),
    WrongAnswer(
        # Exercise 2: freezes the layer but differentiates and applies against model.weights.
        student="freeze_then_loop_over_model_weights",
        answers={"freeze_and_train": "def freeze_and_train(model, layer_name, X, y, lr, num_steps):\n"
                                     "    model.get_layer(layer_name).trainable = False"
                                     + LOOP.format(variables="model.weights")},
        fails=frozenset({"test_freeze_and_train_frozen"}),
        feedback=("`stacked/hidden/kernel`: expected frozen, but it was updated",
                  "passed to the optimizer via `model.weights` instead of `model.trainable_weights`"),
    ),
    WrongAnswer(
        # Exercise 2: never sets the flag, so the "frozen" layer is trained with the rest.
        student="forgot_to_freeze",
        answers={"freeze_and_train": "def freeze_and_train(model, layer_name, X, y, lr, num_steps):"
                                     + LOOP.format(variables="model.trainable_variables")},
        fails=frozenset({"test_freeze_and_train_frozen"}),
        feedback=("`stacked/hidden/bias`: expected frozen, but it was updated",
                  "Freeze it with `trainable=False`"),
    ),
]


def test_lesson_grades_empty_correct_and_wrong_submissions(graded):
    """Empty: 0; solution: full marks; each realistic mistake: exactly its cells lost, with the tracker's message."""
    check_lesson(graded, WRONG_ANSWERS)
