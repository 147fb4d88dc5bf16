"""The class report page: a jinja2 template with its own CSS, the figures embedded (one self-contained file)."""
from __future__ import annotations

from pathlib import Path

from . import figures

TEMPLATES = Path(__file__).with_name("templates")


def render(data: dict) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    scores = list(data["scores"].values())
    return env.get_template("class_report.html.j2").render(
        data=data, css=(TEMPLATES / "class_report.css").read_text(),
        mean=sum(scores) / len(scores) if scores else 0.0,
        histogram=figures.score_histogram(scores, data["max_score"]), pass_rates=figures.pass_rates(data["cells"]))
