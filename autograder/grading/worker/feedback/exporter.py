"""nbconvert's HTML exporter for feedback pages, with its Jinja environment built once per worker process.

nbgrader's ``GenerateFeedback`` makes a new exporter for every submission, and a new exporter a new Jinja
environment, which compiles nbconvert's and nbgrader's templates again (about a third of a second of CPU per
page). :class:`FeedbackExporter` keeps one environment per set of template settings for the life of the
process (the compiled templates live in it) and binds the filters of the exporter that renders each page
to it, so a page is rendered exactly as by a fresh ``HTMLExporter``.  A worker converts one notebook at a
time (:mod:`..pipeline`), so the environment is never shared by two pages at once.

Most cells of a class's pages are the same (everything but the answers): each code cell's highlighted HTML
(pygments, a third of a page's CPU) is kept per process too (:class:`CachedHighlight`), keyed by everything
nbconvert's highlighting reads.

It also skips ``HTMLExporter``'s last pass, which parses the whole page with BeautifulSoup and writes it out
again (half a second of CPU per feedback page on a 2-core machine, a third of the page's cost) for two edits:
an ``alt`` text on images that have none, and ``tabindex`` on JupyterLab-template cells.  Feedback pages use
nbgrader's classic-based template, which has no JupyterLab cells; the ``alt`` text is added here to each
``<img>`` tag the template writes, where nbconvert adds it.  The page is the same document (the tests compare
it with nbconvert's, both read by BeautifulSoup); a page of a JupyterLab template gets nbconvert's pass.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import ClassVar

from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

NO_ALT = "No description has been provided for this image"   # nbconvert's own placeholder
_IMG_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\salt=)([^>]*?)(\s*/?)>", re.IGNORECASE)


@lru_cache(maxsize=4096)
def _highlighted(source: str, language: str | None, magics_language: str | None, lexer: str,
                 options: tuple) -> str:
    metadata = {"magics_language": magics_language} if magics_language is not None else None
    return Highlight2HTML(pygments_lexer=lexer, extra_formatter_options=dict(options))(source, language, metadata)


class CachedHighlight(Highlight2HTML):
    """nbconvert's ``highlight_code`` filter, its results kept per process (a pure function of its inputs)."""

    def __call__(self, source, language=None, metadata=None):
        options = self.extra_formatter_options
        if not all(isinstance(v, (str, int, float, bool, type(None))) for v in options.values()):
            return super().__call__(source, language, metadata)   # options that cannot be a key: not kept
        return _highlighted(source, language, (metadata or {}).get("magics_language"), self.pygments_lexer,
                            tuple(sorted(options.items())))


class FeedbackExporter(HTMLExporter):
    """``HTMLExporter`` with a process-wide Jinja environment per template setting (see the module docstring)."""

    _environments: ClassVar[dict[tuple, object]] = {}

    def _environment_key(self) -> tuple:
        return (tuple(self.template_paths), self.template_extension, self.raw_template, self.enable_async,
                tuple(id(loader) for loader in self.extra_loaders))

    def _create_environment(self):
        key = self._environment_key()
        environment = self._environments.get(key)
        if environment is None:
            environment = self._environments[key] = super()._create_environment()
            return environment
        # The same filters a new environment gets, bound to this exporter (its settings, its resources).
        for name, value in self.default_filters():
            self._register_filter(environment, name, value)
        for name, value in (self.filters or {}).items():
            self._register_filter(environment, name, value)
        return environment

    def from_notebook_node(self, nb, resources=None, **kw):
        """``HTMLExporter.from_notebook_node`` without its BeautifulSoup pass (see the module docstring)."""
        langinfo = nb.metadata.get("language_info", {})
        lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
        self.register_filter("highlight_code",
                             self.filters.get("highlight_code", CachedHighlight(pygments_lexer=lexer, parent=self)))
        resources = self._init_resources(resources)
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        if "jp-Notebook" in html:   # a JupyterLab template: nbconvert's own pass (focusable cells)
            return super().from_notebook_node(nb, resources, **kw)
        html, missing = _IMG_WITHOUT_ALT.subn(lambda m: f'<img{m.group(1)} alt="{NO_ALT}"{m.group(2)}>', html)
        if missing:
            self.log.warning("Alternative text is missing on %s image(s).", missing)
        return html, resources
