"""Damaged notebooks of one grading job repaired before nbgrader sees them (see the package's docstring)."""
from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import nbformat

from ...protocol import is_test_cell, nbgrader_md
from .messages import note, unmatched_message
from .repair import Repair, repair_notebook


def release_version(source):
    """The student's version of a source notebook, as ``nbgrader generate_assignment`` writes its cells:
    solutions replaced by their stubs, hidden tests removed (nbgrader's own preprocessors)."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    nb, resources = copy.deepcopy(source), {}
    for preprocessor in (ClearSolutions(), ClearHiddenTests()):
        nb, resources = preprocessor.preprocess(nb, resources)
    return nb


def tests_of(release, answer_id: str) -> list[str]:
    """The graded cells that follow an answer cell, up to the next answer cell: the ones its answer feeds."""
    out, started = [], False
    for cell in release.cells:
        md = nbgrader_md(cell)
        if md.get("grade_id") == answer_id:
            started = True
        elif started and md.get("solution"):
            break
        elif started and is_test_cell(cell):
            out.append(md["grade_id"])
    return out


@dataclasses.dataclass
class Repaired:
    """One notebook's repair, as the rest of the pipeline uses it."""
    notebook: str                       # stem
    note: str                           # for the report and grades.csv ("" when nothing was repaired)
    problems: list[dict]                # {"answer": grade_id, "message": ..., "tests": [grade_id, ...]}
    answer_cells: dict[int, list[str]]  # submitted index -> answer cells whose names it may bind (static checks)


def repair_job(job):
    """(the job with its damaged notebooks repaired, [Repaired]); undamaged notebooks are left byte for byte."""
    files = copy.copy(job.submitted_files)
    out = []
    for rel, data in sorted(job.source_files.items()):
        if not rel.endswith(".ipynb") or "/" in rel or rel not in files:
            continue
        release = release_version(nbformat.reads(data.decode("utf-8"), as_version=4))
        repair: Repair = repair_notebook(rel, files[rel], release)
        if repair.repaired is None:
            continue
        files[rel] = (nbformat.writes(repair.repaired) + "\n").encode("utf-8")
        problems, hints = [], {j: [g] for j, g in repair.match.extras.items()}
        answer_cells = [j for j, c in enumerate(repair.repaired.cells) if nbgrader_md(c).get("solution")]
        for item in repair.match.unmatched:
            problems.append({"answer": item.grade_id, "message": unmatched_message(item),
                             "tests": tests_of(release, item.grade_id)})
            for j in (*item.candidates, *answer_cells):   # where its answer may be (its tests are withheld)
                hints.setdefault(j, []).append(item.grade_id)
        out.append(Repaired(Path(rel).stem, note(repair), problems, hints))
    return dataclasses.replace(job, submitted_files=files), out
