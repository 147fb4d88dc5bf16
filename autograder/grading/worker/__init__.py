"""The grading worker: grades one submission (a :class:`.job.SubmissionJob`, plain data) in a scratch nbgrader
course and returns a :class:`.job.SubmissionResult`.  It starts the kernels (:mod:`.guarded_execute`), never
trusts what they say without checking it (:mod:`.review`), and speaks to them only through
:mod:`autograder.grading.protocol`."""
