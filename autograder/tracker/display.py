"""Render a ChangeReport: plain text, HTML, JSON, an IPython bundle and a matplotlib figure.

Everything displayed is stable across machines so that nbval can replay notebook outputs:
numbers have 3 significant digits (``0`` for an exact zero), rows keep the report's
deterministic order, and no object ids, memory addresses or timestamps are ever shown.
"""

from __future__ import annotations

import html
import json
import math

MIME_TYPE = "application/vnd.autograder.tracker.v1+json"
SCHEMA_VERSION = 1
_COLUMNS = ("variable", "verdict", "trainable", "shape", "dtype", "max |Δ|", "rel Δ")
_VERDICT_COLOURS = {"updated": "#1a7f37", "frozen": "#57606a", "created": "#0969da",
                    "replaced": "#cf222e", "deleted": "#cf222e"}


def format_number(value) -> str:
    """3 significant digits; ``0`` for exact zero; ``-`` when unknown."""
    if value is None:
        return "-"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    return f"{value:.3g}"


def round_number(value):
    """JSON-friendly stable number: 3 significant digits, non-finite values as strings."""
    if value is None:
        return None
    if not math.isfinite(value):
        return str(value)
    return float(f"{value:.3g}")


def _trainable_text(change) -> str:
    text = "yes" if change.trainable else "no"
    if change.is_optimizer_state:
        text += " (optimizer)"
    elif change.is_metric_state:
        text += " (metric)"
    elif change.is_seed_state:
        text += " (random seed)"
    elif not change.keras_tracked:
        text += " (not tracked by Keras)"
    return text


def rows(report) -> list[tuple]:
    """One tuple of display strings per variable, in report order."""
    out = []
    for c in report.changes:
        verdict = c.verdict if not c.replaced_by else f"{c.verdict}: {c.replaced_by}"
        shape = "(" + ", ".join(str(d) for d in c.shape) + ("," if len(c.shape) == 1 else "") + ")"
        out.append((c.name, verdict, _trainable_text(c), shape, c.dtype,
                    format_number(c.max_abs_delta), format_number(c.rel_change)))
    return out


def summary_line(report) -> str:
    counts = report.counts()
    text = "Variable changes: " + ", ".join(f"{n} {verdict}" for verdict, n in counts.items())
    steps = [f"{n} {report.iterations_before[n]} -> {report.iterations_after.get(n, '?')}"
             for n in report.iterations_before]
    if steps:
        text += "; optimizer steps: " + ", ".join(steps)
    return text


def to_text(report) -> str:
    """Plain-text table (used by ``__repr__`` / ``__str__`` and as ``text/plain``)."""
    table = [_COLUMNS, *rows(report)]
    widths = [max(len(r[i]) for r in table) for i in range(len(_COLUMNS))]
    lines = [summary_line(report)]
    for i, row in enumerate(table):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    if report.expectation is not None:
        lines.append(report.expectation.message)
    return "\n".join(lines)


def to_html(report) -> str:
    """HTML table (``_repr_html_`` and ``text/html``)."""
    esc = html.escape
    head = "".join(f"<th>{esc(c)}</th>" for c in _COLUMNS)
    body = []
    for change, row in zip(report.changes, rows(report)):
        colour = _VERDICT_COLOURS.get(change.verdict, "inherit")
        cells = [f"<td><code>{esc(row[0])}</code></td>",
                 f'<td style="color:{colour};font-weight:bold">{esc(row[1])}</td>']
        cells += [f"<td>{esc(cell)}</td>" for cell in row[2:]]
        body.append("<tr>" + "".join(cells) + "</tr>")
    parts = [f'<div class="autograder-tracker"><p>{esc(summary_line(report))}</p>',
             f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"]
    if report.expectation is not None:
        status = "passed" if report.expectation.passed else "failed"
        parts.append(f'<pre class="autograder-tracker-{status}">{esc(report.expectation.message)}</pre>')
    parts.append("</div>")
    return "".join(parts)


def to_dict(report) -> dict:
    """JSON-serializable verdicts (rounded numbers, no ids) for the grading command."""
    variables = []
    for c in report.changes:
        variables.append({
            "name": c.name, "verdict": c.verdict, "trainable": c.trainable, "tf_trainable": c.tf_trainable,
            "role": c.role, "keras_tracked": c.keras_tracked, "shape": list(c.shape), "dtype": c.dtype,
            "max_abs_delta": round_number(c.max_abs_delta), "rel_change": round_number(c.rel_change),
            "bindings": list(c.bindings), "replaced_by": c.replaced_by})
    return {
        "mime_type": MIME_TYPE, "schema_version": SCHEMA_VERSION,
        "summary": report.counts(),
        "optimizer_iterations": {n: [report.iterations_before[n], report.iterations_after.get(n)]
                                 for n in report.iterations_before},
        "variables": variables,
        "expectation": None if report.expectation is None else report.expectation.to_dict(),
    }


def to_json(report, indent=None) -> str:
    return json.dumps(to_dict(report), indent=indent, sort_keys=True, ensure_ascii=False)


def bundle(report) -> dict:
    """IPython display bundle: text/plain, text/html and the tracker's JSON MIME type."""
    return {"text/plain": to_text(report), "text/html": to_html(report), MIME_TYPE: to_dict(report)}


def in_ipython() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None


def publish(report) -> dict:
    """Display the bundle in IPython (no-op outside it) and return it."""
    data = bundle(report)
    if in_ipython():
        from IPython.display import display
        display(data, raw=True)
    return data


_TRAINABLE_COLOUR, _NON_TRAINABLE_COLOUR = "#1f77b4", "#ff7f0e"


def plot(report, ax=None, metric="rel_change"):
    """Horizontal bars of each variable's change (``rel_change`` or ``max_abs_delta``).

    Symmetric-log x axis so that frozen variables sit at exactly 0; trainable variables
    are blue, non-trainable ones orange and hatched; verdicts other than updated are
    written next to the bar.  Draws on ``ax`` if given; returns the Figure.
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    changes = report.changes
    if ax is None:
        fig = Figure(figsize=(8, max(2.0, 0.35 * len(changes) + 1.2)), layout="constrained")
        ax = fig.add_subplot()
    fig = ax.figure
    values = [getattr(c, metric) or 0.0 for c in changes]
    values = [v if math.isfinite(v) else 0.0 for v in values]
    positions = list(range(len(changes)))[::-1]
    bars = ax.barh(positions, values,
                   color=[_TRAINABLE_COLOUR if c.trainable else _NON_TRAINABLE_COLOUR for c in changes])
    for bar, change in zip(bars, changes):
        if not change.trainable:
            bar.set_hatch("//")
        if change.verdict != "updated":
            ax.annotate(change.verdict, (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                        xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
    ax.set_yticks(positions, [c.name for c in changes], fontsize=8)
    ax.set_xscale("symlog", linthresh=1e-6)
    ax.set_xlim(left=0)
    ax.set_xlabel({"rel_change": "relative change ‖Δ‖/‖before‖ (0 = frozen)",
                   "max_abs_delta": "max |Δ| (0 = frozen)"}.get(metric, metric))
    ax.set_title(summary_line(report).split(";")[0], fontsize=9)
    ax.legend(handles=[Patch(color=_TRAINABLE_COLOUR, label="trainable"),
                       Patch(facecolor=_NON_TRAINABLE_COLOUR, hatch="//", label="non-trainable")],
              loc="lower right", fontsize=8)
    return fig
