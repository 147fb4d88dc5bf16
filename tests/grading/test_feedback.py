"""What a student gets back, piece by piece and without a kernel: hidden tests stay hidden, tracebacks show
the student's code and the failing line, the page starts with a summary (autograder.grading.worker.feedback).

The fixture is a real autograded copy of lesson 3 (two exercises, four test cells), cut down to its graded
cells; one test cell carries a failure raised inside its hidden block, as IPython formats it.
"""
import copy
import json

import nbformat
import pytest
from feedback_pages import failing_notebook as _notebook
from feedback_pages import passing_notebook, render

from autograder.grading.worker.feedback import hidden_text, student_traceback, visible_source
from autograder.grading.worker.feedback.hidden import PLACEHOLDER, hidden_lines
from autograder.grading.worker.feedback.summary import exercises, failure_message, summary_html
from autograder.grading.worker.feedback.tracebacks import graded_test_sources
from autograder.nbgrader_course import cell_of

SOURCE = '''"""Checks f."""
assert f(1) == 2, "f(1) should be 2"
### BEGIN HIDDEN TESTS
secret = 41
assert f(secret) == 42, "f(x) should be x + 1"
### END HIDDEN TESTS
assert f(0) == 1
    ### BEGIN HIDDEN TESTS
    assert f(-1) == 0
    ### END HIDDEN TESTS'''


PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")  # 1 x 1


def _errors(nb, grade_id):
    cell = cell_of(nb, grade_id)
    return [o for o in cell.outputs if o.output_type == "error"]


def test_visible_source_replaces_each_hidden_block_by_one_line():
    shown = visible_source(SOURCE)
    assert "secret" not in shown and "f(-1)" not in shown and "HIDDEN" not in shown
    assert shown.splitlines() == ['"""Checks f."""', 'assert f(1) == 2, "f(1) should be 2"', PLACEHOLDER,
                                  "assert f(0) == 1", "    " + PLACEHOLDER]
    assert hidden_lines(SOURCE) == {3, 4, 5, 6, 8, 9, 10}
    assert hidden_text(SOURCE) == ["secret = 41", 'assert f(secret) == 42, "f(x) should be x + 1"',
                                   "assert f(-1) == 0"]


def test_a_hidden_block_left_open_is_hidden_to_the_end():
    shown = visible_source("x = 1\n### BEGIN HIDDEN TESTS\nassert secret()\n")
    assert shown == "x = 1\n" + PLACEHOLDER


def test_traceback_keeps_the_visible_failing_line_and_folds_the_graders_frames():
    nb = _notebook()
    (error,) = _errors(nb, "test_freeze_and_train_frozen")
    shown = "\n".join(student_traceback(error.traceback, graded_test_sources(nb)))
    assert "In test cell `test_freeze_and_train_frozen`, line 6:" in shown
    assert '----> 6 t.report.expect(updated="*/head/*"' in shown
    assert "[... 1 frame inside the course's checks ...]" in shown
    assert "autograder/tracker/report.py" not in shown and "\x1b[" not in shown
    assert "BEGIN HIDDEN TESTS" not in shown and "seed=5" not in shown   # line 8 of the context, and beyond
    assert shown.rstrip().endswith("or assigned directly.")              # the message itself, whole


def test_a_failure_inside_a_hidden_block_shows_its_message_not_its_line():
    nb = _notebook()
    (error,) = _errors(nb, "test_train_bias_only_losses")
    shown = "\n".join(student_traceback(error.traceback, graded_test_sources(nb)))
    assert "line 17: a line of the hidden tests (not shown)" in shown
    assert "first_loss" not in shown.split("AssertionError:")[0]
    assert shown.endswith("AssertionError: the first loss should be the untrained model's loss 0.9386, not 0.8121")


def test_summary_has_one_row_per_exercise_with_points_and_the_first_failure():
    rows = exercises(_notebook())
    assert [(r.title, r.answer_id, r.points, r.max_points) for r in rows] == [
        ("Exercise 1: train only the bias", "train_bias_only", 2.0, 3.0),
        ("Exercise 2: freeze a layer, then train the rest", "freeze_and_train", 1.0, 3.0)]
    assert rows[0].first_failure == ("test_train_bias_only_losses", "AssertionError: the first loss should be "
                                     "the untrained model's loss 0.9386, not 0.8121")
    # The tracker's list of failures: the line that names the variable, not "2 variable checks failed:".
    assert rows[1].first_failure[1].startswith("TrackerAssertionError: `stacked/hidden/kernel`: expected frozen")


def test_a_cell_withheld_for_review_is_shown_withheld_not_passed():
    """Points the grader withheld for review (worker/review.py) are out of the score the page shows (the scratch
    gradebook holds them as the course's does), and the exercise says it waits for the instructor."""
    nb = passing_notebook()
    first_test = exercises(nb)[0].tests[0]
    rows = exercises(nb, frozenset({first_test}))
    assert rows[0].withheld == [first_test] and not rows[0].passed and rows[1].passed
    page = summary_html(nb, {"nbgrader": {"score": 3, "max_score": 6}}, withheld=frozenset({first_test}))
    assert "Score: 3 / 6" in page and page.count("withheld for review") == 1 and page.count("&#10003; passed") == 1
    assert f'<a href="#{first_test}">' in page


def test_failure_message_of_stderr_and_of_a_cell_without_output():
    stderr = nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output("stream", name="stderr", text="oops\nmore")])
    assert failure_message(stderr) == "wrote to stderr: oops"
    assert failure_message(nbformat.v4.new_code_cell()) is None


@pytest.fixture(scope="module")
def page():
    """The fixture's feedback page, rendered as GenerateFeedback renders it."""
    return render(_notebook())


def test_the_page_shows_no_line_of_any_hidden_test(page):
    nb = _notebook()
    secret = [line for source in graded_test_sources(nb).values() for line in hidden_text(source)]
    assert len(secret) >= 10
    import html
    text = html.unescape(page)
    assert [line for line in secret if line in text] == []
    assert "BEGIN HIDDEN TESTS" not in text and text.count(PLACEHOLDER) == 4


def test_the_page_starts_with_the_summary_and_carries_its_styles(page):
    assert page.index('class="course-summary"') < page.index('class="panel panel-primary nbgrader_cell"')
    assert "Score: 3 / 6" in page and "✗ not yet" in page
    assert 'href="#test_train_bias_only_losses"' in page and 'href="#test_freeze_and_train_frozen"' in page
    assert "white-space: pre-wrap" in page and "div.autograder-tracker td" in page


def test_release_tests_shows_them_whole():
    """The instructor's option (--release-tests): the hidden blocks and the whole tracebacks are shown."""
    import html

    page = html.unescape(render(_notebook(), release_tests=True))
    assert "### BEGIN HIDDEN TESTS" in page and "autograder/tracker/report.py" in page


def test_the_reused_exporter_renders_the_same_page_as_a_fresh_one(page):
    """FeedbackExporter keeps one Jinja environment (compiled templates) per process: the second page comes from
    the same environment, byte for byte, whatever rendered between; and it is nbconvert's HTMLExporter's page."""
    from bs4 import BeautifulSoup

    from autograder.grading.worker.feedback import FeedbackExporter
    from autograder.grading.worker.feedback.exporter import NO_ALT

    first = render(_notebook(), exporter_class=FeedbackExporter)
    released = render(_notebook(), release_tests=True, exporter_class=FeedbackExporter)
    second = render(_notebook(), exporter_class=FeedbackExporter)
    # The same document as nbconvert's page, which is nbconvert's rendering written out again by BeautifulSoup
    # (FeedbackExporter skips that pass: worker/feedback/exporter.py).
    assert first == second and str(BeautifulSoup(first, features="html.parser")) == page and released != first
    assert len(FeedbackExporter._environments) == 1
    # An image output (a tracker figure) gets nbconvert's alt text, without nbconvert's pass.
    with_image = _notebook()
    code = next(c for c in with_image.cells if c.cell_type == "code")
    code.outputs.append(nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<figure>"}))
    ours, nbconverts = render(with_image, exporter_class=FeedbackExporter), render(with_image)
    assert f'alt="{NO_ALT}"' in ours and str(BeautifulSoup(ours, features="html.parser")) == nbconverts


def test_the_kept_highlighting_is_nbconverts_for_every_input_it_reads():
    """CachedHighlight keeps each cell's highlighted HTML per process (a class's pages share most cells); it
    returns nbconvert's Highlight2HTML result for the source, the language, the cell's magics language, the
    notebook's lexer and the formatter options, and a second call with the same inputs is a kept result."""
    from nbconvert.filters.highlight import Highlight2HTML

    from autograder.grading.worker.feedback.exporter import CachedHighlight, _highlighted

    source = "%%bash\necho hi\nx = tf.Variable(1.0)  # a comment"
    cases = [("ipython3", {}, None, None), ("python", {}, None, None), ("ipython3", {}, "python", None),
             ("ipython3", {}, None, {"magics_language": "javascript"}), ("ipython3", {"linenos": True}, None, None)]
    for lexer, options, language, metadata in cases:
        expected = Highlight2HTML(pygments_lexer=lexer, extra_formatter_options=options)(source, language, metadata)
        kept = CachedHighlight(pygments_lexer=lexer, extra_formatter_options=options)
        hits = _highlighted.cache_info().hits
        assert kept(source, language, metadata) == expected == kept(source, language, metadata)
        assert _highlighted.cache_info().hits == hits + 1
    pages = [Highlight2HTML(pygments_lexer=lexer, extra_formatter_options=options)(source, language, metadata)
             for lexer, options, language, metadata in cases]
    assert all(page != pages[0] for page in pages[1:])   # each case changes one input of the first: each matters


def test_a_tracker_figure_is_drawn_once_per_distinct_report():
    from autograder.grading.worker.collect import tracker_bundles
    from autograder.grading.worker.figures import _drawn_png, figure_png

    reports = [d for c in _notebook().cells if c.cell_type == "code" for d in tracker_bundles(c.outputs)
               if d.get("variables")]
    assert reports
    _drawn_png.cache_clear()
    first = figure_png(reports[0])
    again = figure_png(json.loads(json.dumps(reports[0])))     # an equal report, another object
    changed = copy.deepcopy(reports[0])
    changed["variables"][0]["verdict"] = "frozen" if changed["variables"][0]["verdict"] != "frozen" else "updated"
    assert again == first and figure_png(changed) != first
    assert (_drawn_png.cache_info().hits, _drawn_png.cache_info().misses) == (1, 2)
