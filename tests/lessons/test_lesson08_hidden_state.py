"""Lesson 8 graded like a class: empty scores 0, the solution full marks, other correct answers full marks,
each mistake loses its cells with a message that names the fix."""
from lesson_grading import RightAnswer, WrongAnswer, check_lesson

ASSIGNMENT = "lesson08_hidden_state"

PREDICT_TAIL = (
    "    verdicts[f'{optimizer_name}/iteration'] = 'updated'\n"
    "    verdicts[f'{optimizer_name}/learning_rate'] = 'frozen'\n"
    "    slots = {'adam': ('momentum', 'velocity'), 'sgd_momentum': ('momentum',), 'sgd': ()}[optimizer_name]\n"
    "    for v in model.trainable_variables:\n"
    "        for slot in slots:\n"
    "            verdicts[f\"{optimizer_name}/{v.path.replace('/', '_')}_{slot}\"] = {slot_verdict!r}\n"
    "    if use_metric:\n"
    "        verdicts['mse/total'] = verdicts['mse/count'] = 'updated'\n"
    "    return verdicts\n")


def fit_calibrated(forward="model(X, training=True)", variables="model.trainable_weights",
                   metric_predictions="predictions"):
    """A fit_calibrated_batch with one part changed."""
    return ("def fit_calibrated_batch(model, optimizer, metric, X, y):\n"
            "    with tf.GradientTape() as tape:\n"
            f"        predictions = {forward}\n"
            "        loss = tf.reduce_mean(tf.square(predictions - y))\n"
            f"    variables = {variables}\n"
            "    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))\n"
            f"    metric.update_state(y, {metric_predictions})\n"
            "    return loss\n")


WRONG_ANSWERS = [
    # Exercise 1: "non-trainable means frozen": BatchNormalization's moving statistics and the Dropout
    # seed are predicted frozen although a training-mode step assigns them. Optimizer and metric right.
    WrongAnswer(
        student="non_trainable_means_frozen",
        answers={"predict_changes": (
            "def predict_changes(model, optimizer_name, use_metric, training):\n"
            "    verdicts = {v.path: ('updated' if v.trainable else 'frozen') for v in model.variables}\n"
            + PREDICT_TAIL.replace("{slot_verdict!r}", "'created'"))},
        fails=frozenset({"test_predict_changes_model"}),
        feedback=("`net/bn/moving_mean`: you predicted frozen, but it was updated",
                  "moving statistics are non-trainable, yet assigned on every call in training mode"),
    ),
    # Exercise 1: the slots predicted updated: they do not exist before the first step, so they are created.
    WrongAnswer(
        student="slots_updated_not_created",
        answers={"predict_changes": (
            "def predict_changes(model, optimizer_name, use_metric, training):\n"
            "    verdicts = {v.path: ('updated' if v.trainable or training else 'frozen') for v in model.variables}\n"
            + PREDICT_TAIL.replace("{slot_verdict!r}", "'updated'"))},
        fails=frozenset({"test_predict_changes_optimizer"}),
        feedback=("`adam/net_bn_gamma_momentum`: you predicted updated, but it was created",
                  "optimizer slots are created by the first apply_gradients"),
    ),
    # Exercise 2: the draft handed in unchanged (renamed): the scale moves and the metric is off.
    WrongAnswer(
        student="draft_unchanged",
        answers={"fit_calibrated_batch": fit_calibrated(forward="model(X)", variables="tape.watched_variables()",
                                                        metric_predictions="model(X, training=True)")},
        fails=frozenset({"test_fit_calibrated_batch_weights", "test_fit_calibrated_batch_state"}),
        feedback=("`net/calibration/scale`: expected frozen, but it was updated",
                  "Update the metric with `(y, predictions)` of this step's own forward pass"),
    ),
    # Exercise 2: training mode and metric repaired, but the tape's watched variables still include the
    # frozen layer's scale (its tf.Variable keeps trainable=True).
    WrongAnswer(
        student="watched_variables",
        answers={"fit_calibrated_batch": fit_calibrated(variables="tape.watched_variables()")},
        fails=frozenset({"test_fit_calibrated_batch_weights"}),
        feedback=("`net/calibration/scale`: expected frozen, but it was updated",
                  "Likely cause: Pass `model.trainable_weights` to `tape.gradient` and the optimizer",
                  "`tape.watched_variables()`"),
    ),
    # Exercise 2: differentiating against model.weights: the frozen scale is updated too.
    WrongAnswer(
        student="model_weights_in_custom_loop",
        answers={"fit_calibrated_batch": fit_calibrated(variables="model.weights")},
        fails=frozenset({"test_fit_calibrated_batch_weights"}),
        feedback=("`net/calibration/scale`: expected frozen, but it was updated",
                  "passed to the optimizer via `model.weights` instead of `model.trainable_weights`"),
    ),
    # Exercise 2: the model called without training=True runs in inference mode: the weights and the
    # scale are right, but BatchNormalization's statistics and the Dropout seed stay frozen.
    WrongAnswer(
        student="inference_mode_step",
        answers={"fit_calibrated_batch": fit_calibrated(forward="model(X)")},
        fails=frozenset({"test_fit_calibrated_batch_state"}),
        feedback=("Call the model with `model(X, training=True)` inside the tape",
                  "net/bn/moving_mean, net/bn/moving_variance"),
    ),
    # Exercise 2: the metric fed by a second forward pass (another Dropout mask): its result is not the loss.
    WrongAnswer(
        student="metric_from_second_pass",
        answers={"fit_calibrated_batch": fit_calibrated(metric_predictions="model(X, training=True)")},
        fails=frozenset({"test_fit_calibrated_batch_state"}),
        feedback=("Update the metric with `(y, predictions)` of this step's own forward pass",),
    ),
]

RIGHT_ANSWERS = [
    # Exercise 1: trainable and non-trainable variables in two loops; slots named by the optimizer itself
    # (optimizer.build creates them without taking a step).
    RightAnswer(student="predict_with_build", answers={"predict_changes": (
        "def predict_changes(model, optimizer_name, use_metric, training):\n"
        "    verdicts = {v.path: 'updated' for v in model.trainable_variables}\n"
        "    for v in model.non_trainable_variables:\n"
        "        verdicts[v.path] = 'updated' if training else 'frozen'\n"
        "    optimizer = make_optimizer(optimizer_name)\n"
        "    optimizer.build(model.trainable_variables)\n"
        "    for v in optimizer.variables:\n"
        "        if v.path.endswith('/iteration'):\n"
        "            verdicts[v.path] = 'updated'\n"
        "        elif v.path.endswith('/learning_rate'):\n"
        "            verdicts[v.path] = 'frozen'\n"
        "        else:\n"
        "            verdicts[v.path] = 'created'\n"
        "    if use_metric:\n"
        "        for name in ('mse/total', 'mse/count'):\n"
        "            verdicts[name] = 'updated'\n"
        "    return verdicts\n")}),
    # Exercise 1: a count of slots per optimizer and a while loop.
    RightAnswer(student="predict_slot_counts", answers={"predict_changes": (
        "def predict_changes(model, optimizer_name, use_metric, training):\n"
        "    verdicts = {}\n"
        "    for v in model.variables:\n"
        "        if v.trainable:\n"
        "            verdicts[v.path] = 'updated'\n"
        "        else:\n"
        "            verdicts[v.path] = 'updated' if training else 'frozen'\n"
        "    names = {'adam': ['momentum', 'velocity'], 'sgd_momentum': ['momentum'], 'sgd': []}[optimizer_name]\n"
        "    verdicts.update({optimizer_name + '/iteration': 'updated', optimizer_name + '/learning_rate': 'frozen'})\n"
        "    i = 0\n"
        "    variables = list(model.trainable_variables)\n"
        "    while i < len(variables):\n"
        "        for slot in names:\n"
        "            verdicts['%s/%s_%s' % (optimizer_name, variables[i].path.replace('/', '_'), slot)] = 'created'\n"
        "        i += 1\n"
        "    if use_metric:\n"
        "        verdicts.update({'mse/total': 'updated', 'mse/count': 'updated'})\n"
        "    return verdicts\n")}),
    # Exercise 2: optimizer.apply(grads, variables) and keras.ops math.
    RightAnswer(student="apply_and_keras_ops", answers={"fit_calibrated_batch": (
        "def fit_calibrated_batch(model, optimizer, metric, X, y):\n"
        "    with tf.GradientTape() as tape:\n"
        "        predictions = model(X, training=True)\n"
        "        loss = keras.ops.mean(keras.ops.square(predictions - y))\n"
        "    grads = tape.gradient(loss, model.trainable_variables)\n"
        "    optimizer.apply(grads, model.trainable_variables)\n"
        "    metric.update_state(y, predictions)\n"
        "    return loss\n")}),
    # Exercise 2: the draft's watched variables, filtered to the trainable ones by identity; the Keras MSE.
    RightAnswer(student="filter_watched_variables", answers={"fit_calibrated_batch": (
        "def fit_calibrated_batch(model, optimizer, metric, X, y):\n"
        "    loss_fn = keras.losses.MeanSquaredError()\n"
        "    with tf.GradientTape() as tape:\n"
        "        predictions = model(X, training=True)\n"
        "        loss = loss_fn(y, predictions)\n"
        "    trainable = {id(v.value) for v in model.trainable_weights}\n"
        "    variables = [v for v in tape.watched_variables() if id(v) in trainable]\n"
        "    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))\n"
        "    metric.update_state(y, predictions)\n"
        "    return loss\n")}),
]


def test_lesson_grades_empty_correct_and_wrong_submissions(graded):
    """Empty: 0; solution and every other right answer: full marks; each realistic mistake: exactly its cells
    lost, with its message."""
    check_lesson(graded, WRONG_ANSWERS, RIGHT_ANSWERS)


def test_points_per_exercise(graded):
    """Exercise 1: 2 + 2 + 1 points; exercise 2: 2 + 2 (9 in all, as the lesson's grading cell says)."""
    assert graded.max_points == {"test_predict_changes_model": 2.0, "test_predict_changes_optimizer": 2.0,
                                 "test_predict_changes_metric": 1.0, "test_fit_calibrated_batch_weights": 2.0,
                                 "test_fit_calibrated_batch_state": 2.0}
