"""Pairing a submitted notebook's cells with its release notebook's cells.

Locked and test cells (and the lesson's plain cells) are recognised by their source, which the student
cannot usefully change (nbgrader restores locked and test cells from the gradebook); answer cells by their
position between recognised cells, and, where that leaves a choice, by the stub they started from.  A cell
that still carries nbgrader metadata is paired by its ``grade_id`` and nothing else.  Pure functions on
nbformat notebooks: no kernel, no nbgrader.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from ...protocol import nbgrader_md

STUB_MARKERS = ("# YOUR CODE HERE", "raise NotImplementedError", "YOUR ANSWER HERE")


def normalized(source: str) -> str:
    """A cell's source as compared: trailing spaces and blank lines at either end do not count."""
    return "\n".join(line.rstrip() for line in source.strip("\n").splitlines()).strip("\n")


def is_answer(cell) -> bool:
    return bool(nbgrader_md(cell).get("solution"))


def is_anchor(cell) -> bool:
    """A release cell nbgrader restores from the gradebook (locked or test): recognised by its source only."""
    md = nbgrader_md(cell)
    return bool(md.get("grade_id")) and not md.get("solution")


def stub_line(cell) -> str | None:
    """The first line of an answer cell's stub the student keeps when answering (``def sgd_step(w, grad, lr):``)."""
    for line in cell.source.splitlines():
        text = line.strip()
        if text and not any(marker in text for marker in STUB_MARKERS):
            return text
    return None


@dataclass(frozen=True)
class Unmatched:
    """An answer cell of the release with no single counterpart in the submission."""
    grade_id: str
    found: int               # candidate cells between the recognised neighbours
    expected: int            # answer cells the release has there
    before: str | None       # grade_id (or None: the start of the notebook) of the recognised cell before it
    after: str | None        # ... after it
    candidates: tuple[int, ...]   # submitted indices of the candidates (they keep being graded as the student's code)


@dataclass
class Match:
    pairs: dict[int, int] = field(default_factory=dict)   # release index -> submitted index
    how: dict[int, str] = field(default_factory=dict)     # release index -> "metadata" | "content" | "position" | "stub" | "moved"
    unmatched: list[Unmatched] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)      # locked/test cells not found (nbgrader's own handling applies)
    copies: list[int] = field(default_factory=list)       # submitted cells holding a copy of a test or locked cell
    extras: dict[int, str] = field(default_factory=dict)  # submitted cells split off an answer (index -> its grade_id)

    def partner(self, release_index: int) -> int | None:
        return self.pairs.get(release_index)


def _by_grade_id(release, submitted, match: Match) -> None:
    index = {nbgrader_md(c).get("grade_id"): i for i, c in enumerate(release.cells) if nbgrader_md(c).get("grade_id")}
    for j, cell in enumerate(submitted.cells):
        i = index.get(nbgrader_md(cell).get("grade_id"))
        if i is not None and i not in match.pairs:
            match.pairs[i], match.how[i] = j, "metadata"


def _keys(release, submitted, match: Match) -> tuple[list, list]:
    paired_s = {j: i for i, j in match.pairs.items()}
    r_keys, s_keys = [], []
    for i, cell in enumerate(release.cells):
        if i in match.pairs:
            r_keys.append(("paired", i))
        elif is_answer(cell):
            r_keys.append(("answer", i))      # an answer never equals its stub: placed by position
        else:
            r_keys.append(("source", normalized(cell.source)))
    for j, cell in enumerate(submitted.cells):
        if j in paired_s:
            s_keys.append(("paired", paired_s[j]))
        elif nbgrader_md(cell):
            s_keys.append(("own", j))          # metadata not of the release: left to the static checks
        else:
            s_keys.append(("source", normalized(cell.source)))
    return r_keys, s_keys


def _free(submitted, j: int, taken: set[int]) -> bool:
    return j not in taken and not nbgrader_md(submitted.cells[j])


def _place_answers(release, submitted, rr: range, ss: range, match: Match) -> None:
    """Inside one stretch the content match left open, pair its answer cells: the one cell holding the first line
    of an answer's stub, else by position where the stretch has as many cells as the release has there."""
    for kind in ("code", "markdown"):
        taken = set(match.pairs.values())
        r_open = [i for i in rr if release.cells[i].cell_type == kind and not is_anchor(release.cells[i])
                  and i not in match.pairs]
        answers = [i for i in r_open if is_answer(release.cells[i])]
        if not answers:
            continue
        s_open = [j for j in ss if submitted.cells[j].cell_type == kind and _free(submitted, j, taken)]
        same_count = len(s_open) == len(r_open)
        for i in answers:
            line = stub_line(release.cells[i])
            hits = [j for j in s_open if line and line in submitted.cells[j].source]
            if len(hits) == 1 and hits[0] not in match.pairs.values():
                match.pairs[i], match.how[i] = hits[0], "position" if same_count else "stub"
                if not same_count and len(answers) == 1:   # the rest of the stretch was split off it
                    match.extras.update({j: nbgrader_md(release.cells[i])["grade_id"] for j in s_open if j != hits[0]})
        if same_count:
            for i, j in zip(r_open, s_open):
                if is_answer(release.cells[i]) and i not in match.pairs and j not in match.pairs.values():
                    match.pairs[i], match.how[i] = j, "position"


def _moved(release, submitted, match: Match) -> None:
    """Recognised cells the student moved elsewhere (found by source outside the aligned order)."""
    taken = set(match.pairs.values())
    for i, cell in enumerate(release.cells):
        if i in match.pairs or is_answer(cell):
            continue
        key = normalized(cell.source)
        for j, other in enumerate(submitted.cells):
            if _free(submitted, j, taken) and normalized(other.source) == key:
                match.pairs[i], match.how[i] = j, "moved"
                taken.add(j)
                break


def _neighbours(release, match: Match, i: int) -> tuple[int | None, int | None]:
    before = next((k for k in range(i - 1, -1, -1) if k in match.pairs and nbgrader_md(release.cells[k])), None)
    after = next((k for k in range(i + 1, len(release.cells)) if k in match.pairs and nbgrader_md(release.cells[k])),
                 None)
    return before, after


def _unmatched(release, submitted, match: Match) -> None:
    taken = set(match.pairs.values())
    for i, cell in enumerate(release.cells):
        if not is_answer(cell) or i in match.pairs:
            continue
        before, after = _neighbours(release, match, i)
        lo = match.pairs[before] + 1 if before is not None else 0
        hi = match.pairs[after] if after is not None else len(submitted.cells)
        candidates = tuple(j for j in range(lo, hi) if submitted.cells[j].cell_type == cell.cell_type
                           and _free(submitted, j, taken))
        r_lo = before + 1 if before is not None else 0
        r_hi = after if after is not None else len(release.cells)
        expected = sum(1 for k in range(r_lo, r_hi) if is_answer(release.cells[k])
                       and release.cells[k].cell_type == cell.cell_type)
        gid = lambda k: nbgrader_md(release.cells[k]).get("grade_id") if k is not None else None  # noqa: E731
        match.unmatched.append(Unmatched(nbgrader_md(cell)["grade_id"], len(candidates), expected,
                                         gid(before), gid(after), candidates))


def match_cells(submitted, release) -> Match:
    """Pair ``submitted``'s cells with ``release``'s (both nbformat v4 notebooks)."""
    match = Match()
    _by_grade_id(release, submitted, match)
    r_keys, s_keys = _keys(release, submitted, match)
    opcodes = difflib.SequenceMatcher(None, r_keys, s_keys, autojunk=False).get_opcodes()
    for tag, r1, r2, s1, s2 in opcodes:
        if tag == "equal":
            for i, j in zip(range(r1, r2), range(s1, s2)):
                if i not in match.pairs:
                    match.pairs[i], match.how[i] = j, "content"
    _moved(release, submitted, match)
    for tag, r1, r2, s1, s2 in opcodes:
        if tag != "equal":
            _place_answers(release, submitted, range(r1, r2), range(s1, s2), match)
    _unmatched(release, submitted, match)
    match.missing = [nbgrader_md(c)["grade_id"] for i, c in enumerate(release.cells)
                     if is_anchor(c) and i not in match.pairs]
    anchors = {normalized(c.source) for c in release.cells if is_anchor(c)}
    taken = set(match.pairs.values())
    match.copies = [j for j, c in enumerate(submitted.cells)
                    if j not in taken and not nbgrader_md(c) and normalized(c.source) in anchors]
    return match
