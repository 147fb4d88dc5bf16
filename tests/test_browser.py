"""A student's session in a real browser: open a lesson in JupyterLab, Run All, see the plot, press Validate;
then read a feedback page (failing and passing) at 1300 px.

Headless Chromium (Debian's `chromium` package) driven by Playwright's Python package (pinned in the
test extra). The test installs Chromium with apt-get when it is missing and it runs as root; where
the browser cannot run it is skipped with the reason. Screenshots go to build/test-artifacts/browser/.
Each screenshot shows what its name says: it is taken once that part of the page is drawn, and checked
not to be blank.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from lab_server import TOKEN, running_lab

from autograder import nbgrader_course as course
from autograder import paths

ASSIGNMENT = os.environ.get("BROWSER_LESSON", "lesson03_example2_dense")  # a lesson with a plot and exercises
ARTIFACTS = Path(os.environ.get("COURSE_ARTIFACTS", paths.ROOT / "build" / "test-artifacts")) / "browser"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]


def _chromium() -> str:
    """Path of Debian's Chromium, installing it with apt-get when missing (as root); else skip."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("Chromium is not installed and this user cannot apt-get install it "
                    "(install Debian's `chromium` package to run the browser test)")
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        result = subprocess.run(command, capture_output=True, text=True, timeout=900,
                                env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        if result.returncode != 0:
            pytest.skip(f"could not install Chromium with `{' '.join(command)}`: {result.stderr[-500:]}")
    return shutil.which("chromium")


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as err:  # pinned in the test extra; a broken install is worth a clear skip reason
        pytest.skip(f"Playwright is not importable: {err}")
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS, headless=True)
        except Exception as err:
            pytest.skip(f"Chromium at {executable} cannot start here: {err}")
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def solved_course(tmp_path_factory):
    """A copy of notebooks/ where the lesson's exercises are solved, as a student would have them."""
    root = tmp_path_factory.mktemp("student-home")
    shutil.copytree(paths.NOTEBOOKS, root / "notebooks")
    (source,) = paths.notebooks_of(paths.SOLUTIONS, ASSIGNMENT)
    student_path = root / "notebooks" / ASSIGNMENT / source.name
    student = nbformat.read(str(student_path), as_version=4)
    nbformat.write(course.answer(student, course.solution_answers(nbformat.read(str(source), as_version=4))),
                   str(student_path))
    return root


def _shot(page, name, element=None, prefix=ASSIGNMENT):
    """Screenshot of the page (or of one element, scrolled into view and drawn), checked not to be blank."""
    from PIL import Image

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{prefix}-{name}.png"
    (element or page).screenshot(path=str(path), **({} if element else {"full_page": False}))
    with Image.open(path) as image:
        extrema = image.convert("L").getextrema()
    assert extrema[1] - extrema[0] > 64, f"{path} is blank"
    return path


def test_student_runs_a_lesson_and_validates_it(browser, solved_course, tmp_path):
    """Run All shows no error and renders the plot; Validate reports success. Screenshots are saved."""
    (source,) = paths.notebooks_of(paths.SOLUTIONS, ASSIGNMENT)
    code_cells = sum(c.cell_type == "code" for c in nbformat.read(str(source), as_version=4).cells)
    with running_lab(tmp_path, f"--ServerApp.root_dir={solved_course / 'notebooks'}") as base:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{base}/lab/tree/{ASSIGNMENT}/{source.name}?token={TOKEN}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
        _shot(page, "1-opened")

        page.click(".lm-MenuBar-item:has-text('Run')")
        page.click(".lm-Menu-item:has-text('Run All Cells')")
        # Every code cell gets an execution count once Run All has finished.
        page.wait_for_function(
            """n => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                    .filter(p => /\\[\\d+\\]/.test(p.textContent)).length >= n""",
            arg=code_cells, timeout=300_000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        images = page.locator(".jp-OutputArea-output img")
        # The plot itself: JupyterLab draws only the cells in view, so a page screenshot taken right after
        # scrolling could be empty (an element screenshot waits until the element is drawn).
        _shot(page, "2-ran-all-plot", element=images.first)
        assert errors.count() == 0, errors.first.inner_text()
        assert images.count() >= 1, "the lesson's plot was not rendered"
        assert images.first.evaluate("img => img.naturalWidth > 100 && img.naturalHeight > 100")

        page.click(".jp-Toolbar-item:has-text('Validate') >> button")
        dialog = page.wait_for_selector(".jp-Dialog", timeout=300_000)
        page.wait_for_function("() => !document.querySelector('.jp-Dialog').innerText.includes('Validating')",
                               timeout=300_000)
        shot = _shot(page, "3-validated")
        assert "Success! Your notebook passes all the tests." in dialog.inner_text(), (dialog.inner_text(), shot)


# Elements whose text a student must read whole: none may be wider than its box.
OVERFLOW = """() => [...document.querySelectorAll('pre, .course-summary td, .autograder-tracker, .output_subarea')]
    .filter(el => el.scrollWidth > el.clientWidth + 1)
    .map(el => el.className + ': ' + el.innerText.slice(0, 80))"""


@pytest.mark.parametrize("case", ["failing", "passing"])
def test_student_reads_a_feedback_page(browser, tmp_path, case):
    """A feedback page at 1300 px: the summary first, every message whole (nothing wider than its box, no
    horizontal scrolling), the tracker's table styled. Screenshots of the summary and of a failed test."""
    import feedback_pages

    nb = feedback_pages.failing_notebook() if case == "failing" else feedback_pages.passing_notebook()
    html_path = tmp_path / f"feedback-{case}.html"
    html_path.write_text(feedback_pages.render(nb))
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    page.goto(html_path.as_uri())
    page.wait_for_selector(".course-summary")
    _shot(page, "1-summary", element=page.locator(".course-summary"), prefix=f"feedback-{case}")
    assert page.evaluate(OVERFLOW) == []
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1300
    rows = page.locator(".course-summary tbody tr")
    assert rows.count() == 2
    if case == "failing":
        assert "not yet" in rows.nth(1).inner_text() and "stacked/hidden/kernel" in rows.nth(1).inner_text()
        cell = page.locator(".cell:has(a[name='test_freeze_and_train_frozen'])")
        _shot(page, "2-failed-test", element=cell, prefix=f"feedback-{case}")
        # The tracker's table is styled: its cells are padded, so its columns do not run together.
        padding = page.evaluate("() => getComputedStyle(document.querySelector('.autograder-tracker td')).paddingLeft")
        assert float(padding.rstrip("px")) >= 8
    else:
        assert rows.nth(0).inner_text().count("passed") == 1 and "not yet" not in rows.nth(1).inner_text()
