"""The self-checks that go with Part I's derive-then-verify exercises.

Each check is given a right answer, each typical wrong one and a
placeholder, and must tell them apart without giving the answer away.
"""

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


def test_x_log_x_right():
    right = function_from(x_log_x, lambda x: torch.log(x) + 1)
    assert check.x_log_x_function(right).passed


@pytest.mark.parametrize(
    ("forward", "backward", "hint"),
    [
        (x_log_x, torch.log, "+ 1 of the product rule"),
        (x_log_x, lambda x: torch.log(x) + 2, "finite differences"),
        (torch.log, lambda x: 1 / x, "forward does not return x log x"),
    ],
)
def test_x_log_x_wrong(forward, backward, hint):
    verdict = check.x_log_x_function(function_from(forward, backward))
    assert verdict.status == "wrong"
    assert hint in verdict.hint


def test_x_log_x_not_done():
    def unfinished(x):
        check.todo("return x log x")

    assert check.x_log_x_function(...).status == "not done"
    verdict = check.x_log_x_function(unfinished)
    assert verdict.status == "not done"
    assert "return x log x" in verdict.hint


def test_x_log_x_refuses_what_is_not_a_function():
    verdict = check.x_log_x_function(3.0)
    assert verdict.status == "wrong"
    assert "function should be callable" in verdict.hint


def test_gradient_in_pieces():
    # x = 1..4, y = 2, 3, 5, 8, w = 1: residuals -1, -1, -2, -4, so the
    # mean of 2 r x is (-2 - 4 - 12 - 32) / 4.
    assert check.gradient_in_pieces(-12.5).passed
    unscaled = check.gradient_in_pieces(-25.0)
    assert unscaled.status == "wrong"
    assert "scale each half" in unscaled.hint
    assert check.gradient_in_pieces(-12.0).status == "wrong"
    assert check.gradient_in_pieces(...).status == "not done"


def least_squares_reference() -> torch.Tensor:
    w = torch.tensor(check.LEAST_SQUARES_W)
    x = torch.tensor(check.LEAST_SQUARES_X)
    y = torch.tensor(check.LEAST_SQUARES_Y)
    w.requires_grad_()
    ((w @ x - y) ** 2).sum().backward()
    return w.grad


@pytest.mark.parametrize(
    ("change", "hint"),
    [
        (lambda g: g.T, "transposed"),
        (lambda g: g / 2, "half the gradient"),
        (lambda g: -g, "sign is off"),
        (lambda g: g + 1, "not the gradient"),
    ],
)
def test_least_squares_gradient(change, hint):
    gradient = least_squares_reference()
    assert check.least_squares_gradient(gradient).passed
    verdict = check.least_squares_gradient(change(gradient))
    assert verdict.status == "wrong"
    assert hint in verdict.hint


def test_softmax_jacobian():
    z = torch.tensor(check.SOFTMAX_POINT)
    jacobian = torch.func.jacrev(lambda t: torch.softmax(t, dim=0))(z)
    assert check.softmax_jacobian(jacobian).passed
    diagonal = torch.diag(jacobian.diagonal())
    assert "only the diagonal" in check.softmax_jacobian(diagonal).hint
    p = torch.softmax(z, dim=0)
    assert "outer product" in check.softmax_jacobian(torch.diag(p)).hint
    assert check.softmax_jacobian(torch.zeros(2, 2)).status == "wrong"


def test_largest_hessian_eigenvalue():
    point = torch.tensor(check.HESSIAN_POINT, dtype=torch.float64)
    hessian = torch.func.hessian(check.curvature_function)(point)
    smallest, middle, largest = torch.linalg.eigvalsh(hessian).tolist()
    assert check.largest_hessian_eigenvalue(largest).passed
    assert "not the largest" in check.largest_hessian_eigenvalue(
        middle
    ).hint
    assert check.largest_hessian_eigenvalue(largest + 0.1).status == "wrong"
