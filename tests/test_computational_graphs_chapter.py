"""Every number the chapter "Computational graphs" glues, re-derived.

Closed forms are written in the test in float64; what torch records and
frees is recomputed here with the test's own expressions.
"""

import math

import pytest
import torch

from tests.notebooks import glued_values
from tests.oracles import bump_derivative as f_prime


@pytest.fixture(scope="module")
def glued():
    return glued_values("computational-graphs")


def test_division_nodes(glued):
    # The prose: only a number divided by a tensor becomes a product with
    # a reciprocal; the other two divisions record a division node.
    assert glued["division_2_by_t"] == "MulBackward0"
    assert glued["division_t_by_2"] == "DivBackward0"
    assert glued["division_t_by_x"] == "DivBackward0"


def test_two_input_gradient_is_w_plus_cos_x(glued):
    expected = glued["two_input_w"] + math.cos(glued["two_input_x"])
    assert glued["two_input_grad_x"] == pytest.approx(expected, abs=1e-6)


def test_huber_branches(glued):
    delta = 1.0
    small, large = glued["huber_small_r"], glued["huber_large_r"]
    assert abs(small) <= delta < abs(large)
    # d/dr r^2/2 = r inside; d/dr delta (|r| - delta/2) = delta sign(r).
    assert glued["huber_small_grad"] == pytest.approx(small, abs=1e-7)
    assert glued["huber_large_grad"] == pytest.approx(
        delta * math.copysign(1.0, large), abs=1e-7
    )
    # The prose names the operations each branch records.
    assert glued["huber_small_ops"] == ["pow 2", "mul"]
    assert glued["huber_large_ops"] == ["abs", "sub", "mul"]


def newton_steps(a: float, tolerance: float = 1e-12) -> int:
    """Steps of y <- (y + a / y) / 2 from y = a, in plain floats."""
    y, steps = a, 0
    while abs(y**2 - a) > tolerance * a:
        y = (y + a / y) / 2
        steps += 1
    return steps


def test_newton_loop_length_and_gradient(glued):
    points = glued["newton_points"]
    steps = [newton_steps(a) for a in points]
    assert glued["newton_steps"] == steps
    assert len(set(steps)) == len(points)  # the loop length varies
    # Three recorded operations per step, plus the leaf.
    assert glued["newton_nodes"] == [3 * k + 1 for k in steps]
    assert glued["newton_grads"] == pytest.approx(
        [1 / (2 * math.sqrt(a)) for a in points], rel=1e-9
    )
    assert glued["newton_first_steps"] == steps[0]
    assert glued["newton_last_steps"] == steps[-1]
    assert glued["newton_first_nodes"] == 3 * steps[0] + 1
    assert glued["newton_last_nodes"] == 3 * steps[-1] + 1


def test_retain_graph_second_pass_doubles(glued):
    assert glued["retain_first"] == pytest.approx(f_prime(2.0), abs=1e-6)
    assert glued["retain_second"] == pytest.approx(2 * f_prime(2.0), abs=2e-6)


def test_exercise_trace_graph(glued):
    # trace(A @ A): one input A, used twice by one product, then a trace.
    assert glued["exercise_trace_leaves"] == 1
    assert glued["exercise_trace_ops"] == ["mm", "trace"]
    assert glued["exercise_trace_leaf_label"] == "A = shape 2×2"


def test_pow_saves_base_and_exponent(glued):
    # bump at x = 2 squares 5 - x.
    assert glued["pow_saved_base"] == 5.0 - 2.0
    assert glued["pow_saved_exponent"] == 2


def test_compile_captures_the_polynomial(glued):
    # 3 t^2 + 2 t + 1 at t = 2; the test traces it again with its own
    # backend: the same number of calls.
    assert glued["compile_value"] == 3 * 2.0**2 + 2 * 2.0 + 1
    seen = []

    def backend(graph_module, example_inputs):
        seen.append(sum(node.op == "call_function"
                        for node in graph_module.graph.nodes))
        return graph_module.forward

    torch._dynamo.reset()
    torch.compile(lambda t: 3 * t**2 + 2 * t + 1, backend=backend)(
        torch.tensor(2.0)
    )
    assert glued["compile_calls"] == seen[0]
    assert seen[0] >= 4  # pow, two products, two sums at most


def test_which_graph_can_be_walked_twice(glued):
    outcomes = glued["retain_outcomes"]
    assert outcomes["t + t + 1"] == "second pass ran"
    for saves_a_tensor in ("3 * t", "t**2"):
        assert outcomes[saves_a_tensor].startswith(
            "Trying to backward through the graph a second time"
        )
    # Recomputed: a graph without saved tensors walks twice.
    t = torch.tensor(2.0, requires_grad=True)
    y = t + t + 1
    y.backward()
    y.backward()
    assert t.grad.item() == 2 * 2.0
    for y in (3 * t, t**2):
        y.backward()
        with pytest.raises(RuntimeError, match="second time"):
            y.backward()


def test_exercise_which_graphs_walk_twice(glued):
    # Constant derivatives save nothing; exp, a division and sin save.
    expected = {"t - 5": True, "t.exp()": False, "t / 4": False,
                "(t + t).sum()": True, "t.sin()": False}
    assert glued["exercise_twice"] == expected


def test_every_glued_value_is_checked(glued):
    assert glued.unread() == set()
