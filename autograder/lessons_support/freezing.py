"""Checks for lesson 7 (freezing layers): each failure says what to fix first, in the student's terms.

``check_frozen_flags(model, layer_names)`` checks the ``trainable`` flags after ``freeze(model,
layer_names, optimizer)``; ``check_weight_lists(model, updated, frozen)`` checks the shape of the
answer of ``weights_changed_by_fit`` (every weight of ``model.weights`` exactly once, sorted lists)
before the tracker checks the verdicts.
"""

from __future__ import annotations


def nested_layers(model) -> list:
    """Every layer inside ``model``, recursively (nested models included), parents first."""
    found = []
    for layer in getattr(model, "layers", []):
        found.append(layer)
        found += nested_layers(layer)
    return found


def _should_freeze(model, layer_names) -> set:
    names = set()
    for layer in nested_layers(model):
        if layer.name in layer_names:
            names |= {layer.name} | {inner.name for inner in nested_layers(layer)}
    return names


def check_frozen_flags(model, layer_names) -> None:
    """Assert that exactly the named layers (and every layer inside a named sub-model) have trainable=False."""
    should_freeze = _should_freeze(model, layer_names)
    top_level = [layer.name for layer in model.layers]
    for layer in nested_layers(model):
        if not layer.weights:
            continue
        expected = layer.name not in should_freeze
        if layer.trainable == expected:
            continue
        if expected:
            fix = (f"leave `{layer.name}` trainable: it is not in {list(layer_names)}, yet its flag is now False "
                   f"(set the flag only on the named layers)")
        elif not any(v.trainable for v in layer.weights):
            fix = (f"set `trainable = False` on the layer `{layer.name}` itself, not on its variables: its "
                   f"variables say trainable=False, but the layer's own flag is still True (a BatchNormalization "
                   f"layer then keeps running in training mode)")
        elif layer.name not in top_level:
            fix = (f"set `trainable = False` on `{layer.name}` too: it sits inside a nested model, and "
                   f"`model.layers` lists only the top level ({', '.join(top_level)}), so a loop over it never "
                   f"reaches `{layer.name}`; walk the nested layers (`all_layers(model)` from section 5)")
        else:
            fix = f"set `trainable = False` on the layer `{layer.name}`: its flag was never set"
        raise AssertionError(f"{fix[0].upper()}{fix[1:]}. Layer `{layer.name}` has trainable={layer.trainable} "
                             f"after freeze(model, {list(layer_names)}, ...).")


def check_weight_lists(model, updated, frozen) -> None:
    """Assert that ``updated`` and ``frozen`` are sorted lists holding every path of ``model.weights`` once."""
    updated, frozen = list(updated), list(frozen)
    paths = sorted(v.path for v in model.weights)
    given = updated + frozen
    extra = sorted(set(given) - set(paths))
    assert not extra, (
        f"Return only the model's weights (the `v.path` of each variable in `model.weights`): {extra} are not "
        f"weights of the model (a snapshot of a compiled model also holds its metrics' variables, such as "
        f"`loss/total`).")
    missing = sorted(set(paths) - set(given))
    assert not missing, f"Put every weight in one of the two lists: {missing} are in neither."
    twice = sorted({p for p in given if given.count(p) > 1})
    assert not twice, f"Put each weight in only one of the two lists: {twice} appear more than once."
    assert updated == sorted(updated) and frozen == sorted(frozen), "Return both lists sorted (`sorted(...)`)."
