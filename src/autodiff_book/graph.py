"""Walk the graph torch's autograd records for a tensor, and draw it.

A tensor computed from tensors that require gradients carries a
``grad_fn``: the node that will run that operation's backward rule. Its
``next_functions`` point to the nodes of the operation's inputs, down to
the ``AccumulateGrad`` nodes of the leaves, where ``.grad`` is filled in.
``walk_graph`` collects that graph without recursion; ``draw_graph`` draws
it with matplotlib alone, in layers computed from each node's depth.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from autodiff_book.checks import (
    check_count,
    check_real,
    check_tensor,
    shown,
)
from autodiff_book.plotting import PALETTE, new_figure

LEAF_NODE = "AccumulateGrad"
# Beyond these sizes a drawing is taller than any screen and a description
# longer than anyone reads: draw_graph refuses, describe_graph summarises.
MAX_DRAWN_NODES = 60
MAX_DESCRIBED_OPERATIONS = 100
# Inches: a figure wider than a wall poster is a typo.
MAX_WIDTH = 50.0


@dataclass(frozen=True)
class GraphNode:
    """One node of a recorded graph.

    Attributes:
        index: position in ``Graph.nodes`` (inputs come before users).
        kind: torch's class name, e.g. ``MulBackward0`` or
            ``AccumulateGrad``.
        label: short text for a drawing: the operation, or a leaf's value.
        layer: 0 for leaves, else 1 + the largest layer of its inputs.
    """

    index: int
    kind: str
    label: str
    layer: int

    def __post_init__(self) -> None:
        for name in ("index", "layer"):
            check_count(name, getattr(self, name), minimum=0)
        for name in ("kind", "label"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(
                    f"{name} must be a str, got {shown(getattr(self, name))}"
                )

    @property
    def is_leaf(self) -> bool:
        """True for the ``AccumulateGrad`` node of a leaf tensor."""
        return self.kind == LEAF_NODE


@dataclass(frozen=True)
class Graph:
    """Nodes in topological order and edges ``(input, user)`` by index.

    An input used twice by one operation gives two equal edges.
    """

    nodes: tuple[GraphNode, ...]
    edges: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        if not isinstance(self.nodes, tuple) or not self.nodes or not all(
            isinstance(node, GraphNode) for node in self.nodes
        ):
            raise TypeError(
                "nodes must be a non-empty tuple of GraphNode, got "
                f"{shown(self.nodes)}"
            )
        if any(node.index != k for k, node in enumerate(self.nodes)):
            raise ValueError("nodes must be listed in the order of index")
        if not isinstance(self.edges, tuple):
            raise TypeError(
                f"edges must be a tuple of pairs, got {shown(self.edges)}"
            )
        count = len(self.nodes)
        for edge in self.edges:
            if not (
                isinstance(edge, tuple)
                and len(edge) == 2
                and all(
                    isinstance(end, int) and not isinstance(end, bool)
                    and 0 <= end < count
                    for end in edge
                )
            ):
                raise ValueError(
                    "edges must be (input, user) pairs of node indices "
                    f"below {count}, got {shown(edge)}"
                )

    @property
    def output(self) -> GraphNode:
        """The node of the tensor the walk started from."""
        return self.nodes[-1]


def operation_name(node) -> str:
    """``MulBackward0`` -> ``mul``; an exponent is shown: ``pow 2``."""
    if not isinstance(node, torch.autograd.graph.Node):
        raise TypeError(
            "node must be an autograd node (a tensor's grad_fn), got "
            f"{type(node).__name__}"
        )
    kind = type(node).__name__
    name = re.sub(r"Backward\d*$", "", kind).lower()
    exponent = getattr(node, "_saved_exponent", None)
    if isinstance(exponent, int | float):
        name += f" {exponent:g}"
    return name


def leaf_label(tensor: torch.Tensor, names: Mapping[str, torch.Tensor]) -> str:
    """A leaf's name (if given) and its value, or its shape if not scalar."""
    check_tensor("tensor", tensor)
    names = _check_names(names, required=True)
    name = next((key for key, value in names.items() if value is tensor), None)
    if tensor.numel() == 1:
        text = f"{tensor.item():.3g}"
    else:
        text = "shape " + "×".join(str(size) for size in tensor.shape)
    return text if name is None else f"{name} = {text}"


def _check_names(names, *, required: bool = False) -> dict:
    """``names`` as a dict {str: tensor}; ``None`` is {} unless required."""
    if names is None and not required:
        return {}
    if not isinstance(names, Mapping) or not all(
        isinstance(key, str) for key in names
    ):
        raise TypeError(
            "names must be a mapping {name: tensor} such as {'x': x}, got "
            f"{shown(names)}"
        )
    return dict(names)


def walk_graph(
    output: torch.Tensor, names: Mapping[str, torch.Tensor] | None = None
) -> Graph:
    """Collect the autograd graph that ends in ``output``.

    Args:
        output: a tensor with a ``grad_fn``.
        names: optional ``{"x": x, ...}`` to name leaf tensors in labels.

    Returns:
        A ``Graph`` whose nodes are listed inputs first, output last.
    """
    if not isinstance(output, torch.Tensor):
        raise TypeError(
            "walk_graph needs a torch.Tensor as output, got "
            f"{type(output).__name__}"
        )
    check_tensor("output", output)
    if output.grad_fn is None:
        raise ValueError(
            "output has no grad_fn: it is a leaf or was computed "
            "without requires_grad, so there is no graph to draw"
        )
    names = _check_names(names)
    # Iterative post-order depth-first search: a node is numbered once all
    # of its inputs are, so deep graphs never meet the recursion limit.
    index, order = {}, []
    stack = [(output.grad_fn, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            if node not in index:
                index[node] = len(order)
                order.append(node)
            continue
        if node in index:
            continue
        stack.append((node, True))
        for child, _ in reversed(node.next_functions):
            # None marks an input that needs no gradient (a constant).
            if child is not None and child not in index:
                stack.append((child, False))
    edges, layers, nodes = [], [], []
    for position, node in enumerate(order):
        inputs = [
            index[child]
            for child, _ in node.next_functions
            if child is not None
        ]
        edges.extend((source, position) for source in inputs)
        layers.append(1 + max((layers[i] for i in inputs), default=-1))
        kind = type(node).__name__
        if kind == LEAF_NODE:
            label = leaf_label(node.variable, names)
        else:
            label = operation_name(node)
        nodes.append(GraphNode(position, kind, label, layers[-1]))
    return Graph(tuple(nodes), tuple(edges))


def describe_graph(
    graph: Graph, max_operations: int | None = MAX_DESCRIBED_OPERATIONS
) -> str:
    """A plain-text account of the graph, one line per operation.

    Args:
        graph: what ``walk_graph`` returned.
        max_operations: describe at most this many operations and count the
            rest in a last line; ``None`` describes them all.
    """
    if not isinstance(graph, Graph):
        raise TypeError(
            f"describe_graph needs a Graph, got {type(graph).__name__}"
        )
    if max_operations is not None:
        max_operations = check_count("max_operations", max_operations)
    # Each node's inputs gathered in one pass over the edges: looking them
    # up per node would take time quadratic in the graph's size.
    inputs: dict[int, list[str]] = {}
    for source, target in graph.edges:
        inputs.setdefault(target, []).append(graph.nodes[source].label)
    operations = [node for node in graph.nodes if not node.is_leaf]
    shown = operations if max_operations is None else (
        operations[:max_operations]
    )
    lines = [
        f"{node.label} <- " + ", ".join(inputs.get(node.index, []))
        for node in shown
    ]
    if len(shown) < len(operations):
        lines.append(
            f"... and {len(operations) - len(shown)} more operations "
            f"({len(graph.nodes)} nodes in all)"
        )
    return "\n".join(lines)


def layout_graph(graph: Graph) -> dict[int, tuple[float, float]]:
    """Place each node: y is its layer, x spreads each layer over (0, 1).

    Layers are filled from the output down; a node sits in its layer in
    the order of the mean x of the nodes that use it, which keeps most
    arrows from crossing.
    """
    if not isinstance(graph, Graph):
        raise TypeError(
            f"layout_graph needs a Graph, got {type(graph).__name__}"
        )
    users: dict[int, list[int]] = {}
    for source, target in graph.edges:
        users.setdefault(source, []).append(target)
    rows: dict[int, list[GraphNode]] = {}
    for node in graph.nodes:
        rows.setdefault(node.layer, []).append(node)
    position: dict[int, tuple[float, float]] = {}
    for layer in sorted(rows, reverse=True):

        def mean_user_x(node: GraphNode) -> float:
            targets = users.get(node.index, [])
            return sum(position[t][0] for t in targets) / max(len(targets), 1)

        row = sorted(
            rows[layer], key=lambda node: (mean_user_x(node), node.index)
        )
        for k, node in enumerate(row):
            position[node.index] = ((k + 1) / (len(row) + 1), layer)
    return position


def draw_graph(
    output: torch.Tensor | Graph,
    names: Mapping[str, torch.Tensor] | None = None,
    *,
    width: float | None = None,
) -> tuple[Figure, Axes]:
    """Draw the recorded graph, leaves at the bottom, output at the top.

    Args:
        output: a tensor with a ``grad_fn``, or a ``Graph``.
        names: optional ``{"x": x, ...}`` to name leaf tensors.
        width: figure width in inches; by default just wide enough for
            the widest layer, so that a phone shows the labels large.

    Returns:
        ``(figure, axes)``. Arrows follow the forward computation; the
        backward pass walks them the other way.

    Raises:
        ValueError: for a graph of more than ``MAX_DRAWN_NODES`` nodes,
            which no screen shows legibly (``describe_graph`` reads it).
    """
    if not isinstance(output, torch.Tensor | Graph):
        raise TypeError(
            "draw_graph needs a torch.Tensor or a Graph as output, got "
            f"{type(output).__name__}"
        )
    if width is not None:
        width = check_real("width", width)
        if not 0 < width <= MAX_WIDTH:
            raise ValueError(
                f"width must be positive and at most {MAX_WIDTH} inches, "
                f"got {width}"
            )
    is_graph = isinstance(output, Graph)
    graph = output if is_graph else walk_graph(output, names)
    if len(graph.nodes) > MAX_DRAWN_NODES:
        raise ValueError(
            f"the graph has {len(graph.nodes)} nodes, more than the "
            f"{MAX_DRAWN_NODES} a drawing can show legibly; read it with "
            "describe_graph(walk_graph(output)) instead"
        )
    position = layout_graph(graph)
    depth = graph.output.layer + 1
    if width is None:
        widest = Counter(node.layer for node in graph.nodes).most_common(1)
        width = min(1.4 + 1.3 * widest[0][1], 6.4)
    figure, axes = new_figure(width=width, height=0.9 + 0.85 * depth)
    axes.set_axis_off()
    axes.set_xlim(0, 1)
    axes.set_ylim(-0.6, depth - 0.4)
    # Equal edges (an input used twice) bend apart so that each one shows.
    multiplicity = Counter(graph.edges)
    drawn: Counter = Counter()
    for edge in graph.edges:
        bend = 0.3 * (drawn[edge] - (multiplicity[edge] - 1) / 2)
        drawn[edge] += 1
        axes.annotate(
            "",
            xy=position[edge[1]],
            xytext=position[edge[0]],
            arrowprops={
                "arrowstyle": "-|>",
                "color": "#333333",
                "linewidth": 1.4,
                "shrinkA": 15,
                "shrinkB": 15,
                "connectionstyle": f"arc3,rad={bend}",
            },
        )
    for node in graph.nodes:
        # Leaves and operations differ by shape and fill, not colour only.
        style = "round,pad=0.4" if node.is_leaf else "square,pad=0.4"
        face = "#D9ECF7" if node.is_leaf else "white"
        edge = PALETTE[0] if node.is_leaf else "#222222"
        axes.text(
            *position[node.index],
            node.label,
            ha="center",
            va="center",
            fontsize=13,
            color="black",
            fontweight="bold" if node is graph.output else "normal",
            bbox={
                "boxstyle": style,
                "facecolor": face,
                "edgecolor": edge,
                "linewidth": 1.5,
            },
            zorder=3,
        )
    return figure, axes
