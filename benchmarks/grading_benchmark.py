"""Throughput of `python -m autograder grade` against plain sequential `nbgrader autograde`, and how it scales.

    .venv/bin/python benchmarks/grading_benchmark.py [--assignment lesson01_variables] [--count 40] [--workers N]
                                                     [--sizes 10,50,200] [--repeats 3] [--skip cold] [--skip scaling] ...

Builds one nbgrader course from this repository (the assignment generated into its gradebook),
submits COUNT varied submissions (correct, wrong, empty), and grades copies of it, one after the
other, in the same run, each a whole command timed from its start to its exit:

1. plain `nbgrader autograde ASSIGNMENT --create --force` (one kernel at a time, a new one per notebook);
2. the command with cold kernels (`--kernels cold --no-feedback`): the same work as plain nbgrader,
   on WORKERS processes, in the sandbox: the ratio from parallelism alone;
3. the command with `--no-feedback` (warm kernels: each forked from a template that has already
   imported TensorFlow);
4. the default command, as an instructor runs it (warm kernels, feedback pages).

Then the scaling curve: the default command on classes of each of SIZES submissions (a course each): the
whole command's time per submission, the cost per submission between the first and the last result (what
grows with the class), the fixed start-up and wind-down (class report, grades.csv), and the peak memory of
each, saved as a figure in build/benchmarks/grading_scaling.png.  It starts by printing the CPU time of
`import tensorflow` in a fresh process: the machine's speed at that moment, which the start-up figures follow
(the command's start-up holds one such import: the template server's).

For every run of the command it prints the fixed start-up cost (command start to the first result
recorded: imports, the course's gradebook, the workers, their warm templates, the first notebook) and
the peak memory of the whole process tree (the command, its workers, the template server, the
templates and kernels: each process's proportional set size, summed, sampled every 0.2 s: a page shared
by forked processes counts once), and the resident size of its largest process.
Also the per-notebook overhead (the
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
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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


def tensorflow_import_cpu() -> float:
    """The machine's speed now, as a yardstick for the start-up figure: CPU seconds of ``import tensorflow`` in a
    fresh process (what each warm template, and each cold kernel, pays once; two of them, one per worker's
    template, make most of the command's start-up on two cores)."""
    before = children_cpu()
    subprocess.run([sys.executable, "-c", "import tensorflow"], env=nbgrader_env(), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return children_cpu() - before


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Run:
    """One whole command, timed from its start to its exit."""
    root: Path
    seconds: float
    cpu: float                       # the command's and every process it waited for (see the module docstring)
    first_result: float | None       # seconds from the start to the first report recorded (None: not watched)
    last_result: float | None        # seconds from the start to the last report recorded
    peak_tree_mib: float             # memory of the process tree (proportional set sizes summed) at its peak
    peak_process_mib: float          # the largest single process


def _tree_memory(pid: int) -> tuple[int, int]:
    """The memory of ``pid`` and its descendants in bytes: (their proportional set sizes summed, the largest
    resident size).  Forked processes (kernels from their template, templates from the template server) share
    pages: summing their resident sizes would count each shared page once per process, the PSS counts it once."""
    import psutil

    try:
        family = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, 0
    shares, sizes = [], []
    for proc in family:
        try:
            shares.append(proc.memory_full_info().pss)
            sizes.append(proc.memory_info().rss)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return sum(shares), max(sizes, default=0)


def timed(cmd: list[str], cwd: Path, root: Path, first: str | None = None) -> Run:
    """Run ``cmd`` to its end; ``first``: a glob under ``root`` matching the result files (each written once, when
    the parent records a result: the first and last results' times are those files' times)."""
    cpu, start, wall_start = children_cpu(), time.perf_counter(), time.time()
    proc = subprocess.Popen(cmd, cwd=cwd, env=nbgrader_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    peak_tree, peak_process = 0, 0
    import threading

    output: dict[str, str] = {}
    readers = [threading.Thread(target=lambda n=name, f=fh: output.__setitem__(n, f.read()), daemon=True)
               for name, fh in (("out", proc.stdout), ("err", proc.stderr))]
    for reader in readers:
        reader.start()
    while proc.poll() is None:
        tree, largest = _tree_memory(proc.pid)
        peak_tree, peak_process = max(peak_tree, tree), max(peak_process, largest)
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    for reader in readers:
        reader.join()
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{output.get('out', '')[-3000:]}\n{output.get('err', '')[-3000:]}")
    written = [p.stat().st_mtime - wall_start for p in root.glob(first)] if first else []
    return Run(root, seconds, children_cpu() - cpu, min(written, default=None), max(written, default=None),
               peak_tree / 2**20, peak_process / 2**20)


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
        # a kernel that died before its last cell has no figure: left out, not counted as 0
        "kernel_cpu": statistics.median([g["kernel_cpu_seconds"] for g in guards
                                         if g.get("kernel_cpu_seconds") is not None] or [math.nan]),
        "kernel_peak_mib": max(g.get("kernel_peak_rss_kb") or 0 for g in guards) / 1024,
        "worker_peak_mib": max((s.get("worker_peak_rss_kb") or 0 for s in stats), default=0) / 1024,
        "templates": growth,
    }


def _command(args) -> list[str]:
    return [sys.executable, "-m", "autograder", "grade", args.assignment, "--workers", str(args.workers),
            "--no-progress", "--course-dir"]


def compare(args, tmp: Path) -> bool:
    """Plain nbgrader and the command's variants on COUNT submissions; whether the scores agree."""
    base = tmp / "base"
    build(base, args.assignment, args.count)
    command = _command(args)
    plain = [sys.executable, "-m", "nbgrader", "autograde", args.assignment, "--create", "--force"]
    first = f"reports/*/{args.assignment}.json"
    runs = {   # name -> the command line, given the course directory, and where it runs
        "plain nbgrader autograde": lambda root: (plain, root, root),
        "command, cold kernels": lambda root: ([*command, str(root), "--kernels", "cold", "--no-feedback"], ROOT,
                                               root, first),
        "command --no-feedback": lambda root: ([*command, str(root), "--no-feedback"], ROOT, root, first),
        "default command": lambda root: ([*command, str(root)], ROOT, root, first),
    }
    skipped = {"plain": "plain nbgrader autograde", "cold": "command, cold kernels",
               "no-feedback": "command --no-feedback", "feedback": "default command"}
    runs = {name: line for name, line in runs.items() if name not in {skipped.get(s) for s in args.skip}}
    results: dict[str, Run] = {}
    for i, (name, line) in enumerate(runs.items()):
        root = shutil.copytree(base, tmp / f"run{i}")
        results[name] = timed(*line(root))
    n, cores = args.count, os.cpu_count()
    plain_run = results.get("plain nbgrader autograde")
    scores = [course.scores(run.root, args.assignment) for run in results.values()]
    same = all(s == scores[0] for s in scores)
    print(f"{args.assignment}: {n} submissions, {cores} cores, --workers {args.workers}, "
          f"load average at the end {os.getloadavg()[0]:.1f}")
    for name, run in results.items():
        ours = run is not plain_run
        ratio = f"  {plain_run.seconds / run.seconds:5.2f}x plain" if ours and plain_run else ""
        print(f"{name:26s}: {run.seconds:7.1f} s  {run.seconds / n:6.2f} s/submission  "
              f"CPU {run.cpu / n:6.2f} s/submission{' (kernels not counted)' if ours else ''}{ratio}")
    plain_each = plain_run.seconds / n if plain_run else None
    for name, run in results.items():
        started = f"start-up (to the first result) {run.first_result:5.1f} s" if run.first_result else ""
        if started and plain_each:   # the machine's speed changes from run to run: the same run's yardstick
            started += f" = {run.first_result / plain_each:.2f} x one plain-nbgrader submission"
        started += "; " if started else ""
        print(f"{name:26s}: {started}peak memory: tree {run.peak_tree_mib:6.0f} MiB, "
              f"largest process {run.peak_process_mib:5.0f} MiB")
    for name in [n for n in ("command, cold kernels", "command --no-feedback") if n in results]:
        f = kernel_figures(results[name].root, args.assignment)
        print(f"{name}: kernels {f['kernels']}{' (' + '; '.join(f['why']) + ')' if f['why'] else ''}; "
              f"per notebook: overhead {f['overhead']:.2f} s median, {f['overhead_mean']:.2f} s mean (the "
              f"mean includes each worker's template start), {f['overhead_cpu']:.3f} CPU s median, cells {f['cells']:.2f} s, "
              f"the kernel's own CPU {f['kernel_cpu']:.2f} s median; peak RSS: worker {f['worker_peak_mib']:.0f} MiB, "
              f"kernel {f['kernel_peak_mib']:.0f} MiB")
        for first_forks, first_rss, last_forks, last_rss, peak in f["templates"]:
            print(f"    template: RSS {first_rss / 1024:.0f} MiB after {first_forks} forks, "
                  f"{last_rss / 1024:.0f} MiB after {last_forks} forks (peak {peak / 1024:.0f} MiB)")
    print(f"same scores cell by cell : {same}")
    return same


def scaling(args, tmp: Path) -> None:
    """The default command on classes of each size: the cost per submission, the fixed costs, peak memory; a figure.

    A whole command is a fixed start-up (to the first result), a cost per submission, and a fixed wind-down
    (after the last result: the class report, grades.csv, the workers stopped).  The cost per submission is
    measured between the first and the last result: (last - first) / (submissions - 1).  With ``--repeats R``
    the sizes are run R times over, in turn (so a slow spell of the machine falls on every size), and each
    column is the median of a size's runs."""
    runs: dict[int, list[tuple]] = {size: [] for size in args.sizes}
    for size in args.sizes:
        build(tmp / f"base{size}", args.assignment, size)
    for repeat in range(args.repeats):
        for size in args.sizes:
            root = tmp / f"class{size}"
            shutil.copytree(tmp / f"base{size}", root)
            run = timed([*_command(args), str(root)], ROOT, root, f"reports/*/{args.assignment}.json")
            steady = ((run.last_result - run.first_result) / (size - 1)
                      if run.first_result is not None and run.last_result is not None and size > 1 else math.nan)
            wind_down = run.seconds - run.last_result if run.last_result is not None else math.nan
            runs[size].append((size, run.seconds / size, steady, run.first_result or math.nan, run.peak_tree_mib,
                               run.peak_process_mib, wind_down))
            shutil.rmtree(root, ignore_errors=True)
            print(f"  run {repeat + 1} of {args.repeats}, {size} submissions: {steady:.2f} s/submission between the "
                  f"first and last result, start-up {run.first_result or math.nan:.1f} s", flush=True)
    rows = [(size, *(statistics.median(r[i] for r in runs[size]) for i in range(1, 7))) for size in args.sizes]
    print(f"scaling, default command, {args.assignment}, --workers {args.workers} "
          f"(load average at the end {os.getloadavg()[0]:.1f}"
          + (f"; medians of {args.repeats} runs per size" if args.repeats > 1 else "") + "):")
    print("  submissions   whole command s/submission   s/submission (first to last result)   start-up s   "
          "wind-down s   peak tree MiB   largest process MiB")
    for size, per, steady, first, tree, largest, wind_down in rows:
        print(f"  {size:11d}   {per:26.2f}   {steady:35.2f}   {first:10.1f}   {wind_down:11.1f}   {tree:13.0f}   "
              f"{largest:19.0f}")
    for label, column in (("s/submission (first to last result)", 2), ("peak tree memory", 4),
                          ("largest process", 5)):
        values = [r[column] for r in rows if math.isfinite(r[column])]
        if len(values) > 1:
            print(f"  {label}: largest / smallest = {max(values) / min(values):.2f}")
    figure = ROOT / "build" / "benchmarks" / "grading_scaling.png"
    figure.parent.mkdir(parents=True, exist_ok=True)
    _plot(rows, figure, f"{args.assignment}, --workers {args.workers}, {os.cpu_count()} cores"
          + (f", medians of {args.repeats} runs" if args.repeats > 1 else ""))
    print(f"  figure: {figure}")


def _panel(ax, sizes, series, ylabel: str) -> None:
    """One panel of the scaling figure: ``series`` (label -> values per class size) on a log axis of sizes."""
    for (label, values), style in zip(series.items(), ("o-", "s--")):
        ax.plot(sizes, values, style, label=label)
    ax.set(xscale="log", xlabel="submissions", ylabel=ylabel, ylim=(0, None))
    ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.minorticks_off()
    ax.legend(fontsize=8)


def _plot(rows, path: Path, title: str) -> None:
    from matplotlib.figure import Figure

    sizes = [r[0] for r in rows]
    fig = Figure(figsize=(9, 3.6), layout="constrained")
    time_ax, memory_ax = fig.subplots(1, 2)
    _panel(time_ax, sizes, {"whole command / submissions": [r[1] for r in rows],
                            "between the first and last result": [r[2] for r in rows]}, "seconds per submission")
    _panel(memory_ax, sizes, {"process tree (PSS summed)": [r[4] for r in rows],
                              "largest process (RSS)": [r[5] for r in rows]}, "peak memory (MiB)")
    fig.suptitle(f"python -m autograder grade (feedback on): {title}", fontsize=10)
    fig.savefig(path, dpi=100)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignment", default="lesson01_variables")
    parser.add_argument("--count", type=int, default=40, help="submissions of the comparison with plain nbgrader")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--sizes", default="10,50,200",
                        help="class sizes of the scaling curve, comma-separated (default 10,50,200)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="runs of each class size in the scaling curve, in turn; the medians are printed")
    parser.add_argument("--keep", action="store_true", help="keep the scratch courses (path printed)")
    parser.add_argument("--skip", action="append", default=[],
                        choices=["plain", "cold", "no-feedback", "feedback", "comparison", "scaling"],
                        help="leave out a run of the comparison (plain, cold, no-feedback, feedback), the whole "
                             "comparison, or the scaling curve; repeatable")
    args = parser.parse_args()
    args.sizes = [int(size) for size in args.sizes.split(",") if size.strip()]

    tmp = Path(tempfile.mkdtemp(prefix="grading-benchmark-"))
    print(f"this machine now: `import tensorflow` takes {tensorflow_import_cpu():.1f} CPU s in a fresh process "
          f"(the start-up figures below scale with it)", flush=True)
    try:
        same = True
        if "comparison" not in args.skip:
            same = compare(args, tmp)
        if "scaling" not in args.skip and args.sizes:
            scaling(args, tmp)
        if args.keep:
            print(f"scratch courses kept in {tmp}")
        return 0 if same else 1
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
