"""Check every answer the chapter on Jacobians glues (problems 1.3, 1.4).

Each glued value is compared with a closed form and with a central finite
difference, both computed here in float64 with plain Python floats.
"""

from __future__ import annotations

import pytest

from tests.notebooks import glued_values

# The inputs of the problem set.
X, Y = 1.376, 2.123
A = [[1.0, 2.0], [3.0, 4.0]]
STEP = 1e-6


def f1(x: float, y: float) -> float:
    return x * x + y * y


def f2(x: float, y: float) -> float:
    return 2 * x * x * y * y


def trace_of_square(a: list[list[float]]) -> float:
    """trace(A A) as a plain double loop over sum_ik A[i][k] A[k][i]."""
    n = len(a)
    return sum(a[i][k] * a[k][i] for i in range(n) for k in range(n))


def trace_with_a01(value: float) -> float:
    """trace(A^2) with the entry [0][1] of A replaced by ``value``."""
    a = [row[:] for row in A]
    a[0][1] = value
    return trace_of_square(a)


def central(function, at: float) -> float:
    return (function(at + STEP) - function(at - STEP)) / (2 * STEP)


# glue name -> (closed form, finite difference), all in float64.
ORACLES = {
    "vector_df1_dx": (2 * X, central(lambda u: f1(u, Y), X)),
    "vector_df2_dy": (4 * X * X * Y, central(lambda u: f2(X, u), Y)),
    "trace_grad_01": (2 * A[1][0], central(trace_with_a01, A[0][1])),
}


@pytest.fixture(scope="module")
def glued() -> dict:
    return glued_values("jacobians")


@pytest.mark.parametrize("name", sorted(ORACLES))
def test_closed_form_agrees_with_finite_difference(name):
    closed, difference = ORACLES[name]
    assert closed == pytest.approx(difference, rel=1e-8)


@pytest.mark.parametrize("name", sorted(ORACLES))
def test_glued_answer_matches_oracle(glued, name):
    closed, _ = ORACLES[name]
    # The chapter computes in float32, as the problem set does.
    assert glued[name] == pytest.approx(closed, rel=1e-6)


@pytest.mark.parametrize("name", sorted(ORACLES))
def test_glued_answer_rounds_like_oracle(glued, name):
    closed, _ = ORACLES[name]
    assert f"{glued[name]:.3f}" == f"{closed:.3f}"


@pytest.mark.parametrize(
    ("name", "expected"), [("vector_x", X), ("vector_y", Y)]
)
def test_chapter_uses_the_problem_inputs(glued, name, expected):
    assert glued[name] == pytest.approx(expected, rel=1e-6)
