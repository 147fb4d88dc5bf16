"""nbgrader settings for a student's Validate, wherever it runs.

Installed with the course's environment into ``{sys.prefix}/etc/jupyter/``, a folder nbgrader reads its
configuration from whatever the current folder is: the folder ``course.py lab`` serves, a student's own
copy of a lesson folder, or a terminal anywhere. It holds only Validate's settings, so an instructor's
commands in the same environment keep their course's own ``nbgrader_config.py``.
"""
c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

# nbgrader cuts every line of Validate's report at this width (its default, 90, cut the tracker's
# "Likely cause" and the tests' messages mid-word). The longest message line of the lessons is shorter.
c.Validator.width = 250

# Validate runs the visible tests only, with no limits: say what grading adds (README, "Grading").
c.Validator.failed_warning = (
    "VALIDATION FAILED ON {num_failed} CELL(S)! If you submit your assignment as it is, you WILL NOT\n"
    "receive full credit. Each failing cell is listed below with its message: the first line names the fix.\n"
    "(Grading also runs hidden tests, and limits each cell to 300 s, the notebook to 30 minutes and memory to\n"
    "4 GiB by default; Validate does not.)\n")
c.Validator.passed_warning = "NOTEBOOK PASSED ON {num_passed} CELL(S)!\n"

# A notebook an editor damaged (nbgrader's metadata lost, answer cells merged away): Validate says so and how to
# get a clean copy, instead of passing or failing its tests by accident (issue 21; autograder/damage_notice.py).
try:
    from autograder.damage_notice import on_notebook_start
except ImportError:   # the course package is not installed here: Validate as nbgrader does
    pass
else:
    c.Validator.Execute.on_notebook_start = on_notebook_start
