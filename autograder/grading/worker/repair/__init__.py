"""Damaged submissions (an editor dropped nbgrader's metadata, cell ids, split or merged cells): recognised by
comparing each submitted notebook with the assignment's release version, repaired where the match is
unambiguous, named in one message where it is not.

:mod:`.match` pairs the cells, :mod:`.repair` writes the repaired notebook, :mod:`.messages` words the
instructor's note and the unrepairable message; :mod:`.submission` applies them to a grading job.
"""
