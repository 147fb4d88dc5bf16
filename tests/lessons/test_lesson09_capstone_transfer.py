"""Lesson 9 graded like a class: empty scores 0, the solution full marks, each mistake loses its cells."""
from lesson_grading import RightAnswer, WrongAnswer, check_lesson

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
                  "Freeze it with `trainable=False`"),
    ),
    # Exercise 1: the variables frozen instead of the layers (lesson 7's trap): the Dense weights stay put, but
    # BatchNormalization still runs in training mode and its moving statistics move.
    WrongAnswer(
        student="variables_frozen_not_layers",
        answers={"build_transfer_model": (
            "def build_transfer_model(base, num_classes):\n"
            "    for v in base.weights:\n"
            "        v.trainable = False\n"
            "    inputs = keras.Input(base.input_shape[1:], name='features')\n"
            "    outputs = keras.layers.Dense(num_classes, activation='softmax', name='head')(base(inputs, training=False))\n"
            "    return keras.Model(inputs, outputs, name='transfer')\n")},
        fails=frozenset({"test_build_transfer_frozen"}),
        feedback=("`base/block1_bn/moving_mean`: expected frozen, but it was updated",
                  "Freeze the layer (`trainable=False` makes it run in inference mode)"),
    ),
    # Exercise 1: a new base built instead of the pretrained one given (its weights are lost).
    WrongAnswer(
        student="rebuilds_the_base",
        answers={"build_transfer_model": (
            "def build_transfer_model(base, num_classes):\n"
            "    new_base = keras.models.clone_model(base)\n"
            "    new_base.trainable = False\n"
            "    inputs = keras.Input(base.input_shape[1:], name='features')\n"
            "    outputs = keras.layers.Dense(num_classes, activation='softmax', name='head')(new_base(inputs, training=False))\n"
            "    return keras.Model(inputs, outputs, name='transfer')\n")},
        fails=frozenset({"test_build_transfer_structure"}),
        feedback=("put the very `base` object you are given in your model",),
    ),
    # Exercise 2: relies on an earlier compile(): the base frozen since then keeps training.
    WrongAnswer(
        student="train_head_without_compile",
        answers={"train_head": (
            "def train_head(model, X, y, num_epochs):\n"
            "    return model.fit(X, y, epochs=num_epochs, batch_size=16, verbose=0)\n")},
        fails=frozenset({"test_train_head_frozen", "test_train_head_accuracy"}),
        feedback=("`base/block1_dense/kernel`: expected frozen, but it was updated",
                  "Call `model.compile()` again after freezing"),
    ),
    # Exercise 2: compiled with the string "sgd", whose learning rate is Keras's default 0.01.
    WrongAnswer(
        student="train_head_default_learning_rate",
        answers={"train_head": (
            "def train_head(model, X, y, num_epochs):\n"
            "    model.compile(optimizer='sgd', loss='categorical_crossentropy')\n"
            "    return model.fit(X, y, epochs=num_epochs, batch_size=16, verbose=0)\n")},
        fails=frozenset({"test_train_head_accuracy"}),
        feedback=("use learning rate 0.3: the optimizer's learning rate is 0.01",),
    ),
    # Exercise 2: the History is not returned.
    WrongAnswer(
        student="train_head_returns_nothing",
        answers={"train_head": (
            "def train_head(model, X, y, num_epochs):\n"
            "    model.compile(optimizer=keras.optimizers.SGD(0.3), loss='categorical_crossentropy')\n"
            "    model.fit(X, y, epochs=num_epochs, batch_size=16, verbose=0)\n")},
        fails=frozenset({"test_train_head_accuracy"}),
        feedback=("return what model.fit(...) returns (its History)",),
    ),
    # Exercise 3: BatchNormalization unfrozen with the top block: it trains and its statistics drift.
    WrongAnswer(
        student="fine_tune_unfreezes_batchnorm",
        answers={"fine_tune": (
            "def fine_tune(model, base, num_top_layers, lr, X, y, num_epochs):\n"
            "    base.trainable = True\n"
            "    for layer in base.layers[:-num_top_layers]:\n"
            "        layer.trainable = False\n"
            "    model.compile(optimizer=keras.optimizers.SGD(lr), loss='categorical_crossentropy')\n"
            "    return model.fit(X, y, epochs=num_epochs, batch_size=16, verbose=0)\n")},
        fails=frozenset({"test_fine_tune_updates"}),
        feedback=("`base/block2_bn/moving_mean`: expected frozen, but it was updated",
                  "Freeze the layer (`trainable=False` makes it run in inference mode)"),
    ),
    # Exercise 3: the top layers' flags set while the base itself stays frozen: nothing inside it trains.
    WrongAnswer(
        student="fine_tune_base_left_frozen",
        answers={"fine_tune": (
            "def fine_tune(model, base, num_top_layers, lr, X, y, num_epochs):\n"
            "    for layer in base.layers[-num_top_layers:]:\n"
            "        if not isinstance(layer, keras.layers.BatchNormalization):\n"
            "            layer.trainable = True\n"
            "    model.compile(optimizer=keras.optimizers.SGD(lr), loss='categorical_crossentropy')\n"
            "    return model.fit(X, y, epochs=num_epochs, batch_size=16, verbose=0)\n")},
        fails=frozenset({"test_fine_tune_updates"}),
        feedback=("set `base.trainable = True` first",),
    ),
    # Exercise 3: flags right, but no new compile(): the model was never compiled, or keeps phase 1's optimizer.
    WrongAnswer(
        student="fine_tune_without_compile",
        answers={"fine_tune": (
            "def fine_tune(model, base, num_top_layers, lr, X, y, num_epochs):\n"
            "    base.trainable = True\n"
            "    top = base.layers[-num_top_layers:]\n"
            "    for layer in base.layers:\n"
            "        layer.trainable = layer in top and not isinstance(layer, keras.layers.BatchNormalization)\n"
            "    return model.fit(X, y, epochs=num_epochs, batch_size=16, verbose=0)\n")},
        fails=frozenset({"test_fine_tune_updates", "test_fine_tune_recompiled"}),
        feedback=("fine_tune must call model.compile() again with a new optimizer",),
    ),
]


RIGHT_ANSWERS = [
    # Exercise 1 as a Sequential model, the base called without training=False.
    RightAnswer(student="transfer_sequential", answers={"build_transfer_model": (
        "def build_transfer_model(base, num_classes):\n"
        "    base.trainable = False\n"
        "    return keras.Sequential([keras.Input(base.input_shape[1:]), base,\n"
        "                             keras.layers.Dense(num_classes, activation='softmax', name='head')])\n")}),
    # Exercise 1 freezing every layer of the base one by one (the base's own flag left True).
    RightAnswer(student="transfer_layers_frozen_one_by_one", answers={"build_transfer_model": (
        "def build_transfer_model(base, num_classes):\n"
        "    for layer in base.layers:\n"
        "        layer.trainable = False\n"
        "    inputs = keras.Input(shape=base.input_shape[1:])\n"
        "    head = keras.layers.Dense(num_classes, activation=keras.activations.softmax, name='head')\n"
        "    return keras.Model(inputs=inputs, outputs=head(base(inputs)))\n")}),
    # Exercise 2 with keyword and positional arguments, a loss object and a metric.
    RightAnswer(student="train_head_loss_object", answers={"train_head": (
        "def train_head(model, X, y, num_epochs):\n"
        "    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.3),\n"
        "                  loss=keras.losses.CategoricalCrossentropy(), metrics=['accuracy'])\n"
        "    history = model.fit(x=X, y=y, batch_size=16, epochs=num_epochs, verbose=0)\n"
        "    return history\n")}),
    # Exercise 2 re-freezing every layer but the head before compiling (positional arguments).
    RightAnswer(student="train_head_refreezes", answers={"train_head": (
        "def train_head(model, X, y, num_epochs):\n"
        "    for layer in model.layers:\n"
        "        if layer.name != 'head':\n"
        "            layer.trainable = False\n"
        "    model.compile(keras.optimizers.SGD(0.3), 'categorical_crossentropy')\n"
        "    return model.fit(X, y, 16, num_epochs, 0)\n")}),
    # Exercise 3 freezing everything first, then unfreezing the top non-BatchNormalization layers (by index).
    RightAnswer(student="fine_tune_freeze_then_unfreeze", answers={"fine_tune": (
        "def fine_tune(model, base, num_top_layers, lr, X, y, num_epochs):\n"
        "    base.trainable = True\n"
        "    for layer in base.layers:\n"
        "        layer.trainable = False\n"
        "    for i in range(len(base.layers) - num_top_layers, len(base.layers)):\n"
        "        if not isinstance(base.layers[i], keras.layers.BatchNormalization):\n"
        "            base.layers[i].trainable = True\n"
        "    model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr), loss=keras.losses.CategoricalCrossentropy())\n"
        "    return model.fit(X, y, epochs=num_epochs, batch_size=16, verbose=0)\n")}),
    # Exercise 3 telling BatchNormalization by its moving statistics, with an enumerate loop.
    RightAnswer(student="fine_tune_by_position", answers={"fine_tune": (
        "def fine_tune(model, base, num_top_layers, lr, X, y, num_epochs):\n"
        "    base.trainable = True\n"
        "    first_top = len(base.layers) - num_top_layers\n"
        "    for i, layer in enumerate(base.layers):\n"
        "        layer.trainable = i >= first_top and not hasattr(layer, 'moving_mean')\n"
        "    optimizer = keras.optimizers.SGD(lr)\n"
        "    model.compile(optimizer, 'categorical_crossentropy')\n"
        "    history = model.fit(X, y, batch_size=16, epochs=num_epochs, verbose=0)\n"
        "    return history\n")}),
]


def test_lesson_grades_empty_correct_and_wrong_submissions(graded):
    """Empty: 0; solution and every other right answer: full marks; each realistic mistake: exactly its cells
    lost, with its message."""
    check_lesson(graded, WRONG_ANSWERS, RIGHT_ANSWERS)


def test_points_per_exercise(graded):
    """Exercise 1: 2 + 1; exercise 2: 2 + 1; exercise 3: 2 + 1 (9 in all)."""
    assert graded.max_points == {"test_build_transfer_frozen": 2.0, "test_build_transfer_structure": 1.0,
                                 "test_train_head_frozen": 2.0, "test_train_head_accuracy": 1.0,
                                 "test_fine_tune_updates": 2.0, "test_fine_tune_recompiled": 1.0}
