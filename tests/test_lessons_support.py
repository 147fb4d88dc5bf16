"""The lessons' check helpers (autograder.lessons_support): each failure names the fix first."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import pytest  # noqa: E402

from autograder.lessons_support import freezing, hidden_state  # noqa: E402
from autograder.tracker import snapshot  # noqa: E402


def nested_model():
    base = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="hidden1"),
                             keras.layers.BatchNormalization(name="bn1")], name="base")
    inputs = keras.Input((4,), name="features")
    return keras.Model(inputs, keras.layers.Dense(1, name="head")(base(inputs)), name="net")


def test_nested_layers_walks_into_sub_models():
    assert [layer.name for layer in freezing.nested_layers(nested_model())] == [
        "features", "base", "hidden1", "bn1", "head"]


@pytest.mark.parametrize("how, message", [
    ("right", None),
    ("top_level_loop", "Set `trainable = False` on `hidden1` too: it sits inside a nested model"),
    ("variables", "Set `trainable = False` on the layer `hidden1` itself, not on its variables"),
    ("too_many", "Leave `head` trainable: it is not in ['hidden1']"),
])
def test_check_frozen_flags_names_the_fix(how, message):
    model = nested_model()
    hidden1 = model.get_layer("base").get_layer("hidden1")
    if how == "right":
        hidden1.trainable = False
    elif how == "variables":
        for v in hidden1.weights:
            v.trainable = False
    elif how == "too_many":
        hidden1.trainable = False
        model.get_layer("head").trainable = False
    if message is None:
        freezing.check_frozen_flags(model, ["hidden1"])
        return
    with pytest.raises(AssertionError) as err:
        freezing.check_frozen_flags(model, ["hidden1"])
    assert str(err.value).startswith(message)


def test_check_frozen_flags_of_a_frozen_sub_model():
    model = nested_model()
    model.get_layer("base").trainable = False
    freezing.check_frozen_flags(model, ["base"])


def test_check_weight_lists():
    model = nested_model()
    paths = sorted(v.path for v in model.weights)
    freezing.check_weight_lists(model, paths[:3], paths[3:])
    with pytest.raises(AssertionError, match=r"Return only the model's weights .*\['loss/total'\]"):
        freezing.check_weight_lists(model, paths + ["loss/total"], [])
    with pytest.raises(AssertionError, match="Put every weight in one of the two lists"):
        freezing.check_weight_lists(model, paths[1:], [])
    with pytest.raises(AssertionError, match="Put each weight in only one of the two lists"):
        freezing.check_weight_lists(model, paths, paths[:1])
    with pytest.raises(AssertionError, match="sorted"):
        freezing.check_weight_lists(model, paths[::-1], [])


def test_check_predictions_names_each_wrong_prediction():
    metric = keras.metrics.Mean(name="mse")
    snap = snapshot(metric)
    metric.update_state(1.0)
    report = snap.compare()
    hidden_state.check_predictions({"mse/total": "updated", "mse/count": "updated"}, report, "metric", "sgd")
    with pytest.raises(AssertionError) as err:
        hidden_state.check_predictions({"mse/total": "frozen", "mse/mean": "updated"}, report, "metric", "sgd")
    message = str(err.value)
    assert message.startswith("3 wrong prediction(s) for the metric's variables:")
    assert "`mse/total`: you predicted frozen, but it was updated" in message
    assert "`mse/count` is missing from your prediction" in message and "`mse/mean`: there is no such" in message
    with pytest.raises(AssertionError, match="not a dict"):
        hidden_state.check_predictions([], report, "metric", "sgd")


def test_group_of_and_why():
    assert hidden_state.group_of("adam/iteration", "adam") == "optimizer"
    assert hidden_state.group_of("mse/total", "adam") == "metric"
    assert hidden_state.group_of("net/bn/moving_mean", "adam") == "model"
    assert "created by the first apply_gradients" in hidden_state.why("adam/net_out_kernel_momentum")
    assert hidden_state.why("net/out/kernel").startswith("a trainable weight")


def test_check_training_state_and_metric():
    model = keras.Sequential([keras.Input((3,)), keras.layers.BatchNormalization(name="bn"),
                              keras.layers.Dropout(0.5, seed=0, name="drop")], name="net")
    metric = keras.metrics.MeanSquaredError(name="mse")
    x = keras.ops.ones((4, 3))
    snap = snapshot(model, metric)
    model(x, training=False)
    with pytest.raises(AssertionError, match=r"^Call the model with `model\(X, training=True\)` inside the tape"):
        hidden_state.check_training_state(snap.compare())
    snap = snapshot(model, metric)
    predictions = model(x, training=True)
    with pytest.raises(AssertionError, match=r"^Call `metric.update_state\(y, predictions\)` in the step"):
        hidden_state.check_training_state(snap.compare())
    metric.update_state(keras.ops.zeros((4, 3)), predictions)
    loss = keras.ops.mean(keras.ops.square(predictions))
    hidden_state.check_metric_matches(metric, [loss])
    with pytest.raises(AssertionError, match=r"^Update the metric with `\(y, predictions\)` of this step's own"):
        hidden_state.check_metric_matches(metric, [loss + 1.0])
