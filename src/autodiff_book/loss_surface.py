"""The MSE surface of the linear model, and pictures of training on it.

The linear model ``slope * x + bias`` has a mean squared error that is a
quadratic bowl over the plane of its two parameters. This module computes
that bowl on a grid, finds its lowest point in closed form, and draws two
pictures the momentum chapter needs: loss curves for several momentum
values, and the paths the parameters take across the bowl's contours.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib as mpl
import numpy as np
import torch

from autodiff_book.plotting import LINE_STYLES, MARKERS, new_figure

# Viridis from its dark purple end up to light green; its last fifth is
# yellow, which is hard to see on a white page.
VIRIDIS_RANGE = (0.0, 0.8)


def _as_samples(name: str, values) -> np.ndarray:
    """``values`` as a flat float64 array of samples, checked."""
    if not isinstance(values, torch.Tensor | np.ndarray):
        raise TypeError(
            f"{name} must be a torch.Tensor or numpy array, "
            f"got {type(values).__name__}"
        )
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(
            f"{name} must have shape (N,) or (N, 1), got {values.shape}"
        )
    if values.size == 0:
        raise ValueError(f"{name} is empty: need at least one sample")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} holds inf or nan")
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
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} holds inf or nan")
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

    The MSE expands into a quadratic in slope and bias whose coefficients
    are averages over the data, so the whole grid costs a few array
    operations however many samples there are.

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
    return (
        slope**2 * np.mean(x * x)
        + 2 * slope * bias * np.mean(x)
        + bias**2
        - 2 * slope * np.mean(x * y)
        - 2 * bias * np.mean(y)
        + np.mean(y * y)
    )


class PathRecorder:
    """Wrap an update rule and keep the parameters before every update.

    ``train_linear_model`` snapshots the parameters once per epoch; the
    path across the loss surface needs every step, so this wrapper records
    them while the wrapped rule (``SGD``, ``Momentum``, ...) does the work.
    """

    def __init__(self, rule) -> None:
        if not callable(getattr(rule, "step", None)):
            raise TypeError(
                f"rule must have a step(parameters) method, got {rule!r}"
            )
        self.rule = rule
        self.points: list[torch.Tensor] = []

    def reset(self) -> None:
        """Reset the wrapped rule and forget the recorded path."""
        if hasattr(self.rule, "reset"):
            self.rule.reset()
        self.points = []

    def step(self, parameters: torch.Tensor) -> None:
        """Record where the parameters are, then let the rule move them."""
        if not self.points:
            self.points.append(parameters.detach().clone())
        self.rule.step(parameters)
        self.points.append(parameters.detach().clone())

    @property
    def path(self) -> torch.Tensor:
        """The start and every update's result, shape ``(T + 1, 2)``."""
        if not self.points:
            raise ValueError("no update has been recorded yet")
        return torch.stack(self.points)


def viridis_colours(count: int) -> list[tuple]:
    """``count`` colours along viridis, from purple to light green."""
    if not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a positive integer, got {count!r}")
    stops = np.linspace(*VIRIDIS_RANGE, count) if count > 1 else [0.0]
    return [tuple(mpl.colormaps["viridis"](stop)) for stop in stops]


def _check_curves(curves: Mapping) -> None:
    if not isinstance(curves, Mapping) or not curves:
        raise ValueError(
            "curves must be a non-empty mapping {momentum: losses}"
        )
    for momentum, losses in curves.items():
        losses = np.asarray(losses, dtype=np.float64)
        if losses.ndim != 1 or losses.size == 0:
            raise ValueError(
                f"the losses for momentum {momentum} must be a non-empty "
                f"1-D sequence, got shape {losses.shape}"
            )
        if not np.all(np.isfinite(losses)):
            first = int(np.argmin(np.isfinite(losses)))
            raise ValueError(
                f"the losses for momentum {momentum} turn inf or nan at "
                f"index {first}: report the divergence instead of drawing "
                "a curve that silently stops"
            )


def plot_loss_curves(
    curves: Mapping[float, Sequence[float]],
    *,
    legend: bool = True,
    ylabel: str = "MSE over the whole data set",
):
    """Loss per epoch for several momentum values, coloured by viridis.

    Colours follow the mapping's order, from purple (first) to light green
    (last); each curve also has its own line style, so the curves differ
    in more than colour.

    Args:
        curves: ``{momentum: losses}``; epoch ``k`` is ``losses[k - 1]``.
        legend: whether to name the curves; a figure for a guessing
            exercise leaves the legend out.
        ylabel: the label of the (logarithmic) loss axis.

    Returns:
        ``(figure, axes)``.
    """
    _check_curves(curves)
    figure, axes = new_figure()
    colours = viridis_colours(len(curves))
    for index, (momentum, losses) in enumerate(curves.items()):
        epochs = np.arange(1, len(losses) + 1)
        axes.plot(
            epochs,
            losses,
            color=colours[index],
            linestyle=LINE_STYLES[index % len(LINE_STYLES)],
            linewidth=2.2,
            label=f"μ = {momentum:g}",
        )
    axes.set_yscale("log")
    axes.set_xlabel("epoch")
    axes.set_ylabel(ylabel)
    if legend:
        axes.legend(frameon=False)
    return figure, axes


def _as_path(momentum, path) -> np.ndarray:
    if isinstance(path, torch.Tensor):
        path = path.detach().cpu().numpy()
    path = np.asarray(path, dtype=np.float64)
    if path.ndim != 2 or path.shape[1] != 2 or path.shape[0] < 1:
        raise ValueError(
            f"the path for momentum {momentum} must have shape (T, 2) of "
            f"(slope, bias) rows, got {path.shape}"
        )
    if not np.all(np.isfinite(path)):
        raise ValueError(f"the path for momentum {momentum} holds inf/nan")
    return path


def plot_trajectories(
    x,
    y,
    paths: Mapping[float, object],
    *,
    slopes: Sequence[float] | None = None,
    biases: Sequence[float] | None = None,
    levels: int = 12,
    mark_every: int = 32,
):
    """Parameter paths for several momentum values on the MSE contours.

    Args:
        x, y: the data that defines the MSE surface.
        paths: ``{momentum: array (T, 2)}`` of ``(slope, bias)`` after each
            update, the start included.
        slopes, biases: the grid to draw; by default a margin around every
            path and the least-squares point.
        levels: how many contour lines, spaced evenly in log(MSE).
        mark_every: put a marker every this many updates (one epoch of
            32 batches by default), so that the spacing shows speed.

    Returns:
        ``(figure, axes)``.
    """
    if not isinstance(paths, Mapping) or not paths:
        raise ValueError("paths must be a non-empty mapping {momentum: path}")
    if not isinstance(levels, int) or levels < 2:
        raise ValueError(f"levels must be an integer >= 2, got {levels!r}")
    if not isinstance(mark_every, int) or mark_every < 1:
        raise ValueError(
            f"mark_every must be a positive integer, got {mark_every!r}"
        )
    checked = {mu: _as_path(mu, path) for mu, path in paths.items()}
    best = np.array(least_squares_fit(x, y))
    points = np.vstack([*checked.values(), best])
    low, high = points.min(axis=0), points.max(axis=0)
    margin = 0.15 * (high - low) + 0.1
    if slopes is None:
        slopes = np.linspace(low[0] - margin[0], high[0] + margin[0], 121)
    if biases is None:
        biases = np.linspace(low[1] - margin[1], high[1] + margin[1], 121)
    surface = mse_surface(x, y, slopes, biases)
    # Narrower than the default, so the labels stay legible on a phone.
    figure, axes = new_figure(width=5.4, height=4.8)
    # Log-spaced levels: the bowl is steep, and equal steps in MSE would
    # crowd every line into the far corners.
    values = np.geomspace(surface.min() * 1.05, surface.max(), levels)
    contours = axes.contour(
        slopes, biases, surface, levels=values, colors="0.6",
        linewidths=0.8,
    )
    axes.clabel(contours, fmt="%.2g", fontsize=9)
    colours = viridis_colours(len(checked))
    for index, (momentum, path) in enumerate(checked.items()):
        axes.plot(
            path[:, 0],
            path[:, 1],
            color=colours[index],
            linestyle=LINE_STYLES[index % len(LINE_STYLES)],
            marker=MARKERS[index % len(MARKERS)],
            markevery=mark_every,
            markersize=6,
            linewidth=1.6,
            label=f"μ = {momentum:g}",
        )
    start = next(iter(checked.values()))[0]
    axes.plot(*start, "ko", markersize=7, label="start")
    axes.plot(
        *best, marker="*", color="black", markersize=16, linestyle="none",
        label="least squares",
    )
    axes.set_xlabel("slope")
    axes.set_ylabel("bias")
    axes.legend(frameon=True, loc="lower left")
    return figure, axes
