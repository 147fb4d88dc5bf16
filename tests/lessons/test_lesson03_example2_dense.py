"""Lesson 3 (the document's Example 2) graded like a class: empty 0, solution full marks, each mistake loses its cells."""
from lesson_grading import RightAnswer, WrongAnswer, check_lesson

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
                  "Leave it out of the variables you pass to `tape.gradient`/`apply_gradients`"),
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
        # Exercise 2: never sets the flag, so the "frozen" layer is trained with the rest; the test says to set it.
        student="forgot_to_freeze",
        answers={"freeze_and_train": "def freeze_and_train(model, layer_name, X, y, lr, num_steps):"
                                     + LOOP.format(variables="model.trainable_variables")},
        fails=frozenset({"test_freeze_and_train_frozen"}),
        feedback=("Freeze the layer named `layer_name` with its flag: model.get_layer(layer_name).trainable = False",
                  'The layer "hidden" is still trainable'),
    ),
    WrongAnswer(
        # Exercise 1: gradients of every trainable variable, paired with [bias] only: zip pairs the kernel's
        # gradient with the bias, and TensorFlow's AssignSubVariableOp fails deep in the optimizer; the test
        # turns that into the fix.
        student="all_gradients_paired_with_bias",
        answers={"train_bias_only": (
            "def train_bias_only(model, X, y, lr, num_steps):\n"
            "    bias = model.layers[-1].bias\n"
            "    optimizer = keras.optimizers.SGD(learning_rate=lr)\n"
            "    losses = []\n"
            "    for step in range(num_steps):\n"
            "        with tf.GradientTape() as tape:\n"
            "            loss = tf.reduce_mean(tf.square(model(X) - y))\n"
            "        grads = tape.gradient(loss, model.trainable_variables)\n"
            "        optimizer.apply_gradients(zip(grads, [bias]))\n"
            "        losses.append(float(loss))\n"
            "    return losses\n")},
        fails=frozenset({"test_train_bias_only_frozen", "test_train_bias_only_losses"}),
        feedback=("Give the optimizer the same list of variables you took the gradients of, in the same order",
                  "train_bias_only raised InvalidArgumentError"),
    ),
    WrongAnswer(
        # Exercise 1: records the loss after each update (recomputed), so the first loss is not the untrained one.
        student="losses_recorded_after_update",
        answers={"train_bias_only": (
            "def train_bias_only(model, X, y, lr, num_steps):\n"
            "    bias = model.layers[-1].bias\n"
            "    optimizer = keras.optimizers.SGD(learning_rate=lr)\n"
            "    losses = []\n"
            "    for step in range(num_steps):\n"
            "        with tf.GradientTape() as tape:\n"
            "            loss = tf.reduce_mean(tf.square(model(X) - y))\n"
            "        optimizer.apply_gradients(zip(tape.gradient(loss, [bias]), [bias]))\n"
            "        losses.append(float(tf.reduce_mean(tf.square(model(X) - y))))\n"
            "    return losses\n")},
        fails=frozenset({"test_train_bias_only_losses"}),
        feedback=("Record each step's loss computed inside the tape, before that step's update",
                  "the first loss should be the untrained model's loss"),
    ),
    WrongAnswer(
        # Exercise 2: keeps the loss tensors instead of Python floats.
        student="losses_as_tensors",
        answers={"freeze_and_train": "def freeze_and_train(model, layer_name, X, y, lr, num_steps):\n"
                                     "    model.get_layer(layer_name).trainable = False"
                                     + LOOP.format(variables="model.trainable_variables").replace(
                                         "losses.append(float(loss))", "losses.append(loss)")},
        fails=frozenset({"test_freeze_and_train_losses"}),
        feedback=("Make each loss a Python float (float(loss))",),
    ),
]

RIGHT_ANSWERS = [
    # Exercise 1: Keras 3's optimizer.apply, a while loop, keras.ops for the loss, .numpy().item().
    RightAnswer(student="bias_with_apply_while_ops", answers={"train_bias_only": (
        "def train_bias_only(model, X, y, lr, num_steps):\n"
        "    bias = model.layers[-1].bias\n"
        "    optimizer = keras.optimizers.SGD(learning_rate=lr)\n"
        "    losses = []\n"
        "    while len(losses) < num_steps:\n"
        "        with tf.GradientTape() as tape:\n"
        "            loss = keras.ops.mean(keras.ops.square(model(X) - y))\n"
        "        optimizer.apply(tape.gradient(loss, [bias]), [bias])\n"
        "        losses.append(loss.numpy().item())\n"
        "    return losses\n")}),
    # Exercise 1: a tape that watches only the bias's tf.Variable (`.value`), as section 6 shows.
    RightAnswer(student="bias_watch_value", answers={"train_bias_only": (
        "def train_bias_only(model, X, y, lr, num_steps):\n"
        "    layer = model.layers[-1]\n"
        "    optimizer = keras.optimizers.SGD(learning_rate=lr)\n"
        "    losses = []\n"
        "    for _ in range(num_steps):\n"
        "        with tf.GradientTape(watch_accessed_variables=False) as tape:\n"
        "            tape.watch(layer.bias.value)\n"
        "            loss = tf.reduce_mean(tf.square(model(X) - y))\n"
        "        (grad,) = tape.gradient(loss, [layer.bias])\n"
        "        optimizer.apply_gradients([(grad, layer.bias)])\n"
        "        losses.append(float(loss))\n"
        "    return losses\n")}),
    # Exercise 1: gradients of every trainable variable, the bias's applied by hand with assign_sub.
    RightAnswer(student="bias_assign_sub", answers={"train_bias_only": (
        "def train_bias_only(model, X, y, lr, num_steps):\n"
        "    losses = []\n"
        "    for step in range(num_steps):\n"
        "        with tf.GradientTape() as tape:\n"
        "            loss = tf.reduce_mean(tf.square(model(X) - y))\n"
        "        grads = tape.gradient(loss, model.trainable_variables)\n"
        "        for v, g in zip(model.trainable_variables, grads):\n"
        "            if v.path.endswith('bias'):\n"
        "                v.assign_sub(lr * g)\n"
        "        losses.append(float(loss))\n"
        "    return losses\n")}),
    # Exercise 2: the student's own walk over the layers, optimizer.apply, the list taken once after freezing.
    RightAnswer(student="freeze_walk_layers_apply", answers={"freeze_and_train": (
        "def freeze_and_train(model, layer_name, X, y, lr, num_steps):\n"
        "    for layer in model.layers:\n"
        "        if layer.name == layer_name:\n"
        "            layer.trainable = False\n"
        "    variables = model.trainable_weights\n"
        "    optimizer = keras.optimizers.SGD(learning_rate=lr)\n"
        "    losses = []\n"
        "    for step in range(num_steps):\n"
        "        with tf.GradientTape() as tape:\n"
        "            loss = tf.reduce_mean(tf.square(model(X) - y))\n"
        "        optimizer.apply(tape.gradient(loss, variables), variables)\n"
        "        losses.append(float(loss))\n"
        "    return losses\n")}),
    # Exercise 2: Keras's MeanSquaredError, a while loop, keras.ops, .numpy().item().
    RightAnswer(student="freeze_keras_loss_while", answers={"freeze_and_train": (
        "def freeze_and_train(model, layer_name, X, y, lr, num_steps):\n"
        "    model.get_layer(name=layer_name).trainable = False\n"
        "    optimizer = keras.optimizers.SGD(learning_rate=lr)\n"
        "    mse = keras.losses.MeanSquaredError()\n"
        "    losses, step = [], 0\n"
        "    while step < num_steps:\n"
        "        with tf.GradientTape() as tape:\n"
        "            loss = mse(y, model(X, training=True))\n"
        "        grads = tape.gradient(loss, model.trainable_variables)\n"
        "        optimizer.apply_gradients(zip(grads, model.trainable_variables))\n"
        "        losses.append(loss.numpy().item())\n"
        "        step += 1\n"
        "    return losses\n")}),
]


def test_lesson_grades_empty_correct_and_wrong_submissions(graded):
    """Empty: 0; solution: full marks; each realistic mistake: exactly its cells lost, with the tracker's message."""
    check_lesson(graded, WRONG_ANSWERS, RIGHT_ANSWERS)
