"""Check every value the higher-derivatives chapter glues (problem 1.5 and
the Hessian of 2 x^2 y^2 with its Hessian-vector products).

The oracles are closed forms (s(1 - s), s'(1 - 2s), the Hessian by hand)
and finite differences (of the sigmoid, of the hand-written gradient), all
in float64 with plain Python floats. Matrices and vectors are compared
with their shape.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.notebooks import glued_values, page_checks
from tests.oracles import (
    central_difference,
    oracle_table_tests,
    sigmoid,
    sigmoid_derivative,
    sigmoid_second_derivative,
)

POINT = 0.173  # the input of the problem set
X, Y = 1.376, 2.123  # where the chapter takes the Hessian of g = 2 x^2 y^2
BIG_N = 200  # the side of the matrix in the large Hessian-vector product


def second_difference(x: float, h: float = 1e-4) -> float:
    return (sigmoid(x + h) - 2 * sigmoid(x) + sigmoid(x - h)) / h**2


# glue name -> (closed form, finite difference) at POINT.
ORACLES = {
    "sigmoid_first": (sigmoid_derivative(POINT),
                      central_difference(sigmoid, POINT)),
    "sigmoid_second": (sigmoid_second_derivative(POINT),
                       second_difference(POINT)),
}


@pytest.fixture(scope="module")
def glued() -> dict:
    return glued_values("higher-derivatives")


(test_closed_form_agrees_with_finite_difference,
 # float32 in the chapter: agreement to a few units in the 7th digit.
 test_glued_answer_matches_oracle,
 test_glued_answer_rounds_like_oracle) = oracle_table_tests(
    ORACLES, agree={"abs": 1e-7}, match={"abs": 1e-6})


def test_chapter_uses_the_problem_input(glued):
    assert glued["point"] == pytest.approx(POINT, rel=1e-6)


def gradient_of_g(x: float, y: float) -> list[float]:
    """The gradient of g(x, y) = 2 x^2 y^2, by hand."""
    return [4 * x * y * y, 4 * x * x * y]


HESSIAN = [[4 * Y * Y, 8 * X * Y], [8 * X * Y, 4 * X * X]]


def hessian_times(u: list[float]) -> list[float]:
    return [sum(h * c for h, c in zip(row, u, strict=True)) for row in HESSIAN]


def gradient_difference(u: list[float], h: float = 1e-6) -> list[float]:
    """Central difference of the gradient along u: H u without H."""
    ahead = gradient_of_g(X + h * u[0], Y + h * u[1])
    behind = gradient_of_g(X - h * u[0], Y - h * u[1])
    return [(a - b) / (2 * h) for a, b in zip(ahead, behind, strict=True)]


def test_hessian_matches_the_hand_derivation(glued):
    hessian = glued["hessian"]
    assert len(hessian) == 2 and all(len(row) == 2 for row in hessian)
    for row, expected in zip(hessian, HESSIAN, strict=True):
        assert row == pytest.approx(expected, rel=1e-6)


def test_hand_hessian_matches_differences_of_the_gradient():
    for k, unit in enumerate(([1.0, 0.0], [0.0, 1.0])):
        column = [row[k] for row in HESSIAN]
        assert gradient_difference(unit) == pytest.approx(column, rel=1e-7)


@pytest.mark.parametrize("name", ["hvp_reverse", "hvp_forward"])
def test_hessian_vector_product(glued, name):
    u = glued["hvp_direction"]
    assert len(u) == 2 and u[0] != pytest.approx(u[1])
    product = glued[name]
    assert len(product) == 2
    assert product == pytest.approx(hessian_times(u), rel=1e-5)
    assert product == pytest.approx(gradient_difference(u), rel=1e-5)


def test_reported_entries_are_the_product(glued):
    u = glued["hvp_direction"]
    expected = hessian_times(u)
    assert [glued["hvp_0"], glued["hvp_1"]] == pytest.approx(
        expected, rel=1e-5
    )


def test_size_of_the_hessian_never_formed(glued):
    assert glued["big_n"] == BIG_N
    assert glued["big_inputs"] == BIG_N * BIG_N
    assert glued["big_hessian_entries"] == BIG_N**4
    # float32: four bytes per entry.
    assert glued["big_hessian_gb"] == pytest.approx(BIG_N**4 * 4 / 1e9)


def test_every_check_on_the_page_holds():
    """Each visible cell that compares tensors printed True, never False."""
    checks = page_checks("higher-derivatives", ("allclose",))
    for source, text in checks:
        assert "True" in text and "False" not in text, source
    assert len(checks) >= 7


def test_exercise_power_iteration(glued):
    from autodiff_book.check import HESSIAN_B, HESSIAN_POINT

    # The Hessian in closed form: B^T (diag p - p p^T) B + I, p the
    # softmax of B w (the Hessian of logsumexp is the softmax Jacobian).
    b = np.array(HESSIAN_B)
    scores = b @ np.array(HESSIAN_POINT)
    p = np.exp(scores - scores.max())
    p /= p.sum()
    hessian = b.T @ (np.diag(p) - np.outer(p, p)) @ b + np.eye(3)
    largest = np.linalg.eigvalsh(hessian)[-1]
    assert glued["exercise_power_eigenvalue"] == pytest.approx(largest,
                                                               rel=1e-8)


def test_every_glued_value_is_checked(glued):
    assert glued.unread() == set()
