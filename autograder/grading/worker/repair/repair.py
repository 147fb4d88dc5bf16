"""Writing the repaired notebook: what :mod:`.match` paired gets its release cell's nbgrader metadata back.

Only cells without nbgrader metadata are given any (a cell whose metadata the student edited keeps it, for
the static checks to report); a recognised cell whose type changed gets its type back (nbgrader restores its
source from the gradebook anyway); missing cell ids are given, and an nbformat 4.4 notebook is saved as 4.5.
"""
from __future__ import annotations

import copy
import json
from collections import Counter
from dataclasses import dataclass, field

import nbformat

from ...protocol import nbgrader_md
from .match import Match, match_cells


@dataclass
class Repair:
    """What was wrong with one notebook and what was done about it."""
    notebook: str
    damage: Counter = field(default_factory=Counter)    # kind -> cells: metadata, ids, type, format, split, copy, moved
    match: Match | None = None
    repaired: object = None                             # the repaired nbformat notebook (None: nothing to repair)

    @property
    def damaged(self) -> bool:
        return bool(self.damage) or bool(self.match and self.match.unmatched)


def read_raw(data: bytes):
    """(notebook, cells without an id in the file, nbformat minor in the file)."""
    raw = json.loads(data.decode("utf-8"))
    no_id = sum(1 for c in raw.get("cells", []) if isinstance(c, dict) and "id" not in c)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # nbformat warns of each missing id, then adds one
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    return nb, no_id, int(raw.get("nbformat_minor", 0))


def _retyped(cell, cell_type: str):
    maker = nbformat.v4.new_code_cell if cell_type == "code" else nbformat.v4.new_markdown_cell
    new = maker(cell.source, metadata=copy.deepcopy(cell.metadata))
    new["id"] = cell.get("id") or new["id"]
    return new


def repair_notebook(name: str, data: bytes, release) -> Repair:
    """The repair of one submitted notebook (``data``, its file) against its ``release`` notebook."""
    submitted, no_id, minor = read_raw(data)
    result = Repair(name)
    if minor < 5:
        result.damage["format"] = 1
    elif no_id:
        result.damage["ids"] = no_id
    wanted = {nbgrader_md(c).get("grade_id") for c in release.cells if nbgrader_md(c).get("grade_id")}
    have = {nbgrader_md(c).get("grade_id") for c in submitted.cells}
    if wanted <= have and not result.damage:
        return result            # nothing lost: graded exactly as submitted
    match = result.match = match_cells(submitted, release)
    nb = copy.deepcopy(submitted)
    for i, j in sorted(match.pairs.items()):
        source_cell, cell = release.cells[i], nb.cells[j]
        md = nbgrader_md(source_cell)
        if not md or nbgrader_md(cell):
            continue
        if cell.cell_type != source_cell.cell_type:
            nb.cells[j] = cell = _retyped(cell, source_cell.cell_type)
            result.damage["type"] += 1
        cell.metadata["nbgrader"] = copy.deepcopy(md)
        result.damage["metadata"] += 1
        if match.how[i] == "stub":
            result.damage["split"] += 1
        elif match.how[i] == "moved":
            result.damage["moved"] += 1
    result.damage["copy"] += len(match.copies)
    result.damage = Counter({k: v for k, v in result.damage.items() if v})
    nb.nbformat, nb.nbformat_minor = 4, max(5, submitted.nbformat_minor)
    used = set()
    for cell in nb.cells:   # unique ids (nbformat gave missing ones at random: keep those)
        if not cell.get("id") or cell["id"] in used:
            cell["id"] = nbformat.v4.new_code_cell()["id"]
        used.add(cell["id"])
    result.repaired = nb
    return result
