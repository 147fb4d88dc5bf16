"""The fault matrix of issue 20: every fault of tests/faults injected into real grading runs, over several seeds.

    .venv/bin/python benchmarks/fault_matrix.py [--seeds 20 21 22] [--skip disk_full]

For each seed: a fresh plain-Python course (3 submissions of tests/grading/fixtures/pycourse), then the scenarios
of ``tests/faults/scenarios.py``, the injection points drawn from ``random.Random(seed)``:

* ``workers_resubmission_busy_kill``: three runs on one course: workers SIGKILLed mid-submission (one submission
  twice, one once), a resubmission landing mid-run, the gradebook held by another program for a while; the
  command killed (SIGKILL, SIGTERM or SIGHUP) mid-submission;
  a last run that must complete;
* ``damaged_gradebook``: gradebook.db truncated, not a database, empty;
* ``disk_full`` (in ``unshare -Urm``, on a tmpfs filled to a random number of bytes left): the run stops, the
  rerun after freeing space completes.

Prints one row per scenario and seed: faults injected, runs survived, grades lost, orphans (processes of a run
alive 2 s after it ended), duplicate gradebook rows; the goal for the last three is 0.  Exit 1 if any is not.
A script, not a test: it takes minutes (the tests run one seed).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "faults")]

import scenarios  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[20, 21, 22])
    parser.add_argument("--skip", nargs="*", default=[], choices=["damaged_gradebook", "disk_full"])
    args = parser.parse_args()
    why = scenarios.can_make_namespaces()
    if why and "disk_full" not in args.skip:
        print(f"disk_full skipped: {why}")
        args.skip.append("disk_full")
    rows = []
    with tempfile.TemporaryDirectory(prefix="fault-matrix-") as tmp:
        for seed in args.seeds:
            base = Path(tmp) / f"seed{seed}"
            started = time.perf_counter()
            root = scenarios.make_course(base / "course")
            rows.append(scenarios.workers_resubmission_busy_kill(root, seed))
            if "damaged_gradebook" not in args.skip:
                rows.append(scenarios.damaged_gradebook(scenarios.make_course(base / "damaged", base=root), seed))
            if "disk_full" not in args.skip:
                rows.append(scenarios.in_namespace("disk_full", scenarios.make_course(base / "full", base=root), seed))
            print(f"seed {seed}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    width = max(len(r.fault) for r in rows) if rows else 5
    header = f"{'fault':<{width}} {'seed':>4} {'injected':>8} {'survived':>9} {'lost':>5} {'orphans':>7} {'dup rows':>8}"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row.fault:<{width}} {row.seed:>4} {row.injected:>8} {f'{row.survived}/{row.runs}':>9} "
              f"{len(row.grades_lost):>5} {len(row.orphans):>7} {len(row.duplicates):>8}")
    total = {k: sum(len(getattr(r, k)) for r in rows) for k in ("grades_lost", "orphans", "duplicates")}
    print(f"{'total':<{width}} {'':>4} {sum(r.injected for r in rows):>8} "
          f"{f'{sum(r.survived for r in rows)}/{sum(r.runs for r in rows)}':>9} {total['grades_lost']:>5} "
          f"{total['orphans']:>7} {total['duplicates']:>8}")
    for row in rows:
        if not row.clean:
            print(f"\n{row}")
    return 0 if all(r.clean for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
