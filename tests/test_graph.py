"""The graph walker and drawer against torch's own graph records."""

import re
import sys

import matplotlib as mpl
import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.text import Annotation

from autodiff_book.functions import bump, trace_of_square
from autodiff_book.graph import (
    MAX_DESCRIBED_OPERATIONS,
    MAX_DRAWN_NODES,
    Graph,
    GraphNode,
    describe_graph,
    draw_graph,
    layout_graph,
    leaf_label,
    operation_name,
    walk_graph,
)
from autodiff_book.plotting import PALETTE


def grad_fns(graph_output: torch.Tensor) -> set:
    """Every node reachable from the tensor's grad_fn (a plain BFS)."""
    seen, frontier = set(), [graph_output.grad_fn]
    while frontier:
        node = frontier.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        frontier.extend(child for child, _ in node.next_functions)
    return seen


def two_inputs():
    x = torch.tensor(1.5, requires_grad=True)
    w = torch.tensor(-0.5, requires_grad=True)
    return x * w + torch.sin(x), {"x": x, "w": w}


def bump_at_two():
    x = torch.tensor(2.0, requires_grad=True)
    return bump(x), {"x": x}


def used_twice():
    a = torch.tensor(-4.0, requires_grad=True)
    b = a + a
    return b + b, {"a": a}


def matrix():
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    return trace_of_square(a), {"A": a}


CASES = {
    "bump": bump_at_two,
    "two inputs": two_inputs,
    "node used twice": used_twice,
    "matrix leaf": matrix,
}


@pytest.mark.parametrize("make", CASES.values(), ids=CASES.keys())
def test_walk_finds_every_node_once(make):
    output, names = make()
    graph = walk_graph(output, names)
    assert len(graph.nodes) == len(grad_fns(output))
    assert [node.index for node in graph.nodes] == list(
        range(len(graph.nodes))
    )


@pytest.mark.parametrize("make", CASES.values(), ids=CASES.keys())
def test_edges_match_next_functions(make):
    output, names = make()
    graph = walk_graph(output, names)
    # Count, for every node, the non-None inputs torch records.
    expected = sorted(
        len([c for c, _ in node.next_functions if c is not None])
        for node in grad_fns(output)
    )
    incoming = sorted(
        sum(1 for _, target in graph.edges if target == node.index)
        for node in graph.nodes
    )
    assert incoming == expected


@pytest.mark.parametrize("make", CASES.values(), ids=CASES.keys())
def test_topological_order_and_layers(make):
    output, names = make()
    graph = walk_graph(output, names)
    for source, target in graph.edges:
        assert source < target
        assert graph.nodes[source].layer < graph.nodes[target].layer
    assert graph.output.kind == type(output.grad_fn).__name__
    assert all(node.layer == 0 for node in graph.nodes if node.is_leaf)
    assert graph.output.layer == max(node.layer for node in graph.nodes)


@pytest.mark.parametrize("make", CASES.values(), ids=CASES.keys())
def test_leaves_are_the_input_tensors(make):
    output, names = make()
    graph = walk_graph(output, names)
    leaves = [node for node in graph.nodes if node.is_leaf]
    assert len(leaves) == len(names)
    labels = {node.label for node in leaves}
    for name, tensor in names.items():
        if tensor.numel() == 1:
            assert f"{name} = {tensor.item():.3g}" in labels
        else:
            shape = "×".join(str(size) for size in tensor.shape)
            assert f"{name} = shape {shape}" in labels


def test_node_used_twice_gives_two_equal_edges():
    output, names = used_twice()
    graph = walk_graph(output, names)
    assert len(graph.nodes) == 3
    assert len(graph.edges) == 4
    assert len(set(graph.edges)) == 2


def test_operation_names_drop_the_backward_suffix():
    output, _ = bump_at_two()
    names = {operation_name(node) for node in grad_fns(output)}
    assert "pow 2" in names
    assert not any("Backward" in name for name in names)


def test_unnamed_leaf_shows_its_value():
    x = torch.tensor(0.25, requires_grad=True)
    graph = walk_graph(x * 3)
    assert graph.nodes[0].label == f"{x.item():.3g}"


def test_walk_of_chain_deeper_than_recursion_limit():
    depth = 3 * sys.getrecursionlimit() + 10_000
    x = torch.tensor(1.0, requires_grad=True)
    out = x
    for _ in range(depth):
        out = out * 1.0
    graph = walk_graph(out)
    assert depth > 10_000
    assert len(graph.nodes) == depth + 1
    assert graph.output.layer == depth


@pytest.mark.parametrize("make", CASES.values(), ids=CASES.keys())
def test_describe_graph_lists_each_operation(make):
    output, names = make()
    graph = walk_graph(output, names)
    lines = describe_graph(graph).splitlines()
    operations = [node for node in graph.nodes if not node.is_leaf]
    assert len(lines) == len(operations)
    for line, node in zip(lines, operations, strict=True):
        assert line.startswith(node.label + " <- ")


@pytest.mark.parametrize("make", CASES.values(), ids=CASES.keys())
def test_layout_puts_nodes_in_their_layer_without_overlap(make):
    output, names = make()
    graph = walk_graph(output, names)
    position = layout_graph(graph)
    assert set(position) == {node.index for node in graph.nodes}
    assert len(set(position.values())) == len(graph.nodes)
    for node in graph.nodes:
        x, y = position[node.index]
        assert y == node.layer
        assert 0 < x < 1


@pytest.mark.parametrize("make", CASES.values(), ids=CASES.keys())
def test_drawing_labels_every_node_on_white(make):
    output, names = make()
    figure, axes = draw_graph(output, names)
    try:
        graph = walk_graph(output, names)
        arrows = [t for t in axes.texts if isinstance(t, Annotation)]
        boxes = [t for t in axes.texts if not isinstance(t, Annotation)]
        labels = sorted(box.get_text() for box in boxes)
        assert labels == sorted(node.label for node in graph.nodes)
        assert len(arrows) == len(graph.edges)  # one arrow per edge
        assert figure.get_facecolor()[:3] == (1.0, 1.0, 1.0)
        assert figure.get_facecolor()[3] == 1.0
    finally:
        plt.close(figure)


def test_draw_accepts_a_walked_graph():
    output, names = two_inputs()
    graph = walk_graph(output, names)
    figure, axes = draw_graph(graph)
    try:
        boxes = [t for t in axes.texts if not isinstance(t, Annotation)]
        assert len(boxes) == len(graph.nodes)
    finally:
        plt.close(figure)


@pytest.mark.parametrize(
    "tensor",
    [
        torch.tensor(2.0, requires_grad=True),
        torch.tensor(2.0) * 3,
    ],
    ids=["leaf", "no requires_grad"],
)
@pytest.mark.parametrize("function", [walk_graph, draw_graph])
def test_tensor_without_grad_fn_is_refused(function, tensor):
    with pytest.raises(ValueError, match="has no grad_fn: it is a leaf"):
        function(tensor)


@pytest.mark.parametrize("bad", [2.0, [1.0], None])
@pytest.mark.parametrize("function", [walk_graph, draw_graph])
def test_non_tensor_is_refused(function, bad):
    with pytest.raises(TypeError, match="needs a torch.Tensor"):
        function(bad)


def test_describe_needs_a_graph():
    with pytest.raises(TypeError, match="describe_graph needs a Graph"):
        describe_graph("mul <- x")


@pytest.mark.parametrize("width", [0.0, -3.0, float("nan")])
def test_draw_rejects_bad_width(width):
    output, names = two_inputs()
    # nan is not a finite number, and says so.
    with pytest.raises(
        ValueError, match="width must be (positive|a finite number)"
    ):
        draw_graph(output, names, width=width)


def test_graph_is_immutable():
    output, names = bump_at_two()
    graph = walk_graph(output, names)
    assert isinstance(graph, Graph)
    with pytest.raises(AttributeError):
        graph.nodes = ()


def test_describe_graph_names_every_input_of_every_operation():
    output, names = two_inputs()
    assert describe_graph(walk_graph(output, names)) == (
        "mul <- x = 1.5, w = -0.5\nsin <- x = 1.5\nadd <- mul, sin"
    )
    output, names = used_twice()
    assert describe_graph(walk_graph(output, names)) == (
        "add <- a = -4, a = -4\nadd <- add, add"
    )


def chain(length: int) -> torch.Tensor:
    x = torch.tensor(1.0, requires_grad=True)
    out = x
    for _ in range(length):
        out = out * 1.0
    return out


def test_describe_graph_summarises_a_graph_too_long_to_read():
    graph = walk_graph(chain(10_000))
    lines = describe_graph(graph).splitlines()
    assert len(lines) == MAX_DESCRIBED_OPERATIONS + 1
    assert lines[0] == "mul <- 1"
    assert lines[-1] == (
        f"... and {10_000 - MAX_DESCRIBED_OPERATIONS} more operations "
        "(10001 nodes in all)"
    )
    short = describe_graph(walk_graph(chain(MAX_DESCRIBED_OPERATIONS)))
    assert len(short.splitlines()) == MAX_DESCRIBED_OPERATIONS
    assert "more operations" not in short


def test_describe_graph_time_grows_linearly():
    # 40 000 operations: a scan of every edge per operation (quadratic)
    # would take minutes; a linear pass takes well under a second.
    import time

    graph = walk_graph(chain(40_000))
    start = time.perf_counter()
    describe_graph(graph, max_operations=None)
    assert time.perf_counter() - start < 10


@pytest.mark.parametrize("size", [MAX_DRAWN_NODES, 10_000])
def test_draw_graph_refuses_a_graph_too_large_to_look_at(size):
    graph = walk_graph(chain(size))  # size + 1 nodes
    with pytest.raises(ValueError, match=rf"{size + 1} nodes.*describe_graph"):
        draw_graph(graph)


def test_draw_graph_draws_the_largest_allowed_graph_at_a_bounded_size():
    figure, _ = draw_graph(walk_graph(chain(MAX_DRAWN_NODES - 1)))
    try:
        width, height = figure.get_size_inches()
        assert height == pytest.approx(0.9 + 0.85 * MAX_DRAWN_NODES)
        assert width <= 6.4
    finally:
        plt.close(figure)


def crossings(graph: Graph, position) -> int:
    """Pairs of edges between the same two layers that cross."""
    count = 0
    for i, (a, b) in enumerate(graph.edges):
        for c, d in graph.edges[i + 1:]:
            same_layers = (
                graph.nodes[a].layer == graph.nodes[c].layer
                and graph.nodes[b].layer == graph.nodes[d].layer
            )
            dx_source = position[a][0] - position[c][0]
            dx_target = position[b][0] - position[d][0]
            if same_layers and dx_source * dx_target < 0:
                count += 1
    return count


def test_layout_orders_a_layer_by_its_users_to_avoid_crossings():
    # Leaf A feeds Q, leaf B feeds P, and the output uses P then Q: in
    # index order the two lower edges would cross.
    nodes = (
        GraphNode(0, "AccumulateGrad", "A", 0),
        GraphNode(1, "AccumulateGrad", "B", 0),
        GraphNode(2, "ExpBackward0", "P", 1),
        GraphNode(3, "SinBackward0", "Q", 1),
        GraphNode(4, "AddBackward0", "out", 2),
    )
    graph = Graph(nodes, ((1, 2), (0, 3), (2, 4), (3, 4)))
    position = layout_graph(graph)
    assert position == {
        4: (0.5, 2), 2: (1 / 3, 1), 3: (2 / 3, 1), 1: (1 / 3, 0),
        0: (2 / 3, 0),
    }
    assert crossings(graph, position) == 0


@pytest.mark.parametrize("make", CASES.values(), ids=CASES.keys())
def test_the_chapter_graphs_are_drawn_without_crossings(make):
    output, names = make()
    graph = walk_graph(output, names)
    assert crossings(graph, layout_graph(graph)) == 0


def test_arrows_join_the_nodes_of_their_edge():
    output, names = two_inputs()
    graph = walk_graph(output, names)
    position = layout_graph(graph)
    figure, axes = draw_graph(graph)
    try:
        arrows = [t for t in axes.texts if isinstance(t, Annotation)]
        ends = [(arrow.xyann, arrow.xy) for arrow in arrows]
        assert ends == [
            (position[source], position[target])
            for source, target in graph.edges
        ]
    finally:
        plt.close(figure)


def test_draw_graph_looks_as_designed():
    # An input used twice: its two arrows bend apart by -0.15 and +0.15.
    output, names = used_twice()
    graph = walk_graph(output, names)
    figure, axes = draw_graph(graph)
    try:
        # One node per layer: 1.4 + 1.3 inches wide, 0.9 + 0.85 per layer.
        assert figure.get_size_inches() == pytest.approx((2.7, 3.45))
        assert axes.get_xlim() == (0.0, 1.0)
        assert axes.get_ylim() == pytest.approx((-0.6, 2.6))
        arrows = [t for t in axes.texts if isinstance(t, Annotation)]
        bends = [
            arrow.arrow_patch.get_connectionstyle().rad for arrow in arrows
        ]
        assert bends == pytest.approx([-0.15, 0.15, -0.15, 0.15])
        for arrow in arrows:
            patch = arrow.arrow_patch
            assert arrow.get_text() == ""
            assert isinstance(
                patch.get_arrowstyle(), mpl.patches.ArrowStyle.CurveFilledB
            )
            assert mpl.colors.to_hex(patch.get_edgecolor()) == "#333333"
            assert patch.get_linewidth() == pytest.approx(1.4)
            assert patch.shrinkA == patch.shrinkB == 15
        boxes = [t for t in axes.texts if not isinstance(t, Annotation)]
        for box, node in zip(boxes, graph.nodes, strict=True):
            patch = box.get_bbox_patch()
            style = type(patch.get_boxstyle()).__name__
            assert style == ("Round" if node.is_leaf else "Square")
            face = "#d9ecf7" if node.is_leaf else "#ffffff"
            edge = PALETTE[0].lower() if node.is_leaf else "#222222"
            assert mpl.colors.to_hex(patch.get_facecolor()) == face
            assert mpl.colors.to_hex(patch.get_edgecolor()) == edge
            # The box outline is a touch heavier than the arrows (1.4).
            assert patch.get_linewidth() == pytest.approx(1.5)
            assert box.get_fontsize() == 13
            weight = "bold" if node is graph.output else "normal"
            assert box.get_fontweight() == weight
    finally:
        plt.close(figure)


def test_draw_graph_width_grows_with_the_widest_layer_up_to_a_limit():
    x = torch.tensor(1.0, requires_grad=True)
    w = torch.tensor(2.0, requires_grad=True)
    two_wide = draw_graph(x * w + torch.sin(x))[0]
    leaves = [torch.tensor(float(i), requires_grad=True) for i in range(5)]
    five_wide = draw_graph(torch.stack(leaves).sum())[0]
    narrow = draw_graph(x * w, width=0.5)[0]
    try:
        assert two_wide.get_size_inches()[0] == pytest.approx(1.4 + 2 * 1.3)
        assert five_wide.get_size_inches()[0] == pytest.approx(6.4)
        assert narrow.get_size_inches()[0] == pytest.approx(0.5)
    finally:
        for figure in (two_wide, five_wide, narrow):
            plt.close(figure)


def test_layout_uses_the_mean_position_of_a_nodes_users():
    # P is used by U2 and U3 (mean x 0.625), Q by U3 alone (0.75): P goes
    # left of Q although Q comes first in index order.
    nodes = (
        GraphNode(0, "AccumulateGrad", "L0", 0),
        GraphNode(1, "AccumulateGrad", "L1", 0),
        GraphNode(2, "ExpBackward0", "Q", 1),
        GraphNode(3, "SinBackward0", "P", 1),
        GraphNode(4, "NegBackward0", "U1", 2),
        GraphNode(5, "NegBackward0", "U2", 2),
        GraphNode(6, "AddBackward0", "U3", 2),
    )
    graph = Graph(nodes, ((0, 2), (1, 3), (3, 5), (3, 6), (2, 6)))
    assert layout_graph(graph) == {
        4: (0.25, 2), 5: (0.5, 2), 6: (0.75, 2),
        3: (1 / 3, 1), 2: (2 / 3, 1), 1: (1 / 3, 0), 0: (2 / 3, 0),
    }


def test_describe_graph_of_an_operation_without_inputs():
    graph = Graph((GraphNode(0, "OnesBackward0", "ones", 0),), ())
    assert describe_graph(graph) == "ones <- "


def test_describe_graph_error_messages_in_full():
    output, names = used_twice()
    with pytest.raises(ValueError) as caught:
        describe_graph(walk_graph(output, names), max_operations=0)
    assert str(caught.value) == "max_operations must be at least 1, got 0"
    with pytest.raises(TypeError) as caught:
        describe_graph(None)
    assert str(caught.value) == "describe_graph needs a Graph, got NoneType"
    with pytest.raises(TypeError) as caught:
        draw_graph("x")
    assert str(caught.value) == (
        "draw_graph needs a torch.Tensor or a Graph as output, got str"
    )
    with pytest.raises(ValueError) as caught:
        draw_graph(walk_graph(chain(MAX_DRAWN_NODES)))
    assert str(caught.value) == (
        f"the graph has {MAX_DRAWN_NODES + 1} nodes, more than the "
        f"{MAX_DRAWN_NODES} a drawing can show legibly; read it with "
        "describe_graph(walk_graph(output)) instead"
    )


def test_walk_graph_error_messages_in_full():
    with pytest.raises(TypeError) as caught:
        walk_graph(2.0)
    assert str(caught.value) == (
        "walk_graph needs a torch.Tensor as output, got float"
    )
    with pytest.raises(ValueError) as caught:
        walk_graph(torch.tensor(2.0))
    assert str(caught.value) == (
        "output has no grad_fn: it is a leaf or was computed without "
        "requires_grad, so there is no graph to draw"
    )
    with pytest.raises(TypeError) as caught:
        describe_graph("mul <- x")
    assert str(caught.value) == "describe_graph needs a Graph, got str"


def test_an_input_used_three_times_gives_three_arrows_apart():
    # torch.stack([a, a, a]) records a three times: three equal edges,
    # which must bend to three different arcs, symmetric about the straight
    # line, 0.3 apart as for an input used twice.
    a = torch.tensor(1.0, requires_grad=True)
    graph = walk_graph(torch.stack([a, a, a]).sum(), {"a": a})
    assert graph.edges == ((0, 1), (0, 1), (0, 1), (1, 2))
    figure, axes = draw_graph(graph)
    try:
        arrows = [t for t in axes.texts if isinstance(t, Annotation)]
        bends = [
            arrow.arrow_patch.get_connectionstyle().rad for arrow in arrows
        ]
        assert bends == pytest.approx([-0.3, 0.0, 0.3, 0.0])
    finally:
        plt.close(figure)


def test_labels_stay_black_and_centred_on_their_node_in_a_dark_style():
    # A reader's dark style (white text) must not make the labels vanish
    # on their light boxes, and each label sits centred on its node, where
    # its arrows end.
    output, names = two_inputs()
    graph = walk_graph(output, names)
    position = layout_graph(graph)
    with plt.style.context("dark_background"):
        figure, axes = draw_graph(graph)
    try:
        figure.canvas.draw()
        renderer = figure.canvas.get_renderer()
        boxes = [t for t in axes.texts if not isinstance(t, Annotation)]
        for box, node in zip(boxes, graph.nodes, strict=True):
            assert mpl.colors.to_rgba(box.get_color()) == (0.0, 0.0, 0.0, 1.0)
            extent = box.get_window_extent(renderer)
            centre = axes.transData.transform(position[node.index])
            assert (extent.x0 + extent.x1) / 2 == pytest.approx(
                centre[0], abs=1.0
            )
            assert (extent.y0 + extent.y1) / 2 == pytest.approx(
                centre[1], abs=1.0
            )
    finally:
        plt.close(figure)


# Hostile input, round 2 (issue 24).


def graph_of_a_product():
    x = torch.tensor(2.0, requires_grad=True)
    return walk_graph(x * 3, {"x": x})


def test_a_graph_may_be_drawn_50_inches_wide():
    figure, _ = draw_graph(graph_of_a_product(), width=50.0)
    try:
        assert figure.get_size_inches()[0] == 50.0
    finally:
        plt.close(figure)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: operation_name("MulBackward0"), TypeError,
         "^node must be an autograd node \\(a tensor's grad_fn\\), got "
         "str$"),
        (lambda: leaf_label([1.0], {}), TypeError,
         "tensor must be a torch.Tensor"),
        (lambda: leaf_label(torch.zeros((), device="meta"), {}), TypeError,
         "tensor is a meta tensor"),
        (lambda: leaf_label(torch.zeros(()), "x"), TypeError,
         "names must be a mapping"),
        (lambda: walk_graph(
            torch.ones(1, device="meta", requires_grad=True) * 2),
         TypeError, "output is a meta tensor"),
        (lambda: walk_graph(
            torch.ones(1, requires_grad=True) * 2, names=[("x", 1)]),
         TypeError, "names must be a mapping"),
        (lambda: walk_graph(
            torch.ones(1, requires_grad=True) * 2, names=[("x", 1)]),
         TypeError,
         re.escape("names must be a mapping {name: tensor} such as "
                   "{'x': x}, got [('x', 1)]") + "$"),
        (lambda: GraphNode(0, 3, "x", 0), TypeError,
         "^kind must be a str, got 3$"),
        (lambda: layout_graph("graph"), TypeError,
         "^layout_graph needs a Graph, got str$"),
        (lambda: draw_graph(graph_of_a_product(), width="4"), TypeError,
         "width must be a number"),
        (lambda: draw_graph(graph_of_a_product(), width=10**400),
         ValueError, "width must be a finite number"),
        (lambda: draw_graph(graph_of_a_product(), width=1e6), ValueError,
         "width must be positive and at most 50.0 inches"),
        (lambda: draw_graph(graph_of_a_product(), width=0), ValueError,
         "^width must be positive and at most 50.0 inches, got 0.0$"),
        (lambda: GraphNode(-1, "AccumulateGrad", "x", 0), ValueError,
         "index must be at least 0"),
        (lambda: GraphNode(0, None, "x", 0), TypeError,
         "kind must be a str"),
        (lambda: Graph((), ()), TypeError,
         "^nodes must be a non-empty tuple of GraphNode, got \\(\\)$"),
        (lambda: Graph(graph_of_a_product().nodes, ((0, 5),)), ValueError,
         "edges must be \\(input, user\\) pairs of node indices below"),
        # Index 2 is one past the last node of two.
        (lambda: Graph(graph_of_a_product().nodes, ((0, 2),)), ValueError,
         "^edges must be \\(input, user\\) pairs of node indices below "
         "2, got \\(0, 2\\)$"),
        (lambda: Graph(graph_of_a_product().nodes, [(0, 1)]), TypeError,
         "^edges must be a tuple of pairs, got \\[\\(0, 1\\)\\]$"),
        (lambda: Graph(graph_of_a_product().nodes[::-1], ()), ValueError,
         "^nodes must be listed in the order of index$"),
    ],
)
def test_hostile_arguments_get_the_packages_own_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_layout_graph_names_what_it_was_given():
    with pytest.raises(TypeError) as caught:
        layout_graph(3)
    assert str(caught.value) == "layout_graph needs a Graph, got int"
