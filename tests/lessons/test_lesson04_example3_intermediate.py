"""Lesson 4 graded like a class: empty scores 0, the solution full marks, other correct answers full marks,
each mistake loses exactly its cells, with a message that names the fix."""
from lesson_grading import RightAnswer, WrongAnswer, check_lesson

ASSIGNMENT = "lesson04_example3_intermediate"

WRONG_ANSWERS = [
    # Exercise (a), the document's own mistake: the loss is computed before the tape opens.
    WrongAnswer(
        student="loss_outside_tape",
        answers={"squared_error_step": '''
def squared_error_step(var, optimizer, target):
    loss = tf.reduce_sum(tf.square(var - target))
    with tf.GradientTape() as tape:
        l = loss
    grads = tape.gradient(l, [var])
    optimizer.apply_gradients(zip(grads, [var]))
    return loss
'''},
        fails=frozenset({"test_squared_error_step_tracker", "test_squared_error_step_value"}),
        feedback=("`w`: expected updated, but it was frozen",
                  "the loss was most likely computed outside the `with tf.GradientTape()` block",
                  "No gradients provided for any variable"),
    ),
    # Exercise (a): the loss returned is recomputed after the update.
    WrongAnswer(
        student="returns_loss_after_update",
        answers={"squared_error_step": '''
def squared_error_step(var, optimizer, target):
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(var - target))
    grads = tape.gradient(loss, [var])
    optimizer.apply_gradients(zip(grads, [var]))
    return tf.reduce_sum(tf.square(var - target))
'''},
        fails=frozenset({"test_squared_error_step_value"}),
        feedback=("return the loss computed inside the tape, before the update", "is 4, not 1"),
    ),
    # Exercise (a): the mean instead of the sum: right for one number, wrong for several (hidden test).
    WrongAnswer(
        student="mean_instead_of_sum",
        answers={"squared_error_step": '''
def squared_error_step(var, optimizer, target):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(var - target))
    grads = tape.gradient(loss, [var])
    optimizer.apply_gradients(zip(grads, [var]))
    return loss
'''},
        fails=frozenset({"test_squared_error_step_value"}),
        feedback=("the SUM of squared errors (tf.reduce_sum)",),
    ),
    # Exercise (b), `w = w - lr * g`: the trajectory looks right, the caller's variable never moves.
    WrongAnswer(
        student="rebinds_instead_of_updating",
        answers={"train_until": '''
def train_until(var, target, lr, tol, max_steps):
    trajectory = [float(var.numpy())]
    for _ in range(max_steps):
        if abs(trajectory[-1] - target) < tol:
            break
        with tf.GradientTape() as tape:
            tape.watch(var)
            loss = tf.square(var - target)
        grad = tape.gradient(loss, var)
        var = var - lr * grad
        trajectory.append(float(var.numpy()))
    return trajectory
'''},
        fails=frozenset({"test_train_until_converges"}),
        feedback=("update the variable in place", "but the variable still holds 1.0000",
                  "only rebinds a local name to a new tensor"),
    ),
    # Exercise (b): the tolerance is checked after the step, so a variable already at its target still steps.
    WrongAnswer(
        student="checks_tol_after_step",
        answers={"train_until": '''
def train_until(var, target, lr, tol, max_steps):
    optimizer = keras.optimizers.SGD(learning_rate=lr)
    trajectory = [float(var.numpy())]
    for _ in range(max_steps):
        with tf.GradientTape() as tape:
            loss = (var - target) ** 2
        optimizer.apply_gradients(zip(tape.gradient(loss, [var]), [var]))
        trajectory.append(float(var.numpy()))
        if abs(trajectory[-1] - target) < tol:
            break
    return trajectory
'''},
        fails=frozenset({"test_train_until_stops"}),
        feedback=("check |var - target| < tol before each step", "a variable already at its target needs no step"),
    ),
    # Exercise (b): section 6's Adam copied instead of SGD: it overshoots, and its steps are not SGD's.
    WrongAnswer(
        student="adam_instead_of_sgd",
        answers={"train_until": '''
def train_until(var, target, lr, tol, max_steps):
    optimizer = keras.optimizers.Adam(learning_rate=lr)
    trajectory = [float(var.numpy())]
    for _ in range(max_steps):
        if abs(trajectory[-1] - target) < tol:
            break
        with tf.GradientTape() as tape:
            loss = (var - target) ** 2
        optimizer.apply_gradients(zip(tape.gradient(loss, [var]), [var]))
        trajectory.append(float(var.numpy()))
    return trajectory
'''},
        fails=frozenset({"test_train_until_converges", "test_train_until_stops", "test_train_until_sgd_steps"}),
        feedback=("step against the gradient of (var - target) ** 2 with SGD",
                  "take one SGD step with learning rate lr on (var - target) ** 2 per value",
                  "take SGD steps on (var - target) ** 2: from -2 towards 1"),
    ),
    # Exercise (c): the stored copy is read back as the loss: assign is not differentiable, so w gets no gradient.
    WrongAnswer(
        student="loss_read_back_from_log_var",
        answers={"step_with_log": '''
def step_with_log(var, log_var, optimizer, target):
    with tf.GradientTape() as tape:
        log_var.assign(tf.reduce_sum(tf.square(var - target)))
        loss = log_var * 1.0
    grads = tape.gradient(loss, [var])
    optimizer.apply_gradients(zip(grads, [var]))
'''},
        fails=frozenset({"test_step_with_log_tracker", "test_step_with_log_values"}),
        feedback=("`w`: expected updated, but it was frozen",
                  "no gradient update was applied",
                  "No gradients provided for any variable"),
    ),
    # Exercise (c): `log_var = loss` rebinds the local name; the caller's variable is never written.
    WrongAnswer(
        student="log_var_rebound",
        answers={"step_with_log": '''
def step_with_log(var, log_var, optimizer, target):
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(var - target))
        log_var = loss
    grads = tape.gradient(loss, [var])
    optimizer.apply_gradients(zip(grads, [var]))
'''},
        fails=frozenset({"test_step_with_log_tracker", "test_step_with_log_values"}),
        feedback=("`loss_log`: expected updated, but it was frozen", "with `var.assign(value)`",
                  "store the loss with log_var.assign(loss)"),
    ),
]

RIGHT_ANSWERS = [
    # Exercise (a): keras.ops math and optimizer.apply(grads, variables).
    RightAnswer(student="step_keras_ops_apply", answers={"squared_error_step": '''
def squared_error_step(var, optimizer, target):
    with tf.GradientTape() as tape:
        loss = keras.ops.sum(keras.ops.square(var - target))
    grads = tape.gradient(loss, [var])
    optimizer.apply(grads, [var])
    return loss
'''}),
    # Exercise (a): one gradient (not a list), a (gradient, variable) pair, the loss returned as a Python float.
    RightAnswer(student="step_single_pair_float", answers={"squared_error_step": '''
def squared_error_step(var, optimizer, target):
    with tf.GradientTape() as tape:
        error = var - target
        loss = tf.reduce_sum(error * error)
    grad = tape.gradient(loss, var)
    optimizer.apply_gradients([(grad, var)])
    return loss.numpy().item()
'''}),
    # Exercise (b): a while loop, assign_sub instead of an optimizer, .numpy().item() instead of float().
    RightAnswer(student="until_while_assign_sub", answers={"train_until": '''
def train_until(var, target, lr, tol, max_steps):
    trajectory = [var.numpy().item()]
    steps = 0
    while abs(var.numpy() - target) >= tol and steps < max_steps:
        with tf.GradientTape() as tape:
            loss = (var - target) ** 2
        var.assign_sub(lr * tape.gradient(loss, var))
        trajectory.append(var.numpy().item())
        steps += 1
    return trajectory
'''}),
    # Exercise (b): optimizer.apply, keras.ops, float(var) read from the variable itself.
    RightAnswer(student="until_apply_keras_ops", answers={"train_until": '''
def train_until(var, target, lr, tol, max_steps):
    optimizer = keras.optimizers.SGD(learning_rate=lr)
    trajectory = [float(var)]
    for _ in range(max_steps):
        if abs(float(var) - target) < tol:
            break
        with tf.GradientTape() as tape:
            loss = keras.ops.square(var - target)
        optimizer.apply(tape.gradient(loss, [var]), [var])
        trajectory.append(float(var))
    return trajectory
'''}),
    # Exercise (c): the loss stored after the tape, the step with optimizer.apply.
    RightAnswer(student="log_after_tape_apply", answers={"step_with_log": '''
def step_with_log(var, log_var, optimizer, target):
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(var - target))
    optimizer.apply(tape.gradient(loss, [var]), [var])
    log_var.assign(loss)
'''}),
    # Exercise (c): keras.ops, a Python float assigned before the step.
    RightAnswer(student="log_float_keras_ops", answers={"step_with_log": '''
def step_with_log(var, log_var, optimizer, target):
    with tf.GradientTape() as tape:
        loss = keras.ops.sum((var - target) ** 2)
    log_var.assign(float(loss))
    grads = tape.gradient(loss, [var])
    optimizer.apply_gradients(zip(grads, [var]))
'''}),
]


def test_lesson_grades_empty_correct_and_wrong_submissions(graded):
    """Empty: 0; solution and every right answer: full marks; each realistic mistake: exactly its cells lost."""
    check_lesson(graded, WRONG_ANSWERS, RIGHT_ANSWERS)


def test_points_per_exercise(graded):
    """Exercises (a), (b) and (c): 4 points each, as the lesson's grading cell says."""
    assert graded.max_points == {"test_squared_error_step_tracker": 2.0, "test_squared_error_step_value": 2.0,
                                 "test_train_until_converges": 2.0, "test_train_until_stops": 1.0,
                                 "test_train_until_sgd_steps": 1.0, "test_step_with_log_tracker": 2.0,
                                 "test_step_with_log_values": 2.0}
