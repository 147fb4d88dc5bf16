"""Where the course's pieces live in the repository."""
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"   # nbgrader's source directory (instructor versions, stored executed)
NOTEBOOKS = ROOT / "notebooks"   # nbgrader's release directory (student versions, generated)
NBGRADER_CONFIG = ROOT / "nbgrader_config.py"
# What copying an assignment's or a course's folder leaves behind (shutil.copytree's `ignore`).
COPY_IGNORED = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")


def private_paths() -> list[str]:
    """What of this machine a student's kernel must not see: this repository's solutions, tests and history, and
    the home directory (resolved, those that exist). The grading parent hides its own; a worker on another
    machine (Dask) hides its own as well."""
    return sorted({str(p.resolve()) for p in (SOLUTIONS, ROOT / ".git", ROOT / "tests", Path.home()) if p.exists()})


def assignments(root: Path = SOLUTIONS) -> list[str]:
    """Names of the assignments (one folder each) under `root`, sorted."""
    return sorted(p.name for p in root.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def notebooks_of(root: Path, assignment: str) -> list[Path]:
    """The notebooks of one assignment, sorted by name."""
    return sorted((root / assignment).glob("*.ipynb"))
