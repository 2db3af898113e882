"""Every number the chapter "Computational graphs" glues, re-derived.

Closed forms and finite differences are written in the test in float64;
the engine's agreement with torch is recomputed here with the test's own
expressions; the timing verdicts are checked for consistency with the
glued timings of the same run (timings themselves vary from machine to
machine).
"""

import math
import sys

import numpy as np
import pytest
import torch

from autodiff_book.engine import Value
from tests.notebooks import glued_values
from tests.oracles import bump_derivative as f_prime
from tests.oracles import sigmoid as sigmoid64


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


def closed_form_jacobians(n: int):
    """Both test Jacobians of the chapter, by hand, in float64."""
    frequencies = np.linspace(0.5, 2.0, n)
    x = np.linspace(-1.0, 1.0, n)
    t = 0.7
    # d/dx_i sum_j sin^2(f_j x_j) = f_i sin(2 f_i x_i), one row;
    # d/dt sin^2(f_i t) = f_i sin(2 f_i t), one column.
    many_to_one = (frequencies * np.sin(2 * frequencies * x))[None, :]
    one_to_many = (frequencies * np.sin(2 * frequencies * t))[:, None]
    return {"many_to_one": many_to_one, "one_to_many": one_to_many}


@pytest.mark.parametrize("method", ["jacobian_forward", "jacobian_reverse"])
@pytest.mark.parametrize("name", ["many_to_one", "one_to_many"])
def test_jacobians_match_closed_form(glued, name, method):
    expected = closed_form_jacobians(glued["n_modes"])[name]
    jacobian = np.array(glued[f"{name}_{method}"])
    assert jacobian.shape == expected.shape
    np.testing.assert_allclose(jacobian, expected, rtol=0, atol=2e-6)


def test_jacobian_disagreement_recomputed(glued):
    n = glued["n_modes"]
    frequencies = torch.linspace(0.5, 2.0, n)
    functions = {
        "many_to_one": (
            lambda x: torch.sum(torch.sin(frequencies * x) ** 2),
            torch.linspace(-1.0, 1.0, n),
        ),
        "one_to_many": (
            lambda t: torch.sin(frequencies * t) ** 2,
            torch.tensor(0.7),
        ),
    }
    worst = 0.0
    for name, (f, point) in functions.items():
        reference = torch.func.jacrev(f)(point).reshape(-1).double()
        for method in ("jacobian_forward", "jacobian_reverse"):
            jacobian = torch.tensor(glued[f"{name}_{method}"]).reshape(-1)
            difference = (jacobian.double() - reference).abs().max()
            worst = max(worst, difference.item())
    assert glued["jacobian_disagreement"] == pytest.approx(worst, abs=1e-9)
    assert glued["jacobian_disagreement"] < 1e-5


@pytest.mark.parametrize(
    ("name", "predicted"),
    [("many_to_one", "reverse"), ("one_to_many", "forward")],
)
def test_timing_words_follow_the_timings(glued, name, predicted):
    forward = glued[f"{name}_forward_ms"]
    reverse = glued[f"{name}_reverse_ms"]
    assert forward > 0
    assert reverse > 0
    winner = "reverse" if reverse < forward else "forward"
    assert glued[f"{name}_winner"] == winner
    slow, fast = max(forward, reverse), min(forward, reverse)
    assert glued[f"{name}_speedup"] == pytest.approx(slow / fast)
    verdict = "as" if winner == predicted else "unlike what"
    assert glued[f"{name}_verdict"] == verdict


def test_second_pass_adds_on_the_leaf_only(glued):
    # h = 3 x, y = h * 1: each pass delivers dy/dx = 3 to the leaf.
    assert glued["twice_first"] == 3.0
    assert glued["twice_second"] == 2 * 3.0


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


def test_retain_graph_second_pass_doubles(glued):
    assert glued["retain_first"] == pytest.approx(f_prime(2.0), abs=1e-6)
    assert glued["retain_second"] == pytest.approx(2 * f_prime(2.0), abs=2e-6)


def test_exercise_two_outputs_one_graph(glued):
    x = glued["exercise_stack_x"]
    assert glued["exercise_stack_d_sin"] == pytest.approx(math.cos(x), 1e-6)
    assert glued["exercise_stack_d_cube"] == pytest.approx(3 * x**2, 1e-6)


def test_exercise_trace_graph(glued):
    # trace(A @ A): one input A, used twice by one product, then a trace.
    assert glued["exercise_trace_leaves"] == 1
    assert glued["exercise_trace_ops"] == ["mm", "trace"]
    assert glued["exercise_trace_leaf_label"] == "A = shape 2×2"


def test_exercise_pass_counts(glued):
    inputs, outputs = 1000, 10  # the exercise's function
    assert glued["exercise_modes_forward_passes"] == inputs
    assert glued["exercise_modes_reverse_passes"] == outputs
    assert glued["exercise_modes_shape"] == (outputs, inputs)


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


def test_engine_accumulates_on_the_leaf_like_torch(glued):
    # The torch side of the chapter, recomputed: dy/dx = 3 once per pass.
    assert (glued["twice_first"], glued["twice_second"]) == (3.0, 6.0)
    assert (glued["engine_twice_first"], glued["engine_twice_second"]) == (
        glued["twice_first"],
        glued["twice_second"],
    )


def test_every_glued_value_is_checked(glued):
    assert glued.unread() == set()
