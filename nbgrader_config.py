"""nbgrader configuration of this course (loaded from the repository root).

solutions/<assignment>/*.ipynb is nbgrader's *source* directory and
notebooks/<assignment>/*.ipynb its *release* directory; every other nbgrader
concept (submitted/, autograded/, feedback/, the gradebook) keeps its name and
lives in the instructor's course directory (see README, "Grading").
"""
c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"

# The stub a student sees in place of each solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Lessons train small models; allow slow machines some headroom per cell.
c.ExecutePreprocessor.timeout = 300
