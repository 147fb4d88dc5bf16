"""Generating the student notebooks (nbgrader's release) from the solutions (its source)."""
from __future__ import annotations

import shutil
from pathlib import Path

from . import hygiene, paths, start_page
from .nbgrader_runner import generate_assignments


def generate_student_versions(course_root: Path, assignments: list[str] | None = None) -> list[Path]:
    """Run `nbgrader generate_assignment` in `course_root` (with its nbgrader_config.py) and clean the result.

    `course_root` holds nbgrader_config.py and solutions/; the student versions are
    written to course_root/notebooks/. No gradebook is touched (--no-db). The start page
    (`autograder.start_page`), which lists every assignment of solutions/, is written there too.
    Returns the notebooks written.
    """
    written = []
    assignments = assignments or paths.assignments(course_root / "solutions")
    generate_assignments(course_root, assignments, database=False)
    for assignment in assignments:
        for notebook in paths.notebooks_of(course_root / "notebooks", assignment):
            hygiene.clean_file(notebook, keep_outputs=False)
            written.append(notebook)
    written.append(start_page.write(course_root / "notebooks", paths.assignments(course_root / "solutions")))
    return written


def generate_into(dest: Path, assignments: list[str] | None = None) -> Path:
    """Generate the student versions of this repository's solutions into a scratch course at `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(paths.NBGRADER_CONFIG, dest / "nbgrader_config.py")
    shutil.copytree(paths.SOLUTIONS, dest / "solutions", dirs_exist_ok=True,
                    ignore=paths.COPY_IGNORED)
    generate_student_versions(dest, assignments)
    return dest / "notebooks"
