"""Name patterns used by expectations and ``report[...]``.

A pattern matches a variable when it is

* the exact displayed name (``sequential/dense/bias``) or one of the globals that pointed
  at the variable (``w``, ``params[0]``);
* a suffix after a ``/`` (``dense/bias`` matches ``sequential/dense/bias``);
* a shell-style glob (``*/bias``, ``hidden/*``, ``sequential/dense*``), matched against the
  name or any ``/``-suffix of it; ``*`` also crosses ``/``.

A trailing ``:0`` is ignored.  A pattern that matches nothing is an error, so a typo in a
test cannot silently pass.
"""

from __future__ import annotations

import fnmatch
import re

_GLOB = re.compile(r"[*?\[]")


class PatternError(ValueError):
    """A name pattern matched no variable (or a lookup was ambiguous)."""


def _names_of(change) -> list[str]:
    return [change.name, *change.bindings]


def matches(pattern: str, change) -> bool:
    """True when ``pattern`` designates ``change`` (a VariableChange)."""
    pattern = re.sub(r":\d+$", "", pattern)
    for name in _names_of(change):
        if name == pattern or name.endswith("/" + pattern):
            return True
        if _GLOB.search(pattern):
            parts = name.split("/")
            if any(fnmatch.fnmatchcase("/".join(parts[i:]), pattern) for i in range(len(parts))):
                return True
    return False


def as_patterns(value) -> list[str]:
    """Accept ``None``, a single string or an iterable of strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def select(pattern: str, changes) -> list:
    """Every change matched by ``pattern``; :class:`PatternError` if there is none."""
    found = [c for c in changes if matches(pattern, c)]
    if not found:
        available = ", ".join(c.name for c in changes) or "(no variables)"
        raise PatternError(f"Pattern {pattern!r} matches no variable. Available names: {available}")
    return found
