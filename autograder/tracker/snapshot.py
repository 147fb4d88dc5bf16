"""Take a snapshot of variables before a step and compare after it.

Memory: the snapshot holds the tensors TensorFlow returns when reading each variable
(on CPU these share the variable's buffer, so taking a snapshot copies nothing).  A
training step that updates a variable then writes to a fresh buffer instead of in place
(TensorFlow's copy-on-write), so the extra memory is at most one copy of the variables
that actually changed, and frozen variables cost nothing.  See :mod:`.verdicts`.
"""

from __future__ import annotations

from contextlib import contextmanager

from .discovery import (ROLE_ITERATIONS, TrackedVariable, _MISSING, describe_object, discover,
                        is_variable, resolve_binding, underlying)
from .report import ChangeReport
from .verdicts import CREATED, DELETED, FROZEN, REPLACED, UPDATED, VariableChange, compare_values, host_array


def _read(record: TrackedVariable):
    """Current value of a variable as an eager tensor (aliases the buffer on CPU)."""
    return record.tf_variable.read_value()


def _iterations(records, values) -> dict:
    return {r.name: int(host_array(values[r.key])) for r in records if r.role == ROLE_ITERATIONS}


class Snapshot:
    """Values of a set of variables at one moment; :meth:`compare` reports what changed."""

    def __init__(self, targets=(), namespace=None):
        self._targets = tuple(targets)
        self._namespace = namespace
        self.records = discover(self._targets, namespace)
        self._values = {r.key: _read(r) for r in self.records}
        self._iterations_before = _iterations(self.records, self._values)

    @property
    def names(self) -> list[str]:
        """Displayed names of the variables in the snapshot, in discovery order."""
        return [r.name for r in self.records]

    def compare(self) -> ChangeReport:
        """Re-discover the targets, compare every variable, and return a :class:`ChangeReport`."""
        now = discover(self._targets, self._namespace)
        now_by_key = {r.key: r for r in now}
        changes = []
        for rec in self.records:
            current = now_by_key.get(rec.key)
            replaced_by = self._rebinding(rec)
            change = self._change_for(rec, current if current is not None else rec)
            if replaced_by is not None:
                change.verdict, change.replaced_by = REPLACED, replaced_by
            elif current is None:
                change.verdict = DELETED
            changes.append(change)
        known = {r.key for r in self.records}
        taken = {c.name for c in changes}
        for rec in now:
            if rec.key not in known:
                change = _make_change(rec, CREATED)
                if change.name in taken:  # a new variable under an old name, e.g. `w = tf.Variable(...)` again
                    change.name = f"{change.name} (new)"
                changes.append(change)
        after_values = {r.key: _read(r) for r in now if r.role == ROLE_ITERATIONS}
        iterations_after = _iterations([r for r in now if r.role == ROLE_ITERATIONS], after_values)
        return ChangeReport(changes, self._iterations_before, iterations_after)

    def _rebinding(self, rec):
        if self._namespace is None:
            return None
        for binding in rec.bindings:
            obj = resolve_binding(self._namespace, binding)
            if obj is _MISSING or _same_variable(obj, rec):
                continue
            return f"`{binding}` now holds {describe_object(obj)}"
        return None

    def _change_for(self, rec: TrackedVariable, current: TrackedVariable) -> VariableChange:
        before = host_array(self._values[rec.key])
        after = host_array(_read(current))
        changed, max_abs, rel = compare_values(before, after)
        change = _make_change(current, UPDATED if changed else FROZEN, rec.name)
        change.max_abs_delta, change.rel_change = max_abs, rel
        change.bindings = list(rec.bindings)
        return change


def _same_variable(obj, rec) -> bool:
    return is_variable(obj) and id(underlying(obj)) == rec.key


def _make_change(rec: TrackedVariable, verdict: str, name: str | None = None) -> VariableChange:
    return VariableChange(
        name=name or rec.name, verdict=verdict, trainable=rec.trainable, shape=rec.shape,
        dtype=rec.dtype, role=rec.role, tf_trainable=rec.tf_trainable,
        keras_tracked=rec.keras_tracked, layer_class=rec.layer_class, compiled_model=rec.compiled_model,
        layer_name=rec.layer_name, layer_trainable=rec.layer_trainable, layer_parents=tuple(rec.layer_parents),
        bindings=list(rec.bindings),
        key=rec.key)


def snapshot(*targets, namespace=None) -> Snapshot:
    """Snapshot the variables of ``targets`` (variables, layers, models, optimizers,
    ``tf.Module``s, or containers of them) and/or of a ``namespace`` such as ``globals()``.

    >>> snap = snapshot(model, optimizer)
    >>> train_step()
    >>> snap.compare().expect(updated="dense/kernel")
    """
    if not targets and namespace is None:
        raise ValueError("snapshot() needs something to follow: snapshot(model, optimizer) "
                         "or snapshot(namespace=globals())")
    return Snapshot(targets, namespace)


class Tracking:
    """Handle returned by :func:`track`; ``report`` is filled when the block exits."""

    def __init__(self, snap: Snapshot):
        self.snapshot = snap
        self.report: ChangeReport | None = None


@contextmanager
def track(*targets, namespace=None):
    """Context-manager form of :func:`snapshot`: compare automatically on exit.

    >>> with track(model, optimizer) as t:
    ...     train_step()
    >>> t.report.expect(updated="dense/*")

    The report is produced even if the block raises, then the exception propagates.
    """
    handle = Tracking(snapshot(*targets, namespace=namespace))
    try:
        yield handle
    finally:
        handle.report = handle.snapshot.compare()
