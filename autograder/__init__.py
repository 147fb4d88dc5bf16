"""The course's grading package: the variable-change tracker, notebook tooling and the grading command."""

__version__ = "0.1.0"
