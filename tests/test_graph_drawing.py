"""autograder.graph_drawing (lesson 5's dependency graph): the nodes and edges it finds for small losses,
which variables have a differentiable path, and what it draws."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from autograder.tfsetup import silence_tensorflow  # noqa: E402

silence_tensorflow()
import tensorflow as tf  # noqa: E402

from autograder.graph_drawing import draw_dependency_graph, layout, trace_dependencies  # noqa: E402


@pytest.fixture(scope="module")
def two_paths():
    """c has two paths to the loss, one cut by stop_gradient; k is non-trainable; n an integer; u unread."""
    c = tf.Variable(1.5, name="c")
    k = tf.Variable(3.0, trainable=False, name="k")
    n = tf.Variable(2, name="n")
    u = tf.Variable(0.0, name="u")
    return (lambda: tf.square(c * k) + tf.stop_gradient(c) * tf.cast(n, tf.float32)), [c, k, n, u]


def by_label(graph):
    return {label: node for node, (label, _) in graph.nodes.items()}


def test_nodes_are_the_variables_and_operations_without_constants(two_paths):
    graph = trace_dependencies(*two_paths)
    kinds = sorted(graph.nodes.values())
    assert kinds == sorted([("c", "trainable"), ("k", "frozen"), ("n", "integer"), ("u", "trainable"),
                            ("Mul", "op"), ("Square", "op"), ("StopGradient", "op"), ("Cast", "op"),
                            ("Mul", "op"), ("AddV2", "loss")])
    assert "unread/u" in graph.nodes
    assert not any(src == "unread/u" or dst == "unread/u" for src, dst in graph.edges)


def test_edges_into_stop_gradient_and_from_integers_are_not_differentiable(two_paths):
    graph = trace_dependencies(*two_paths)
    node = by_label(graph)
    into = {graph.nodes[dst][0]: diff for (src, dst), diff in graph.edges.items() if src == node["c"]}
    assert into == {"Mul": True, "StopGradient": False}
    assert graph.edges[(node["n"], node["Cast"])] is False
    assert graph.edges[(node["k"], [d for (s, d) in graph.edges if s == node["k"]][0])] is True
    assert len(graph.edges) == 9   # c->Mul, k->Mul, Mul->Square, Square->AddV2, c->StopGradient, StopGradient->Mul_1,
    #                                n->Cast, Cast->Mul_1, Mul_1->AddV2


def test_has_path_follows_differentiable_edges_whatever_the_trainable_flag(two_paths):
    graph = trace_dependencies(*two_paths)
    assert graph.has_path == {"c": True, "k": True, "n": False, "u": False}
    only_cut = tf.Variable(1.0, name="only_cut")
    assert trace_dependencies(lambda: tf.stop_gradient(only_cut) * 2.0, [only_cut]).has_path == {"only_cut": False}


def test_constants_appear_only_when_asked(two_paths):
    x = tf.constant([[1.0, 2.0]])
    w = tf.Variable([[0.5], [0.5]], name="w")
    without = trace_dependencies(lambda: tf.reduce_mean(x @ w), [w])
    with_constants = trace_dependencies(lambda: tf.reduce_mean(x @ w), [w], show_constants=True)
    assert [kind for _, kind in without.nodes.values()].count("constant") == 0
    assert [kind for _, kind in with_constants.nodes.values()].count("constant") == 2   # x and Mean's axis
    assert without.has_path == with_constants.has_path == {"w": True}


def test_layout_puts_each_operation_right_of_its_inputs(two_paths):
    graph = trace_dependencies(*two_paths)
    pos = layout(graph.nodes, graph.edges)
    assert all(pos[src][0] < pos[dst][0] for src, dst in graph.edges)
    assert min(x for x, _ in pos.values()) == 0


def test_draw_labels_every_node_and_returns_the_paths(two_paths):
    fig, has_path = draw_dependency_graph(*two_paths, title="two paths")
    try:
        texts = [t.get_text() for t in fig.axes[0].texts if t.get_text()]   # arrows are empty annotations
        assert "c\npath ✓" in texts and "n\nno path ✗" in texts and "u\nno path ✗" in texts and "AddV2" in texts
        assert len(texts) == 10
        assert has_path == {"c": True, "k": True, "n": False, "u": False}
        assert fig.axes[0].get_title() == "two paths (dashed: no gradient flows)"
    finally:
        plt.close(fig)
