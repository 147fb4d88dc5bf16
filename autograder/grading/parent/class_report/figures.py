"""The class report's figures, drawn with matplotlib (no pyplot: no display, no global state) and
returned as base64 PNG for embedding in the page.  Fixed margins instead of a layout engine: the report is
rebuilt after every grading run, and a constrained layout draws each figure twice (about 4 times slower)."""
from __future__ import annotations

import base64
import io

PASSED, FAILED = "#1a7f37", "#cf222e"


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def score_histogram(scores: list[float], max_score: float) -> str:
    """Histogram of the total scores (one bar per point, or 10 bins for large maxima)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2, 2.8))
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.17, top=0.9)
    ax = fig.add_subplot()
    top = max(max_score, max(scores, default=0.0), 1.0)
    bins = [i * top / 10 for i in range(11)] if top > 20 else [i - 0.5 for i in range(int(top) + 2)]
    ax.hist(scores, bins=bins, color="#0969da", edgecolor="white")
    ax.set_xlabel(f"score (out of {max_score:g})")
    ax.set_ylabel("students")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(f"Score distribution ({len(scores)} graded)", fontsize=10)
    return _png(fig)


def pass_rates(cells: list[dict]) -> str:
    """Horizontal bars: the share of graded submissions that passed each graded cell."""
    from matplotlib.figure import Figure

    labels = [c["grade_id"] for c in cells][::-1]
    height = max(1.6, 0.32 * len(cells) + 1.0)
    fig = Figure(figsize=(5.2, height))
    label_inches = 0.06 * max((len(label) for label in labels), default=4) + 0.2   # 8-point ticks
    fig.subplots_adjust(left=min(0.6, label_inches / 5.2), right=0.97, bottom=0.55 / height, top=1 - 0.3 / height)
    ax = fig.add_subplot()
    rates = [100 * (c["pass_rate"] or 0.0) for c in cells][::-1]
    ax.barh(labels, [100] * len(rates), color=FAILED, alpha=0.25)
    ax.barh(labels, rates, color=PASSED)
    for y, rate in enumerate(rates):
        ax.annotate(f"{rate:.0f} %", (rate, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
    ax.set_xlim(0, 112)
    ax.set_xlabel("passed (% of graded submissions)")
    ax.tick_params(axis="y", labelsize=8)
    ax.set_title("Pass rate of each graded cell", fontsize=10)
    return _png(fig)
