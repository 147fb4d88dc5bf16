"""TensorFlow's "Cases where gradient returns None" (guide/autodiff), seen through the tracker."""

import numpy as np
import pytest
import tensorflow as tf
import keras

from autograder.tracker import TrackerAssertionError, snapshot


def failure(report, **expect):
    with pytest.raises(TrackerAssertionError) as err:
        report.expect(**expect)
    return err.value


def test_variable_replaced_with_a_tensor():
    ns = {"tf": tf, "x": tf.Variable(2.0)}
    snap = snapshot(namespace=ns)
    exec("""
for epoch in range(2):
    with tf.GradientTape() as tape:
        y = x + 1
    grad = tape.gradient(y, x)
    x = x + 1   # This should be `x.assign_add(1)`
""", ns)
    assert ns["grad"] is None  # second epoch: x is a tensor, not watched
    report = snap.compare()
    assert report.replaced == ["x"]
    err = failure(report, updated="x")
    assert err.failures[0]["cause"] == "replaced_by_tensor"
    assert "`x` now holds a tf.Tensor" in str(err) and "w.assign_sub(lr * g)" in str(err)


def test_calculation_outside_tensorflow():
    x = tf.Variable([[1.0, 2.0], [3.0, 4.0]], name="x")
    b = tf.Variable(0.0, name="b")
    optimizer = keras.optimizers.SGD(0.1)
    snap = snapshot(x, b, optimizer)
    with tf.GradientTape() as tape:
        y = tf.reduce_mean(np.mean(x ** 2, axis=0)) + b  # NumPy breaks the chain for x
    grads = tape.gradient(y, [x, b])
    optimizer.apply_gradients(zip(grads, [x, b]))
    assert grads[0] is None
    report = snap.compare()
    err = failure(report, updated=["x", "b"], gradients=zip(grads, [x, b]))
    assert [f["name"] for f in err.failures] == ["x"]
    assert err.failures[0]["cause"] == "gradient_none" and "through NumPy" in str(err)
    # Without the gradients the tracker still knows the optimizer stepped and b moved.
    assert failure(report, updated="x").failures[0]["cause"] == "not_in_update"


def test_gradient_through_an_integer():
    count = tf.Variable(3, name="count")
    scale = tf.Variable(1.0, name="scale")
    optimizer = keras.optimizers.SGD(0.1)
    snap = snapshot(count, scale, optimizer)
    with tf.GradientTape() as tape:
        tape.watch(count)
        loss = tf.cast(count * count, tf.float32) * scale
    grads = tape.gradient(loss, [count, scale])
    assert grads[0] is None
    optimizer.apply_gradients([(grads[1], scale)])
    err = failure(snap.compare(), updated=["count", "scale"])
    assert err.failures[0]["name"] == "count" and err.failures[0]["cause"] == "integer_dtype"
    assert "dtype int32" in str(err)


def test_gradient_through_a_stateful_object():
    x0 = tf.Variable(3.0, name="x0")
    x1 = tf.Variable(0.0, name="x1")
    optimizer = keras.optimizers.SGD(0.1)
    snap = snapshot(x0, x1, optimizer)
    with tf.GradientTape() as tape:
        x1.assign_add(x0)  # updating state: the tape cannot see through it
        y = x1 ** 2
    grads = tape.gradient(y, [x0])
    assert grads == [None]
    with pytest.raises(ValueError, match="No gradients provided"):
        optimizer.apply_gradients(zip(grads, [x0]))
    report = snap.compare()
    assert report["x1"].verdict == "updated" and report["x0"].verdict == "frozen"
    err = failure(report, updated="x0", gradients={x0.ref(): grads[0]})
    assert err.failures[0]["cause"] == "gradient_none" and "stateful object" in str(err)


def test_unconnected_gradient():
    x = tf.Variable(2.0, name="x")
    y = tf.Variable(3.0, name="y")
    optimizer = keras.optimizers.SGD(0.1)
    snap = snapshot([x, y], optimizer)
    with tf.GradientTape() as tape:
        z = y * y
    grads = tape.gradient(z, [x, y])
    assert grads[0] is None
    optimizer.apply_gradients(zip(grads, [x, y]))
    report = snap.compare()
    assert report.updated == ["y", "sgd/iteration"]
    err = failure(report, updated="*", gradients={"x": grads[0], "y": grads[1]})
    assert [f["name"] for f in err.failures] == ["x", "sgd/learning_rate"]
    assert "`x`: expected updated, but it was frozen (bit-for-bit unchanged)" in str(err)
    assert "not used by the loss at all" in str(err)
