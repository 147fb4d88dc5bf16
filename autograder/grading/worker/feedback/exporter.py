"""nbconvert's HTML exporter for feedback pages, with its Jinja environment built once per worker process.

nbgrader's ``GenerateFeedback`` makes a new exporter for every submission, and a new exporter a new Jinja
environment, which compiles nbconvert's and nbgrader's templates again (about a third of a second of CPU per
page). :class:`FeedbackExporter` keeps one environment per set of template settings for the life of the
process (the compiled templates live in it) and binds the filters of the exporter that renders each page
to it, so a page is rendered exactly as by a fresh ``HTMLExporter``.  A worker converts one notebook at a
time (:mod:`..pipeline`), so the environment is never shared by two pages at once.
"""
from __future__ import annotations

from typing import ClassVar

from nbconvert.exporters import HTMLExporter


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
