"""The course document's three examples, as written and corrected, run in a notebook-like namespace."""

import pytest
import tensorflow as tf

from autograder.tracker import PatternError, TrackerAssertionError, snapshot

EXAMPLE_1_SETUP = """
import tensorflow as tf
non_trainable_var = tf.Variable(initial_value=tf.constant([1.0, 2.0]), trainable=False, name="non_trainable")
x = tf.constant([3.0, 4.0]); y = x + non_trainable_var
optimizer = tf.keras.optimizers.Adam(learning_rate=0.01)
"""
EXAMPLE_1_STEP = """
with tf.GradientTape() as tape:
    loss = tf.reduce_sum(y)
grads = tape.gradient(loss, [x, non_trainable_var])
optimizer.apply_gradients(zip(grads, [x, non_trainable_var]))
"""


def run(source, ns):
    exec(source, ns)  # noqa: S102 - the namespace plays the role of a notebook's globals()
    return ns


def test_example_1_as_written_fails_and_explains():
    ns = run(EXAMPLE_1_SETUP, {})
    snap = snapshot(namespace=ns)
    with pytest.raises(AttributeError):  # x is a tf.constant: the optimizer cannot update it
        run(EXAMPLE_1_STEP, ns)
    assert ns["grads"] == [None, None]  # y was computed before the tape: nothing recorded
    report = snap.compare()
    assert report.frozen == ["non_trainable", "adam/iteration", "adam/learning_rate"]
    assert report["non_trainable_var"].name == "non_trainable"  # the global name matches too
    with pytest.raises(TrackerAssertionError) as err:
        report.expect(updated="non_trainable", gradients=zip(ns["grads"], [ns["x"], ns["non_trainable_var"]]))
    message = str(err.value)
    assert "`non_trainable`" in message and "every gradient is None" in message
    assert "outside the `with tf.GradientTape()`" in message and "`adam/iteration` stayed at 0" in message
    assert err.value.failures[0]["cause"] == "loss_outside_tape"
    with pytest.raises(PatternError, match=r"'x' matches no variable. Available names: non_trainable"):
        report.expect(updated="x")  # a tf.constant is not a variable


def test_example_1_corrected_with_tape_watch_updates_the_non_trainable_variable():
    ns = run(EXAMPLE_1_SETUP, {})
    snap = snapshot(namespace=ns)
    run("""
with tf.GradientTape() as tape:
    tape.watch(non_trainable_var)
    loss = tf.reduce_sum(x + non_trainable_var)
grads = tape.gradient(loss, [non_trainable_var])
optimizer.apply_gradients(zip(grads, [non_trainable_var]))
""", ns)
    report = snap.compare()
    report.expect(updated="non_trainable", others="frozen")
    assert report["adam/iteration"].verdict == "updated"
    assert "adam/non_trainable_0_momentum" in report.created
    change = report["non_trainable"]
    assert change.trainable is False and change.max_abs_delta == pytest.approx(0.01, rel=1e-3)
    # The tape.watch case, seen from a test that wanted it frozen:
    with pytest.raises(TrackerAssertionError) as err:
        report.expect(frozen="non_trainable")
    assert "trainable=False, yet it changed" in str(err.value) and "tape.watch()" in str(err.value)
    assert err.value.failures[0]["cause"] == "non_trainable_given_to_optimizer"


def test_non_trainable_variable_not_watched_stays_frozen_and_says_why():
    ns = run(EXAMPLE_1_SETUP + "w = tf.Variable([0.5, 0.5], name='w')\n", {})
    snap = snapshot(namespace=ns)
    run("""
with tf.GradientTape() as tape:
    loss = tf.reduce_sum(w * x + non_trainable_var)
grads = tape.gradient(loss, [w, non_trainable_var])
optimizer.apply_gradients(zip(grads, [w, non_trainable_var]))
""", ns)
    assert ns["grads"][1] is None
    report = snap.compare()
    with pytest.raises(TrackerAssertionError) as err:
        report.expect(updated=["w", "non_trainable"])
    assert [f["name"] for f in err.value.failures] == ["non_trainable"]
    assert "has trainable=False" in str(err.value) and "does not watch it" in str(err.value)


def test_example_2_as_written(capsys):
    import keras
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, kernel_initializer="ones")])
    optimizer = keras.optimizers.SGD(learning_rate=0.01)
    x = tf.constant([[1.0, 2.0], [3.0, 4.0]]); y = tf.constant([[5.0], [7.0]])
    snap = snapshot(model, optimizer)
    for _ in range(10):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - y))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
    report = snap.compare()
    report.expect(updated=["dense/kernel", "dense/bias"], others="frozen")
    assert report.updated == ["sequential/dense/kernel", "sequential/dense/bias", "sgd/iteration"]
    assert report.frozen == ["sgd/learning_rate"]
    assert report.iterations_after == {"sgd/iteration": 10}
    assert report["dense/bias"].rel_change == 1.0  # from zero: well-defined


EXAMPLE_3_SETUP = """
import tensorflow as tf
intermediate_var = tf.Variable(tf.constant([0.0]), name="intermediate")
x = tf.constant([2.0]); y = x * x; intermediate_var.assign(y)
trainable_var = tf.Variable(tf.constant([1.0]), trainable=True)
optimizer = tf.keras.optimizers.Adam(learning_rate=0.1)
"""


def test_example_3_as_written_loss_outside_tape():
    ns = run(EXAMPLE_3_SETUP, {})
    snap = snapshot(namespace=ns)
    with pytest.raises(ValueError, match="No gradients provided for any variable"):
        run("""
loss = trainable_var - 1.0
with tf.GradientTape() as tape:
    l = loss
grads = tape.gradient(l, [trainable_var])
optimizer.apply_gradients(zip(grads, [trainable_var]))
""", ns)
    report = snap.compare()
    assert report["trainable_var"].verdict == "frozen"  # unnamed tf.Variable: shown by its global name
    with pytest.raises(TrackerAssertionError) as err:
        report.expect(updated="trainable_var", frozen="intermediate")
    message = str(err.value)
    assert message.startswith("1 variable check failed:\n- `trainable_var`: expected updated, but it was frozen")
    assert "optimizer never stepped" in message and "outside the `with tf.GradientTape()`" in message


def test_example_3_corrected():
    ns = run(EXAMPLE_3_SETUP, {})
    snap = snapshot(namespace=ns)
    run("""
with tf.GradientTape() as tape:
    l = tf.reduce_sum(trainable_var - 1.0)
grads = tape.gradient(l, [trainable_var])
optimizer.apply_gradients(zip(grads, [trainable_var]))
""", ns)
    report = snap.compare()
    report.expect(updated="trainable_var", frozen="intermediate", others="frozen")
    assert report["trainable_var"].max_abs_delta == pytest.approx(0.1, rel=1e-3)
