"""The result of comparing a snapshot with the present: :class:`ChangeReport`."""

from __future__ import annotations

from . import display
from .patterns import PatternError, select
from .verdicts import CREATED, DELETED, FROZEN, REPLACED, UPDATED, VERDICTS, VariableChange


class ChangeReport:
    """Per-variable verdicts plus the evidence used to explain failures.

    ``updated``, ``frozen``, ``created``, ``replaced`` and ``deleted`` are lists of
    displayed names; ``report[pattern]`` returns one :class:`VariableChange`.
    """

    def __init__(self, changes: list[VariableChange], iterations_before: dict, iterations_after: dict):
        self.changes = changes
        self.iterations_before = iterations_before
        self.iterations_after = iterations_after
        self.expectation = None  # the last ExpectationResult, shown in displays and JSON

    # -- lists of names -------------------------------------------------------------------
    def _names(self, verdict) -> list[str]:
        return [c.name for c in self.changes if c.verdict == verdict]

    updated = property(lambda self: self._names(UPDATED), doc="Names of variables whose value changed.")
    frozen = property(lambda self: self._names(FROZEN), doc="Names of bit-for-bit unchanged variables.")
    created = property(lambda self: self._names(CREATED), doc="Names of variables that appeared.")
    replaced = property(lambda self: self._names(REPLACED), doc="Names whose global now holds another object.")
    deleted = property(lambda self: self._names(DELETED), doc="Names of variables that disappeared.")

    def counts(self) -> dict:
        return {verdict: len(self._names(verdict)) for verdict in VERDICTS}

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.changes]

    def __getitem__(self, pattern: str) -> VariableChange:
        found = select(pattern, self.changes)
        exact = [c for c in found if c.name == pattern]
        if len(found) > 1 and len(exact) != 1:
            raise PatternError(f"Pattern {pattern!r} matches several variables: "
                               f"{', '.join(c.name for c in found)}")
        return exact[0] if exact else found[0]

    def __iter__(self):
        return iter(self.changes)

    def __len__(self):
        return len(self.changes)

    # -- evidence used by the diagnosis ------------------------------------------------
    @property
    def optimizer_stepped(self):
        """True/False when an optimizer is tracked (its ``iterations`` advanced), else None."""
        common = [n for n in self.iterations_before if n in self.iterations_after]
        if not common:
            return None
        return any(self.iterations_after[n] > self.iterations_before[n] for n in common)

    @property
    def any_weight_changed(self) -> bool:
        """Did any weight change (updated, created, replaced or deleted)?  Optimizer, metric and
        random-seed state do not count."""
        return any(c.verdict != FROZEN for c in self.changes if c.is_weight)

    @property
    def only_non_trainable_changed(self) -> bool:
        weights = [c for c in self.changes if c.is_weight and c.verdict != FROZEN]
        return bool(weights) and all(not c.trainable for c in weights)

    # -- expectations ------------------------------------------------------------------
    def expect(self, updated=None, frozen=None, others="any", gradients=None, publish=None):
        """Assert what happened; raise :class:`TrackerAssertionError` with a teaching message.

        ``updated`` / ``frozen``: a pattern or list of patterns (exact name, ``/``-suffix or
        glob).  ``others``: ``"any"`` (default), ``"frozen"`` or ``"updated"`` for every
        unnamed weight (optimizer, metric and random-seed state are only checked when named).
        ``gradients``: optional dict ``{variable or name: gradient}`` or ``(gradient,
        variable)`` pairs, used to detect ``None`` gradients.  ``publish``: display the report
        bundle first (default: when running inside IPython), so the evidence is saved in the
        notebook even when the assertion fails.  Returns the report when all checks pass.
        """
        from .expectations import TrackerAssertionError, evaluate

        result = evaluate(self, updated=updated, frozen=frozen, others=others, gradients=gradients)
        self.expectation = result
        if publish or (publish is None and display.in_ipython()):
            self.publish()
        if not result.passed:
            raise TrackerAssertionError(result.message, result.failures, self)
        return self

    # -- display -----------------------------------------------------------------------
    def to_dict(self) -> dict:
        return display.to_dict(self)

    def to_json(self, indent=None) -> str:
        return display.to_json(self, indent=indent)

    def plot(self, ax=None, metric="rel_change"):
        """Matplotlib Figure of per-variable change; see :func:`display.plot`."""
        return display.plot(self, ax=ax, metric=metric)

    def publish(self) -> dict:
        """Display text, HTML and ``application/vnd.autograder.tracker.v1+json`` in IPython."""
        return display.publish(self)

    def _repr_html_(self) -> str:
        return display.to_html(self)

    def __repr__(self) -> str:
        return display.to_text(self)

    __str__ = __repr__
