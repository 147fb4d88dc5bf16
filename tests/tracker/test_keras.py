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


def test_freezing_after_compile_but_before_the_first_fit_works(xy):
    """compile -> freeze -> fit: the first fit() traces its function with the frozen list."""
    model = two_layer_model()
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.get_layer("hidden").trainable = False
    with track(model) as t:
        model.fit(*xy, epochs=1, verbose=0)
    t.report.expect(frozen="hidden/*", updated="head/*", others="frozen")


def test_freezing_after_the_first_fit_is_ignored_until_recompile(xy):
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
    assert {f["cause"] for f in err.value.failures} == {"frozen_after_fit"}
    message = str(err.value)
    # The fix comes first, then the cause as measured: after the first fit(), not after compile().
    assert "Likely cause: Call `model.compile()` again after freezing" in message
    assert "frozen after the model's first `fit()`" in message
    assert "a freeze after `compile()` but before the first `fit()` works" in message
    assert "frozen after `compile()`" not in message
    model.compile(optimizer, "mse")
    with track(model, optimizer) as t:
        model.fit(*xy, epochs=1, verbose=0)
    t.report.expect(frozen="hidden/*", updated="head/*", others="frozen")


def nested_model():
    """`net`: a nested Sequential `base` (Dense `hidden1`, Dropout `drop`) and a Dense `head`."""
    base = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="hidden1"),
                             keras.layers.Dropout(0.5, seed=1, name="drop")], name="base")
    inputs = keras.Input((4,))
    return keras.Model(inputs, keras.layers.Dense(1, name="head")(base(inputs)), name="net")


def test_a_layer_never_frozen_inside_a_nested_model_is_named_with_where_it_sits(xy):
    """Looping over model.layers never reaches `hidden1` inside `base`: the message says so, fix first."""
    model = nested_model()
    for layer in model.layers:  # the top level only: features, base, head
        if layer.name in ("hidden1", "head"):
            layer.trainable = False
    model.compile(keras.optimizers.SGD(0.1), "mse")
    with track(model) as t:
        model.fit(*xy, epochs=1, verbose=0)
    with pytest.raises(TrackerAssertionError) as err:
        t.report.expect(frozen=["base/hidden1/*", "head/*"])
    assert {f["name"] for f in err.value.failures} == {"base/hidden1/kernel", "base/hidden1/bias"}
    assert {f["cause"] for f in err.value.failures} == {"layer_not_frozen"}
    message = str(err.value)
    assert "Likely cause: Freeze it with `trainable=False` on the layer `hidden1` itself" in message
    assert "(or on `base`, which contains it, if everything in `base` should be frozen), then `compile()`" in message
    assert "the `trainable` flag was never set on `hidden1` nor on `base` around it" in message
    assert "`hidden1` sits nested inside `base`" in message and "`model._flatten_layers()`" in message
    assert "before `compile()`" not in message and "not on their variables" not in message
    change = t.report["base/hidden1/kernel"]
    assert (change.layer_name, change.layer_trainable, change.layer_parents) == ("hidden1", True, (("base", True),))
    assert t.report["head/kernel"].layer_parents == ()


def test_a_layer_never_frozen_in_a_custom_loop_points_at_the_list_first(xy):
    model = two_layer_model()  # never compiled: the variables were handed over by a custom loop
    optimizer = keras.optimizers.SGD(0.1)
    x, y = tf.constant(xy[0]), tf.constant(xy[1])
    with track(model, optimizer) as t:
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - y))
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply(grads, model.trainable_weights)
    with pytest.raises(TrackerAssertionError) as err:
        t.report.expect(frozen="hidden/*", updated="head/*")
    message = str(err.value)
    assert {f["cause"] for f in err.value.failures} == {"layer_not_frozen"}
    assert "Likely cause: Leave it out of the variables you pass to `tape.gradient`/`apply_gradients`" in message
    assert "Freeze it with `trainable=False` on the layer `hidden`" in message and "sits nested" not in message


def test_a_snapshot_of_a_model_holds_dropout_seed_state_and_compiled_metrics(xy):
    """model.variables (the Dropout's SeedGenerator state) and model.metrics_variables are all followed."""
    model = nested_model()
    model.compile(keras.optimizers.SGD(0.1), "mse", metrics=["mae"])
    seed_path = next(v.path for v in model.variables if "seed_generator_state" in v.path)
    snap = snapshot(model)
    assert set(snap.names) == {v.path for v in model.variables} | {"loss/total", "loss/count"}
    model.fit(*xy, epochs=1, batch_size=8, verbose=0)
    report = snap.compare()
    assert report.names == ["base/hidden1/kernel", "base/hidden1/bias", seed_path, "head/kernel", "head/bias",
                            "loss/total", "loss/count", "mean_absolute_error/total", "mean_absolute_error/count"]
    # The compiled metric's variables are built by the first fit(), the loss tracker's by compile().
    assert report.created == ["mean_absolute_error/total", "mean_absolute_error/count"]
    assert report[seed_path].verdict == "updated" and report[seed_path].role == "seed"
    assert report["loss/total"].verdict == report["loss/count"].verdict == "updated"
    assert report["loss/total"].role == "metric" and report[seed_path].layer_name == "drop"
    assert "no (random seed)" in repr(report) and "no (metric)" in repr(report)
    # State that moves on every batch is checked only when named: `others` covers the weights.
    report.expect(updated=["hidden1/*", "head/*", seed_path, "loss/*"], others="frozen")
    with pytest.raises(TrackerAssertionError) as err:
        report.expect(frozen=[seed_path, "loss/count"])
    causes = {f["name"]: f["cause"] for f in err.value.failures}
    assert causes == {seed_path: "seed_state", "loss/count": "metric_state"}
    assert "Call the model with `training=False`" in str(err.value)


def test_inference_leaves_seed_and_metrics_frozen_and_says_why(xy):
    model = nested_model()
    model.compile(keras.optimizers.SGD(0.1), "mse")
    seed_path = next(v.path for v in model.variables if "seed_generator_state" in v.path)
    snap = snapshot(model)
    model.predict(xy[0], verbose=0)  # inference: no mask drawn, no metric updated
    report = snap.compare()
    report.expect(frozen=[seed_path, "loss/*"], others="frozen")
    with pytest.raises(TrackerAssertionError) as err:
        report.expect(updated=[seed_path, "loss/total"])
    causes = {f["name"]: f["cause"] for f in err.value.failures}
    assert causes == {seed_path: "inference_mode", "loss/total": "metric_state"}
    message = str(err.value)
    assert f"`{seed_path}`: expected updated, but it was frozen (bit-for-bit unchanged). Likely cause: Call the " \
           "model with `training=True`" in message
    assert "`loss/total`: expected updated, but it was frozen (bit-for-bit unchanged). Likely cause: Update the " \
           "metric in the step" in message


def test_a_metric_and_a_seed_generator_can_be_snapshot_directly():
    metric = keras.metrics.Mean(name="loss_mean")
    generator = keras.random.SeedGenerator(42, name="noise_seed")
    snap = snapshot(metric, generator)
    assert snap.names == ["loss_mean/total", "loss_mean/count", "noise_seed/seed_generator_state"]
    metric.update_state(3.0)
    keras.random.normal((2,), seed=generator)
    report = snap.compare()
    assert report.updated == snap.names
    assert [c.role for c in report] == ["metric", "metric", "seed"]


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
    assert report.names == ["sequential/dense/kernel", "sequential/dense/bias", "loss/total", "loss/count",
                            "adam/iteration", "adam/learning_rate", "adam/sequential_dense_kernel_momentum",
                            "adam/sequential_dense_kernel_velocity", "adam/sequential_dense_bias_momentum",
                            "adam/sequential_dense_bias_velocity"]
    assert report.created == report.names[6:]  # slots are built by the first fit()
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
    assert report.names == ["model/scale/w", "loss/total", "loss/count"]
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
    assert "Likely cause: Pass `model.trainable_weights` to `tape.gradient` and the optimizer" in str(err.value)


def test_custom_loop_over_the_tapes_watched_variables_updates_a_frozen_layer(xy):
    """The tape watches the tf.Variable under a frozen layer's weight (still trainable=True): the message says so."""
    model = two_layer_model()
    model.get_layer("hidden").trainable = False
    optimizer = keras.optimizers.SGD(0.1)
    with track(model, optimizer) as t:
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(tf.constant(xy[0])) - xy[1]))
        variables = tape.watched_variables()
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    with pytest.raises(TrackerAssertionError) as err:
        t.report.expect(frozen="hidden/*", updated="head/*")
    assert {f["cause"] for f in err.value.failures} == {"non_trainable_given_to_optimizer"}
    assert "`tape.watched_variables()`" in str(err.value)


def test_batchnorm_statistics_expected_to_move_in_inference_mode(xy):
    """A step run with training=False leaves BN statistics frozen; the message says inference mode."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.BatchNormalization(name="bn")])
    snap = snapshot(model)
    model(tf.constant(xy[0]), training=False)
    with pytest.raises(TrackerAssertionError) as err:
        snap.compare().expect(updated="bn/moving_*")
    assert {f["cause"] for f in err.value.failures} == {"inference_mode"}
    assert "`sequential/bn/moving_mean`" in str(err.value) and "`training=True`" in str(err.value)
