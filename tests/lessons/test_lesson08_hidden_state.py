"""Lesson 8 graded like a class: empty scores 0, the solution full marks, each mistake loses its cells."""
from lesson_grading import WrongAnswer, check_lesson

ASSIGNMENT = "lesson08_hidden_state"

WRONG_ANSWERS = [
    # Exercise 1: "non-trainable means frozen": BatchNormalization's moving statistics and the Dropout
    # seed are predicted frozen although a training-mode step assigns them. Optimizer and metric right.
    WrongAnswer(
        student="non_trainable_means_frozen",
        answers={"predict_changes": (
            "def predict_changes(model, optimizer_name, use_metric, training):\n"
            "    verdicts = {v.path: ('updated' if v.trainable else 'frozen') for v in model.variables}\n"
            "    verdicts[f'{optimizer_name}/iteration'] = 'updated'\n"
            "    verdicts[f'{optimizer_name}/learning_rate'] = 'frozen'\n"
            "    slots = {'adam': ('momentum', 'velocity'), 'sgd_momentum': ('momentum',), 'sgd': ()}[optimizer_name]\n"
            "    for v in model.trainable_variables:\n"
            "        for slot in slots:\n"
            "            verdicts[f\"{optimizer_name}/{v.path.replace('/', '_')}_{slot}\"] = 'created'\n"
            "    if use_metric:\n"
            "        verdicts['mse/total'] = verdicts['mse/count'] = 'updated'\n"
            "    return verdicts")},
        fails=frozenset({"test_predict_changes_model"}),
        feedback=("`net/bn/moving_mean`: you predicted frozen, but it was updated",
                  "moving statistics are non-trainable, yet assigned on every call in training mode"),
    ),
    # Exercise 2: differentiating against model.weights: the frozen layer's tf.Variable is still
    # trainable=True, so the tape watches it and the optimizer updates the calibration scale.
    WrongAnswer(
        student="model_weights_in_custom_loop",
        answers={"calibrated_train_step": (
            "def calibrated_train_step(model, optimizer, metric, X, y):\n"
            "    with tf.GradientTape() as tape:\n"
            "        predictions = model(X, training=True)\n"
            "        loss = tf.reduce_mean(tf.square(predictions - y))\n"
            "    grads = tape.gradient(loss, model.weights)\n"
            "    optimizer.apply_gradients(zip(grads, model.weights))\n"
            "    metric.update_state(y, predictions)\n"
            "    return loss")},
        fails=frozenset({"test_calibrated_train_step_weights"}),
        feedback=("`net/calibration/scale`: expected frozen, but it was updated",
                  "pass `model.trainable_weights`, not `model.weights`"),
    ),
    # Exercise 2: the model called without training=True runs in inference mode: the weights and the
    # scale are right, but BatchNormalization's statistics and the Dropout seed stay frozen.
    WrongAnswer(
        student="inference_mode_step",
        answers={"calibrated_train_step": (
            "def calibrated_train_step(model, optimizer, metric, X, y):\n"
            "    with tf.GradientTape() as tape:\n"
            "        predictions = model(X)\n"
            "        loss = tf.reduce_mean(tf.square(predictions - y))\n"
            "    grads = tape.gradient(loss, model.trainable_weights)\n"
            "    optimizer.apply_gradients(zip(grads, model.trainable_weights))\n"
            "    metric.update_state(y, predictions)\n"
            "    return loss")},
        fails=frozenset({"test_calibrated_train_step_state"}),
        feedback=("net/bn/moving_mean, net/bn/moving_variance", "stayed frozen: the model ran in inference mode"),
    ),
]


def test_lesson_grades_empty_correct_and_wrong_submissions(graded):
    """Empty: 0; solution: full marks; each realistic mistake: exactly its cells lost, with its message."""
    check_lesson(graded, WRONG_ANSWERS)


def test_points_per_exercise(graded):
    """Exercise 1: 2 + 2 + 1 points; exercise 2: 2 + 2 (9 in all)."""
    assert graded.max_points == {"test_predict_changes_model": 2.0, "test_predict_changes_optimizer": 2.0,
                                 "test_predict_changes_metric": 1.0, "test_calibrated_train_step_weights": 2.0,
                                 "test_calibrated_train_step_state": 2.0}
