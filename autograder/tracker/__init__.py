"""Variable-change tracker: which variables did a training step update, which stayed frozen, and why.

>>> from autograder.tracker import snapshot, track, TrackerAssertionError
>>> snap = snapshot(model, optimizer)          # or snapshot(namespace=globals())
>>> train_step()
>>> report = snap.compare()
>>> report.expect(updated="dense/kernel", frozen="dense/bias", others="frozen")

Modules: ``discovery`` (finding and naming variables), ``verdicts`` (exact comparison),
``snapshot`` (snapshot / track), ``report`` (ChangeReport), ``patterns`` (name patterns),
``expectations`` (expect and its error), ``diagnosis`` (likely causes), ``display``
(text / HTML / JSON / plot / IPython bundle).
"""

from .display import MIME_TYPE
from .expectations import TrackerAssertionError
from .patterns import PatternError
from .report import ChangeReport
from .snapshot import Snapshot, snapshot, track
from .verdicts import VariableChange

__all__ = ["snapshot", "track", "Snapshot", "ChangeReport", "VariableChange", "TrackerAssertionError",
           "PatternError", "MIME_TYPE"]
