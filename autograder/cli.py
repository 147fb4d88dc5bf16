"""`python -m autograder`: the course's maintenance commands (a thin layer over the library)."""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from . import paths

# Each command imports what it needs when it runs: `grade` must not pay for nbclient or nbconvert.

CONSTRAINTS = paths.ROOT / "requirements" / "constraints.txt"
CONSTRAINTS_HEADER = """\
# Every package of the course environment, pinned (pip freeze of a fresh install on Python 3.11).
# course.py installs with `pip install -c requirements/constraints.txt -e .[test]`, so a fresh
# machine gets exactly these. Refresh with `python3 course.py lock` after changing pyproject.toml.
"""


def cmd_release(args: argparse.Namespace) -> int:
    from . import release

    for notebook in release.generate_student_versions(paths.ROOT, args.assignments or None):
        print(f"generated {notebook.relative_to(paths.ROOT)}")
    return 0


def cmd_execute(args: argparse.Namespace) -> int:
    from .execute import execute_notebook

    for assignment in args.assignments or paths.assignments():
        for notebook in paths.notebooks_of(paths.SOLUTIONS, assignment):
            seconds = execute_notebook(notebook)
            print(f"executed {notebook.relative_to(paths.ROOT)} in {seconds:.1f} s")
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    from . import hygiene

    changed = []
    for root, keep_outputs in ((paths.SOLUTIONS, True), (paths.NOTEBOOKS, False)):
        for notebook in sorted(root.glob("*/*.ipynb")):
            if hygiene.clean_file(notebook, keep_outputs=keep_outputs, check=args.check):
                changed.append(notebook.relative_to(paths.ROOT))
    verb = "would change" if args.check else "cleaned"
    for notebook in changed:
        print(f"{verb} {notebook}")
    return 1 if args.check and changed else 0


def cmd_lock(args: argparse.Namespace) -> int:
    frozen = subprocess.run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"],
                            check=True, capture_output=True, text=True).stdout.split()
    CONSTRAINTS.write_text(CONSTRAINTS_HEADER + "\n".join(sorted(frozen, key=str.lower)) + "\n")
    print(f"wrote {len(frozen)} pins to {CONSTRAINTS.relative_to(paths.ROOT)}")
    return 0


def cmd_grade(args: argparse.Namespace) -> int:
    from .grading.parent.command import run

    return run(args)


def cmd_class_report(args: argparse.Namespace) -> int:
    from .grading.parent.class_report import rebuild
    from .grading.parent.course import GradingError

    try:
        for written in rebuild(args.course_dir, args.assignments):
            print("wrote " + ", ".join(str(path) for path in written.values()))
    except GradingError as err:
        print(f"class-report: {err}", file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("release", help="regenerate notebooks/ from solutions/ with nbgrader generate_assignment")
    p.add_argument("assignments", nargs="*")
    p.set_defaults(func=cmd_release)
    p = sub.add_parser("execute", help="execute solutions/ top to bottom on fresh kernels and store them clean")
    p.add_argument("assignments", nargs="*")
    p.set_defaults(func=cmd_execute)
    p = sub.add_parser("clean", help="normalise the metadata of every stored notebook")
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 if anything would change")
    p.set_defaults(func=cmd_clean)
    p = sub.add_parser("lock", help="rewrite requirements/constraints.txt from this environment")
    p.set_defaults(func=cmd_lock)
    p = sub.add_parser("grade", help="autograde every submission of an assignment (nbgrader, in parallel) "
                                     "and write grades.csv, feedback/ and reports/")
    from .grading.parent.command import add_arguments

    add_arguments(p)
    p.set_defaults(func=cmd_grade)
    p = sub.add_parser("class-report", help="rebuild grades.csv, the per-question grades and the class report "
                                            "from the reports and gradebook, without grading (e.g. after formgrader)")
    p.add_argument("assignments", nargs="+", metavar="ASSIGNMENT")
    p.add_argument("--course-dir", required=True, type=Path, help="the course directory that was graded")
    p.set_defaults(func=cmd_class_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
