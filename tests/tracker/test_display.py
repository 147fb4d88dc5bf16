"""Text, HTML, JSON, plot and the IPython bundle (stable output for nbval)."""

import json
import re

import pytest
import tensorflow as tf
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from matplotlib.figure import Figure

from autograder.tracker import MIME_TYPE, TrackerAssertionError, snapshot


@pytest.fixture
def report():
    big = tf.Variable([1.0, 2.0, 3.0], name="layer/kernel")
    small = tf.Variable([0.0], name="layer/bias")
    fixed = tf.Variable([5.0], trainable=False, name="layer/fixed")
    snap = snapshot(big, small, fixed)
    big.assign_add([1e-4 / 3, 0.0, 0.0])
    small.assign([0.123456])
    return snap.compare()


def test_text_table_is_rounded_and_stable(report):
    assert repr(report) == str(report) == "\n".join([
        "Variable changes: 2 updated, 1 frozen, 0 created, 0 replaced, 0 deleted",
        "variable      verdict  trainable  shape  dtype    max |Δ|   rel Δ",
        "------------  -------  ---------  -----  -------  --------  --------",
        "layer/kernel  updated  yes        (3,)   float32  3.34e-05  8.92e-06",
        "layer/bias    updated  yes        (1,)   float32  0.123     1",
        "layer/fixed   frozen   no         (1,)   float32  0         0",
    ])


def test_html_and_json_have_no_addresses(report):
    html = report._repr_html_()
    assert html.count("<tr>") == 4 and "<code>layer/bias</code>" in html and "0.123" in html
    data = json.loads(report.to_json())
    assert data == report.to_dict() and data["mime_type"] == MIME_TYPE
    assert data["variables"][1] == {
        "name": "layer/bias", "verdict": "updated", "trainable": True, "tf_trainable": True, "role": "weight",
        "keras_tracked": True, "shape": [1], "dtype": "float32", "max_abs_delta": 0.123, "rel_change": 1.0,
        "bindings": [], "replaced_by": None}
    for text in (html, report.to_json(), repr(report)):
        assert not re.search(r"0x[0-9a-f]{6,}", text)


def test_plot_marks_frozen_as_zero_and_trainability(report):
    fig = report.plot()
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    widths = [bar.get_width() for bar in ax.patches[:3]]
    assert widths[2] == 0 and widths[1] == pytest.approx(1.0)
    assert ax.get_xscale() == "symlog"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["trainable", "non-trainable"]
    assert ax.patches[2].get_hatch() == "//" and ax.patches[0].get_hatch() is None
    assert [t.get_text() for t in ax.get_yticklabels()] == ["layer/kernel", "layer/bias", "layer/fixed"]
    assert [t.get_position()[1] for t in ax.get_yticklabels()] == [2, 1, 0]  # first variable on top


def test_expect_publishes_before_raising_inside_ipython(report):
    shell = InteractiveShell.instance()
    try:
        with capture_output() as captured:
            with pytest.raises(TrackerAssertionError):
                report.expect(frozen="layer/bias")
    finally:
        InteractiveShell.clear_instance()
    (output,) = captured.outputs
    assert set(output.data) == {"text/plain", "text/html", MIME_TYPE}
    verdicts = output.data[MIME_TYPE]
    assert verdicts["expectation"]["passed"] is False
    assert "`layer/bias`: expected frozen, but it was updated (max |Δ| 0.123)" in verdicts["expectation"]["message"]
    assert "Likely cause" in output.data["text/plain"] and shell is not None


def test_no_publication_outside_ipython(report, capsys):
    report.expect(updated=["layer/kernel", "layer/bias"], frozen="fixed", others="frozen")
    assert capsys.readouterr().out == ""
