"""One place for the look of the book's figures, applied explicitly.

Every figure of the book is made by ``new_figure``: it sets the style on that
figure alone (no change to matplotlib's global ``rcParams``), so a reader who
runs a chapter keeps their own defaults for their own plots.

The figures keep an opaque white background so that they stay readable when
the site is shown in dark mode, and the colours are the Okabe-Ito palette,
which stays distinguishable under the common forms of colour blindness.
Lines should also differ by style or marker, never by colour alone:
``LINE_STYLES`` and ``MARKERS`` pair with ``PALETTE`` entry by entry.

Two pictures of the momentum chapters live here too: loss curves for several
momentum values and the paths the parameters take across the contours of
the MSE bowl. Both colour a momentum by ``momentum_colour``, one colour per
value in the whole book (along viridis, as the problem set's figure is).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from autodiff_book.checks import (
    check_array,
    check_bool,
    check_count,
    check_finite,
    check_real,
    shown,
)
from autodiff_book.regression import least_squares_fit, mse_surface

# Okabe & Ito (2008), "Color Universal Design".
PALETTE = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
)
LINE_STYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1)), "-")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")

BOOK_STYLE = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "figure.dpi": 110,
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": plt.cycler(color=PALETTE[:6])
    + plt.cycler(linestyle=LINE_STYLES[:6])
    # Line width rides in the cycle too: it is read when a line is drawn,
    # after new_figure's style context has closed.
    + plt.cycler(linewidth=[2.0] * 6),
}


# Beyond these a figure is a typo: a wall of panels, or a poster (the
# tallest graph draw_graph draws is 52 inches tall).
MAX_PANELS = 12
MAX_INCHES = 100.0


def _check_inches(name: str, value) -> float:
    value = check_real(name, value)
    if not 0 < value <= MAX_INCHES:
        raise ValueError(
            f"{name} must be positive and at most {MAX_INCHES:g} inches, "
            f"got {value!r}"
        )
    return value


def new_figure(
    nrows: int = 1,
    ncols: int = 1,
    *,
    width: float = 6.4,
    height: float | None = None,
    **subplot_kw,
):
    """Create a figure in the book's style.

    Args:
        nrows, ncols: the grid of axes, as in ``plt.subplots``.
        width: figure width in inches; the default suits a phone screen
            as well as a laptop once the page scales it.
        height: figure height in inches; by default 0.62 of the width per
            row for a single column, less for side-by-side panels.
        **subplot_kw: passed on to ``plt.subplots``.

    Returns:
        ``(figure, axes)`` exactly as ``plt.subplots`` returns them.
    """
    for name, count in (("nrows", nrows), ("ncols", ncols)):
        if isinstance(count, bool) or not isinstance(count, int):
            raise TypeError(f"{name} must be an int, got {shown(count)}")
    if nrows < 1 or ncols < 1:
        raise ValueError(
            f"a figure needs at least one row and one column, "
            f"got nrows={nrows}, ncols={ncols}"
        )
    check_count("nrows", nrows, maximum=MAX_PANELS)
    check_count("ncols", ncols, maximum=MAX_PANELS)
    width = _check_inches("width", width)
    if height is None:
        height = width * (0.62 if ncols == 1 else 0.42) * nrows
    height = _check_inches("height", height)
    with plt.rc_context(BOOK_STYLE):
        figure, axes = plt.subplots(
            nrows,
            ncols,
            figsize=(width, height),
            layout="constrained",
            **subplot_kw,
        )
        interactive = plt.isinteractive()
    # Jupyter's inline backend switches interactive mode on when the first
    # figure loads it; rc_context would undo that on exit, and later figures
    # would no longer show by themselves. Keep the backend's choice.
    plt.interactive(interactive)
    return figure, axes


# Viridis from its dark purple end up to light green; its last fifth is
# yellow, which is hard to see on a white page.
VIRIDIS_RANGE = (0.0, 0.8)


def viridis_colours(count: int) -> list[tuple]:
    """``count`` colours along viridis, from purple to light green."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(
            f"count must be a positive integer, got {shown(count)}"
        )
    # Viridis has 256 colours: more would repeat them.
    check_count("count", count, maximum=256)
    # One colour is the range's start: linspace gives just that.
    stops = np.linspace(*VIRIDIS_RANGE, count)
    return [tuple(mpl.colormaps["viridis"](stop)) for stop in stops]


def momentum_colour(momentum: float) -> tuple:
    """The one colour of a momentum value, in every figure of the book.

    Momenta from 0 to 1 run along viridis from dark purple (0) to light
    green (1), the order of the problem set's figure; so a value has the
    same colour wherever it is drawn, and a reader can tell a momentum by
    its colour. Values outside that range, which only the failure runs
    use, get colours that viridis does not have: oranges below 0,
    reddish purples above 1, darker the farther out.
    """
    mu = check_real("momentum", momentum)
    if 0 <= mu <= 1:
        return tuple(mpl.colormaps["viridis"](VIRIDIS_RANGE[1] * mu))
    if mu < 0:
        return tuple(mpl.colormaps["Oranges"](0.45 + 0.4 * min(-mu, 1.0)))
    return tuple(mpl.colormaps["RdPu"](0.5 + 0.2 * min(mu - 1, 2.0)))


def _check_curves(curves: Mapping) -> None:
    if not isinstance(curves, Mapping) or not curves:
        raise ValueError(
            "curves must be a non-empty mapping {momentum: losses}"
        )
    if len(curves) > 256:
        raise ValueError(
            f"curves holds {len(curves)} curves: at most 256 can be told apart"
        )
    for momentum, losses in curves.items():
        _check_momentum("curves", momentum)
        losses = check_array(f"curves[{momentum:g}]", losses)
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
        if not np.all(losses > 0):
            raise ValueError(
                f"the losses for momentum {momentum} must be positive: "
                "a logarithmic axis cannot show 0 or less"
            )


def _check_momentum(name: str, momentum) -> None:
    """A key of ``curves`` or ``paths``: the momentum, a finite number."""
    real = (int, float, np.integer, np.floating)
    if isinstance(momentum, bool) or not isinstance(momentum, real):
        raise TypeError(
            f"the keys of {name} must be momentum values (numbers), got "
            f"{shown(momentum)}"
        )
    check_real(f"the momentum {momentum!r} in {name}", momentum)


def plot_loss_curves(
    curves: Mapping[float, Sequence[float]],
    *,
    legend: bool = True,
    ylabel: str = "MSE over the whole data set",
):
    """Loss per epoch for several momentum values, one colour per value.

    Each curve has the colour ``momentum_colour`` gives its momentum (for
    0 to 1, purple to light green along viridis), and its own line style,
    so the curves differ in more than colour.

    Args:
        curves: ``{momentum: losses}``; epoch ``k`` is ``losses[k - 1]``.
        legend: whether to name the curves; a figure for a guessing
            exercise leaves the legend out.
        ylabel: the label of the (logarithmic) loss axis.

    Returns:
        ``(figure, axes)``.
    """
    _check_curves(curves)
    legend = check_bool("legend", legend)
    if not isinstance(ylabel, str):
        raise TypeError(f"ylabel must be a str, got {shown(ylabel)}")
    figure, axes = new_figure()
    for index, (momentum, losses) in enumerate(curves.items()):
        epochs = np.arange(1, len(losses) + 1)
        axes.plot(
            epochs,
            losses,
            color=momentum_colour(momentum),
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
    _check_momentum("paths", momentum)
    path = check_array(f"paths[{momentum:g}]", path)
    if path.ndim != 2 or path.shape[1] != 2 or path.shape[0] < 1:
        raise ValueError(
            f"the path for momentum {momentum} must have shape (T, 2) of "
            f"(slope, bias) rows, got {path.shape}"
        )
    check_finite(f"the path for momentum {momentum}", path)
    return path


# More contour lines than this are a grey smear.
MAX_LEVELS = 100

# The lowest contour level, as a fraction of the highest, at the least.
LEVEL_RANGE = 1e-6


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
    if len(paths) > 256:
        raise ValueError(
            f"paths holds {len(paths)} paths: at most 256 can be told apart"
        )
    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 2:
        raise ValueError(
            f"levels must be an integer >= 2, got {shown(levels)}"
        )
    check_count("levels", levels, maximum=MAX_LEVELS)
    if isinstance(mark_every, bool) or not isinstance(mark_every, int) or (
        mark_every < 1
    ):
        raise ValueError(
            f"mark_every must be a positive integer, got {shown(mark_every)}"
        )
    checked = {mu: _as_path(mu, path) for mu, path in paths.items()}
    for name, grid in (("slopes", slopes), ("biases", biases)):
        if grid is not None:
            grid = check_array(name, grid)
            if grid.ndim != 1 or grid.size < 2 or not np.all(
                np.diff(grid) > 0
            ):
                raise ValueError(
                    f"{name} must be an increasing 1-D grid of at least two "
                    f"values, got {shown(grid)}"
                )
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
    # A noiseless fit has a minimum of 0 (no log of it): six decades below
    # the top are all a reader can tell apart anyway.
    lowest = max(surface.min(), surface.max() * LEVEL_RANGE)
    values = np.geomspace(lowest * 1.05, surface.max(), levels)
    contours = axes.contour(
        slopes, biases, surface, levels=values, colors="0.6",
        linewidths=0.8,
    )
    axes.clabel(contours, fmt="%.2g", fontsize=9)
    for index, (momentum, path) in enumerate(checked.items()):
        axes.plot(
            path[:, 0],
            path[:, 1],
            color=momentum_colour(momentum),
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
