"""Explain, in a student's words, why a variable did not do what a test expected.

The explanation uses all the evidence in a report: the variable's verdict, its Keras and
TensorFlow ``trainable`` flags, whether a global was rebound to a tensor, whether the
variable is a raw ``tf.Variable`` Keras does not track, whether anything changed at all,
whether the optimizer's ``iterations`` advanced, whether only non-trainable variables
changed, and (optionally) the gradients the caller passes in.
"""

from __future__ import annotations

from dataclasses import dataclass

from .discovery import underlying
from .patterns import select
from .verdicts import CREATED, DELETED, FROZEN, REPLACED, UPDATED

# Cause identifiers (stable: they appear in the JSON output).
REPLACED_BY_TENSOR = "replaced_by_tensor"
DELETED_VARIABLE = "deleted"
CREATED_DURING_STEP = "created_during_step"
UNTRACKED_BY_KERAS = "untracked_by_keras"
INTEGER_DTYPE = "integer_dtype"
GRADIENT_NONE = "gradient_none"
LOSS_OUTSIDE_TAPE = "loss_outside_tape"
NOT_TRAINABLE = "not_trainable"
LAYER_FROZEN = "layer_frozen"
ONLY_NON_TRAINABLE_CHANGED = "only_non_trainable_changed"
NOT_IN_UPDATE = "not_in_update"
BATCHNORM_TRAINING_MODE = "batchnorm_training_mode"
INFERENCE_MODE = "inference_mode"
FROZEN_AFTER_FIT = "frozen_after_fit"
LAYER_NOT_FROZEN = "layer_not_frozen"
METRIC_STATE = "metric_state"
SEED_STATE = "seed_state"
NON_TRAINABLE_GIVEN_TO_OPTIMIZER = "non_trainable_given_to_optimizer"
TRAINABLE_CHANGED = "trainable_changed"
OPTIMIZER_STEPPED = "optimizer_stepped"
OPTIMIZER_DID_NOT_STEP = "optimizer_did_not_step"
UNEXPECTED_VERDICT = "unexpected_verdict"


@dataclass
class Cause:
    """A diagnosed cause: a stable identifier and a short explanation."""

    id: str
    text: str


def normalize_gradients(gradients, changes) -> dict:
    """Map displayed variable names to gradients.

    ``gradients`` may be a dict keyed by name/pattern, by ``variable.ref()`` (tf.Variables
    are unhashable) or by keras.Variable, or an iterable of ``(gradient, variable)`` pairs
    such as ``zip(grads, variables)``.
    """
    if gradients is None:
        return {}
    by_key = {c.key: c.name for c in changes if c.key is not None}
    items = gradients.items() if isinstance(gradients, dict) else [(v, g) for g, v in gradients]
    result = {}
    for target, grad in items:
        if isinstance(target, str):
            for change in select(target, changes):
                result[change.name] = grad
            continue
        try:
            if hasattr(target, "deref"):  # a tf.Variable's .ref()
                target = target.deref()
            name = by_key.get(id(underlying(target)))
        except Exception:
            name = None
        if name is not None:
            result[name] = grad
    return result


def _iterations_text(report) -> str:
    before, after = report.iterations_before, report.iterations_after
    names = sorted(set(before) & set(after))
    if not names:
        return ""
    return " (" + ", ".join(f"`{n}` stayed at {after[n]}" for n in names) + ")"


def diagnose(change, expected: str, report, gradients: dict) -> Cause:
    """Most likely reason why ``change`` is not ``expected`` (``"updated"`` or ``"frozen"``)."""
    name = change.name
    if change.verdict == REPLACED:
        if "Tensor" in (change.replaced_by or ""):
            return Cause(REPLACED_BY_TENSOR,
                         f"{change.replaced_by}, not the variable: `w = w - lr * g` builds a new tensor and "
                         f"leaves the variable behind. Update it in place: `w.assign_sub(lr * g)`.")
        return Cause(REPLACED_BY_TENSOR, f"{change.replaced_by}: the name was rebound instead of the "
                                         f"variable being updated in place (use `.assign(...)`).")
    if change.verdict == DELETED:
        return Cause(DELETED_VARIABLE, "it no longer exists: it was deleted, or is no longer reachable "
                                       "from what was tracked.")
    if change.verdict == CREATED:
        return Cause(CREATED_DURING_STEP, "it did not exist when the snapshot was taken: it was created "
                                          "during the step. Create variables once, before training.")
    if expected == UPDATED and change.verdict == FROZEN:
        return _why_frozen(change, report, gradients)
    if expected == FROZEN and change.verdict == UPDATED:
        return _why_updated(change, report)
    return Cause(UNEXPECTED_VERDICT, f"expected {expected}, found {change.verdict}.")


def _why_frozen(change, report, gradients) -> Cause:
    if change.is_metric_state:
        return Cause(METRIC_STATE,
                     "Update the metric in the step (`metric.update_state(y, predictions)`; `fit()` and "
                     "`evaluate()` do it on every batch): it is a metric's running state, which changes only "
                     "when the metric is updated or reset.")
    if change.is_seed_state or "seed_generator" in change.name:
        return Cause(INFERENCE_MODE,
                     "Call the model with `training=True`: it is random-number state, which advances only when "
                     "a layer draws random numbers (Dropout in training mode).")
    if change.is_optimizer_state:
        return Cause(OPTIMIZER_DID_NOT_STEP,
                     "it is optimizer state: it only changes when `optimizer.apply_gradients(...)` completes a "
                     "step, so the step never reached the optimizer (no gradients, or an error before "
                     "`apply_gradients`).")
    if not change.keras_tracked:
        return Cause(UNTRACKED_BY_KERAS,
                     "it is a plain tf.Variable stored on a Keras 3 layer. Keras does not track it (it is not "
                     "in `trainable_weights`; the summary says 'Trainable params: 0'), so fit() and the "
                     "optimizer never see it. Create it with `self.add_weight(...)` in the layer.")
    if change.dtype.startswith(("int", "uint", "bool", "string")):
        return Cause(INTEGER_DTYPE,
                     f"it has dtype {change.dtype}: gradients do not flow through integers (or strings), "
                     f"so its gradient is None. Use a float dtype, e.g. `tf.Variable(..., dtype=tf.float32)`.")
    # A forward pass in training mode moves these whatever the tape does: check the mode first.
    if "moving_" in change.name and (change.layer_class or "").startswith("BatchNormalization"):
        return Cause(INFERENCE_MODE,
                     "BatchNormalization updates its moving mean/variance only in training mode: the model ran "
                     "in inference mode. Call it with `training=True` in a custom step (`fit()` does this), "
                     "and don't freeze the layer if its statistics should adapt.")
    given = list(gradients.values())
    if not report.any_weight_changed and report.optimizer_stepped is not True \
            and (not given or all(g is None for g in given)):
        return _why_nothing_changed(report, bool(given))
    # A frozen flag explains a None gradient better than 'no path': the tape never watched it.
    if not change.trainable and not change.tf_trainable and report.any_weight_changed:
        return Cause(NOT_TRAINABLE,
                     "it has trainable=False: the tape does not watch it and the optimizer is not given it, so "
                     "training does not move it. If it stores a value (a log, a statistic), write it inside the "
                     "step with `var.assign(value)` (`var = value` only rebinds a name); if it should be "
                     "trained, create it with trainable=True.")
    if not change.trainable:
        if change.tf_trainable:
            return Cause(LAYER_FROZEN,
                         "its layer has trainable=False, so it is left out of `trainable_weights` and never "
                         "updated. Set `layer.trainable = True` and call `model.compile()` again.")
        return Cause(NOT_TRAINABLE,
                     "it has trainable=False: it is left out of `trainable_weights`/`trainable_variables` "
                     "and the tape does not watch it by default, so its gradient is None. Make it trainable, "
                     "or `tape.watch()` it and pass it to the optimizer.")
    if change.name in gradients and gradients[change.name] is None:
        return Cause(GRADIENT_NONE,
                     "its gradient is None: there is no differentiable path from it to the loss inside the "
                     "tape (it was used outside the tape, through NumPy or Python values, through a stateful "
                     "object such as an iterator, or not used by the loss at all).")
    if report.only_non_trainable_changed:
        return Cause(ONLY_NON_TRAINABLE_CHANGED,
                     "only non-trainable variables (such as BatchNormalization moving statistics) changed: the "
                     "model ran in training mode but no gradient update was applied. Check that the loss is "
                     "computed inside the tape and that `apply_gradients` is called, and that the loss is not read back "
                     "from a variable written with `assign` inside the tape (`assign` has no gradient).")
    return Cause(NOT_IN_UPDATE,
                 "other variables changed but not this one: it was not in the list given to "
                 "`tape.gradient`/`apply_gradients`, or the tape did not watch it (its gradient is None).")


def _why_nothing_changed(report, all_given_none: bool) -> Cause:
    prefix = "every gradient is None and " if all_given_none else ""
    if report.optimizer_stepped is False:
        return Cause(LOSS_OUTSIDE_TAPE,
                     f"{prefix}nothing changed and the optimizer never stepped{_iterations_text(report)}: the "
                     f"loss was most likely computed outside the `with tf.GradientTape()` block, so the tape "
                     f"recorded nothing ('No gradients provided for any variable').")
    return Cause(LOSS_OUTSIDE_TAPE,
                 f"{prefix}nothing changed at all: the training step did not run or raised an error, or the "
                 f"loss was computed outside the `with tf.GradientTape()` block so every gradient is None, or the "
                 f"variable was rebound inside a function (`w = w - lr * g`) instead of updated in place "
                 f"(`w.assign_sub(lr * g)`).")


def _why_updated(change, report) -> Cause:
    if change.is_optimizer_state:
        return Cause(OPTIMIZER_STEPPED, "it is optimizer state: it changes whenever the optimizer steps.")
    if change.is_metric_state:
        return Cause(METRIC_STATE, "it is a metric's running state: every `update_state` (`fit()` and `evaluate()` "
                                   "call it on each batch) and every `reset_state()` changes it.")
    if change.is_seed_state:
        return Cause(SEED_STATE, "it is random-number state: it advances whenever a layer such as Dropout draws "
                                 "random numbers (training mode). Call the model with `training=False` if it "
                                 "must stay unchanged.")
    if not change.trainable and (change.layer_class or "").startswith("BatchNormalization") \
            and "moving_" in change.name:
        return Cause(BATCHNORM_TRAINING_MODE,
                     "BatchNormalization updates its moving mean/variance whenever it runs in training mode "
                     "(`fit()`, or `layer(x, training=True)`). Freeze the layer (`trainable=False` makes it run "
                     "in inference mode) and recompile; in a custom step, call it with `training=False` (inside "
                     "`fit()` on Keras 3.15, a `training=False` recorded in a functional model is overridden).")
    if not change.trainable and change.tf_trainable:
        # A compiled model points at a freeze after fit(); a model that never was compiled, at a custom
        # loop; without that evidence, an optimizer that stepped points at fit() too.
        if change.compiled_model or (change.compiled_model is None and report.optimizer_stepped):
            return Cause(FROZEN_AFTER_FIT,
                         "Call `model.compile()` again after freezing (or any change of `trainable`): its layer "
                         "has trainable=False, yet the optimizer updated it, because the layer was frozen after the "
                         "model's first `fit()`. That `fit()` traced a training function holding the old list of "
                         "trainable weights, and later `fit()` calls reuse it without a warning until `compile()` "
                         "runs again (a freeze after `compile()` but before the first `fit()` works). In your own "
                         "loop, pass `model.trainable_weights`, not `model.weights`.")
        return Cause(NON_TRAINABLE_GIVEN_TO_OPTIMIZER,
                     "Pass `model.trainable_weights` to `tape.gradient` and the optimizer: its layer has "
                     "trainable=False, yet it changed, so it was passed to the optimizer via `model.weights` "
                     "instead of `model.trainable_weights` (or via `tape.watched_variables()`: a tape watches the "
                     "`tf.Variable` underneath, which keeps trainable=True), or assigned directly.")
    if not change.trainable:
        return Cause(NON_TRAINABLE_GIVEN_TO_OPTIMIZER,
                     "it has trainable=False, yet it changed: it was handed to the optimizer explicitly "
                     "(`model.weights` instead of `model.trainable_weights`, or `tape.watch()` plus "
                     "`apply_gradients`), or assigned directly.")
    if change.layer_name is not None and change.layer_trainable:
        return _layer_never_frozen(change)
    return Cause(TRAINABLE_CHANGED,
                 "it is trainable and was in the variables given to the optimizer (or assigned directly). "
                 "Freeze it with `trainable=False` before `compile()`, or leave it out of the list you pass "
                 "to `apply_gradients`.")


def _layer_never_frozen(change) -> Cause:
    """A variable that should be frozen belongs to a layer whose own `trainable` flag is still True."""
    layer = change.layer_name
    parents = [name for name, _ in change.layer_parents]
    frozen_parents = [name for name, trainable in change.layer_parents if not trainable]
    outer = f"`{parents[0]}`" if parents else ""
    never = f"the `trainable` flag was never set on `{layer}`"
    if parents and not frozen_parents:
        never += f" nor on {outer} around it (all still True)"
    elif frozen_parents:
        never += (f" (`{frozen_parents[-1]}` around it has trainable=False, but `{layer}` was set back to True "
                  f"afterwards: the layer's own flag decides)")
    never += ", so it stays in `trainable_weights`."
    where = ""
    if parents:
        chain = " inside ".join(f"`{name}`" for name in reversed(parents))
        where = (f" `{layer}` sits nested inside {chain}: `model.layers` and `model.get_layer()` see only the top "
                 f"level, so a loop over them never reaches it; walk the nested layers (`model._flatten_layers()`, "
                 f"or a recursive walk over each layer's `.layers`).")
    where_to_set = f"the layer `{layer}` itself" + (
        f" (or on {outer}, which contains it, if everything in {outer} should be frozen)" if parents else "")
    if change.compiled_model:
        return Cause(LAYER_NOT_FROZEN,
                     f"Freeze it with `trainable=False` on {where_to_set}, then `compile()`: {never}{where}")
    return Cause(LAYER_NOT_FROZEN,
                 f"Leave it out of the variables you pass to `tape.gradient`/`apply_gradients`. Freeze it with "
                 f"`trainable=False` on {where_to_set} if it should also leave `model.trainable_weights`: "
                 f"{never}{where}")
