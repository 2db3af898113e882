"""Every number the chapter "Derivatives with PyTorch" glues, re-derived.

The oracles are independent of the chapter's code: the derivative of
problem 1.1 written out in the test, a central finite difference with a
step of the test's own choosing, the power rule for x^2 + 1, and the
float32 finite differences of the step exercise repeated in NumPy.
"""

import math

import numpy as np
import pytest
import torch

from tests.notebooks import glued_values
from tests.oracles import bump as f
from tests.oracles import bump_derivative as f_prime


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


def test_finite_difference_at_the_glued_step(glued):
    h = glued["bump_step"]
    assert 0 < h < 1e-2
    estimate = (f(2.0 + h) - f(2.0 - h)) / (2 * h)
    assert glued["bump_finite_difference"] == pytest.approx(estimate, 1e-10)


def test_problem_1_1_matches_finite_difference(glued):
    h = 1e-5
    estimate = (f(2.0 + h) - f(2.0 - h)) / (2 * h)
    assert glued["bump_autograd"] == pytest.approx(estimate, abs=1e-6)


def test_problem_1_1_seven_decimals_agree(glued):
    # The table shows seven decimals and says all three agree in each.
    shown = {
        f"{glued[name]:.7f}"
        for name in (
            "bump_autograd",
            "bump_closed_form",
            "bump_finite_difference",
        )
    }
    assert shown == {f"{f_prime(2.0):.7f}"}


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


def test_exercise_1_1_rounded_answer(glued):
    assert glued["exercise_1_1_answer"] == round(f_prime(2.0), 3)
    assert glued["exercise_1_1_answer"] == round(glued["bump_autograd"], 3)


def float32_central_differences() -> dict[float, float]:
    """|central difference - f'(2)| in float32 for h = 1e-1 ... 1e-7."""
    one = np.float32

    def f32(x):
        return one(2) / ((one(5) - x) ** 2 + one(4))

    x = one(2.0)
    errors = {}
    for k in range(1, 8):
        h = 10.0**-k
        estimate = (f32(x + one(h)) - f32(x - one(h))) / (one(2) * one(h))
        errors[h] = abs(float(estimate) - f_prime(2.0))
    return errors


def test_exercise_step_errors(glued):
    expected = float32_central_differences()
    errors = glued["step_errors"]
    assert list(errors) == pytest.approx(list(expected), rel=1e-12)
    assert list(errors.values()) == pytest.approx(
        list(expected.values()), rel=1e-6, abs=1e-12
    )
    best = min(expected, key=expected.get)
    assert glued["step_best"] == pytest.approx(best, rel=1e-12)
    assert glued["step_best_error"] == pytest.approx(expected[best], 1e-6)
    smallest = min(expected)
    assert glued["step_smallest"] == pytest.approx(smallest, rel=1e-12)
    # The prose: at the smallest step the estimate is zero, so the error
    # is the whole derivative.
    assert expected[smallest] == pytest.approx(f_prime(2.0), rel=1e-12)
    assert glued["step_smallest_error"] == pytest.approx(
        f_prime(2.0), rel=1e-6
    )


def test_exercise_step_near_cube_root_of_eps(glued):
    eps = float(np.finfo(np.float32).eps)
    assert glued["step_eps"] == eps
    assert glued["step_cube_root_eps"] == pytest.approx(eps ** (1 / 3))
    # The prose: the winner is the power of ten nearest to eps^(1/3).
    nearest = 10.0 ** round(math.log10(eps ** (1 / 3)))
    assert glued["step_best"] == pytest.approx(nearest, rel=1e-12)


def test_a_scaled_random_tensor_is_not_a_leaf(glued):
    assert glued["scaled_is_leaf"] is False
    assert (torch.randn(3, requires_grad=True) * 0.01).is_leaf is False


def test_hook_sees_the_sum_of_both_paths_once(glued):
    # y = 2x + 3x: one call, with dy/dx = 2 + 3.
    assert glued["hook_calls"] == 1
    assert glued["hook_value"] == 2.0 + 3.0


def test_a_batch_in_pieces_accumulates_to_the_whole(glued):
    # d/dx_i sum x_i^2 = 2 x_i, whichever piece x_i is in.
    batch = [1.0, 2.0, 3.0, 4.0]
    assert glued["pieces_grad"] == [2 * x for x in batch]
    assert glued["whole_grad"] == [2 * x for x in batch]


def test_autograd_grad_returns_the_derivative(glued):
    assert glued["returned_grad"] == 2 * 3.0


def test_exercise_gradient_in_pieces(glued):
    from autodiff_book.check import PIECES_W, PIECES_X, PIECES_Y

    # d/dw mean((w x - y)^2) = mean(2 (w x - y) x), in plain floats.
    terms = [2 * (PIECES_W * x - y) * x
             for x, y in zip(PIECES_X, PIECES_Y, strict=True)]
    expected = sum(terms) / len(terms)
    assert glued["exercise_pieces_gradient"] == pytest.approx(expected)
    assert glued["exercise_pieces_whole"] == pytest.approx(expected)


def test_every_glued_value_is_checked(glued):
    assert glued.unread() == set()
