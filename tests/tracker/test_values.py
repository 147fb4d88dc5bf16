"""Exact comparison, dtypes (int, bool, float16, bfloat16, mixed precision) and namespace bookkeeping."""

import math

import numpy as np
import pytest
import tensorflow as tf
import keras

from autograder.tracker import snapshot
from autograder.tracker.verdicts import compare_values, host_array, same_buffer


def test_snapshot_copies_nothing_and_keeps_the_old_value_after_an_in_place_update():
    v = tf.Variable(np.arange(1000, dtype="float32"), name="v")
    snap = snapshot(v)
    assert same_buffer(host_array(snap._values[snap.records[0].key]), host_array(v.read_value()))
    v.assign_sub(tf.ones(1000))  # TensorFlow copies on write because the snapshot still holds the buffer
    change = snap.compare()["v"]
    assert change.verdict == "updated" and change.max_abs_delta == 1.0
    assert change.rel_change == pytest.approx(math.sqrt(1000) / np.linalg.norm(np.arange(1000)), rel=1e-5)


@pytest.mark.parametrize("before, after, changed", [
    ([0.0], [-0.0], True),           # bit-for-bit: signed zeros differ
    ([np.nan], [np.nan], False),     # an unchanged NaN is frozen
    ([1.0, 2.0], [1.0, 2.0], False),
    ([0.0, 0.0], [0.0, 3.0], True),  # from zero: rel change is 1
])
def test_compare_values_is_bitwise(before, after, changed):
    result = compare_values(np.array(before, "float32"), np.array(after, "float32"))
    assert result[0] is changed
    if before == [0.0, 0.0]:
        assert result[1:] == (3.0, 1.0)


@pytest.mark.parametrize("dtype, delta", [(tf.int32, 1), (tf.int64, 5), (tf.float16, 0.5), (tf.bfloat16, 0.5)])
def test_integer_and_low_precision_variables(dtype, delta):
    v = tf.Variable(tf.constant([2, 4], dtype), name="v")
    frozen = tf.Variable(tf.constant([1, 1], dtype), name="still")
    snap = snapshot(v, frozen)
    v.assign_add(tf.constant([delta, 0], dtype))
    report = snap.compare()
    report.expect(updated="v", frozen="still")
    assert report["v"].dtype == dtype.name and report["v"].max_abs_delta == pytest.approx(delta)


def test_bool_variable():
    flag = tf.Variable([True, False], name="flag")
    snap = snapshot(flag)
    flag.assign([True, True])
    assert snap.compare()["flag"].max_abs_delta == 1.0


def test_mixed_float16_policy(xy):
    keras.mixed_precision.set_global_policy("mixed_float16")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="d"),
                              keras.layers.Dense(1, dtype="float32", name="out")])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    snap = snapshot(model, model.optimizer)
    model.fit(*xy, epochs=1, verbose=0)
    report = snap.compare()
    report.expect(updated=["d/kernel", "out/kernel"], others="updated")
    assert report["d/kernel"].dtype == "float32"  # float32 master weights, float16 compute
    assert any(name.startswith("loss_scale_optimizer/") for name in report.names)


def test_namespace_created_deleted_and_odd_objects():
    class Weird:
        def __getattr__(self, name):
            raise RuntimeError("boom")

    ns = {"a": tf.Variable(1.0, name="a"), "b": tf.Variable(2.0, name="b"), "weird": Weird(),
          "params": [tf.Variable(0.0, name="p")], "np": np, "_hidden": tf.Variable(9.0, name="hidden")}
    snap = snapshot(namespace=ns)
    assert snap.names == ["a", "b", "p"]
    del ns["b"]
    ns["c"] = tf.Variable(3.0, name="c")
    ns["params"][0] = ns["params"][0] * 2.0
    report = snap.compare()
    assert (report.frozen, report.deleted, report.created, report.replaced) == (["a"], ["b"], ["c"], ["p"])
    assert report["params[0]"].replaced_by == "`params[0]` now holds a tf.Tensor"
