"""Draw the dependency graph of a loss: which variables have a differentiable path to it (lesson 5).

``trace_dependencies(loss_fn, variables)`` traces ``loss_fn`` (a function of no arguments that reads
``tf.Variable``s) with ``tf.function`` and follows the loss backwards through the graph's inputs, as the
tape's backward walk does. It returns a :class:`DependencyGraph`:

- ``nodes``: ``{node id: (label, kind)}``; kind is ``"trainable"``, ``"frozen"`` or ``"integer"`` for a
  variable (every read of a variable is folded into one node), ``"op"`` for an operation, ``"loss"`` for the
  operation that produces the loss, and ``"constant"`` for constants and captured tensors, which are left
  out unless ``show_constants=True`` (they have no gradient and clutter the drawing). A variable the loss
  never reads is a node of its own, id ``"unread/<name>"``, with no edge.
- ``edges``: ``{(source id, destination id): differentiable}``. An edge is differentiable when it carries
  a floating-point tensor and does not enter a ``StopGradient``.
- ``has_path``: ``{variable name: bool}``, True when a chain of differentiable edges leads from the
  variable to the loss, whatever its ``trainable`` flag (the tape's default watching is a separate matter).

``draw_dependency_graph(loss_fn, variables)`` draws that graph with matplotlib (a layered layout: an
operation one column right of its deepest input, a variable just left of its first use) and returns
``(figure, has_path)``. Variable names are ``tf.Variable`` names without ``:0``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KIND_COLOURS = {"trainable": "#9be29b", "frozen": "#b9c6d6", "integer": "#f6c28b",
                "constant": "#ffffff", "op": "#fff3b0", "loss": "#f4a3a3"}
KIND_LABELS = {"trainable": "trainable variable", "frozen": "frozen (non-trainable)", "integer": "integer variable",
               "constant": "constant", "op": "operation", "loss": "loss"}
VARIABLE_KINDS = ("trainable", "frozen", "integer")


@dataclass
class DependencyGraph:
    """The traced graph of a loss: nodes, edges (differentiable or not) and which variables have a path."""

    nodes: dict[str, tuple[str, str]]
    edges: dict[tuple[str, str], bool]
    has_path: dict[str, bool]


def variable_name(variable) -> str:
    """A tf.Variable's name without the ``:0`` suffix."""
    return variable.name.split(":")[0]


def _kind(variable) -> str:
    if variable.dtype.is_integer or variable.dtype.is_bool:
        return "integer"
    return "trainable" if variable.trainable else "frozen"


def _source_op(tensor):
    """The op a tensor comes from, skipping variable reads and identities."""
    op = tensor.op
    while op.type in ("Identity", "ReadVariableOp"):
        op = op.inputs[0].op
    return op


def trace_dependencies(loss_fn, variables, show_constants: bool = False) -> DependencyGraph:
    """Trace ``loss_fn`` and walk its graph backwards from the loss (see the module docstring)."""
    import tensorflow as tf

    graph = tf.function(loss_fn).get_concrete_function().graph
    by_handle = {id(v.handle): v for v in variables}
    captured = {inside.op.name: by_handle.get(id(outside)) for outside, inside in graph.captures}
    loss_op = _source_op(graph.outputs[0])
    nodes: dict[str, tuple[str, str]] = {}
    edges: dict[tuple[str, str], bool] = {}
    stack = [loss_op]
    while stack:
        op = stack.pop()
        if op.name in nodes:
            continue
        var = captured.get(op.name)
        if var is not None:
            nodes[op.name] = (variable_name(var), _kind(var))
        elif op.type in ("Const", "Placeholder"):
            value = tf.get_static_value(op.outputs[0]) if op.type == "Const" else None
            scalar = value is not None and np.ndim(value) == 0
            nodes[op.name] = (f"{value:g}" if scalar else f"const {tuple(op.outputs[0].shape)}", "constant")
        else:
            nodes[op.name] = (op.type, "loss" if op is loss_op else "op")
        for tensor in op.inputs:
            source = _source_op(tensor)
            if not show_constants and source.type in ("Const", "Placeholder") and captured.get(source.name) is None:
                continue
            edges[(source.name, op.name)] = tensor.dtype.is_floating and op.type != "StopGradient"
            stack.append(source)
    drawn = {label for label, kind in nodes.values() if kind in VARIABLE_KINDS}
    for v in variables:   # variables the loss never reads: a node of their own
        if variable_name(v) not in drawn:
            nodes[f"unread/{variable_name(v)}"] = (variable_name(v), _kind(v))
    reaches = {loss_op.name}
    changed = True
    while changed:
        changed = False
        for (src, dst), differentiable in edges.items():
            if differentiable and dst in reaches and src not in reaches:
                reaches.add(src)
                changed = True
    has_path = {label: key in reaches for key, (label, kind) in nodes.items() if kind in VARIABLE_KINDS}
    return DependencyGraph(nodes, edges, has_path)


def layout(nodes, edges) -> dict[str, tuple[float, float]]:
    """Positions: column = longest chain of inputs (a node without inputs just left of its first use);
    rows ordered by a few barycentre sweeps (a node moves towards the mean row of its neighbours)."""
    inputs = {n: [s for (s, d) in edges if d == n] for n in nodes}
    outputs = {n: [d for (s, d) in edges if s == n] for n in nodes}
    depth: dict[str, int] = {}

    def column(n):
        if n not in depth:
            depth[n] = 1 + max((column(s) for s in inputs[n]), default=-1)
        return depth[n]

    for n in sorted(nodes):
        column(n)
    for n in nodes:
        if not inputs[n] and outputs[n]:
            depth[n] = min(depth[d] for d in outputs[n]) - 1
    shift = min(depth.values())
    columns = [sorted(n for n in nodes if depth[n] - shift == d) for d in range(max(depth.values()) - shift + 1)]
    rank = {n: i for col in columns for i, n in enumerate(col)}
    for _ in range(4):
        for col in columns:
            col.sort(key=lambda n: (np.mean([rank[m] for m in inputs[n] + outputs[n]] or [0]), n))
            rank.update({n: i - (len(col) - 1) / 2 for i, n in enumerate(col)})
    return {n: (float(depth[n] - shift), -float(rank[n])) for n in nodes}


def draw_dependency_graph(loss_fn, variables, title: str = "dependency graph", show_constants: bool = False):
    """Draw the traced graph of ``loss_fn``; return ``(figure, {variable name: has a differentiable path})``."""
    import matplotlib.pyplot as plt

    graph = trace_dependencies(loss_fn, variables, show_constants=show_constants)
    pos = layout(graph.nodes, graph.edges)
    xs, ys = [x for x, _ in pos.values()], [y for _, y in pos.values()]
    fig, ax = plt.subplots(figsize=(max(1.6 * (max(xs) + 1), 6), max(0.9 * (max(ys) - min(ys) + 1.5), 3)))
    for (src, dst), differentiable in graph.edges.items():
        ax.annotate("", xy=pos[dst], xytext=pos[src],
                    arrowprops=dict(arrowstyle="->", shrinkA=18, shrinkB=18, lw=1.5,
                                    color="black" if differentiable else "grey",
                                    linestyle="-" if differentiable else "--"))
    for n, (label, kind) in graph.nodes.items():
        if kind in VARIABLE_KINDS:
            label += "\npath ✓" if graph.has_path[label] else "\nno path ✗"
        ax.text(*pos[n], label, ha="center", va="center", fontsize=9,
                bbox=dict(boxstyle="square" if kind in VARIABLE_KINDS else "round", fc=KIND_COLOURS[kind], ec="black"))
    kinds = [k for k in KIND_COLOURS if k != "constant" or show_constants]
    handles = [plt.Rectangle((0, 0), 1, 1, fc=KIND_COLOURS[k], ec="black") for k in kinds]
    ax.legend(handles, [KIND_LABELS[k] for k in kinds], loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    ax.set_title(title + " (dashed: no gradient flows)")
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
    ax.axis("off")
    return fig, {variable_name(v): graph.has_path[variable_name(v)] for v in variables}
