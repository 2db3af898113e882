"""Check every value the chapter on Jacobians glues (problems 1.3, 1.4).

Each glued value is compared with a closed form and with a central finite
difference, both computed here in float64 with plain Python floats. Whole
matrices are compared entry by entry with their shape, so a transposed
Jacobian or gradient fails. The timing verdicts of forward against reverse
mode are checked for consistency with the glued timings of the same run
(timings themselves vary from machine to machine).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tests.notebooks import glued_values, page_checks
from tests.oracles import central_difference as central
from tests.oracles import (
    oracle_table_tests,
    sigmoid,
    sigmoid_derivative,
)

# The inputs of the problem set.
X, Y = 1.376, 2.123
A = [[1.0, 2.0], [3.0, 4.0]]
DUAL_POINT = 1.0  # where the chapter follows a dual number through sigmoid


def f1(x: float, y: float) -> float:
    return x * x + y * y


def f2(x: float, y: float) -> float:
    return 2 * x * x * y * y


def trace_of_square(a: list[list[float]]) -> float:
    """trace(A A) as a plain double loop over sum_ik A[i][k] A[k][i]."""
    n = len(a)
    return sum(a[i][k] * a[k][i] for i in range(n) for k in range(n))


def trace_with_entry(p: int, q: int, value: float) -> float:
    """trace(A^2) with the entry [p][q] of A replaced by ``value``."""
    a = [row[:] for row in A]
    a[p][q] = value
    return trace_of_square(a)


# The Jacobian of problem 1.3 (rows: outputs, columns: x then y).
JACOBIAN_CLOSED = [[2 * X, 2 * Y], [4 * X * Y * Y, 4 * X * X * Y]]
JACOBIAN_DIFFERENCE = [
    [central(lambda u: f1(u, Y), X), central(lambda u: f1(X, u), Y)],
    [central(lambda u: f2(u, Y), X), central(lambda u: f2(X, u), Y)],
]
# The gradient of trace(A^2) is 2 A^T.
TRACE_CLOSED = [[2 * A[q][p] for q in range(2)] for p in range(2)]
TRACE_DIFFERENCE = [
    [
        central(lambda u, p=p, q=q: trace_with_entry(p, q, u), A[p][q])
        for q in range(2)
    ]
    for p in range(2)
]

# glue name -> (closed form, finite difference), all in float64.
ORACLES = {
    "vector_df1_dx": (2 * X, central(lambda u: f1(u, Y), X)),
    "vector_df2_dy": (4 * X * X * Y, central(lambda u: f2(X, u), Y)),
    "forward_df1_dx": (2 * X, central(lambda u: f1(u, Y), X)),
    "forward_df2_dx": (4 * X * Y * Y, central(lambda u: f2(u, Y), X)),
    "trace_grad_01": (2 * A[1][0], central(
        lambda u: trace_with_entry(0, 1, u), A[0][1])),
    "dual_tangent": (
        sigmoid_derivative(DUAL_POINT),
        central(sigmoid, DUAL_POINT),
    ),
    "dual_exp_tangent": (
        -math.exp(-DUAL_POINT),
        central(lambda u: math.exp(-u), DUAL_POINT),
    ),
}

# glue name -> (closed form, finite difference) of a whole matrix.
MATRICES = {
    "vector_jacobian": (JACOBIAN_CLOSED, JACOBIAN_DIFFERENCE),
    "forward_jacobian": (JACOBIAN_CLOSED, JACOBIAN_DIFFERENCE),
    "trace_grad": (TRACE_CLOSED, TRACE_DIFFERENCE),
}


@pytest.fixture(scope="module")
def glued() -> dict:
    return glued_values("jacobians")


(test_closed_form_agrees_with_finite_difference,
 # The chapter computes in float32, as the problem set does.
 test_glued_answer_matches_oracle,
 test_reported_answer_rounds_like_oracle) = oracle_table_tests(
    ORACLES, agree={"rel": 1e-8}, match={"rel": 1e-6},
    rounded=["vector_df1_dx", "vector_df2_dy", "trace_grad_01"])


def shape(matrix: list[list[float]]) -> tuple[int, ...]:
    assert all(len(row) == len(matrix[0]) for row in matrix)
    return (len(matrix), len(matrix[0]))


@pytest.mark.parametrize("name", sorted(MATRICES))
def test_glued_matrix_matches_oracle_with_its_shape(glued, name):
    closed, difference = MATRICES[name]
    value = glued[name]
    assert shape(value) == shape(closed) == (2, 2)
    rows = zip(value, closed, difference, strict=True)
    for row, closed_row, difference_row in rows:
        assert row == pytest.approx(closed_row, rel=1e-6)
        assert closed_row == pytest.approx(difference_row, rel=1e-8)


@pytest.mark.parametrize("name", sorted(MATRICES))
def test_oracle_matrix_is_not_symmetric(name):
    # Otherwise the shape test could not tell a matrix from its transpose.
    closed, _ = MATRICES[name]
    assert closed[0][1] != pytest.approx(closed[1][0], rel=1e-3)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("vector_x", X), ("vector_y", Y), ("dual_point", DUAL_POINT)],
)
def test_chapter_uses_the_stated_inputs(glued, name, expected):
    assert glued[name] == pytest.approx(expected, rel=1e-6)


def test_dual_number_carries_the_sigmoid_value(glued):
    assert glued["dual_value"] == pytest.approx(sigmoid(DUAL_POINT), rel=1e-6)


def test_every_check_on_the_page_holds():
    """Each visible cell that compares tensors printed True, never False."""
    checks = page_checks("jacobians", ("allclose", "torch.equal"))
    for source, text in checks:
        assert "True" in text and "False" not in text, source
    assert len(checks) >= 8


def test_the_short_sigmoid_breaks_where_the_package_s_does_not(glued):
    # In float32 exp(100) overflows to inf, and the gradient of
    # 1 / (1 + exp(-x)) at x = -100 is inf / inf = nan; at +100 it is 0.
    far = torch.tensor([-100.0, 100.0], requires_grad=True)
    (1 / (1 + torch.exp(-far))).sum().backward()
    assert glued["naive_sigmoid_grad_nan"] == torch.isnan(far.grad).tolist()
    assert glued["naive_sigmoid_grad_nan"] == [True, False]
    assert glued["stable_sigmoid_grad_finite"] is True


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
        references = [torch.func.jacrev(f)(point).reshape(-1),
                      torch.func.jacfwd(f)(point).reshape(-1)]
        for method in ("jacobian_forward", "jacobian_reverse"):
            jacobian = torch.tensor(glued[f"{name}_{method}"]).reshape(-1)
            for reference in references:
                difference = (jacobian - reference).abs().max()
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


def test_exercise_pass_counts(glued):
    inputs, outputs = 1000, 10  # the exercise's function
    assert glued["exercise_modes_forward_passes"] == inputs
    assert glued["exercise_modes_reverse_passes"] == outputs
    assert glued["exercise_modes_shape"] == (outputs, inputs)


def test_one_pass_of_each_kind_was_timed(glued):
    assert glued["forward_pass_ms"] > 0
    assert glued["pullback_ms"] > 0


def test_exercise_least_squares_gradient(glued):
    from autodiff_book.check import (
        LEAST_SQUARES_W,
        LEAST_SQUARES_X,
        LEAST_SQUARES_Y,
    )

    w = np.array(LEAST_SQUARES_W)
    x = np.array(LEAST_SQUARES_X)
    residual = w @ x - np.array(LEAST_SQUARES_Y)
    # dL/dW_ij = 2 r_i x_j, by the chain rule on each entry.
    expected = [[2 * residual[i] * x[j] for j in range(2)]
                for i in range(3)]
    np.testing.assert_allclose(glued["exercise_least_squares"], expected,
                               atol=1e-5)


def test_exercise_softmax_jacobian(glued):
    from autodiff_book.check import SOFTMAX_POINT

    z = np.array(SOFTMAX_POINT)
    p = np.exp(z) / np.exp(z).sum()
    # A central difference of the softmax, column by column.
    step = 1e-6
    columns = []
    for j in range(3):
        e = np.zeros(3)
        e[j] = step
        plus, minus = np.exp(z + e), np.exp(z - e)
        columns.append((plus / plus.sum() - minus / minus.sum()) / (2 * step))
    np.testing.assert_allclose(glued["exercise_softmax_jacobian"],
                               np.stack(columns, axis=1), atol=1e-5)
    np.testing.assert_allclose(glued["exercise_softmax_jacobian"],
                               np.diag(p) - np.outer(p, p), atol=1e-6)
    np.testing.assert_allclose(glued["exercise_softmax_column_sums"],
                               np.zeros(3), atol=1e-6)


def test_every_glued_value_is_checked(glued):
    assert glued.unread() == set()
