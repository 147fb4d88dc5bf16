"""The course being graded: where its config, source notebooks, submissions and gradebook are.

``DIR`` is either a bare grading directory (``DIR/submitted/<student>/<ASSIGNMENT>/``, the
source notebooks coming from this repository's ``solutions/`` and config from its
``nbgrader_config.py``) or a full nbgrader course (its own ``nbgrader_config.py`` and source
directory).  :func:`prepare` resolves that, makes sure the course's gradebook knows the
assignment, and builds the *template gradebook*: a private SQLite file holding only the
assignment's definitions (grade cells, hidden-test-bearing source cells, checksums), which every
worker copies into its scratch course.
"""
from __future__ import annotations

import errno
import functools
import hashlib
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from ... import paths
from ...nbgrader_runner import NbgraderError, generate_assignments
from .errors import GradingError


@dataclass
class Course:
    root: Path                 # DIR
    assignment: str
    config_file: Path          # the nbgrader_config.py in force
    config: Config
    course_id: str
    source_dir: Path           # the assignment's source folder (instructor version)
    own_source: bool           # True when DIR is a full nbgrader course with its own source folder
    db_path: Path              # DIR/gradebook.db
    state_dir: Path            # DIR/.grading/<ASSIGNMENT>: template gradebook, lock

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.db_path}"

    @property
    def template_db(self) -> Path:
        return self.state_dir / "template_gradebook.db"

    @property
    def submitted_root(self) -> Path:
        return self.root / "submitted"

    def submission_dir(self, student: str) -> Path:
        return self.submitted_root / student / self.assignment

    def students(self) -> list[str]:
        """Every student with a folder DIR/submitted/<student>/<ASSIGNMENT>/, sorted."""
        if not self.submitted_root.is_dir():
            return []
        return sorted(p.name for p in self.submitted_root.iterdir() if (p / self.assignment).is_dir())

    def source_files(self) -> dict[str, bytes]:
        """The assignment's source folder, relative path -> content (notebooks and data files)."""
        return read_tree(self.source_dir, follow_links=True)   # the instructor's own folder: trusted

    @functools.cached_property
    def source_digest(self) -> str:
        return digest(self.source_files())

    def submission_digest(self, files: dict[str, bytes]) -> str:
        """What a report records of the version it graded: the digest of the submitted ``files`` and of the
        assignment's source (a new source regrades everyone); a rerun regrades a student whose digest changed."""
        return digest({**files, "\0source": self.source_digest.encode()})


def submission_changed(course: Course, student: str, graded: str) -> str:
    """A warning when the student's submitted files are no longer those graded (digest ``graded``): a late
    resubmission landed while the run graded the earlier one ('' when they are the same)."""
    now = course.submission_digest(read_tree(course.submission_dir(student)))
    if now == graded:
        return ""
    return (f"student {student}: the submission changed while it was graded (a resubmission?): the version graded "
            f"has digest {graded[:12]}, the files now in submitted/ have {now[:12]}; run the command again to grade them")


SKIPPED_DIRS = (".ipynb_checkpoints", "__pycache__")


class Tree(dict):
    """What :func:`read_tree` read: relative path -> content; ``skipped``: relative path -> why an entry
    was left out (a symbolic link, not a regular file).  Pickled with its ``skipped`` (worker processes, Dask)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.skipped: dict[str, str] = {}


LINK = "a symbolic link"   # the start of a Tree.skipped reason (the worker's warning says what it means)


def read_tree(folder: Path, *, follow_links: bool = False) -> Tree:
    """Every regular file under ``folder``, relative path -> content (checkpoints and caches left out).

    A submission is read without following any link (red-team attack s08: a link to the instructor's
    source notebook would have copied the hidden tests into the kernel's folder): each directory and
    file is opened relative to its parent with ``O_NOFOLLOW``, so a link is never read, even one that
    replaces a file while the tree is read; links and anything that is not a regular file (a FIFO, a
    device) are listed in ``Tree.skipped`` instead, and the worker names them in the report's warnings.
    ``follow_links=True`` is for the instructor's own folders.
    """
    files = Tree()
    if follow_links:
        for path in sorted(Path(folder).rglob("*")):
            rel = path.relative_to(folder)
            if path.is_file() and not any(part in SKIPPED_DIRS for part in rel.parts):
                files[rel.as_posix()] = path.read_bytes()
        return files
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    try:
        top = os.open(folder, flags | os.O_DIRECTORY)
    except OSError as err:
        files.skipped["."] = (LINK if os.path.islink(folder) else f"unreadable ({err.strerror})")
        return files
    try:
        _read_dir(top, "", files, flags)
    finally:
        os.close(top)
    return files


def _read_dir(dir_fd: int, prefix: str, files: Tree, flags: int) -> None:
    with os.scandir(dir_fd) as entries:
        names = sorted(entry.name for entry in entries)
    for name in names:
        rel = prefix + name
        try:
            mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
            if stat.S_ISLNK(mode):
                files.skipped[rel] = LINK
            elif stat.S_ISDIR(mode):
                if name in SKIPPED_DIRS:
                    continue
                fd = os.open(name, flags | os.O_DIRECTORY, dir_fd=dir_fd)
                try:
                    _read_dir(fd, rel + "/", files, flags)
                finally:
                    os.close(fd)
            elif stat.S_ISREG(mode):
                fd = os.open(name, flags, dir_fd=dir_fd)
                try:
                    if not stat.S_ISREG(os.fstat(fd).st_mode):
                        files.skipped[rel] = "not a regular file"
                        continue
                    with open(fd, "rb", closefd=False) as fh:
                        files[rel] = fh.read()
                finally:
                    os.close(fd)
            else:
                files.skipped[rel] = "not a regular file (a FIFO, socket or device)"
        except OSError as err:   # ELOOP: it became a link after it was listed
            files.skipped[rel] = LINK if err.errno == errno.ELOOP else f"unreadable ({err.strerror})"


def digest(files: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return h.hexdigest()


def load_config(config_file: Path) -> Config:
    try:
        return PyFileConfigLoader(config_file.name, path=str(config_file.parent)).load_config()
    except Exception as err:  # a syntax error in the instructor's config
        raise GradingError(f"cannot load nbgrader config {config_file}: {type(err).__name__}: {err}") from err


def resolve(root: Path, assignment: str) -> Course:
    root = Path(root).resolve()
    if not root.is_dir():
        raise GradingError(f"course directory {root} does not exist")
    config_file = root / "nbgrader_config.py"
    if not config_file.is_file():
        config_file = paths.NBGRADER_CONFIG
    config = load_config(config_file)
    coursedir = config.get("CourseDirectory", {})
    source_name = coursedir.get("source_directory", "source")
    own = root / source_name / assignment
    if own.is_dir() and any(own.glob("*.ipynb")):
        source_dir, own_source = own, True
    elif (paths.SOLUTIONS / assignment).is_dir() and any((paths.SOLUTIONS / assignment).glob("*.ipynb")):
        source_dir, own_source = paths.SOLUTIONS / assignment, False
    else:
        raise GradingError(f"no source notebooks for assignment {assignment!r}: looked in {own} "
                           f"and {paths.SOLUTIONS / assignment}")
    course_id = str(coursedir.get("course_id", ""))
    return Course(root=root, assignment=assignment, config_file=config_file, config=config,
                  course_id=course_id, source_dir=source_dir, own_source=own_source,
                  db_path=root / "gradebook.db", state_dir=root / ".grading" / assignment)


def copy_assignment(src_url: str, dst_url: str, assignment: str, course_id: str) -> None:
    """Copy one assignment's definitions (notebooks, grade/solution/task/source cells) between gradebooks.

    Only definitions: no students, no submissions, no grades.  Uses nbgrader's Gradebook API.
    """
    from nbgrader.api import Gradebook

    from ...gradebook_version import install
    install()   # a gradebook created here is stamped without nbgrader's `alembic heads` subprocess

    with Gradebook(src_url, course_id) as src, Gradebook(dst_url, course_id) as dst:
        a = src.find_assignment(assignment)
        dst.update_or_create_assignment(assignment, duedate=a.duedate)
        for nb in a.notebooks:
            dst.update_or_create_notebook(nb.name, assignment, kernelspec=nb.kernelspec)
            for cell in nb.grade_cells:
                dst.update_or_create_grade_cell(cell.name, nb.name, assignment,
                                                max_score=cell.max_score, cell_type=cell.cell_type)
            for cell in nb.solution_cells:
                dst.update_or_create_solution_cell(cell.name, nb.name, assignment)
            for cell in nb.task_cells:
                dst.update_or_create_task_cell(cell.name, nb.name, assignment,
                                               max_score=cell.max_score, cell_type=cell.cell_type)
            for cell in nb.source_cells:
                dst.update_or_create_source_cell(cell.name, nb.name, assignment, cell_type=cell.cell_type,
                                                 locked=cell.locked, source=cell.source, checksum=cell.checksum)


def has_assignment(db_path: Path, assignment: str, course_id: str) -> bool:
    if not db_path.exists():
        return False
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{db_path}", course_id) as gb:
        try:
            return len(gb.find_assignment(assignment).notebooks) > 0
        except MissingEntry:
            return False


def generate(course: Course, out_db: Path) -> None:
    """`nbgrader generate_assignment` on a scratch copy of the course's config and source: gradebook at out_db."""
    with tempfile.TemporaryDirectory(prefix="grading-generate-") as tmp:
        tmp = Path(tmp)
        shutil.copy2(course.config_file, tmp / "nbgrader_config.py")
        source_name = course.config.get("CourseDirectory", {}).get("source_directory", "source")
        shutil.copytree(course.source_dir, tmp / source_name / course.assignment, ignore=paths.COPY_IGNORED)
        try:
            generate_assignments(tmp, [course.assignment], db_url=f"sqlite:///{tmp / 'gradebook.db'}")
        except NbgraderError as err:
            raise GradingError(f"could not generate assignment {course.assignment!r} from "
                               f"{course.source_dir}:\n{err}") from err
        shutil.copy2(tmp / "gradebook.db", out_db)


def _into_gradebook(write, course: Course, busy_wait: float) -> None:
    """``write()`` into the course's gradebook, waiting while another program holds it locked."""
    from .gradebook_busy import retrying

    retrying(write, db_path=course.db_path, what=f"the definition of {course.assignment}",
             wait_seconds=busy_wait, rollback=lambda: None)


def prepare(course: Course, busy_wait: float = 60.0) -> None:
    """Make sure DIR/gradebook.db defines the assignment, and build the template gradebook.

    A full nbgrader course whose gradebook already has the assignment is authoritative (as for
    `nbgrader autograde`: hidden tests and checksums come from that gradebook).  Otherwise the
    assignment is generated from its source with `nbgrader generate_assignment` and its
    definitions are written into DIR/gradebook.db.
    """
    from sqlalchemy.exc import OperationalError

    from .gradebook_health import check

    check(course.db_path)   # a damaged gradebook is refused before anything is written to it
    try:
        _prepare(course, busy_wait)
    except (OSError, OperationalError) as err:   # a full disk, most likely
        raise GradingError(f"could not prepare {course.assignment} in {course.state_dir} "
                           f"({getattr(err, 'orig', None) or err}); nothing of this run was recorded; fix that "
                           f"(free some space?) and run the command again") from err


def _prepare(course: Course, busy_wait: float) -> None:
    course.state_dir.mkdir(parents=True, exist_ok=True)
    tmp_db = course.state_dir / f"template.{os.getpid()}.db"
    tmp_db.unlink(missing_ok=True)
    try:
        if course.own_source and has_assignment(course.db_path, course.assignment, course.course_id):
            copy_assignment(course.db_url, f"sqlite:///{tmp_db}", course.assignment, course.course_id)
        else:
            generate(course, tmp_db)
            _into_gradebook(lambda: copy_assignment(f"sqlite:///{tmp_db}", course.db_url, course.assignment,
                                                    course.course_id), course, busy_wait)
        os.replace(tmp_db, course.template_db)
    finally:
        tmp_db.unlink(missing_ok=True)
