"""The tracker's figure for the feedback, drawn from the collected JSON with the tracker's own plot.

``report.plot()`` needs a ChangeReport; the autograded notebook only holds its JSON
(:func:`autograder.tracker.display.to_dict`).  :func:`report_from_json` rebuilds the few attributes
:func:`autograder.tracker.display.plot` reads, so the feedback shows the same figure the student
would get from ``report.plot()``.  :class:`TrackerFigures` is an nbconvert preprocessor run by
nbgrader's ``GenerateFeedback``: after each tracker bundle in a cell it adds a PNG of that figure
(only in the feedback HTML; the autograded notebook is left as nbgrader wrote it).
"""
from __future__ import annotations

import base64
import functools
import io
import json
import math
from types import SimpleNamespace

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool
from nbformat import NotebookNode

from .collect import tracker_bundles


def _display_module():
    """The tracker's display code (its package imports TensorFlow only for what needs it: not this)."""
    from ...tracker import display

    return display


def _number(value):
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def report_from_json(data: dict) -> SimpleNamespace:
    """A stand-in ChangeReport with what ``display.plot`` and ``display.summary_line`` read."""
    changes = [SimpleNamespace(name=v.get("name", "?"), verdict=v.get("verdict", "?"),
                               trainable=bool(v.get("trainable")), replaced_by=v.get("replaced_by"),
                               rel_change=_number(v.get("rel_change")),
                               max_abs_delta=_number(v.get("max_abs_delta")))
               for v in data.get("variables", [])]
    summary = dict(data.get("summary", {}))
    iterations = data.get("optimizer_iterations", {}) or {}
    return SimpleNamespace(changes=changes, counts=lambda: summary,
                           iterations_before={k: v[0] for k, v in iterations.items()},
                           iterations_after={k: v[1] for k, v in iterations.items() if v[1] is not None})


def figure_png(data: dict) -> bytes:
    """PNG bytes of the tracker's figure for one collected report.

    Each distinct report is drawn once per worker process (a figure costs about 0.2 s of CPU): the tests
    run with fixed seeds, so every correct answer to an exercise gives the same report, and the same figure."""
    return _drawn_png(json.dumps(data, sort_keys=True))


@functools.lru_cache(maxsize=256)
def _drawn_png(report_json: str) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = _display_module().plot(report_from_json(json.loads(report_json)))
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


class TrackerFigures(Preprocessor):
    """Add the tracker figure (PNG) after each tracker bundle of a cell, for the feedback HTML."""

    enabled = Bool(True).tag(config=True)  # nbconvert preprocessors are off unless enabled

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.get("outputs"):
            return cell, resources
        outputs = []
        for output in cell.outputs:
            outputs.append(output)
            for data in tracker_bundles([output]):
                if not data.get("variables"):
                    continue
                try:
                    png = base64.b64encode(figure_png(data)).decode("ascii")
                except Exception as err:  # a figure must never cost the student their feedback
                    self.log.warning("tracker figure not drawn: %s", err)
                    continue
                outputs.append(NotebookNode(output_type="display_data", metadata={"autograder": "tracker-figure"},
                                            data={"image/png": png, "text/plain": "<tracker figure>"}))
        cell.outputs = outputs
        return cell, resources
