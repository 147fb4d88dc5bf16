"""Check a report against what a test expects and fail with a teaching message."""

from __future__ import annotations

from dataclasses import dataclass, field

from .diagnosis import diagnose, normalize_gradients
from .display import format_number
from .patterns import PatternError, as_patterns, select
from .verdicts import FROZEN, UPDATED

OTHERS_CHOICES = ("any", FROZEN, UPDATED)


class TrackerAssertionError(AssertionError):
    """Raised by :meth:`ChangeReport.expect`; ``failures`` lists one dict per offending variable."""

    def __init__(self, message: str, failures: list, report=None):
        super().__init__(message)
        self.failures = failures
        self.report = report


@dataclass
class ExpectationResult:
    """Outcome of one ``expect`` call (also written into the report's JSON)."""

    expected: dict
    failures: list = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def message(self) -> str:
        if self.passed:
            return "All variable checks passed."
        count = len(self.failures)
        lines = [f"{count} variable check{'s' if count > 1 else ''} failed:"]
        for f in self.failures:
            lines.append(f"- `{f['name']}`: expected {f['expected']}, but it was {f['found']}"
                         f"{f['detail']}. Likely cause: {f['cause_text']}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"passed": self.passed, "expected": self.expected, "message": self.message,
                "failures": [{k: v for k, v in f.items() if k != "detail"} for f in self.failures]}


def _detail(change) -> str:
    if change.verdict == UPDATED and change.max_abs_delta is not None:
        return f" (max |Δ| {format_number(change.max_abs_delta)})"
    if change.verdict == FROZEN:
        return " (bit-for-bit unchanged)"
    return ""


def evaluate(report, updated=None, frozen=None, others="any", gradients=None) -> ExpectationResult:
    """Compare ``report`` with the expectations; raise :class:`PatternError` for bad patterns."""
    if others not in OTHERS_CHOICES:
        raise ValueError(f"others must be one of {OTHERS_CHOICES}, not {others!r}")
    changes = report.changes
    wanted = {}  # name -> expected verdict, in report order below
    for verdict, patterns in ((UPDATED, as_patterns(updated)), (FROZEN, as_patterns(frozen))):
        for pattern in patterns:
            for change in select(pattern, changes):
                if wanted.get(change.name, verdict) != verdict:
                    raise PatternError(f"`{change.name}` is expected both updated and frozen "
                                       f"(pattern {pattern!r}).")
                wanted[change.name] = verdict
    if others != "any":
        # Optimizer state (iterations, slots, learning rate), metric state (total, count) and
        # random-seed state move with every step or batch, so they are only checked when named.
        for change in changes:
            if change.name not in wanted and change.is_weight:
                wanted[change.name] = others
    grads = normalize_gradients(gradients, changes)
    result = ExpectationResult(expected={"updated": as_patterns(updated), "frozen": as_patterns(frozen),
                                         "others": others})
    for change in changes:
        expected = wanted.get(change.name)
        if expected is None or change.verdict == expected:
            continue
        cause = diagnose(change, expected, report, grads)
        result.failures.append({"name": change.name, "expected": expected, "found": change.verdict,
                                "detail": _detail(change), "cause": cause.id, "cause_text": cause.text})
    return result
