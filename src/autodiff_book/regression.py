"""The least-squares mathematics of the linear model ``slope * x + bias``.

Its mean squared error is a quadratic bowl over the plane of its two
parameters. This module finds the bowl's lowest point in closed form and
evaluates the bowl on a grid of parameters.
"""

from __future__ import annotations

import numpy as np
import torch

from autodiff_book.checks import check_array, check_finite

# Inputs whose spread is below this fraction of their size differ by a
# few units of float64 rounding only (eps is 2.2e-16): x = 0.1 a thousand
# times has a computed spread of 1e-18 or so, not 0. Such a spread is
# rounding, not data, and the slope it gives is noise.
ROUNDING_SPREAD = 64 * np.finfo(np.float64).eps


def _is_degenerate(variance: float, mean_square: float) -> bool:
    """Whether inputs of this variance and mean square are all equal.

    Equal up to rounding: the standard deviation is at most
    ``ROUNDING_SPREAD`` times the root mean square of the inputs.
    """
    return not variance > ROUNDING_SPREAD**2 * mean_square


def _as_samples(name: str, values) -> np.ndarray:
    """``values`` as a flat float64 array of samples, checked."""
    if not isinstance(values, torch.Tensor | np.ndarray):
        raise TypeError(
            f"{name} must be a torch.Tensor or numpy array, "
            f"got {type(values).__name__}"
        )
    values = check_array(name, values)
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


def _centred_moments(x: np.ndarray, y: np.ndarray) -> tuple[float, ...]:
    """Means, variances and covariance of paired samples, in float64.

    Returns ``(mean_x, mean_y, variance_x, covariance_xy, variance_y)``.
    Centring first keeps every digit when the data sit far from 0: the
    raw ``mean(x * x) - mean(x) ** 2`` of x near 1e7 subtracts two
    numbers near 1e14 whose difference is about 0.1 and loses it all.
    """
    x_mean, y_mean = x.mean(), y.mean()
    # A second pass corrects the rounding of the first means.
    x_mean, y_mean = x_mean + (x - x_mean).mean(), y_mean + (y - y_mean).mean()
    dx, dy = x - x_mean, y - y_mean
    with np.errstate(over="ignore", invalid="ignore"):
        moments = (
            float(x_mean), float(y_mean), float(np.mean(dx * dx)),
            float(np.mean(dx * dy)), float(np.mean(dy * dy)),
        )
        mean_square = float(np.mean(x * x))
    if not all(np.isfinite([*moments, mean_square])):
        raise ValueError(
            "x and y are too large: their squares overflow float64; "
            "rescale them first"
        )
    return moments


def _as_grid(name: str, values) -> np.ndarray:
    """A 1-D, non-empty, finite grid of parameter values."""
    values = check_array(name, values)
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
    x_mean, y_mean, spread, covariance, _ = _centred_moments(x, y)
    if _is_degenerate(spread, float(np.mean(x * x))):
        raise ValueError(
            "all x are equal: the slope is not determined"
        )
    slope = covariance / spread
    return float(slope), float(y_mean - slope * x_mean)


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
    x_mean, y_mean, spread, covariance, _ = _centred_moments(x, y)
    dx, dy = x - x_mean, y - y_mean
    # All x equal: no slope is best, and (s - s*) dx vanishes anyway.
    degenerate = _is_degenerate(spread, float(np.mean(x * x)))
    best_slope = 0.0 if degenerate else covariance / spread
    # s x + b - y = (s - s*) dx + (s x_mean + b - y_mean) - (dy - s* dx);
    # the cross terms average to zero, which leaves
    # MSE = spread (s - s*)^2 + offset^2 + mean((dy - s* dx)^2).
    residual = np.mean((dy - best_slope * dx) ** 2)
    with np.errstate(over="ignore", invalid="ignore"):
        offset = slope * x_mean + bias - y_mean
        surface = spread * (slope - best_slope) ** 2 + offset**2 + residual
    if not np.all(np.isfinite(surface)):
        raise ValueError(
            "slopes and biases reach so far that the MSE overflows float64: "
            "choose grids nearer the data's least-squares line"
        )
    return surface
