"""Every number the chapter "Computational graphs" glues, re-derived.

Closed forms and finite differences are written in the test in float64;
the timing verdicts are checked for consistency with the glued timings of
the same run (timings themselves vary from machine to machine).
"""

import math
import sys

import pytest

from tests.notebooks import glued_values


def f_prime(x: float) -> float:
    """Derivative of 2 / ((5 - x)^2 + 4), by the quotient rule."""
    return 4 * (5 - x) / ((5 - x) ** 2 + 4) ** 2


@pytest.fixture(scope="module")
def glued():
    return glued_values("computational-graphs")


def test_two_input_gradient_is_w_plus_cos_x(glued):
    expected = glued["two_input_w"] + math.cos(glued["two_input_x"])
    assert glued["two_input_grad_x"] == pytest.approx(expected, abs=1e-6)


def test_engine_gives_problem_1_1(glued):
    assert glued["engine_bump_grad"] == pytest.approx(f_prime(2.0), 1e-12)


def test_engine_agrees_with_torch(glued):
    assert 0 <= glued["engine_max_difference"] < 1e-6


def test_deep_chain(glued):
    depth = glued["engine_depth"]
    assert depth > 10_000
    assert depth > glued["recursion_limit"]
    assert glued["recursion_limit"] == sys.getrecursionlimit()
    expected = (1 + 1 / depth) ** depth
    assert glued["engine_deep_grad"] == pytest.approx(expected, rel=1e-9)
    assert glued["engine_deep_grad"] == pytest.approx(math.e, rel=1e-4)


def test_second_derivative_of_bump(glued):
    h = 1e-4
    by_difference = (f_prime(2.0 + h) - f_prime(2.0 - h)) / (2 * h)
    u = 5 - 2.0
    by_hand = (12 * u**2 - 16) / (u**2 + 4) ** 3
    assert by_difference == pytest.approx(by_hand, abs=1e-8)
    assert glued["bump_second_derivative"] == pytest.approx(by_hand, 1e-5)


def test_jacobians_agree(glued):
    assert glued["n_modes"] > 1
    assert 0 <= glued["jacobian_disagreement"] < 1e-5


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
