"""The instructor's view of a class (issue 17), on one planted class graded once (tests/grading/planted_class.py):

* the class report (``DIR/reports/planted.html``, ``-class.json``, ``-class.csv``) counts the planted mistakes
  exactly: each exercise's failing students and the tracker's cause ids among them, pass rates, the student
  marked for review, the submission that failed to grade;
* the per-question export (``DIR/grades-planted.csv``, Canvas's gradebook layout) gives each student's points
  per exercise;
* the full round trip through nbgrader's exchange: release_assignment, fetch_assignment, submit, collect,
  our grade, release_feedback, fetch_feedback (the student finds the HTML);
* the review in formgrader (headless Chromium): the notebook marked for review is listed as needing manual
  grading, its answer cells show the reason, points awarded there reach grades.csv and the per-question export after
  ``python -m autograder class-report``.
"""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import paths
from autograder.grading.parent.class_report import data, export, rebuild
from autograder.nbgrader_runner import nbgrader_env, run_nbgrader

sys.path.insert(0, str(Path(__file__).resolve().parent))
import planted_class as pc  # noqa: E402
from test_browser import browser  # noqa: E402,F401  (headless Chromium, or a skip with the reason)

ARTIFACTS = Path(os.environ.get("COURSE_ARTIFACTS", paths.ROOT / "build" / "test-artifacts")) / "class_report"


def autograder_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "autograder", *args], capture_output=True, text=True,
                            env=nbgrader_env(), timeout=1500, cwd=cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """The planted class, with one student (alice) going through nbgrader's exchange, graded by one run."""
    base = tmp_path_factory.mktemp("planted")
    root, exchange, home = base / "course", base / "exchange", base / "alice"
    pc.make_course(root, exchange)
    pc.student_config(home, exchange)
    log = []

    def nbgrader(*args: str, cwd: Path) -> str:
        log.append(f"nbgrader {' '.join(args)}")
        return run_nbgrader(*args, cwd=cwd, plain=True)   # nbgrader exactly as installed

    nbgrader("release_assignment", pc.ASSIGNMENT, cwd=root)
    nbgrader("fetch_assignment", pc.ASSIGNMENT, cwd=home)
    pc.solve(home / pc.ASSIGNMENT / f"{pc.NOTEBOOK}.ipynb", {"sgd": pc.SGD, "bias": pc.BIAS})
    nbgrader("submit", pc.ASSIGNMENT, f"--student={pc.EXCHANGE_STUDENT}", cwd=home)
    nbgrader("collect", pc.ASSIGNMENT, cwd=root)
    pc.place_class(root)
    log.append(f"python -m autograder grade {pc.ASSIGNMENT} --course-dir DIR --workers 2")
    graded = autograder_cli("grade", pc.ASSIGNMENT, "--course-dir", str(root), "--workers", "2", "--no-progress")
    nbgrader("release_feedback", pc.ASSIGNMENT, f"--student={pc.EXCHANGE_STUDENT}", cwd=root)
    fetched = nbgrader("fetch_feedback", pc.ASSIGNMENT, f"--student={pc.EXCHANGE_STUDENT}", cwd=home)
    return {"root": root, "home": home, "graded": graded, "fetched": fetched, "log": log}


def class_data(root: Path) -> dict:
    return json.loads((root / "reports" / f"{pc.ASSIGNMENT}-class.json").read_text())


def read_rows(path: Path) -> list[list[str]]:
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def correct_students() -> list[str]:
    return sorted([p.student for p in pc.CLASS if p.score == 4.0] + [pc.EXCHANGE_STUDENT])


def test_causes_of_one_students_failure():
    """The tracker's causes win over the error types of other failing cells; withheld cells are `marked for review`;
    a failure with neither is counted by its error type."""
    tracker = [{"expectation": {"passed": False, "failures": [{"cause": "replaced_by_tensor", "cause_text": "w now holds"}]}}]
    assert data.student_causes([{"tracker": tracker, "error": "TrackerAssertionError: ..."},
                                {"tracker": [], "error": "AssertionError: return w"}]) == {"replaced_by_tensor": "w now holds"}
    assert list(data.student_causes([{"needs_manual_grade": True, "tracker": tracker}])) == [
        "marked for review", "replaced_by_tensor"]
    assert data.student_causes([{"error": "NotImplementedError: \nmore"}]) == {
        "no tracker verdict: NotImplementedError": "NotImplementedError: "}
    # A written answer nobody has graded yet is not a failure; a test cell withheld for review is.
    assert data.awaiting_grade({"kind": "solution", "needs_manual_grade": True})
    assert not data.awaiting_grade({"kind": "code", "needs_manual_grade": True})


def test_exercises_follow_the_answer_cells_and_their_headings(tmp_path):
    exercises = data.exercises_of("nb", pc.source_notebook())
    assert [(e.title, e.cells, e.max_points) for e in exercises] == [
        ("Update in place", ["test_sgd_in_place", "test_sgd_returns"], 2.0),
        ("Train only the bias", ["test_bias_only"], 2.0)]
    # Several answers under one heading (the plain-Python course): each named by its answer cell.
    source = Path(__file__).resolve().parent / "fixtures" / "pycourse" / "source" / "ps1"
    assert [(e.title, e.cells) for e in data.source_exercises(source)] == [
        ("Problem 1: lists (squares)", ["test_squares"]), ("Problem 1: lists (mean)", ["test_mean", "test_mean_empty"]),
        ("Problem 1: lists (counter)", ["test_counter"]),
        ("Problem 2: fizzbuzz (fizzbuzz)", ["test_fizzbuzz", "partial_fizzbuzz"]),
        ("Problem 2: fizzbuzz (explain)", ["explain"])]


def test_class_report_counts_the_planted_mistakes_exactly(planted):
    data = class_data(planted["root"])
    assert (data["students"], data["graded"]) == (len(pc.CLASS) + 2, len(pc.CLASS) + 1)
    expected_scores = {p.student: p.score for p in pc.CLASS} | {pc.EXCHANGE_STUDENT: 4.0}
    assert data["scores"] == expected_scores
    causes = {e["title"]: {c["cause"]: c["students"] for c in e["causes"]} for e in data["exercises"]}
    assert causes == pc.EXPECTED_CAUSES
    for exercise in data["exercises"]:
        failing = sorted({s for students in pc.EXPECTED_CAUSES[exercise["title"]].values() for s in students})
        assert (exercise["failed"], exercise["graded"]) == (len(failing), data["graded"])
        assert sorted(exercise["failed_students"]) == failing
        for cause in exercise["causes"]:
            assert cause["share"] == pytest.approx(len(cause["students"]) / len(failing))
    rates = {c["grade_id"]: (c["passed"], c["graded"]) for c in data["cells"]}
    assert rates == {"test_sgd_in_place": (6, 10), "test_sgd_returns": (6, 10), "test_bias_only": (6, 10)}
    assert [r["student"] for r in data["review"]] == ["flagged1"]
    assert any("uses `exec`" in item["reason"] for item in data["review"][0]["items"])
    assert [f["student"] for f in data["failed"]] == [pc.BROKEN]
    assert "is not a valid notebook" in data["failed"][0]["reason"]
    assert len(data["slowest"]) == 5 and data["slowest"] == sorted(data["slowest"], key=lambda t: -t["seconds"])
    # The CSV holds the same counts, one row per exercise and cause.
    rows = read_rows(planted["root"] / "reports" / f"{pc.ASSIGNMENT}-class.csv")
    assert {(r[1], r[4]): (int(r[3]), int(r[5]), r[7].split()) for r in rows[1:]} == {
        (title, cause): (4, len(students), students)
        for title, by_cause in pc.EXPECTED_CAUSES.items() for cause, students in by_cause.items()}
    # The page: both figures embedded, every cause with its students, the review and the failure.
    page = (planted["root"] / "reports" / f"{pc.ASSIGNMENT}.html").read_text()
    assert page.count('src="data:image/png;base64,') == 2
    for by_cause in pc.EXPECTED_CAUSES.values():
        for cause, students in by_cause.items():
            assert f"<code>{cause}</code>" in page and ", ".join(students) in page
    assert "flagged1" in page and pc.BROKEN in page and "is not a valid notebook" in page


def test_class_report_is_rebuilt_from_the_reports_without_grading(planted):
    root = planted["root"]
    before = class_data(root)
    for path in (root / "reports").glob(f"{pc.ASSIGNMENT}*"):
        path.unlink()
    written = rebuild(root, [pc.ASSIGNMENT])   # what `python -m autograder class-report` runs
    assert sorted(p.name for p in written[0].values()) == [
        "grades-planted.csv", "planted-class.csv", "planted-class.json", "planted.html"]
    assert class_data(root) == before


def test_review_findings_reach_the_gradebook_as_the_answers_automatic_comments(planted):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{planted['root'] / 'gradebook.db'}", pc.COURSE_ID) as gb:
        comments = {c.name: c.comment for c in gb.find_submission_notebook(pc.NOTEBOOK, pc.ASSIGNMENT, "flagged1").comments}
        clean = {c.name: c.comment for c in gb.find_submission_notebook(pc.NOTEBOOK, pc.ASSIGNMENT, "both1").comments}
        flagged = [nb.student.id for nb in gb.notebook_submissions(pc.NOTEBOOK, pc.ASSIGNMENT) if nb.flagged]
    assert set(comments) == {"sgd", "bias"}
    for comment in comments.values():
        assert comment.startswith("Marked for review by the autograder") and "uses `exec`" in comment
    assert not any(c and "Marked for review" in c for c in clean.values())
    assert flagged == []     # formgrader's flag is the human graders'


def test_per_question_export_in_canvas_layout(planted):
    rows = read_rows(planted["root"] / f"grades-{pc.ASSIGNMENT}.csv")
    header, possible, students = rows[0], rows[1], rows[2:]
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "planted: Update in place",
                      "planted: Train only the bias", "planted (total)", "Needs Review (ignore on import)"]
    assert possible[0] == "Points Possible" and possible[5:8] == ["2", "2", "4"]
    by_login = {r[3]: r[5:] for r in students}
    assert set(by_login) == {p.student for p in pc.CLASS} | {pc.EXCHANGE_STUDENT, pc.BROKEN}
    for student in correct_students():
        assert by_login[student] == ["2", "2", "4", "no"]
    assert by_login["rebind1"] == by_login["stub1"] == ["0", "2", "2", "no"]
    assert by_login["both1"] == by_login["outside1"] == ["2", "0", "2", "no"]
    assert by_login["flagged1"] == ["0", "0", "0", "yes"]
    assert by_login[pc.BROKEN][-1] == "yes"      # nothing graded: every cell still needs a grade


def test_round_trip_through_nbgrader_exchange(planted):
    assert planted["log"] == [
        "nbgrader release_assignment planted", "nbgrader fetch_assignment planted",
        "nbgrader submit planted --student=alice", "nbgrader collect planted",
        "python -m autograder grade planted --course-dir DIR --workers 2",
        "nbgrader release_feedback planted --student=alice", "nbgrader fetch_feedback planted --student=alice"]
    fetched = list((planted["home"] / pc.ASSIGNMENT / "feedback").glob(f"*/{pc.NOTEBOOK}.html"))
    assert len(fetched) == 1, planted["fetched"]
    page = fetched[0].read_text()
    assert "Score: 4 / 4" in page and "Update in place" in page
    assert "BEGIN HIDDEN TESTS" not in page
    grades = {r["student_id"]: r for r in csv.DictReader(open(planted["root"] / "grades.csv"))}
    assert float(grades[pc.EXCHANGE_STUDENT]["score"]) == 4.0 and grades[pc.EXCHANGE_STUDENT]["timestamp"]


# Last: it changes the gradebook (an instructor's manual scores).
def test_formgrader_shows_the_review_and_its_manual_points_reach_the_exports(planted, browser, tmp_path):
    from lab_server import TOKEN, running_server

    root = planted["root"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1300, "height": 900},   # the token on every request
                                  extra_http_headers={"Authorization": f"token {TOKEN}"})
    page = context.new_page()
    page.goto((root / "reports" / f"{pc.ASSIGNMENT}.html").as_uri())
    page.locator("text=Why students failed each exercise").wait_for()
    page.screenshot(path=str(ARTIFACTS / "class_report.png"), full_page=True)

    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), JUPYTER_CONFIG_DIR=str(tmp_path / "config"))
    args = [f"--ServerApp.root_dir={root}", *(["--allow-root"] if os.geteuid() == 0 else [])]
    # nbgrader's formgrader, a Jupyter server extension, reads the course's nbgrader_config.py from its folder.
    with running_server([sys.executable, "-m", "jupyter_server"], root, tmp_path, env, *args) as base:
        page.goto(f"{base}/formgrader/gradebook/{pc.ASSIGNMENT}/{pc.NOTEBOOK}")
        row = page.locator("#main-table tr", has=page.locator("a.name-shown", has_text="flagged1"))
        row.locator(".needs-manual-grade .glyphicon-ok").wait_for(timeout=60_000)
        needing = page.locator("#main-table .needs-manual-grade .glyphicon-ok")
        assert needing.count() == 1, "only the notebook marked for review needs a manual grade"
        row.locator(".reveal .glyphicon-eye-open").click()     # formgrader hides names until asked
        page.screenshot(path=str(ARTIFACTS / "formgrader_manual_grading.png"), full_page=True)

        row.locator("a.name-shown").click()
        comment = page.locator("#sgd-comment")
        comment.wait_for(timeout=60_000)
        page.wait_for_function("document.querySelector('#sgd-comment').placeholder.startsWith('Marked for review')")
        assert "uses `exec`" in comment.get_attribute("placeholder")
        page.screenshot(path=str(ARTIFACTS / "formgrader_review_reason.png"), full_page=False)
        for grade_id, points in (("test_sgd_in_place", "1"), ("test_sgd_returns", "1"), ("test_bias_only", "1")):
            with page.expect_response(lambda r: "/api/grade/" in r.url and r.request.method == "PUT") as saved:
                page.fill(f"#{grade_id}", points)
                page.press(f"#{grade_id}", "Tab")
            assert saved.value.ok

    autograder_cli("class-report", pc.ASSIGNMENT, "--course-dir", str(root))
    grades = {r["student_id"]: r for r in csv.DictReader(open(root / "grades.csv"))}
    assert float(grades["flagged1"]["score"]) == 3.0
    by_login = {r[3]: r[5:] for r in read_rows(root / f"grades-{pc.ASSIGNMENT}.csv")[2:]}
    assert by_login["flagged1"] == ["2", "1", "3", "no"]
    assert by_login["both1"] == ["2", "0", "2", "no"]     # everyone else as graded


def test_a_student_id_is_never_a_spreadsheet_formula():
    """Ids and names go into CSVs that instructors open in spreadsheets: a leading = + - @ is kept as text."""
    exercise = {"notebook": "nb", "title": "Ex", "graded": 2, "failed": 2,
                "causes": [{"cause": "loss_outside_tape", "count": 2, "share": 1.0,
                            "students": ["=HYPERLINK(\"http://x\")", "bob"]}]}
    rows = list(csv.reader(export.class_csv({"exercises": [exercise]}).decode().splitlines()))
    assert rows[1][-1] == "'=HYPERLINK(\"http://x\") bob"
    assert [export.as_text(v) for v in ("@SUM(A1)", "-1+2", "+x", "alice", "")] == [
        "'@SUM(A1)", "'-1+2", "'+x", "alice", ""]


def test_the_class_reports_modules_are_imported_beside_the_last_submissions(monkeypatch):
    """The command imports the class report's modules (matplotlib, jinja2) in a thread once fewer submissions
    are left than workers (a core is idle then), not after the last one; and prepare() does import them."""
    from types import SimpleNamespace

    from autograder.grading.parent import command

    calls, left_when = [], []
    results = [(("a1", f"s{i}"), SimpleNamespace(warnings=[])) for i in range(5)]

    def recorded(result, digest, course):
        left_when.append(len(calls))
        return {"status": "graded", "score": 1.0, "max_score": 1.0}

    recorder = SimpleNamespace(record=recorded, export_csv=lambda path: None, gradebook=None)

    class FakeRecorder:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return recorder

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(command, "Recorder", FakeRecorder)
    monkeypatch.setattr(command, "submission_changed", lambda *args: "")
    monkeypatch.setattr(command, "build_after_grading", lambda *args: calls.append("built"))
    monkeypatch.setattr(command, "prepare_class_reports", lambda: calls.append("prepared"))
    course = SimpleNamespace(root=Path("/nonexistent"))
    summaries = {"a1": command.GradingSummary("a1")}
    command._record(iter(results), {"a1": course}, summaries, {("a1", f"s{i}"): "d" for i in range(5)}, 5,
                    progress=False, tail=2)
    # 5 submissions, 2 workers: prepared when the 4th result arrived (1 left: a worker idle); built at the end
    assert calls == ["prepared", "built"] and left_when == [0, 0, 0, 1, 1]
    calls.clear()
    command._record(iter(results[:1]), {"a1": course}, summaries, {("a1", "s0"): "d"}, 1, progress=False, tail=2)
    assert calls == ["prepared", "built"]

    imported = subprocess.run(
        [sys.executable, "-c", "import sys\nfrom autograder.grading.parent.class_report import prepare\n"
         "assert 'matplotlib.figure' not in sys.modules\nprepare().join()\n"
         "print(all(m in sys.modules for m in ('matplotlib.figure', 'matplotlib.backends.backend_agg', 'jinja2')))"],
        capture_output=True, text=True, cwd=paths.ROOT, env=nbgrader_env(), timeout=120)
    assert imported.stdout.strip() == "True", imported.stderr[-2000:]
