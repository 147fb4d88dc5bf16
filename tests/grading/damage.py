"""The catalogue of damaged notebooks (issue 21): what editors and students do to a notebook's structure, as
seeded functions on an answered student notebook, each with its exact expected outcome.

A case damages a copy of a lesson's student notebook (answered correctly, or partly: the last answer left as
released) and says what the grader must make of it: ``note`` (the repair note, exactly) and ``unmatched``
(answer cells that cannot be placed: one message each, their tests withheld, the rest graded).  Everything
else about a repaired notebook must equal the undamaged copy (``tests/grading/test_repair.py`` checks it).
"""
from __future__ import annotations

import ast
import copy
import json
import random
from dataclasses import dataclass
from typing import Callable

import jupytext
import nbformat

LESSONS = ("lesson01_variables", "lesson02_example1_non_trainable", "lesson03_example2_dense")
SEED = 21


def gid(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def md(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def graded_indices(nb) -> list[int]:
    return [i for i, c in enumerate(nb.cells) if md(c)]


def tests(nb) -> list[int]:
    return [i for i, c in enumerate(nb.cells) if md(c).get("grade") and not md(c).get("solution")]


def answers(nb) -> list[int]:
    return [i for i, c in enumerate(nb.cells) if md(c).get("solution")]


def _dump(nb) -> bytes:
    return (nbformat.writes(nb) + "\n").encode()


def strip(nb, indices=None) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    for i in graded_indices(nb) if indices is None else indices:
        nb.cells[i].metadata.pop("nbgrader", None)
    return nb


def strip_some(nb, rng: random.Random) -> nbformat.NotebookNode:
    chosen = graded_indices(nb)
    return strip(nb, sorted(rng.sample(chosen, len(chosen) // 2)))


def without_ids(nb, minor: int = 5) -> bytes:
    raw = json.loads(_dump(nb))
    raw["nbformat_minor"] = minor
    for cell in raw["cells"]:
        cell.pop("id", None)
    return json.dumps(raw, indent=1).encode()


def split_answer(nb, index: int) -> nbformat.NotebookNode:
    """The answer cell split in two where the cursor stood: after its first line that leaves two valid halves,
    else after its first line (as JupyterLab's split-cell does at the cursor)."""
    nb = copy.deepcopy(nb)
    lines = nb.cells[index].source.splitlines()
    cut = next((k for k in range(1, len(lines)) if _parses("\n".join(lines[:k])) and _parses("\n".join(lines[k:]))), 1)
    second = nbformat.v4.new_code_cell("\n".join(lines[cut:]))
    nb.cells[index].source = "\n".join(lines[:cut])
    nb.cells.insert(index + 1, second)
    return nb


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
        return True
    except SyntaxError:
        return False


def merge_last_answers(nb) -> nbformat.NotebookNode:
    """The last answer cut and pasted at the end of the one before (JupyterLab keeps the first cell's metadata)."""
    nb = copy.deepcopy(nb)
    first, last = answers(nb)[-2:]
    nb.cells[first].source += "\n\n" + nb.cells[last].source
    del nb.cells[last]
    return nb


def duplicate_test(nb) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    i = tests(nb)[0]
    nb.cells.insert(i + 1, copy.deepcopy(nb.cells[i]))
    del nb.cells[i + 1]["id"]
    nb.cells[i + 1]["id"] = "copy-of-test"
    return nb


def test_to_markdown(nb) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    i = tests(nb)[0]
    cell = nb.cells[i]
    nb.cells[i] = nbformat.v4.new_markdown_cell(cell.source, metadata=copy.deepcopy(cell.metadata))
    nb.cells[i]["id"] = cell["id"]
    return nb


def swap_tests(nb) -> nbformat.NotebookNode:
    """Two neighbouring test cells swapped (dragged in the editor)."""
    nb = copy.deepcopy(nb)
    i = next(t for t in tests(nb) if t + 1 in tests(nb))
    nb.cells[i], nb.cells[i + 1] = nb.cells[i + 1], nb.cells[i]
    return nb


def jupytext_round_trip(nb) -> bytes:
    """Paired with a py:percent script that keeps no metadata (a common jupytext.toml), then rebuilt from it."""
    nb = copy.deepcopy(nb)
    nb.metadata["jupytext"] = {"cell_metadata_filter": "-all", "notebook_metadata_filter": "-all"}
    script = jupytext.writes(nb, fmt="py:percent")
    return jupytext.writes(jupytext.reads(script, fmt="py:percent"), fmt="ipynb").encode()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _meta(n: int) -> str:
    return f"nbgrader metadata missing on {_plural(n, 'cell')}"


@dataclass(frozen=True)
class Case:
    name: str
    doc: str
    make: Callable[[nbformat.NotebookNode, random.Random], object]   # answered notebook -> notebook or bytes
    note: Callable[[nbformat.NotebookNode], str]                     # release notebook -> the exact note
    unmatched: Callable[[nbformat.NotebookNode], tuple[str, ...]] = lambda release: ()

    def build(self, nb, lesson: str) -> bytes:
        made = self.make(nb, random.Random(f"{SEED}-{lesson}-{self.name}"))
        return made if isinstance(made, bytes) else _dump(made)


def _n(nb) -> int:
    return len(graded_indices(nb))


CASES = (
    Case("stripped_all", "nbgrader metadata removed from every cell (Colab, older front ends)",
         lambda nb, rng: strip(nb), lambda r: f"repaired: {_meta(_n(r))} (editor); matched by content"),
    Case("stripped_some", "nbgrader metadata removed from half of the nbgrader cells, chosen at random (seeded)",
         strip_some, lambda r: f"repaired: {_meta(_n(r) // 2)} (editor); matched by content"),
    Case("ids_removed", "every cell id removed, metadata kept",
         lambda nb, rng: without_ids(nb), lambda r: f"repaired: cell ids missing on {_plural(len(r.cells), 'cell')}; "
                                                     "matched by content"),
    Case("nbformat_44", "saved as nbformat 4.4 (no cell ids), metadata kept",
         lambda nb, rng: without_ids(nb, minor=4),
         lambda r: "repaired: saved as an older nbformat (4.4 or before); matched by content"),
    Case("split_answer", "metadata stripped and the first answer cell split in two",
         lambda nb, rng: split_answer(strip(nb), answers(nb)[0]),
         lambda r: f"repaired: {_meta(_n(r))}, 1 answer cell found among extra cells by its stub (editor); "
                   "matched by content"),
    Case("merged_answers", "the last answer cut and pasted into the answer cell before it (metadata kept)",
         lambda nb, rng: merge_last_answers(nb), lambda r: "",
         lambda r: (gid(r.cells[answers(r)[-1]]),)),
    Case("duplicated_test", "metadata stripped and the first test cell duplicated",
         lambda nb, rng: strip(duplicate_test(nb)),
         lambda r: f"repaired: {_meta(_n(r))}, 1 copied test or locked cell graded as the student's own code "
                   "(editor); matched by content"),
    Case("test_made_markdown", "metadata stripped and the first test cell turned into markdown",
         lambda nb, rng: strip(test_to_markdown(nb)),
         lambda r: f"repaired: {_meta(_n(r))}, 1 cell changed type (code/markdown), restored (editor); "
                   "matched by content"),
    Case("tests_reordered", "metadata stripped and two neighbouring test cells swapped",
         lambda nb, rng: strip(swap_tests(nb)),
         lambda r: f"repaired: {_meta(_n(r))}, 1 cell moved (editor); matched by content"),
    Case("jupytext_percent", "converted to a py:percent script without metadata and back with jupytext",
         lambda nb, rng: jupytext_round_trip(nb),
         lambda r: f"repaired: {_meta(_n(r))} (editor); matched by content"),
)


def damaged_copies(lesson: str, names: tuple[str, ...]) -> dict[str, bytes]:
    """Student name (``damaged-<case>``) -> the lesson's correct notebook damaged by each named case (for a
    grading run: tests/lessons grades them with the lesson's class)."""
    from autograder import nbgrader_course as course
    from autograder.paths import NOTEBOOKS, SOLUTIONS

    source = nbformat.read(str(SOLUTIONS / lesson / f"{lesson}.ipynb"), as_version=4)
    student = nbformat.read(str(NOTEBOOKS / lesson / f"{lesson}.ipynb"), as_version=4)
    correct = course.answer(student, course.solution_answers(source))
    by_name = {case.name: case for case in CASES}
    return {f"damaged-{name}": by_name[name].build(correct, lesson) for name in names}
