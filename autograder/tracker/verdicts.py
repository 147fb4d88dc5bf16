"""Per-variable verdicts and the exact value comparison behind them.

``frozen`` means bit-for-bit unchanged, and it is proven, never estimated:

* the snapshot keeps a reference to the tensor TensorFlow returns when the variable is
  read.  On CPU that tensor shares the variable's buffer (no copy).  TensorFlow never
  writes into a buffer someone else still references: an update first copies it
  (copy-on-write), so the held tensor keeps the old value for as long as we hold it.
* at comparison time, if the variable still reads back *the same buffer*, nothing can
  have been written to it: frozen, at no cost.  Otherwise the two buffers are compared
  byte for byte (so ``-0.0`` vs ``0.0`` counts as a change and an unchanged ``NaN`` does
  not), and max |delta| and relative change are computed for changed variables.

Relative change is ||after - before|| / ||before||; when ``before`` is all zeros it is
||after - before|| / ||after||, i.e. 1.0 for a change from zero and 0 for no change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

UPDATED = "updated"
FROZEN = "frozen"
CREATED = "created"
REPLACED = "replaced"
DELETED = "deleted"
VERDICTS = (UPDATED, FROZEN, CREATED, REPLACED, DELETED)

_CHUNK = 1 << 16  # elements per pass: keeps the temporaries in the CPU cache


@dataclass
class VariableChange:
    """What happened to one variable between the snapshot and the comparison."""

    name: str
    verdict: str
    trainable: bool
    shape: tuple
    dtype: str
    max_abs_delta: float | None = None
    rel_change: float | None = None
    role: str = "weight"
    tf_trainable: bool = True
    keras_tracked: bool = True
    layer_class: str | None = None
    compiled_model: bool | None = None
    layer_name: str | None = None  # innermost Keras layer holding the variable
    layer_trainable: bool | None = None  # that layer's own `trainable` flag
    layer_parents: tuple = ()  # (name, trainable) of the layers enclosing it, below the snapshot's target
    bindings: list = field(default_factory=list)
    replaced_by: str | None = None  # e.g. "a tf.Tensor" when a global was rebound
    key: int | None = field(default=None, repr=False, compare=False)  # identity, never displayed

    @property
    def is_weight(self) -> bool:
        """A model or free variable, not state kept by an optimizer, a metric or a random generator."""
        return self.role == "weight"

    @property
    def is_optimizer_state(self) -> bool:
        return self.role in ("optimizer", "iterations")

    @property
    def is_metric_state(self) -> bool:
        return self.role == "metric"

    @property
    def is_seed_state(self) -> bool:
        return self.role == "seed"


def host_array(tensor) -> np.ndarray:
    """NumPy view of an eager tensor (no copy on CPU; a host copy for device tensors)."""
    numpy = getattr(tensor, "_numpy", None)
    return np.asarray(numpy() if numpy is not None else tensor)


def same_buffer(a: np.ndarray, b: np.ndarray) -> bool:
    """True when both arrays are the very same memory (so, while held, the same bytes)."""
    if a.dtype != b.dtype or a.shape != b.shape or a.dtype == object or a.nbytes == 0:
        return False
    return a.__array_interface__["data"][0] == b.__array_interface__["data"][0]


def _bitwise_equal(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype == object:
        return bool(np.array_equal(a, b))
    a, b = np.ascontiguousarray(a).reshape(-1), np.ascontiguousarray(b).reshape(-1)
    return bool(np.array_equal(a.view(np.uint8), b.view(np.uint8)))


def _is_numeric(dtype: np.dtype) -> bool:
    # ml_dtypes types (bfloat16, float8_*) have kind "V" but convert to float32 fine.
    return dtype.kind in "biuf" or dtype.name.startswith(("bfloat16", "float8", "int4", "uint4"))


def _work_dtype(dtype: np.dtype):
    if dtype.kind == "f" and dtype.itemsize <= 4 or dtype.kind == "V":
        return np.float32
    return np.float64


def compare_values(before: np.ndarray, after: np.ndarray):
    """Return ``(changed, max_abs_delta, rel_change)`` for two arrays of a variable.

    Exact: ``changed`` is False only when the bytes are identical.
    """
    if before.shape != after.shape or before.dtype != after.dtype:
        changed = True
    elif same_buffer(before, after):
        return False, 0.0, 0.0
    elif not _is_numeric(before.dtype):
        changed = not _bitwise_equal(before, after)
        return changed, None, None
    else:
        changed = None  # decided below from the statistics
    if before.shape != after.shape:
        return True, None, None
    work = _work_dtype(before.dtype)
    flat_b, flat_a = before.reshape(-1), after.reshape(-1)
    max_abs, diff_sq, before_sq, after_sq, saw_nan = 0.0, 0.0, 0.0, 0.0, False
    for start in range(0, flat_b.size, _CHUNK):
        b = flat_b[start:start + _CHUNK].astype(work, copy=False)
        a = flat_a[start:start + _CHUNK].astype(work, copy=False)
        d = np.subtract(a, b)
        high, low = float(d.max()), float(d.min())
        saw_nan = saw_nan or math.isnan(high) or math.isnan(low)
        max_abs = max(max_abs, high, -low)
        diff_sq += float(np.dot(d, d))
        before_sq += float(np.dot(b, b))
        if before_sq == 0.0:
            after_sq += float(np.dot(a, a))
    if changed is None:
        # Any non-zero difference proves a change; only an all-zero (or NaN) difference
        # needs the byte comparison (e.g. -0.0 vs 0.0, or NaN stayed NaN).
        changed = True if max_abs > 0 else not _bitwise_equal(before, after)
    if not changed:
        return False, 0.0, 0.0
    reference = before_sq if before_sq > 0 else after_sq
    rel = math.sqrt(diff_sq) / math.sqrt(reference) if reference > 0 else (0.0 if diff_sq == 0 else math.nan)
    if saw_nan:
        max_abs, rel = math.nan, math.nan
    return True, max_abs, rel
