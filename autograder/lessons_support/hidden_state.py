"""Checks for lesson 8 (state that changes but is not a parameter), used by its test cells.

``check_predictions(predicted, report, group, optimizer_name)`` compares a student's predicted verdicts
(``{name: "updated" | "frozen" | "created"}``) with a tracker report, for one group of variables (the
model's, the optimizer's or the metric's), and names each wrong prediction with the true verdict and
the reason.  ``check_training_state(report)`` checks that a training-mode step moved BatchNormalization's
statistics, the Dropout seed and the metric.
"""

from __future__ import annotations

# (part of a name, why such a variable gets its verdict), first match wins
WHY = [
    ("_momentum", "optimizer slots are created by the first apply_gradients (optimizer.build); plain SGD has none, "
                  "SGD with momentum one per trainable variable, Adam two (momentum and velocity)"),
    ("_velocity", "Adam's slots (momentum and velocity) are created by the first apply_gradients"),
    ("/iteration", "the optimizer's step counter: every apply_gradients adds 1"),
    ("/learning_rate", "the learning rate is a variable, but nothing assigns it during a step (no schedule)"),
    ("moving_", "BatchNormalization's moving statistics are non-trainable, yet assigned on every call in "
                "training mode (and left alone with training=False)"),
    ("seed_generator", "Dropout's SeedGenerator state advances on every call in training mode (a new mask); "
                       "with training=False Dropout draws nothing"),
    ("mse/", "a metric's total and count change with every update_state, and exist only if there is a metric"),
]


def why(name: str) -> str:
    """The reason a variable of this name gets its verdict in a first step."""
    reasons = [reason for part, reason in WHY if part in name]
    return reasons[0] if reasons else "a trainable weight given to apply_gradients changes on every step"


def group_of(name: str, optimizer_name: str) -> str:
    """"optimizer", "metric" or "model" for a variable name of the lesson's step."""
    if name.startswith(optimizer_name + "/"):
        return "optimizer"
    return "metric" if name.startswith("mse/") else "model"


def check_predictions(predicted, report, group: str, optimizer_name: str) -> None:
    """Compare predicted verdicts with the tracker's report for one group ("model", "optimizer", "metric")."""
    assert isinstance(predicted, dict), f"predict_changes returned a {type(predicted).__name__}, not a dict"
    report.publish()  # the tracker's table, as evidence in the feedback
    actual = {c.name: c.verdict for c in report if group_of(c.name, optimizer_name) == group}
    problems = []
    for name, verdict in actual.items():
        if name not in predicted:
            problems.append(f"- `{name}` is missing from your prediction; it was {verdict}: {why(name)}.")
        elif predicted[name] != verdict:
            problems.append(f"- `{name}`: you predicted {predicted[name]}, but it was {verdict}: {why(name)}.")
    for name in predicted:
        if group_of(name, optimizer_name) == group and name not in actual:
            problems.append(f"- `{name}`: there is no such variable in this step: {why(name)}.")
    assert not problems, f"{len(problems)} wrong prediction(s) for the {group}'s variables:\n" + "\n".join(problems)


def check_training_state(report) -> None:
    """A training-mode step: BatchNormalization statistics, Dropout seed and the metric must be updated."""
    report.publish()  # the tracker's table, as evidence in the feedback
    still = [c.name for c in report if c.verdict == "frozen" and ("moving_" in c.name or "seed_generator" in c.name)]
    assert not still, (f"Call the model with `model(X, training=True)` inside the tape: {', '.join(still)} stayed "
                       "frozen, so the model ran in inference mode (BatchNormalization updates its moving "
                       "statistics and Dropout draws a new mask only in training mode).")
    still = [c.name for c in report if c.verdict == "frozen" and c.name.startswith("mse/")]
    assert not still, f"Call `metric.update_state(y, predictions)` in the step: {', '.join(still)} stayed frozen."


def check_metric_matches(metric, losses) -> None:
    """The metric, updated once per step with that step's predictions, averages the steps' losses."""
    import numpy as np

    expected = float(np.mean([float(loss) for loss in losses]))
    result = float(metric.result())
    assert np.isclose(result, expected, rtol=1e-5), (
        f"Update the metric with `(y, predictions)` of this step's own forward pass, the predictions the loss was "
        f"computed from: metric.result() is {result:.4f}, but the mean of the steps' losses is {expected:.4f} (a "
        f"second call of the model draws another Dropout mask and gives other predictions).")
