"""Find the variables a snapshot should follow and give each the name a student sees.

Accepted targets: ``tf.Variable`` (including distributed variables), ``keras.Variable``,
Keras layers and models, Keras optimizers (their ``variables``: ``iteration``,
``learning_rate`` and slot variables), ``tf.Module`` and lists / tuples / dicts / sets of
these.  :func:`discover_namespace` walks a notebook's ``globals()`` the same way and also
records which global name (or ``name[index]`` entry of a global container) pointed at
which variable, so that a rebinding such as ``w = w - lr * g`` can be reported.

Names: Keras 3 variables are named by ``variable.path`` (``sequential/dense/kernel``,
``adam/iteration``); plain TensorFlow variables by ``variable.name`` without the ``:0``
suffix.  A plain ``tf.Variable`` left with TensorFlow's default name (``Variable``) that a
global points at is shown under that global's name.  A raw ``tf.Variable`` stored as an
attribute of a Keras layer (which Keras 3 does *not* track) is shown as
``<layer path>/<attribute>``.

Trainable flag: for Keras variables the Keras flag is reported.  On Keras 3,
``layer.trainable = False`` makes ``keras.Variable.trainable`` False while the wrapped
``tf.Variable`` (``v.value``) keeps ``trainable=True``; both are recorded
(``trainable`` and ``tf_trainable``).
"""

from __future__ import annotations

import re
import types
from dataclasses import dataclass, field

import tensorflow as tf

try:  # Keras 3 is the supported version; keep working with tf.keras if it is absent.
    import keras
except ImportError:  # pragma: no cover
    keras = tf.keras

ROLE_WEIGHT = "weight"
ROLE_OPTIMIZER = "optimizer"
ROLE_ITERATIONS = "iterations"

_KERAS_VARIABLE = getattr(keras, "Variable", ())
_LAYER = keras.layers.Layer
_OPTIMIZER = keras.optimizers.Optimizer
_MAX_DEPTH = 6
# IPython history and helpers that live in a notebook's globals().
_SKIPPED_GLOBALS = {"In", "Out", "exit", "quit", "get_ipython"}
_DEFAULT_TF_NAME = re.compile(r"^Variable(_\d+)?$")


@dataclass
class TrackedVariable:
    """One variable followed by a snapshot (evidence for verdicts and diagnosis)."""

    key: int  # id() of the underlying tf.Variable: the identity used for deduplication
    variable: object  # what the student holds (keras.Variable or tf.Variable)
    tf_variable: object  # the underlying tf.Variable that stores the value
    base_name: str
    role: str = ROLE_WEIGHT
    trainable: bool = True  # Keras flag for Keras variables, tf flag otherwise
    tf_trainable: bool = True
    keras_tracked: bool = True  # False for a raw tf.Variable attribute of a Keras layer
    layer_class: str | None = None
    compiled_model: bool | None = None  # reached through a Keras model: was it compiled? (None: unknown)
    bindings: list = field(default_factory=list)
    name: str = ""

    @property
    def dtype(self) -> str:
        return self.tf_variable.dtype.name

    @property
    def shape(self) -> tuple:
        return tuple(int(d) if d is not None else -1 for d in self.tf_variable.shape)


def is_variable(obj) -> bool:
    """True for a ``tf.Variable`` (incl. distributed) or a ``keras.Variable``."""
    return isinstance(obj, tf.Variable) or (bool(_KERAS_VARIABLE) and isinstance(obj, _KERAS_VARIABLE))


def underlying(var):
    """The ``tf.Variable`` that stores a variable's value (itself for a tf.Variable)."""
    if _KERAS_VARIABLE and isinstance(var, _KERAS_VARIABLE):
        return getattr(var, "_value", None)
    return var


def strip_suffix(name: str) -> str:
    """``dense/kernel:0`` -> ``dense/kernel``."""
    return re.sub(r":\d+$", "", name)


def describe_object(obj) -> str:
    """Short, address-free description of what a name now points at."""
    if obj is _MISSING:
        return "nothing (deleted)"
    if is_variable(obj):
        return "a different variable"
    if tf.is_tensor(obj):
        return "a tf.Tensor"
    kind = type(obj)
    module = kind.__module__.split(".")[0]
    return f"a {kind.__name__}" if module == "builtins" else f"a {module}.{kind.__name__}"


class _Missing:
    def __repr__(self):
        return "<missing>"


_MISSING = _Missing()


class Registry:
    """Ordered, deduplicated collection of :class:`TrackedVariable` built by a walk."""

    def __init__(self):
        self.records: dict[int, TrackedVariable] = {}
        self._seen: set[int] = set()

    # -- adding variables -------------------------------------------------------------
    def add_variable(self, var, role=ROLE_WEIGHT, base_name=None, keras_tracked=True,
                     layer_class=None, binding=None, compiled_model=None):
        tf_var = underlying(var)
        if tf_var is None:  # a Keras variable that is not built yet
            return
        key = id(tf_var)
        record = self.records.get(key)
        if record is None:
            is_keras = tf_var is not var
            if base_name is None:
                base_name = var.path if is_keras and getattr(var, "path", None) else strip_suffix(tf_var.name)
            record = TrackedVariable(
                key=key, variable=var, tf_variable=tf_var, base_name=base_name, role=role,
                trainable=bool(var.trainable), tf_trainable=bool(tf_var.trainable),
                keras_tracked=keras_tracked, layer_class=layer_class, compiled_model=compiled_model)
            self.records[key] = record
        elif compiled_model is not None and record.compiled_model is None:
            record.compiled_model = compiled_model
        elif role != ROLE_WEIGHT and record.role == ROLE_WEIGHT:
            record.role = role
        if binding is not None and binding not in record.bindings:
            record.bindings.append(binding)

    def add_layer(self, layer):
        sublayers = layer._flatten_layers() if hasattr(layer, "_flatten_layers") else [layer]
        owner = {}  # innermost layer owning each variable (sublayers come after their parents)
        for sub in sublayers:
            for var in sub.weights:
                owner[id(var)] = type(sub).__name__
        # Only a Keras model has `compiled`; for a bare layer the evidence is unknown (None).
        compiled = bool(layer.compiled) if isinstance(getattr(layer, "compiled", None), bool) else None
        for var in layer.weights:
            self.add_variable(var, layer_class=owner.get(id(var)), compiled_model=compiled)
        tracked = {id(underlying(v)) for v in layer.weights}
        # Raw tf.Variables assigned as layer attributes: Keras 3 does not track them.
        for sub in sublayers:
            for attr, value in sorted(vars(sub).items()):
                values = value if isinstance(value, (list, tuple)) else [value]
                for i, item in enumerate(values):
                    if isinstance(item, tf.Variable) and not isinstance(item, _KERAS_VARIABLE or ()) \
                            and id(item) not in tracked:
                        suffix = attr if values is not value else f"{attr}[{i}]"
                        self.add_variable(item, base_name=f"{sub.path}/{suffix}", keras_tracked=False,
                                          layer_class=type(sub).__name__)

    def add_optimizer(self, optimizer):
        inner = getattr(optimizer, "inner_optimizer", None)
        iterations = [getattr(o, "iterations", None) for o in (optimizer, inner) if o is not None]
        iteration_keys = {id(underlying(v)) for v in iterations if v is not None}
        for var in optimizer.variables:
            role = ROLE_ITERATIONS if id(underlying(var)) in iteration_keys else ROLE_OPTIMIZER
            self.add_variable(var, role=role)

    # -- walking ----------------------------------------------------------------------
    def walk(self, obj, binding=None, depth=0):
        """Add every variable reachable from ``obj``; ignore anything else."""
        if depth > _MAX_DEPTH:
            return
        try:
            if is_variable(obj):
                self.add_variable(obj, binding=binding)
                return
            if isinstance(obj, (str, bytes, types.ModuleType, type)) or id(obj) in self._seen:
                return
            if isinstance(obj, _LAYER):
                self._seen.add(id(obj))
                self.add_layer(obj)
            elif isinstance(obj, _OPTIMIZER):
                self._seen.add(id(obj))
                self.add_optimizer(obj)
            elif isinstance(obj, tf.Module):
                self._seen.add(id(obj))
                for var in obj.variables:
                    self.add_variable(var)
            elif isinstance(obj, dict):
                self._seen.add(id(obj))
                for k, v in list(obj.items()):
                    self.walk(v, _child(binding, repr(k)), depth + 1)
            elif isinstance(obj, (list, tuple)):
                self._seen.add(id(obj))
                for i, v in enumerate(obj):
                    self.walk(v, _child(binding, str(i)), depth + 1)
            elif isinstance(obj, (set, frozenset)):
                self._seen.add(id(obj))
                items = [v for v in obj if is_variable(v) or isinstance(v, (_LAYER, _OPTIMIZER, tf.Module))]
                for v in items:
                    self.walk(v, None, depth + 1)
        except Exception:  # odd objects (lazy proxies, half-built layers) must not crash a grader
            return


def _child(binding, index):
    # Bindings are kept only for a global and its direct container entries.
    if binding is None or "[" in binding:
        return None
    return f"{binding}[{index}]"


def _namespace_items(namespace):
    return [(k, v) for k, v in namespace.items() if not k.startswith("_") and k not in _SKIPPED_GLOBALS]


def discover(targets=(), namespace=None) -> list[TrackedVariable]:
    """Return the tracked variables reachable from ``targets`` and/or ``namespace``.

    Order is deterministic: discovery order (targets first, then the namespace in its
    insertion order).  Each variable appears once even when reachable several times.
    """
    registry = Registry()
    for target in targets:
        registry.walk(target)
    if namespace is not None:
        for name, value in _namespace_items(namespace):
            registry.walk(value, binding=name)
    records = list(registry.records.values())
    _assign_names(records)
    return records


def resolve_binding(namespace, binding):
    """Current object at ``name`` or ``name[index]`` in ``namespace`` (``_MISSING`` if gone)."""
    match = re.fullmatch(r"([^\[]+)(?:\[(.+)\])?", binding)
    name, index = match.group(1), match.group(2)
    if name not in namespace:
        return _MISSING
    obj = namespace[name]
    if index is None:
        return obj
    try:
        if isinstance(obj, dict):
            for k, v in obj.items():
                if repr(k) == index:
                    return v
            return _MISSING
        return obj[int(index)]
    except Exception:
        return _MISSING


def _assign_names(records):
    for rec in records:
        name = rec.base_name
        plain_default = rec.tf_variable is rec.variable and _DEFAULT_TF_NAME.match(name)
        if plain_default and rec.bindings:
            name = rec.bindings[0]
        rec.name = name
    counts: dict[str, int] = {}
    for rec in records:
        n = counts.get(rec.name, 0) + 1
        counts[rec.name] = n
        if n > 1:
            rec.name = f"{rec.name}#{n}"
