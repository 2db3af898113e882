"""Every number the chapter "Reverse mode from scratch" glues, re-derived.

Closed forms are written in the test in float64; the engine's agreement
with torch is recomputed here with the test's own expressions, and the
wrong order of the chapter is re-run by a walk written here.
"""

import math
import sys

import pytest
import torch

from autodiff_book.engine import Value
from autodiff_book.graph import walk_graph
from tests.notebooks import glued_values
from tests.oracles import bump_derivative as f_prime
from tests.oracles import sigmoid as sigmoid64


@pytest.fixture(scope="module")
def glued():
    return glued_values("reverse-mode-engine")


def test_vjp_of_a_product(glued):
    # s = 3, o = -2, v = 10: v (o, s).
    assert glued["vjp_by_hand"] == [10.0 * -2.0, 10.0 * 3.0]


def first_reached(output: Value) -> None:
    """Pre-order walk, each closure called once when first reached."""
    output.grad = 1.0
    seen, stack = {output}, [output]
    while stack:
        node = stack.pop()
        node._backward()
        for child in node._prev:
            if child not in seen:
                seen.add(child)
                stack.append(child)


def test_the_order_trap(glued):
    # d = 3b + b with b = 2a: d = 8a.
    assert glued["order_topological"] == 8.0
    assert glued["order_torch"] == 8.0
    a = Value(1.0)
    b = 2 * a
    first_reached(3 * b + b)
    assert glued["order_first_reached"] == a.grad
    assert glued["order_first_reached"] != 8.0  # the trap shows


def test_two_passes_like_torch(glued):
    # y = 3x: each pass adds dy/dx = 3 to the leaf.
    assert glued["engine_twice"] == 2 * 3.0
    assert glued["torch_twice"] == 2 * 3.0


def test_engine_gives_problem_1_1(glued):
    assert glued["engine_bump_grad"] == pytest.approx(f_prime(2.0), 1e-12)


def engine_cases():
    """The chapter's checks, each with its closed-form value and gradient."""
    x, y = 1.376, 2.123
    cases = {
        "bump at 2.0": (
            lambda v: 2 / ((5.0 - v) ** 2 + 2.0**2),
            (2.0,),
            2 / 13,
            (f_prime(2.0),),
        )
    }
    for s in (-3.0, 0.173, 2.5):
        sig = sigmoid64(s)
        cases[f"sigmoid at {s}"] = (
            Value.sigmoid,
            (s,),
            sig,
            (sig * (1 - sig),),
        )
    cases["f_1 of 1.3"] = (
        lambda a, b: a**2 + b**2,
        (x, y),
        x**2 + y**2,
        (2 * x, 2 * y),
    )
    cases["f_2 of 1.3"] = (
        lambda a, b: 2 * a**2 * b**2,
        (x, y),
        2 * x**2 * y**2,
        (4 * x * y**2, 4 * x**2 * y),
    )
    return cases


def test_engine_agrees_with_closed_forms_and_torch(glued):
    differences = glued["engine_differences"]
    cases = engine_cases()
    assert set(differences) == set(cases)
    recomputed = {}
    for name, (f, point, value, gradient) in cases.items():
        values = [Value(p) for p in point]
        out = f(*values)
        out.backward()
        assert out.data == pytest.approx(value, rel=1e-12)
        assert [v.grad for v in values] == pytest.approx(gradient, rel=1e-12)
        # The engine against torch's own float64 autograd, as in the
        # chapter, but with torch's built-in sigmoid.
        tensors = [
            torch.tensor(p, dtype=torch.float64, requires_grad=True)
            for p in point
        ]
        if name.startswith("sigmoid"):
            out_torch = torch.sigmoid(tensors[0])
        else:
            out_torch = f(*tensors)
        grads = torch.autograd.grad(out_torch, tensors)
        pairs = zip(values, grads, strict=True)
        recomputed[name] = max(
            [abs(out.data - out_torch.item())]
            + [abs(v.grad - g.item()) for v, g in pairs]
        )
    for name, difference in differences.items():
        assert difference == pytest.approx(recomputed[name], abs=1e-15)
    assert glued["engine_max_difference"] == max(differences.values())


def test_deep_chain(glued):
    depth = glued["engine_depth"]
    assert depth > 10_000
    assert depth > glued["recursion_limit"]
    assert glued["recursion_limit"] == sys.getrecursionlimit()
    expected = (1 + 1 / depth) ** depth
    assert glued["engine_deep_grad"] == pytest.approx(expected, rel=1e-9)
    assert glued["engine_deep_grad"] == pytest.approx(math.e, rel=1e-4)


def test_exercise_tanh(glued):
    differences = glued["exercise_tanh_differences"]
    recomputed = {}
    for s in differences:
        value = math.tanh(s)
        # The closed form of the student's rule against torch in float64.
        x = torch.tensor(s, dtype=torch.float64, requires_grad=True)
        (grad,) = torch.autograd.grad(torch.tanh(x), x)
        recomputed[s] = max(
            abs(value - torch.tanh(x).item()),
            abs((1 - value**2) - grad.item()),
        )
    assert differences == pytest.approx(recomputed, abs=1e-15)
    assert glued["exercise_tanh_max_difference"] == max(differences.values())


def test_exercise_order(glued):
    a = glued["exercise_order_point"]
    # c = b + b, b = a a: dc/da = 4 a, whatever the order.
    assert glued["exercise_order_topological"] == 4 * a
    assert glued["exercise_order_first_reached"] == 4 * a


def test_exercise_second_derivative(glued):
    x = glued["exercise_second_point"]
    assert glued["exercise_second_first"] == pytest.approx(3 * x**2 + 2)
    assert glued["exercise_second_second"] == pytest.approx(6 * x)


def test_the_explorer_numbers(glued):
    # e = (a + b)(b + 1): de/db = (b + 1) + (a + b), one share per path.
    a, b = glued["explorer_a"], glued["explorer_b"]
    assert glued["explorer_share_c"] == b + 1
    assert glued["explorer_share_d"] == a + b
    assert glued["explorer_grad_b"] == a + 2 * b + 1
    # The forward difference of a quadratic misses by h (d2e/db2 = 2,
    # times h / 2), up to rounding; at h = 1e-12 rounding dominates:
    # about eps * e / h, far more than h.
    h_small, h_tiny = glued["explorer_h_small"], glued["explorer_h_tiny"]
    small, tiny = glued["explorer_gap_small"], glued["explorer_gap_tiny"]
    assert small == pytest.approx(h_small, rel=1e-6)
    e = (a + b) * (b + 1)
    assert 1e3 * h_tiny < tiny < 100 * sys.float_info.epsilon * e / h_tiny


def test_the_explorer_stand_in_figure(glued):
    # Without JavaScript, a figure of the graph torch records for the
    # explorer's first expression: two leaves, two additions, a product.
    assert glued["explorer_static_graph"].startswith("<Figure size")
    a = torch.tensor(2.0, requires_grad=True)
    b = torch.tensor(1.0, requires_grad=True)
    graph = walk_graph((a + b) * (b + 1), names={"a": a, "b": b})
    kinds = sorted(node.kind for node in graph.nodes)
    assert kinds == ["AccumulateGrad", "AccumulateGrad", "AddBackward0",
                     "AddBackward0", "MulBackward0"]


def test_every_glued_value_is_checked(glued):
    assert glued.unread() == set()

