"""The book's figure style: applied per figure, never left behind globally."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pytest
import torch
from nbclient import NotebookClient

from autodiff_book.plotting import (
    BOOK_STYLE,
    PALETTE,
    VIRIDIS_RANGE,
    new_figure,
    plot_loss_curves,
    plot_trajectories,
    viridis_colours,
)
from autodiff_book.regression import least_squares_fit


def test_the_style_reaches_the_figure_but_not_the_global_defaults():
    before = dict(mpl.rcParams)
    figure, axes = new_figure()
    assert mpl.colors.to_hex(figure.get_facecolor()) == "#ffffff"
    (line,) = axes.plot([0, 1], [0, 1])
    assert line.get_color() == PALETTE[0]
    assert line.get_linewidth() == 2.0
    assert dict(mpl.rcParams) == before
    plt.close(figure)


def test_two_panels_share_one_row():
    figure, axes = new_figure(1, 2)
    assert axes.shape == (2,)
    plt.close(figure)


def test_every_line_of_the_cycle_differs_in_style_too():
    cycle = list(BOOK_STYLE["axes.prop_cycle"])
    styles = [entry["linestyle"] for entry in cycle]
    assert len(set(map(str, styles))) == len(styles)


@pytest.mark.parametrize(("nrows", "ncols"), [(0, 1), (1, 0), (-1, 2)])
def test_an_empty_grid_is_refused(nrows, ncols):
    with pytest.raises(ValueError, match="at least one row and one column"):
        new_figure(nrows, ncols)


def test_every_figure_of_a_notebook_is_shown():
    """The inline backend must keep showing figures after the first one."""
    cell = (
        "from autodiff_book.plotting import new_figure\n"
        "figure, axes = new_figure()\n"
        "axes.plot([0, 1])"
    )
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(cell) for _ in range(3)]
    )
    NotebookClient(notebook, kernel_name="python3", timeout=120).execute()
    for executed in notebook.cells:
        mimes = [m for out in executed.outputs for m in out.get("data", {})]
        assert "image/png" in mimes


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def random_data(n: int = 50, seed: int = 1):
    generator = np.random.default_rng(seed)
    x = generator.uniform(-3, 5, n)
    return x, 0.7 * x - 2 + generator.normal(0, 0.3, n)


@pytest.mark.parametrize("count", [1, 2, 4, 6])
def test_viridis_colours_run_from_purple_to_light_green(count):
    colours = viridis_colours(count)
    viridis = mpl.colormaps["viridis"]
    assert len(colours) == count
    assert colours[0] == pytest.approx(viridis(0.0))
    if count > 1:
        assert colours[-1] == pytest.approx(viridis(VIRIDIS_RANGE[1]))
        # Green rises monotonically along viridis: purple -> light green.
        greens = [colour[1] for colour in colours]
        assert greens == sorted(greens)


@pytest.mark.parametrize("count", [0, -1, 2.0, "3"])
def test_viridis_colours_refuse_a_bad_count(count):
    with pytest.raises(ValueError, match="count must be a positive integer"):
        viridis_colours(count)


CURVES = {0.0: [4.0, 2.0, 1.0], 0.5: [3.0, 1.0, 0.5], 0.9: [2.0, 0.4, 0.3]}


@pytest.mark.parametrize("legend", [True, False])
def test_loss_curves_follow_viridis_with_distinct_styles(legend):
    figure, axes = plot_loss_curves(CURVES, legend=legend)
    lines = axes.get_lines()
    assert len(lines) == len(CURVES)
    colours = viridis_colours(len(CURVES))
    for line, colour, losses in zip(
        lines, colours, CURVES.values(), strict=True
    ):
        assert mpl.colors.to_rgba(line.get_color()) == pytest.approx(colour)
        np.testing.assert_array_equal(line.get_ydata(), losses)
        np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3])
    styles = {line.get_linestyle() for line in lines}
    assert len(styles) == len(CURVES)
    assert axes.get_yscale() == "log"
    assert (axes.get_legend() is not None) == legend


@pytest.mark.parametrize(
    ("curves", "message"),
    [
        ({}, "non-empty mapping"),
        ([[1.0, 2.0]], "non-empty mapping"),
        ({0.5: []}, "momentum 0.5 must be a non-empty 1-D"),
        ({0.5: [[1.0], [2.0]]}, "momentum 0.5 must be a non-empty 1-D"),
        ({2.0: [1.0, 5.0, np.inf, np.nan]}, "turn inf or nan at index 2"),
    ],
)
def test_loss_curves_refuse_bad_or_diverged_input(curves, message):
    with pytest.raises(ValueError, match=message):
        plot_loss_curves(curves)


def test_trajectories_draw_each_path_the_start_and_the_minimum():
    x, y = random_data()
    paths = {
        0.0: np.array([[0.0, 0.0], [0.3, -1.0], [0.6, -1.8]]),
        0.9: torch.tensor([[0.0, 0.0], [0.5, -0.5], [0.8, -2.2]]),
    }
    figure, axes = plot_trajectories(x, y, paths, mark_every=1)
    lines = axes.get_lines()
    for line, path in zip(lines, paths.values(), strict=False):
        np.testing.assert_allclose(line.get_xdata(), np.asarray(path)[:, 0])
        np.testing.assert_allclose(line.get_ydata(), np.asarray(path)[:, 1])
    start, star = lines[len(paths)], lines[len(paths) + 1]
    np.testing.assert_array_equal(start.get_xydata(), [[0.0, 0.0]])
    np.testing.assert_allclose(star.get_xydata(), [least_squares_fit(x, y)])
    assert len(axes.collections) > 0  # the contour lines


BAD_PATH_CASES = [
    ({}, {}, "non-empty mapping"),
    ({0.5: np.zeros((3, 3))}, {}, r"shape \(T, 2\)"),
    ({0.5: np.zeros((0, 2))}, {}, r"shape \(T, 2\)"),
    ({0.5: np.full((2, 2), np.nan)}, {}, "momentum 0.5 holds inf or nan"),
    ({0.5: np.zeros((2, 2))}, {"levels": 1}, "levels must be an integer"),
    ({0.5: np.zeros((2, 2))}, {"mark_every": 0}, "mark_every must be"),
]


@pytest.mark.parametrize(("paths", "options", "message"), BAD_PATH_CASES)
def test_trajectories_refuse_bad_input(paths, options, message):
    x, y = random_data()
    with pytest.raises(ValueError, match=message):
        plot_trajectories(x, y, paths, **options)


def test_trajectories_on_noiseless_data_have_finite_increasing_levels():
    # The lowest MSE on this grid is exactly 0: log-spaced levels from 0
    # cannot exist (numpy refuses, or returns nan).
    x = np.arange(-2.0, 5.0)
    y = 2.0 * x + 1.0
    paths = {0.5: np.array([[0.0, 0.0], [1.5, 0.5], [2.0, 1.0]])}
    grid = {"slopes": np.linspace(1.0, 3.0, 9),  # holds 2.0
            "biases": np.linspace(0.0, 2.0, 9)}  # holds 1.0
    figure, axes = plot_trajectories(x, y, paths, levels=6, **grid)
    (contours,) = [c for c in axes.collections if hasattr(c, "levels")]
    levels = np.asarray(contours.levels)
    assert levels.shape == (6,)
    assert np.all(np.isfinite(levels))
    assert np.all(np.diff(levels) > 0)
    # The levels span six decades at most, up to the grid's largest MSE.
    surface_max = ((3.0 * x + 2.0 - y) ** 2).mean()
    assert levels[-1] == pytest.approx(surface_max)
    assert levels[0] == pytest.approx(1.05e-6 * surface_max)
