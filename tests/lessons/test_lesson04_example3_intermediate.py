"""Lesson 4 graded like a class: empty scores 0, the solution full marks, each mistake loses its cells."""
from lesson_grading import WrongAnswer, check_lesson

ASSIGNMENT = "lesson04_example3_intermediate"

WRONG_ANSWERS = [
    WrongAnswer(
        # The document's own mistake: the loss is computed before the tape opens.
        student="loss_outside_tape",
        answers={"train_step": '''
def train_step(var, optimizer, target):
    loss = tf.reduce_sum(tf.square(var - target))
    with tf.GradientTape() as tape:
        l = loss
    grads = tape.gradient(l, [var])
    optimizer.apply_gradients(zip(grads, [var]))
    return loss
'''},
        fails=frozenset({"test_train_step_tracker", "test_train_step_value"}),
        feedback=("`w`: expected updated, but it was frozen",
                  "the loss was most likely computed outside the `with tf.GradientTape()` block",
                  "No gradients provided for any variable"),
    ),
    WrongAnswer(
        # `w = w - lr * g`: the trajectory looks right, the caller's variable never moves.
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
        feedback=("but the variable still holds 1.0000", "only rebinds a local name to a new tensor"),
    ),
    WrongAnswer(
        # The stored copy is read back as the loss: assign is not differentiable, so w gets no gradient.
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
]


def test_lesson_grades_empty_correct_and_wrong_submissions(graded):
    """Empty: 0; solution: full marks; each realistic mistake: exactly its cells lost, with its message."""
    check_lesson(graded, WRONG_ANSWERS)
