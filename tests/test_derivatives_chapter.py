"""Every number the chapter "Derivatives with PyTorch" glues, re-derived.

The oracles are independent of the chapter's code: the derivative of
problem 1.1 written out in the test, a central finite difference with a
step of the test's own choosing, and the power rule for x^2 + 1.
"""

import pytest

from tests.notebooks import glued_values


def f(x: float) -> float:
    """Problem 1.1's function, written again here in plain floats."""
    return 2 / ((5 - x) ** 2 + 4)


def f_prime(x: float) -> float:
    """Its derivative by the quotient rule: 4 (5 - x) / ((5 - x)^2 + 4)^2."""
    return 4 * (5 - x) / ((5 - x) ** 2 + 4) ** 2


@pytest.fixture(scope="module")
def glued():
    return glued_values("derivatives")


def test_problem_1_1_point(glued):
    assert glued["bump_x"] == 2.0


@pytest.mark.parametrize(
    ("name", "tolerance"),
    [
        ("bump_autograd", 1e-6),  # float32 autograd
        ("bump_closed_form", 1e-12),
        ("bump_finite_difference", 1e-7),
    ],
)
def test_problem_1_1_matches_closed_form(glued, name, tolerance):
    assert glued[name] == pytest.approx(f_prime(2.0), abs=tolerance)


def test_problem_1_1_matches_finite_difference(glued):
    h = 1e-5
    estimate = (f(2.0 + h) - f(2.0 - h)) / (2 * h)
    assert glued["bump_autograd"] == pytest.approx(estimate, abs=1e-6)


def test_problem_1_1_three_decimals_agree(glued):
    shown = {
        f"{glued[name]:.3f}"
        for name in (
            "bump_autograd",
            "bump_closed_form",
            "bump_finite_difference",
        )
    }
    assert shown == {f"{f_prime(2.0):.3f}"}


def test_autograd_error_is_the_float32_rounding(glued):
    error = abs(glued["bump_autograd"] - f_prime(2.0))
    assert glued["bump_autograd_error"] == pytest.approx(error, abs=1e-12)
    assert glued["bump_autograd_error"] < 1e-6


def test_power_rule_example(glued):
    assert glued["square_grad"] == pytest.approx(2 * glued["square_x"])


def test_gradient_accumulates_over_two_passes(glued):
    x = glued["square_x"]
    assert glued["accumulated_first"] == pytest.approx(2 * x)
    assert glued["accumulated_second"] == pytest.approx(2 * (2 * x))
