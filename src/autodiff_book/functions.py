"""The functions whose derivatives Part I of the book computes.

Each works on torch tensors of any shape and dtype (so the tests can run
them in float64) and on the book's scalar engine ``Value`` where noted.
"""

from __future__ import annotations

import torch

from autodiff_book.checks import check_real, check_tensor
from autodiff_book.engine import Value


def _check_scalar_input(x) -> None:
    """``bump``'s argument: a tensor, a ``Value`` or a finite real number."""
    if isinstance(x, torch.Tensor):
        check_tensor("x", x)
    # 10**400 or "2" would fail inside the formula, in Python's words, and
    # so would (5 - x) ** 2 for x beyond 1e154.
    elif not isinstance(x, Value) and abs(check_real("x", x)) > MAX_NUMBER:
        raise ValueError(
            f"x must lie between -{MAX_NUMBER:g} and {MAX_NUMBER:g}, "
            f"got {x!r}: the square in the formula overflows float64"
        )


# Far below the 1e154 whose square overflows, far above the book's inputs.
MAX_NUMBER = 1e100


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """The logistic sigmoid 1 / (1 + exp(-x)), element by element, stably."""
    check_tensor("x", x)
    # exp(-|x|) lies in (0, 1] and never overflows. exp(-x) would, for
    # x < -88.7 in float32, and its gradient would be inf / inf = nan.
    z = torch.exp(-torch.where(x >= 0, x, -x))
    # For x < 0, 1 / (1 + e^-x) = e^x / (1 + e^x), written with z = e^x.
    return torch.where(x >= 0, 1 / (1 + z), z / (1 + z))


def sigmoid_derivative(x: torch.Tensor) -> torch.Tensor:
    """Closed form of the sigmoid's derivative: s (1 - s) with s = sigmoid(x).

    Used to check what autograd returns, never to compute it.
    """
    s = sigmoid(x)
    return s * (1 - s)


def sigmoid_second_derivative(x: torch.Tensor) -> torch.Tensor:
    """Closed form of the sigmoid's second derivative: s' (1 - 2 s)."""
    s = sigmoid(x)
    return s * (1 - s) * (1 - 2 * s)


def bump(x):
    """f(x) = 2 / ((5 - x)^2 + 2^2), the scalar function of problem 1.1.

    Written with plain operators only, so it accepts a tensor or a ``Value``
    of the scalar engine alike.
    """
    _check_scalar_input(x)
    return 2 / ((5.0 - x) ** 2 + 2.0**2)


def bump_derivative(x):
    """Closed-form derivative of ``bump``: 4 (5 - x) / ((5 - x)^2 + 4)^2."""
    _check_scalar_input(x)
    return 4 * (5.0 - x) / ((5.0 - x) ** 2 + 4.0) ** 2


def vector_function(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """f(x, y) = [x^2 + y^2, 2 x^2 y^2], the vector function of problem 1.3.

    Args:
        x, y: scalar tensors (0-dimensional).

    Returns:
        A tensor of shape ``(2,)``.
    """
    check_tensor("x", x)
    check_tensor("y", y)
    if x.ndim != 0 or y.ndim != 0:
        raise ValueError(
            "vector_function takes two scalar tensors, got shapes "
            f"{tuple(x.shape)} and {tuple(y.shape)}"
        )
    return torch.stack([x**2 + y**2, 2 * x**2 * y**2])


def trace_of_square(a: torch.Tensor) -> torch.Tensor:
    """f(A) = trace(A @ A) for a square matrix A, problem 1.4."""
    check_tensor("A", a)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(
            f"trace_of_square needs a square matrix, got shape "
            f"{tuple(a.shape)}"
        )
    return torch.trace(a @ a)
