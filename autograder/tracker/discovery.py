"""Find the variables a snapshot should follow and give each the name a student sees.

Accepted targets: ``tf.Variable`` (including distributed variables), ``keras.Variable``,
Keras layers and models (every variable in ``model.variables``, so the random-number state of
a ``Dropout`` layer's ``SeedGenerator`` too, and for a compiled model the variables of its
compiled metrics, ``model.metrics_variables``), Keras metrics, ``keras.random.SeedGenerator``,
Keras optimizers (their ``variables``: ``iteration``, ``learning_rate`` and slot variables),
``tf.Module`` and lists / tuples / dicts / sets of these.  :func:`discover_namespace` walks a notebook's ``globals()`` the same way and also
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
ROLE_METRIC = "metric"  # a metric's running state (`total`, `count`, ...)
ROLE_SEED = "seed"  # a SeedGenerator's state: advances whenever a layer draws random numbers

_KERAS_VARIABLE = getattr(keras, "Variable", ())
_LAYER = keras.layers.Layer
_OPTIMIZER = keras.optimizers.Optimizer
_METRIC = getattr(getattr(keras, "metrics", None), "Metric", ())
_SEED_GENERATOR = getattr(getattr(keras, "random", None), "SeedGenerator", ())
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
    layer_name: str | None = None  # the innermost Keras layer holding it
    layer_trainable: bool | None = None  # that layer's own `trainable` flag
    layer_parents: tuple = ()  # (name, trainable) of the layers around it, below the snapshot's target
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
                     layer_class=None, binding=None, compiled_model=None, owner=None):
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
        else:  # reached again: keep the first name, add what this path knows
            if compiled_model is not None and record.compiled_model is None:
                record.compiled_model = compiled_model
            if role != ROLE_WEIGHT and record.role == ROLE_WEIGHT:
                record.role = role
            if layer_class is not None and record.layer_class is None:
                record.layer_class = layer_class
        if owner is not None and record.layer_name is None:
            record.layer_name, record.layer_trainable, record.layer_parents = owner
        if binding is not None and binding not in record.bindings:
            record.bindings.append(binding)

    def add_layer(self, layer):
        """Every variable of ``layer.variables`` (weights and seed state), its compiled metrics' variables,
        and raw ``tf.Variable`` attributes that Keras 3 does not track."""
        owner = {}  # id(variable) -> (innermost layer, enclosing layers below `layer`)
        seeds = set()  # ids of SeedGenerator states
        sublayers = []
        for sub, parents in _layer_tree(layer):
            sublayers.append(sub)
            for var in _own_variables(sub):
                owner[id(var)] = (sub, parents)  # sublayers come after their parents: innermost wins
            for generator in getattr(sub, "_seed_generators", None) or ():
                state = getattr(generator, "state", None)
                seeds.add(id(state))
                owner[id(state)] = (sub, parents)
        # Only a Keras model has `compiled`; for a bare layer the evidence is unknown (None).
        compiled = bool(layer.compiled) if isinstance(getattr(layer, "compiled", None), bool) else None
        variables = list(_variables(layer))
        for var in variables:
            sub, parents = owner.get(id(var), (None, ()))
            info = None if sub is None else (
                sub.name, bool(sub.trainable), tuple((p.name, bool(p.trainable)) for p in parents))
            self.add_variable(var, role=ROLE_SEED if id(var) in seeds else ROLE_WEIGHT,
                              layer_class=type(sub).__name__ if sub is not None else None,
                              compiled_model=compiled, owner=info)
        tracked = {id(underlying(v)) for v in variables}
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
        for var in _metrics_variables(layer):
            self.add_variable(var, role=ROLE_METRIC)

    def add_metric(self, metric):
        for var in metric.variables:
            self.add_variable(var, role=ROLE_METRIC)

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
            elif _METRIC and isinstance(obj, _METRIC):
                self._seen.add(id(obj))
                self.add_metric(obj)
            elif _SEED_GENERATOR and isinstance(obj, _SEED_GENERATOR):
                self._seen.add(id(obj))
                self.add_variable(obj.state, role=ROLE_SEED)
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
                kinds = tuple(k for k in (_LAYER, _OPTIMIZER, tf.Module, _METRIC, _SEED_GENERATOR) if k)
                items = [v for v in obj if is_variable(v) or isinstance(v, kinds)]
                for v in items:
                    self.walk(v, None, depth + 1)
        except Exception:  # odd objects (lazy proxies, half-built layers) must not crash a grader
            return


def _layer_tree(root):
    """``(layer, enclosing layers)`` for ``root`` and every layer inside it, parents before children.

    The enclosing layers are those between ``root`` (excluded) and the layer: ``()`` for ``root`` and
    its direct sublayers, ``(base,)`` for a layer inside a nested model ``base``.
    """
    stack = [(root, (), False)]
    while stack:
        layer, parents, below_root = stack.pop(0)
        yield layer, parents
        try:
            children = layer._flatten_layers(include_self=False, recursive=False)
        except Exception:
            children = []
        inner = (*parents, layer) if below_root else parents
        stack[0:0] = [(child, inner, True) for child in children]


def _own_variables(layer):
    """The variables a layer holds itself (not through its sublayers); its weights if unknown."""
    own = getattr(layer, "_trainable_variables", None)
    if own is None:
        return list(getattr(layer, "weights", []))
    return list(own) + list(getattr(layer, "_non_trainable_variables", []))


def _variables(layer):
    """``layer.variables`` (weights and SeedGenerator states); ``layer.weights`` where that fails."""
    try:
        return list(layer.variables)
    except Exception:
        return list(layer.weights)


def _metrics_variables(layer):
    """Variables of a compiled model's metrics (loss tracker, compiled metrics): ``metrics_variables``."""
    try:
        return list(getattr(layer, "metrics_variables", None) or [])
    except Exception:
        return []


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
