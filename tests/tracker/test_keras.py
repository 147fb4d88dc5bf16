"""Keras 3 situations: freezing before/after compile, BatchNormalization, Adam state, untracked variables."""

import warnings

import pytest
import keras
import tensorflow as tf

from autograder.tracker import TrackerAssertionError, snapshot, track


def two_layer_model():
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="hidden"),
                             keras.layers.Dense(1, name="head")])


def test_freezing_before_compile_keeps_the_layer_frozen(xy):
    model = two_layer_model()
    model.get_layer("hidden").trainable = False
    model.compile(keras.optimizers.Adam(0.01), "mse")
    with track(model) as t:
        model.fit(*xy, epochs=1, verbose=0)
    t.report.expect(frozen="hidden/*", updated="head/*", others="frozen")
    kernel = t.report["hidden/kernel"]
    # Keras's flag is reported; the wrapped tf.Variable still says trainable=True.
    assert kernel.trainable is False and kernel.tf_trainable is True
    assert model.get_layer("hidden").kernel.value.trainable is True


def test_freezing_after_compile_is_ignored_until_recompile(xy):
    model = two_layer_model()
    optimizer = keras.optimizers.Adam(0.01)
    model.compile(optimizer, "mse")
    model.fit(*xy, epochs=1, verbose=0)
    model.get_layer("hidden").trainable = False
    snap = snapshot(model, optimizer)
    model.fit(*xy, epochs=1, verbose=0)  # silently still trains "hidden"
    with pytest.raises(TrackerAssertionError) as err:
        snap.compare().expect(frozen="hidden/*", updated="head/*")
    assert {f["name"] for f in err.value.failures} == {"sequential/hidden/kernel", "sequential/hidden/bias"}
    assert {f["cause"] for f in err.value.failures} == {"frozen_after_compile"}
    assert "frozen after `compile()`" in str(err.value) and "`model.compile()` again" in str(err.value)
    model.compile(optimizer, "mse")
    with track(model, optimizer) as t:
        model.fit(*xy, epochs=1, verbose=0)
    t.report.expect(frozen="hidden/*", updated="head/*", others="frozen")


def bn_model():
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="dense"),
                             keras.layers.BatchNormalization(name="bn")])


def test_batchnorm_moving_statistics_change_only_in_training_mode(xy):
    model = bn_model()
    x = tf.constant(xy[0])
    with track(model) as t:
        model(x, training=False)
    t.report.expect(others="frozen")
    with track(model) as t:
        model(x, training=True)
    report = t.report
    assert report.updated == ["sequential/bn/moving_mean", "sequential/bn/moving_variance"]
    assert report["moving_mean"].trainable is False
    with pytest.raises(TrackerAssertionError) as err:
        report.expect(frozen="bn/moving_*")
    assert err.value.failures[0]["cause"] == "batchnorm_training_mode" and "training=False" in str(err.value)
    with pytest.raises(TrackerAssertionError) as err:
        report.expect(updated="bn/gamma")
    assert err.value.failures[0]["cause"] == "only_non_trainable_changed"


def test_frozen_batchnorm_runs_in_inference_mode(xy):
    model = bn_model()
    model.get_layer("bn").trainable = False
    model.compile(keras.optimizers.SGD(0.1), "mse")
    with track(model) as t:
        model.fit(xy[0], xy[1].repeat(3, axis=1), epochs=1, verbose=0)
    t.report.expect(updated="dense/*", frozen="bn/*", others="frozen")


def test_adam_slot_variables_are_reported_with_their_paths(xy):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    optimizer = keras.optimizers.Adam(0.01)
    model.compile(optimizer, "mse")
    snap = snapshot(model, optimizer, model.layers[0], model.layers[0].kernel)  # overlapping targets
    model.fit(*xy, epochs=1, batch_size=16, verbose=0)
    report = snap.compare()
    assert report.names == ["sequential/dense/kernel", "sequential/dense/bias", "adam/iteration",
                            "adam/learning_rate", "adam/sequential_dense_kernel_momentum",
                            "adam/sequential_dense_kernel_velocity", "adam/sequential_dense_bias_momentum",
                            "adam/sequential_dense_bias_velocity"]
    assert report.created == report.names[4:]  # slots are built by the first fit()
    assert report.iterations_before == {"adam/iteration": 0} and report.iterations_after == {"adam/iteration": 1}
    report.expect(updated="dense/*", others="frozen")  # optimizer state is not part of "others"
    with pytest.raises(TrackerAssertionError, match="`adam/learning_rate`: expected updated"):
        report.expect(updated="adam/*")


class ScaleLayer(keras.layers.Layer):
    def __init__(self):
        super().__init__(name="scale")
        self.w = tf.Variable(1.0, name="w")  # raw tf.Variable: Keras 3 does not track it

    def call(self, x):
        return x * self.w


def test_raw_tf_variable_on_a_keras_layer_is_not_tracked(xy):
    model = keras.Sequential([keras.Input((4,)), ScaleLayer()], name="model")
    assert model.trainable_weights == []
    model.compile(keras.optimizers.SGD(0.1), "mse")
    snap = snapshot(model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(xy[0], xy[1].repeat(4, axis=1), epochs=1, verbose=0)
    assert any("does not have any trainable weights" in str(w.message) for w in caught)
    report = snap.compare()
    assert report.names == ["model/scale/w"]
    with pytest.raises(TrackerAssertionError) as err:
        report.expect(updated="scale/w")
    assert err.value.failures[0]["cause"] == "untracked_by_keras"
    assert "self.add_weight(...)" in str(err.value) and "`model/scale/w`" in str(err.value)


def test_custom_loop_given_model_weights_updates_a_frozen_layer(xy):
    model = two_layer_model()
    model.get_layer("hidden").trainable = False
    optimizer = keras.optimizers.SGD(0.1)
    x, y = tf.constant(xy[0]), tf.constant(xy[1])
    with track(model, optimizer) as t:
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - y))
        grads = tape.gradient(loss, model.weights)  # should be model.trainable_weights
        optimizer.apply_gradients(zip(grads, model.weights))
    with pytest.raises(TrackerAssertionError) as err:
        t.report.expect(frozen="hidden/*")
    assert "`sequential/hidden/kernel`" in str(err.value)
    # The model was never compiled, so the cause is the custom loop, not compile().
    assert {f["cause"] for f in err.value.failures} == {"non_trainable_given_to_optimizer"}
    assert "`model.weights` instead of `model.trainable_weights`" in str(err.value)


def test_batchnorm_statistics_expected_to_move_in_inference_mode(xy):
    """A step run with training=False leaves BN statistics frozen; the message says inference mode."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.BatchNormalization(name="bn")])
    snap = snapshot(model)
    model(tf.constant(xy[0]), training=False)
    with pytest.raises(TrackerAssertionError) as err:
        snap.compare().expect(updated="bn/moving_*")
    assert {f["cause"] for f in err.value.failures} == {"inference_mode"}
    assert "`sequential/bn/moving_mean`" in str(err.value) and "`training=True`" in str(err.value)
