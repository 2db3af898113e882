"""The least-squares mathematics of the linear model ``slope * x + bias``.

Its mean squared error is a quadratic bowl over the plane of its two
parameters. This module finds the bowl's lowest point in closed form and
evaluates the bowl on a grid of parameters.
"""

from __future__ import annotations

import numpy as np
import torch

from autodiff_book.checks import check_finite, check_tensor


def _as_samples(name: str, values) -> np.ndarray:
    """``values`` as a flat float64 array of samples, checked."""
    if isinstance(values, torch.Tensor):
        values = check_tensor(name, values).detach().cpu().numpy()
    elif not isinstance(values, np.ndarray):
        raise TypeError(
            f"{name} must be a torch.Tensor or numpy array, "
            f"got {type(values).__name__}"
        )
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(
            f"{name} must have shape (N,) or (N, 1), got {values.shape}"
        )
    if values.size == 0:
        raise ValueError(f"{name} is empty: need at least one sample")
    check_finite(name, values)
    return values


def _paired_samples(x, y) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets as flat arrays of the same length."""
    x, y = _as_samples("x", x), _as_samples("y", y)
    if x.shape != y.shape:
        raise ValueError(
            f"x has {x.size} samples but y has {y.size}: they must pair up"
        )
    return x, y


def _as_grid(name: str, values) -> np.ndarray:
    """A 1-D, non-empty, finite grid of parameter values."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D grid, got shape {values.shape}"
        )
    check_finite(name, values)
    return values


def least_squares_fit(x, y) -> tuple[float, float]:
    """The slope and bias of lowest MSE, in closed form (float64).

    Returns:
        ``(slope, bias)``, the bottom of the MSE bowl.
    """
    x, y = _paired_samples(x, y)
    spread = np.mean((x - x.mean()) ** 2)
    if spread == 0:
        raise ValueError("all x are equal: the slope is not determined")
    slope = np.mean((x - x.mean()) * (y - y.mean())) / spread
    return float(slope), float(y.mean() - slope * x.mean())


def mse_surface(x, y, slopes, biases) -> np.ndarray:
    """Mean squared error of ``slope * x + bias`` on a grid of parameters.

    Completing the square writes the MSE as a sum of three terms that are
    never negative, each from averages over the data, so the whole grid
    costs a few array operations however many samples there are.

    Args:
        x, y: inputs and targets, shape ``(N,)`` or ``(N, 1)``.
        slopes, biases: 1-D grids of parameter values.

    Returns:
        Array of shape ``(len(biases), len(slopes))``: row ``i``, column
        ``j`` holds the MSE at ``biases[i]``, ``slopes[j]``, the layout
        ``matplotlib``'s ``contour(slopes, biases, surface)`` expects.
    """
    x, y = _paired_samples(x, y)
    slope = _as_grid("slopes", slopes)[np.newaxis, :]
    bias = _as_grid("biases", biases)[:, np.newaxis]
    # Centred data: expanding mean((s x + b - y)^2) into mean(x * x),
    # mean(x * y), ... would subtract numbers as large as mean(x)^2 from
    # each other and lose every digit when x is far from 0 (x near 1e7).
    x_mean, y_mean = x.mean(), y.mean()
    dx, dy = x - x_mean, y - y_mean
    spread = np.mean(dx * dx)
    best_slope = np.mean(dx * dy) / spread if spread > 0 else 0.0
    # s x + b - y = (s - s*) dx + (s x_mean + b - y_mean) - (dy - s* dx);
    # the cross terms average to zero, which leaves
    # MSE = spread (s - s*)^2 + offset^2 + mean((dy - s* dx)^2).
    residual = np.mean((dy - best_slope * dx) ** 2)
    offset = slope * x_mean + bias - y_mean
    return spread * (slope - best_slope) ** 2 + offset**2 + residual
