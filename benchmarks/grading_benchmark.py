"""Throughput of `python -m autograder grade` against plain sequential `nbgrader autograde`.

    .venv/bin/python benchmarks/grading_benchmark.py [--assignment lesson01_variables] [--count 40] [--workers N]

Builds one nbgrader course from this repository (the assignment generated into its gradebook),
submits COUNT varied submissions (correct, wrong, empty), copies the course twice and grades one
copy with `nbgrader autograde ASSIGNMENT --create --force` and the other with the grading command
(which also writes feedback, reports and grades.csv), each timed from the shell's point of view.
Prints seconds per submission for each (wall clock and CPU time of the command with all its
workers and kernels), the throughput ratio, a CPU-time-based estimate of the ratio on an idle
machine (useful when other work loads the machine), and checks the scores agree cell by cell.
A script, not a test: timings on a shared machine are noisy.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import nbgrader_course as course  # noqa: E402
from autograder.nbgrader_runner import nbgrader_env  # noqa: E402

WRONG = {"lesson01_variables": [
    {"non_trainable_scale": 'scale = tf.Variable([0.5, 2.0], name="scale")'},
    {"non_trainable_scale": 'scale = tf.Variable([0.5, 2.0], trainable=False, name="s")'},
]}


def build(root: Path, assignment: str, count: int) -> None:
    course.make_course(root, [assignment])
    (notebook,) = [p.name for p in (root / "solutions" / assignment).glob("*.ipynb")]
    student = course.release_notebook(root, assignment, notebook)
    answers = course.solution_answers(course.source_notebook(root, assignment, notebook))
    variants = [course.answer(student, answers), student] + [
        course.answer(student, {**answers, **wrong}) for wrong in WRONG.get(assignment, [])]
    for i in range(count):
        course.submit(root, f"student{i:03d}", assignment, {notebook: variants[i % len(variants)]})


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and every process it waited for: workers, kernels)."""
    cpu, start = children_cpu(), time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, env=nbgrader_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return seconds, children_cpu() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignment", default="lesson01_variables")
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--keep", action="store_true", help="keep the scratch courses (path printed)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="grading-benchmark-"))
    try:
        base = tmp / "base"
        build(base, args.assignment, args.count)
        plain, ours = shutil.copytree(base, tmp / "plain"), shutil.copytree(base, tmp / "ours")
        t_plain, c_plain = timed([sys.executable, "-m", "nbgrader", "autograde", args.assignment, "--create",
                                  "--force"], plain)
        t_ours, c_ours = timed([sys.executable, "-m", "autograder", "grade", args.assignment, "--course-dir",
                                str(ours), "--workers", str(args.workers), "--no-progress"], ROOT)
        same = course.scores(plain, args.assignment) == course.scores(ours, args.assignment)
        n, cores = args.count, os.cpu_count()
        print(f"{args.assignment}: {n} submissions, {cores} cores, --workers {args.workers}, "
              f"load average at the end {os.getloadavg()[0]:.1f}")
        print(f"plain nbgrader autograde : {t_plain:7.1f} s  {t_plain / n:6.2f} s/submission   "
              f"CPU {c_plain:7.1f} s  {c_plain / n:6.2f} CPU s/submission")
        print(f"autograder grade         : {t_ours:7.1f} s  {t_ours / n:6.2f} s/submission   "
              f"CPU {c_ours:7.1f} s  {c_ours / n:6.2f} CPU s/submission (includes feedback, reports, grades.csv)")
        print(f"throughput ratio         : {t_plain / t_ours:6.2f}x (wall clock, this run)")
        # On an otherwise idle machine plain nbgrader (one process, one kernel at a time) needs at least its
        # CPU time, and the command at least its CPU time spread over min(workers, cores) cores.
        spread = max(1, min(args.workers, cores))
        print(f"CPU-time estimate        : {c_plain / (c_ours / spread):6.2f}x (plain CPU / (our CPU / {spread} cores):"
              f" the ratio on an idle machine if both kept their cores busy)")
        print(f"same scores cell by cell : {same}")
        if args.keep:
            print(f"scratch courses kept in {tmp}")
        return 0 if same else 1
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
