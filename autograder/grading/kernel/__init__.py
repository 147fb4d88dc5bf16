"""The grading kernel's side: code that runs in the process that runs the student's code.

:mod:`.sandbox` (the entry: limits, namespaces, private filesystem view), :mod:`.guard` (the tests, the audit
hook, the signed reports) and :mod:`.template` (the warm template that forks kernels).  Everything here
captures what it decides with before the notebook's first cell and imports only
:mod:`autograder.grading.protocol`, the standard library and the IPython kernel it starts
(tests/grading/test_layout.py)."""
