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
