"""The self-checks that go with Part I's derive-then-verify exercises.

Each check is given a right answer, each typical wrong one and a
placeholder, and must tell them apart without giving the answer away.
"""

import math
import re

import pytest
import torch

from autodiff_book import check


def function_from(forward, backward):
    """A torch.autograd.Function's apply from two plain functions."""

    class Custom(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return forward(x)

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * backward(x)

    return Custom.apply


def x_log_x(x):
    return x * torch.log(x)


def least_squares_reference() -> torch.Tensor:
    w = torch.tensor(check.LEAST_SQUARES_W)
    x = torch.tensor(check.LEAST_SQUARES_X)
    y = torch.tensor(check.LEAST_SQUARES_Y)
    w.requires_grad_()
    ((w @ x - y) ** 2).sum().backward()
    return w.grad


# The full text of every verdict of these checks: the problem's name, the
# status and the hint a student reads, for right answers just inside the
# rounding tolerance, wrong ones just outside, each named mistake and bad
# input.

NOT_DONE = "replace the ... placeholder with your result and run again"
# Inside ROUNDED (6e-4) and outside it, for answers of size up to 14.
INSIDE, OUTSIDE = 5e-4, 1e-3


def says(problem: str, hint: str = "", status: str = "wrong") -> str:
    if not hint:
        return f"✔ Problem {problem}: correct."
    mark = {"wrong": "✘", "not done": "…"}[status]
    return f"{mark} Problem {problem}: {status}. {hint}"


X_LOG_X = "x log x (custom Function)"


def test_x_log_x_verdicts_in_full():
    right = function_from(x_log_x, lambda x: torch.log(x) + 1)

    def unfinished(x):
        check.todo("return x log x")

    cases = [
        (right, ""),
        (function_from(x_log_x, torch.log),
         "backward misses the + 1 of the product rule"),
        (function_from(x_log_x, lambda x: torch.log(x) + 2),
         "backward does not match finite differences"),
        (function_from(torch.log, lambda x: 1 / x),
         "forward does not return x log x"),
        (lambda x: x_log_x(x).tolist(), "forward should return a tensor"),
        (3.0, "function should be callable (XLogX.apply), got float"),
    ]
    for index, (function, hint) in enumerate(cases):
        verdict = check.x_log_x_function(function)
        assert str(verdict) == says(X_LOG_X, hint), index
    assert str(check.x_log_x_function(...)) == says(
        X_LOG_X, NOT_DONE, "not done"
    )
    assert str(check.x_log_x_function(unfinished)) == says(
        X_LOG_X, "not done yet: return x log x", "not done"
    )


def test_x_log_x_is_checked_on_six_float64_points_from_half_to_4():
    # What a student who prints x inside forward sees first: the points
    # of (0, 4] the docstring promises, in float64 for gradcheck.
    seen = []

    def forward(x):
        seen.append(x.detach().clone())
        return x_log_x(x)

    check.x_log_x_function(function_from(forward, lambda x: torch.log(x) + 1))
    expected = torch.tensor(
        [0.5, 1.2, 1.9, 2.6, 3.3, 4.0], dtype=torch.float64
    )
    assert seen[0].dtype == torch.float64
    assert torch.allclose(seen[0], expected, rtol=0, atol=1e-15)


def test_gradient_in_pieces_verdicts_in_full():
    # x = 1..4, y = 2, 3, 5, 8, w = 1: residuals -1, -1, -2, -4, so the
    # mean of 2 r x is (-2 - 4 - 12 - 32) / 4.
    right = -12.5
    unscaled = (
        "each half's mean counted in full: the two means add up to twice "
        "the whole mean; scale each half by its share"
    )
    wrong = "not the gradient of the mean over all four points"
    cases = [
        (right, ""),
        (torch.tensor(right, dtype=torch.float32), ""),
        (right + INSIDE, ""),
        (right - INSIDE, ""),
        (right + OUTSIDE, wrong),
        (right - OUTSIDE, wrong),
        (2 * right, unscaled),
        (2 * right + INSIDE, unscaled),
        (2 * right + OUTSIDE, wrong),
        ("abc", "gradient should be a number, got str"),
        (float("nan"), "gradient is nan: something diverged or divided by 0"),
    ]
    for index, (gradient, hint) in enumerate(cases):
        verdict = check.gradient_in_pieces(gradient)
        assert str(verdict) == says("gradient in pieces", hint), index
    assert str(check.gradient_in_pieces(...)) == says(
        "gradient in pieces", NOT_DONE, "not done"
    )


def test_gradient_in_pieces_refuses_data_of_unequal_lengths(monkeypatch):
    # x and y are paired one to one: a y missing is an error in the data,
    # not a point silently dropped from the mean.
    monkeypatch.setattr(check, "PIECES_Y", check.PIECES_Y[:-1])
    with pytest.raises(ValueError, match="zip"):
        check.gradient_in_pieces(-12.5)


def test_least_squares_gradient_verdicts_in_full():
    gradient = least_squares_reference()  # 2 (W x - y) x^T: integers
    half = "half the gradient: d/dr of r^2 is 2r"
    sign = "the sign is off: the residual is W x - y"
    wrong = "not the gradient: write the loss as a sum over rows"
    cases = [
        (gradient, ""),
        (gradient.double(), ""),
        (gradient.tolist(), ""),
        (gradient + INSIDE, ""),
        (gradient - INSIDE, ""),
        (gradient + OUTSIDE, wrong),
        (gradient / 2, half),
        (gradient / 2 + INSIDE, half),
        (gradient / 2 + OUTSIDE, wrong),
        (-gradient, sign),
        (-gradient - INSIDE, sign),
        (-gradient + OUTSIDE, wrong),
        (gradient.T, "the shape is transposed: the gradient has W's shape"),
        (gradient.T.tolist(), "gradient should have shape (3, 2), got (2, 3)"),
        ("abc", "gradient should be a tensor, got str"),
    ]
    for index, (answer, hint) in enumerate(cases):
        verdict = check.least_squares_gradient(answer)
        assert str(verdict) == says("least-squares gradient", hint), index
    assert str(check.least_squares_gradient(...)) == says(
        "least-squares gradient", NOT_DONE, "not done"
    )


def test_softmax_jacobian_verdicts_in_full():
    z = torch.tensor(check.SOFTMAX_POINT)
    jacobian = torch.func.jacrev(lambda t: torch.softmax(t, dim=0))(z)
    diagonal = torch.diag(jacobian.diagonal())
    p = torch.diag(torch.softmax(z, dim=0))
    only_diagonal = (
        "only the diagonal: every output depends on every input, so the "
        "off-diagonal entries are -p_i p_j"
    )
    outer = "diag(p) alone: the outer product p p^T is missing"
    wrong = "not the softmax's Jacobian at this point"
    cases = [
        (jacobian, ""),
        (jacobian.tolist(), ""),
        (jacobian + INSIDE, ""),
        (jacobian - INSIDE, ""),
        (jacobian + OUTSIDE, wrong),
        (diagonal, only_diagonal),
        (diagonal + INSIDE, only_diagonal),
        (diagonal + OUTSIDE, wrong),
        (p, outer),
        (p - INSIDE, outer),
        (p - OUTSIDE, wrong),
        (torch.zeros(2, 2), "jacobian should have shape (3, 3), got (2, 2)"),
        ("abc", "jacobian should be a tensor, got str"),
        (jacobian.to_sparse(),
         "jacobian should be a tensor with data, got a sparse tensor"),
        (torch.zeros(3, 3, device="meta"),
         "jacobian should be a tensor with data, got a meta tensor"),
    ]
    for index, (answer, hint) in enumerate(cases):
        verdict = check.softmax_jacobian(answer)
        assert str(verdict) == says("softmax Jacobian", hint), index
    assert str(check.softmax_jacobian(...)) == says(
        "softmax Jacobian", NOT_DONE, "not done"
    )


def curvature_hessian() -> torch.Tensor:
    """The Hessian of logsumexp(B w) + |w|^2 / 2 in closed form.

    With p = softmax(B w): B^T (diag(p) - p p^T) B + I, in float64.
    """
    w = torch.tensor(check.HESSIAN_POINT, dtype=torch.float64)
    b = torch.tensor(check.HESSIAN_B, dtype=torch.float64)
    p = torch.softmax(b @ w, dim=0)
    return b.T @ (torch.diag(p) - torch.outer(p, p)) @ b + torch.eye(3)


def test_curvature_function_and_its_guards():
    w = torch.tensor(check.HESSIAN_POINT, dtype=torch.float64)
    rows = torch.tensor(check.HESSIAN_B, dtype=torch.float64) @ w
    expected = math.log(sum(math.exp(r) for r in rows.tolist())) + 0.5 * sum(
        x * x for x in check.HESSIAN_POINT
    )
    assert check.curvature_function(w).item() == pytest.approx(
        expected, rel=1e-14
    )
    assert torch.allclose(
        torch.func.hessian(check.curvature_function)(w), curvature_hessian()
    )
    with pytest.raises(TypeError, match=re.escape(
        "w must hold floating-point numbers, got torch.int64; convert it "
        "with w.float()"
    )):
        check.curvature_function(torch.tensor([1, -1, 0]))
    with pytest.raises(ValueError, match=(
        r"^w must be a vector of 3 numbers, got shape \(2,\)$"
    )):
        check.curvature_function(torch.zeros(2))


def test_largest_hessian_eigenvalue_verdicts_in_full():
    smallest, middle, largest = torch.linalg.eigvalsh(
        curvature_hessian()
    ).tolist()
    # The check allows 1e-3, more than ROUNDED; just inside it by less
    # than a float32 Hessian would drift.
    edge = 1e-3 - 1e-9
    other = (
        "an eigenvalue, but not the largest: start power iteration from a "
        "random vector, not from an eigenvector"
    )
    wrong = (
        "not the largest eigenvalue: iterate u <- H u / |H u| until u "
        "stops changing, then take u . H u"
    )
    cases = [
        (largest, ""),
        (torch.tensor(largest, dtype=torch.float32), ""),
        (largest + edge, ""),
        (largest - edge, ""),
        (largest + 1.1e-3, wrong),
        (middle, other),
        (middle + 8e-4, other),
        (middle - 1.1e-3, wrong),
        (smallest, other),
        (smallest - 8e-4, other),
        ("abc", "eigenvalue should be a number, got str"),
    ]
    for index, (eigenvalue, hint) in enumerate(cases):
        verdict = check.largest_hessian_eigenvalue(eigenvalue)
        assert str(verdict) == says("largest Hessian eigenvalue", hint), (
            index
        )
    assert str(check.largest_hessian_eigenvalue(...)) == says(
        "largest Hessian eigenvalue", NOT_DONE, "not done"
    )
