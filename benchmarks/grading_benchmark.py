"""Throughput of `python -m autograder grade` against plain sequential `nbgrader autograde`.

    .venv/bin/python benchmarks/grading_benchmark.py [--assignment lesson01_variables] [--count 40] [--workers N]
                                                     [--skip cold] [--skip feedback]

Builds one nbgrader course from this repository (the assignment generated into its gradebook),
submits COUNT varied submissions (correct, wrong, empty), and grades copies of it, one after the
other, in the same run:

1. plain `nbgrader autograde ASSIGNMENT --create --force` (one kernel at a time, a new one per notebook);
2. the command with cold kernels (`--kernels cold --no-feedback`): the same work as plain nbgrader,
   on WORKERS processes, in the sandbox: the ratio from parallelism alone;
3. the command with warm kernels (`--no-feedback`): each kernel forked from a template that has
   already imported TensorFlow;
4. the command with warm kernels and feedback (the instructor's whole job: feedback HTML too).

Prints wall-clock seconds per submission and the throughput ratios, the per-notebook overhead (the
notebook's time in the executor minus the time its cells ran: kernel start, connection, shutdown; and
the same in CPU seconds, which a busy machine does not inflate: the worker's outside the cells, the
kernel's processes' before the first cell, the template's while it forked), peak resident memory (each worker, each kernel, the template), and whether the template grew while it
forked kernels.  CPU seconds are those of every process that was waited for: plain nbgrader's kernels,
the command's workers and templates, but not the command's kernels (killed once their last cell has
run; the process inside their PID namespace is never waited for), so the command's CPU column leaves
its kernels out.  Scores must agree cell by cell across all runs.
A script, not a test: timings on a shared machine are noisy.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
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


def reports(root: Path, assignment: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((root / "reports").glob(f"*/{assignment}.json"))]


def kernel_figures(root: Path, assignment: str) -> dict:
    """Median per-notebook overhead and cell time, kernel kinds, peak memory, the templates' growth."""
    guards = [g for r in reports(root, assignment) for g in r["guard"].values()]
    stats = [r.get("stats") or {} for r in reports(root, assignment)]
    templates: dict[int, list[dict]] = {}
    for s in stats:
        if s.get("template"):
            templates.setdefault(s["template"]["pid"], []).append(s["template"])
    growth = []
    for seen in templates.values():
        seen.sort(key=lambda t: t["forks"])
        growth.append((seen[0]["forks"], seen[0]["rss_kb"], seen[-1]["forks"], seen[-1]["rss_kb"],
                       max(t["peak_rss_kb"] for t in seen)))
    return {
        "kernels": sorted({g.get("kernel") for g in guards}),
        "why": sorted({g.get("kernel_why") for g in guards if g.get("kernel_why")}),
        "overhead": statistics.median(g["overhead_seconds"] for g in guards),
        "overhead_mean": statistics.mean(g["overhead_seconds"] for g in guards),
        "overhead_cpu": statistics.median(g["overhead_cpu_seconds"] for g in guards),
        "cells": statistics.median(g["cells_seconds"] for g in guards),
        "kernel_peak_mib": max(g.get("kernel_peak_rss_kb") or 0 for g in guards) / 1024,
        "worker_peak_mib": max((s.get("worker_peak_rss_kb") or 0 for s in stats), default=0) / 1024,
        "templates": growth,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignment", default="lesson01_variables")
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--keep", action="store_true", help="keep the scratch courses (path printed)")
    parser.add_argument("--skip", action="append", default=[], choices=["cold", "feedback"],
                        help="leave out the cold-kernel run or the feedback run (plain and warm always run)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="grading-benchmark-"))
    try:
        base = tmp / "base"
        build(base, args.assignment, args.count)
        command = [sys.executable, "-m", "autograder", "grade", args.assignment, "--workers", str(args.workers),
                   "--no-progress", "--course-dir"]
        plain = [sys.executable, "-m", "nbgrader", "autograde", args.assignment, "--create", "--force"]
        runs = {   # name -> the command line, given the course directory, and where it runs
            "plain nbgrader autograde": lambda root: (plain, root),
            "command, cold kernels": lambda root: ([*command, str(root), "--kernels", "cold", "--no-feedback"], ROOT),
            "command, warm kernels": lambda root: ([*command, str(root), "--no-feedback"], ROOT),
            "command, warm + feedback": lambda root: ([*command, str(root)], ROOT),
        }
        skipped = {"cold": "command, cold kernels", "feedback": "command, warm + feedback"}
        runs = {name: line for name, line in runs.items() if name not in {skipped[s] for s in args.skip}}
        results = {}
        for i, (name, line) in enumerate(runs.items()):
            root = shutil.copytree(base, tmp / f"run{i}")
            seconds, cpu = timed(*line(root))
            results[name] = (root, seconds, cpu)
        n, cores = args.count, os.cpu_count()
        plain_root, t_plain, _ = results["plain nbgrader autograde"]
        scores = [course.scores(root, args.assignment) for root, _, _ in results.values()]
        same = all(s == scores[0] for s in scores)
        print(f"{args.assignment}: {n} submissions, {cores} cores, --workers {args.workers}, "
              f"load average at the end {os.getloadavg()[0]:.1f}")
        for name, (root, seconds, cpu) in results.items():
            ratio = "" if root == plain_root else f"  {t_plain / seconds:5.2f}x plain"
            print(f"{name:26s}: {seconds:7.1f} s  {seconds / n:6.2f} s/submission  "
                  f"CPU {cpu / n:6.2f} s/submission{'' if root == plain_root else ' (kernels not counted)'}{ratio}")
        for name in [n for n in ("command, cold kernels", "command, warm kernels") if n in results]:
            f = kernel_figures(results[name][0], args.assignment)
            print(f"{name}: kernels {f['kernels']}{' (' + '; '.join(f['why']) + ')' if f['why'] else ''}; "
                  f"per notebook: overhead {f['overhead']:.2f} s median, {f['overhead_mean']:.2f} s mean (the "
                  f"mean includes each worker's template start), {f['overhead_cpu']:.3f} CPU s median, cells {f['cells']:.2f} s; peak RSS: worker {f['worker_peak_mib']:.0f} MiB, "
                  f"kernel {f['kernel_peak_mib']:.0f} MiB")
            for first_forks, first_rss, last_forks, last_rss, peak in f["templates"]:
                print(f"    template: RSS {first_rss / 1024:.0f} MiB after {first_forks} forks, "
                      f"{last_rss / 1024:.0f} MiB after {last_forks} forks (peak {peak / 1024:.0f} MiB)")
        print(f"same scores cell by cell : {same}")
        if args.keep:
            print(f"scratch courses kept in {tmp}")
        return 0 if same else 1
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
