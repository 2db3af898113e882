"""The book's figure style: applied per figure, never left behind globally."""

from __future__ import annotations

import math
import re

import matplotlib as mpl
import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pytest
import torch
from nbclient import NotebookClient

from autodiff_book.plotting import (
    BOOK_STYLE,
    LINE_STYLES,
    MARKERS,
    PALETTE,
    VIRIDIS_RANGE,
    momentum_colour,
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


@pytest.mark.parametrize(("count", "shown"),
                         [(0, "0"), (-1, "-1"), (2.0, "2.0"), ("3", "'3'")])
def test_viridis_colours_refuse_a_bad_count(count, shown):
    with pytest.raises(ValueError) as caught:
        viridis_colours(count)
    assert str(caught.value) == (
        f"count must be a positive integer, got {shown}")


def test_one_viridis_colour_is_the_start_of_the_range():
    (colour,) = viridis_colours(1)
    assert colour == tuple(mpl.colormaps["viridis"](0.0))


CURVES = {0.0: [4.0, 2.0, 1.0], 0.5: [3.0, 1.0, 0.5], 0.9: [2.0, 0.4, 0.3]}


@pytest.mark.parametrize("legend", [True, False])
def test_loss_curves_colour_each_momentum_by_value(legend):
    figure, axes = plot_loss_curves(CURVES, legend=legend)
    lines = axes.get_lines()
    assert len(lines) == len(CURVES)
    colours = [mpl.colormaps["viridis"](VIRIDIS_RANGE[1] * mu)
               for mu in CURVES]
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


def test_trajectories_default_grid_levels_and_styles():
    # Everything the default call decides, recomputed here: the grid (a
    # margin of 0.15 of the span plus 0.1 around the paths and the least-
    # squares point, 121 values each way), 12 levels log-spaced from 1.05
    # times the lowest MSE, one line style and marker per path.
    x, y = random_data()
    paths = {
        0.0: np.array([[0.0, 0.0], [0.3, -1.0], [0.6, -1.8]]),
        0.9: np.array([[0.0, 0.0], [0.5, -0.5], [0.8, -2.2]]),
    }
    figure, axes = plot_trajectories(x, y, paths)
    best = np.array(least_squares_fit(x, y))
    points = np.vstack([*paths.values(), best])
    low, high = points.min(axis=0), points.max(axis=0)
    margin = 0.15 * (high - low) + 0.1
    slopes = np.linspace(low[0] - margin[0], high[0] + margin[0], 121)
    biases = np.linspace(low[1] - margin[1], high[1] + margin[1], 121)
    residuals = (
        slopes[np.newaxis, :, np.newaxis] * x
        + biases[:, np.newaxis, np.newaxis]
        - y
    )
    surface = (residuals**2).mean(axis=2)
    (contours,) = [c for c in axes.collections if hasattr(c, "levels")]
    assert contours.zmin == pytest.approx(surface.min(), rel=1e-9)
    assert contours.zmax == pytest.approx(surface.max(), rel=1e-9)
    np.testing.assert_allclose(
        contours.levels,
        np.geomspace(1.05 * surface.min(), surface.max(), 12),
        rtol=1e-9,
    )
    labels = {text.get_text() for text in contours.labelTexts}
    assert labels and labels <= {f"{level:.2g}" for level in contours.levels}
    lines = axes.get_lines()
    assert [line.get_label() for line in lines] == [
        "μ = 0", "μ = 0.9", "start", "least squares"
    ]
    colours = [mpl.colormaps["viridis"](VIRIDIS_RANGE[1] * mu)
               for mu in (0.0, 0.9)]
    for index, line in enumerate(lines[:2]):
        assert mpl.colors.to_rgba(line.get_color()) == pytest.approx(
            colours[index]
        )
        assert line.get_marker() == MARKERS[index]
        assert line.get_markevery() == 32
        assert line.get_linewidth() == 1.6
    assert lines[0].get_linestyle() == "-"
    assert lines[1].get_linestyle() == "--"
    assert lines[3].get_marker() == "*"
    assert axes.get_xlabel() == "slope"
    assert axes.get_ylabel() == "bias"
    assert axes.get_legend().get_frame_on()
    assert figure.get_size_inches() == pytest.approx((5.4, 4.8))


def test_loss_curves_labels_widths_and_axes():
    figure, axes = plot_loss_curves(CURVES)
    lines = axes.get_lines()
    assert [line.get_label() for line in lines] == [
        "μ = 0", "μ = 0.5", "μ = 0.9"
    ]
    assert [line.get_linestyle() for line in lines] == ["-", "--", "-."]
    assert all(line.get_linewidth() == 2.2 for line in lines)
    assert axes.get_xlabel() == "epoch"
    assert axes.get_ylabel() == "MSE over the whole data set"
    assert not axes.get_legend().get_frame_on()
    _, other = plot_loss_curves(CURVES, ylabel="loss")
    assert other.get_ylabel() == "loss"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: plot_loss_curves({}),
         "curves must be a non-empty mapping {momentum: losses}"),
        (lambda: plot_loss_curves({2.0: [1.0, np.inf]}),
         "the losses for momentum 2.0 turn inf or nan at index 1: report the "
         "divergence instead of drawing a curve that silently stops"),
        (lambda: plot_trajectories([0.0], [0.0], {}),
         "paths must be a non-empty mapping {momentum: path}"),
        (lambda: plot_trajectories(*random_data(), {0.5: np.zeros((0, 2))}),
         "the path for momentum 0.5 must have shape (T, 2) of (slope, bias) "
         "rows, got (0, 2)"),
        (lambda: plot_trajectories(*random_data(), {0.5: np.zeros((1, 2))},
                                   levels=2, mark_every=0),
         "mark_every must be a positive integer, got 0"),
        (lambda: new_figure(0, 1),
         "a figure needs at least one row and one column, got nrows=0, "
         "ncols=1"),
    ],
)
def test_error_messages_in_full(call, message):
    with pytest.raises(ValueError) as caught:
        call()
    assert str(caught.value) == message


def test_a_single_point_path_and_two_levels_are_enough():
    x, y = random_data()
    figure, axes = plot_trajectories(
        x, y, {0.5: np.array([[0.2, -0.3]])}, levels=2, mark_every=1
    )
    (contours,) = [c for c in axes.collections if hasattr(c, "levels")]
    assert len(contours.levels) == 2


def test_more_curves_than_styles_cycle_through_the_line_styles():
    curves = {mu / 10: [1.0, 0.5] for mu in range(9)}
    _, axes = plot_loss_curves(curves)
    styles = [line.get_linestyle() for line in axes.get_lines()]
    expected = [
        plt.Line2D([], [], linestyle=LINE_STYLES[i % len(LINE_STYLES)])
        .get_linestyle()
        for i in range(9)
    ]
    assert styles == expected
    # The figure's own cycle has six entries and would give "--" here.
    assert styles[7] == "-"


def test_losses_given_as_exact_numbers_are_read_as_floats():
    from decimal import Decimal
    from fractions import Fraction

    _, axes = plot_loss_curves({0.5: [Decimal("2.5"), Fraction(1, 2)]})
    np.testing.assert_allclose(
        np.asarray(axes.get_lines()[0].get_ydata(), dtype=float), [2.5, 0.5]
    )


def test_trajectories_look_as_designed():
    # The look is part of the figure's accessibility (sizes read on a
    # phone, a framed legend in a fixed corner), so it is pinned here; a
    # reader's own rcParams must not change it.
    x, y = random_data()
    paths = {0.5: np.array([[0.0, 0.0], [0.4, -0.9], [0.6, -1.8]])}
    with mpl.rc_context({"legend.frameon": False, "lines.markersize": 3,
                         "lines.linestyle": ":", "lines.color": "red"}):
        figure, axes = plot_trajectories(x, y, paths)
    (contours,) = [c for c in axes.collections if hasattr(c, "levels")]
    assert mpl.colors.to_hex(contours.get_edgecolor()[0]) == "#999999"
    assert contours.get_linewidth()[0] == pytest.approx(0.8)
    assert all(text.get_fontsize() == 9 for text in contours.labelTexts)
    # Two significant digits, exponents (below 1e-4) as "1e-05".
    assert contours.labelFmt == "%.2g"
    path, start, star = axes.get_lines()
    assert path.get_markersize() == 6
    assert path.get_linestyle() == "-"
    assert start.get_marker() == "o" and start.get_markersize() == 7
    assert start.get_linestyle() == "None"
    assert mpl.colors.to_hex(start.get_color()) == "#000000"
    np.testing.assert_array_equal(start.get_xydata(), [[0.0, 0.0]])
    assert star.get_markersize() == 16
    assert star.get_linestyle() == "None"
    assert mpl.colors.to_hex(star.get_color()) == "#000000"
    legend = axes.get_legend()
    assert legend.get_frame_on()
    assert legend._loc == 3  # "lower left"


@pytest.mark.parametrize(
    ("arguments", "size"),
    [
        ({}, (6.4, 6.4 * 0.62)),
        ({"ncols": 2}, (6.4, 6.4 * 0.42)),
        ({"nrows": 2, "width": 5.0}, (5.0, 5.0 * 0.62 * 2)),
        ({"nrows": 3, "ncols": 2, "height": 2.0}, (6.4, 2.0)),
    ],
)
def test_new_figure_sizes_grid_and_layout(arguments, size):
    figure, axes = new_figure(**arguments)
    assert figure.get_size_inches() == pytest.approx(size)
    shape = (arguments.get("nrows", 1), arguments.get("ncols", 1))
    assert np.shape(axes) == tuple(n for n in shape if n > 1) or (
        shape == (1, 1)
    )
    assert len(figure.axes) == shape[0] * shape[1]
    assert type(figure.get_layout_engine()).__name__ == (
        "ConstrainedLayoutEngine"
    )


def test_new_figure_passes_subplot_options_on():
    figure, axes = new_figure(1, 2, sharey=True)
    assert axes[1].get_shared_y_axes().joined(axes[0], axes[1])


def test_paths_of_exact_numbers_are_read_as_floats():
    from decimal import Decimal

    x, y = random_data()
    path = [[Decimal("0"), Decimal("0")], [Decimal("0.5"), Decimal("-1")]]
    _, axes = plot_trajectories(x, y, {0.5: path})
    np.testing.assert_array_equal(axes.get_lines()[0].get_ydata(), [0, -1])


def test_more_paths_than_styles_pair_each_line_style_with_its_marker():
    # LINE_STYLES and MARKERS pair entry by entry (the module's promise):
    # path k is drawn with entry k % 7 of both, past the seventh path too,
    # where the figure's own six-entry cycle would give "--" to the eighth.
    x, y = random_data()
    paths = {
        mu / 10: np.array([[0.0, 0.0], [0.1 * mu, -0.2]]) for mu in range(9)
    }
    figure, axes = plot_trajectories(x, y, paths)
    try:
        lines = axes.get_lines()[: len(paths)]
        for index, line in enumerate(lines):
            entry = index % len(LINE_STYLES)
            reference = plt.Line2D([], [], linestyle=LINE_STYLES[entry])
            assert line.get_linestyle() == reference.get_linestyle()
            assert line.get_marker() == MARKERS[entry]
        assert lines[7].get_linestyle() == "-"
    finally:
        plt.close(figure)


# Hostile input, round 2 (issue 24).


def small_fit():
    x = torch.linspace(-1, 1, 20).reshape(-1, 1)
    return x, 2 * x + 1


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: new_figure("2"), TypeError,
         "^nrows must be an int, got '2'$"),
        (lambda: new_figure(1, 2.0), TypeError,
         "^ncols must be an int, got 2.0$"),
        (lambda: new_figure(13), ValueError,
         "^nrows must be at most 12, got 13$"),
        (lambda: new_figure(width=0.0), ValueError,
         "^width must be positive and at most 100 inches, got 0.0$"),
        (lambda: new_figure(1, 10**400), ValueError,
         "ncols must be at most 12"),
        (lambda: new_figure(width="6"), TypeError, "width must be a number"),
        (lambda: new_figure(height=math.nan), ValueError,
         "height must be a finite number"),
        (lambda: new_figure(width=1e9), ValueError,
         "width must be positive and at most 100 inches"),
        (lambda: viridis_colours(10**400), ValueError,
         "count must be at most 256"),
        (lambda: plot_loss_curves({"0.5": [1.0, 0.5]}), TypeError,
         "the keys of curves must be momentum values"),
        (lambda: plot_loss_curves({0.5: ["1", "0.5"]}), TypeError,
         "curves\\[0.5\\] must hold real numbers"),
        (lambda: plot_loss_curves({0.5: [1.0, 0.0]}), ValueError,
         "must be positive: a logarithmic axis"),
        (lambda: plot_loss_curves({0.5: [1.0]}, legend="no"), TypeError,
         "legend must be True or False"),
        (lambda: plot_loss_curves({0.5: [1.0]}, ylabel=None), TypeError,
         "ylabel must be a str"),
        (lambda: plot_loss_curves({0.5: [1.0]}, ylabel=3), TypeError,
         "^ylabel must be a str, got 3$"),
        (lambda: plot_trajectories(*small_fit(), {"0.5": [[0, 0]]}),
         TypeError,
         "^the keys of paths must be momentum values \\(numbers\\), got "
         "'0.5'$"),
        (lambda: plot_trajectories(*small_fit(), {0.5: [[0, 0], [1, 1]]},
                                   levels=10**400),
         ValueError, "levels must be at most 100"),
        (lambda: plot_trajectories(*small_fit(), {0.5: [[0, 0], [1, 1]]},
                                   slopes=[1.0]),
         ValueError, "slopes must be an increasing 1-D grid"),
        (lambda: plot_trajectories(*small_fit(), {0.5: [[0, 0], [1, 1j]]}),
         TypeError, "paths\\[0.5\\] must hold real numbers"),
        (lambda: plot_trajectories(*small_fit(), {10**400: [[0, 0]]}),
         ValueError, "must be a finite number"),
    ],
)
def test_hostile_arguments_get_the_packages_own_error(call, error, match):
    try:
        with pytest.raises(error, match=match):
            call()
    finally:
        plt.close("all")


@pytest.mark.parametrize(
    ("grids", "message"),
    [
        ({"slopes": [1.0]}, "slopes must be an increasing 1-D grid of at "
         "least two values, got array([1.])"),
        ({"biases": [0.0, 0.0, 1.0]}, "biases must be an increasing 1-D "
         "grid of at least two values, got array([0., 0., 1.])"),
        ({"biases": [2.0, 1.0]}, "biases must be an increasing 1-D grid of "
         "at least two values, got array([2., 1.])"),
    ],
)
def test_trajectories_refuse_a_grid_that_does_not_increase(grids, message):
    try:
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            plot_trajectories(*small_fit(), {0.5: [[0, 0], [1, 1]]},
                              **grids)
    finally:
        plt.close("all")


def test_trajectories_draw_on_a_grid_of_two_values():
    # Two values per axis is the smallest grid: the contours span it.
    figure, axes = plot_trajectories(
        *small_fit(), {0.5: [[0, 0], [1, 1]]}, slopes=[-1.0, 3.0],
        biases=[-2.0, 4.0],
    )
    try:
        assert len(axes.collections) == 1  # the contour lines
        assert axes.get_xlim() == (-1.0, 3.0)
        assert axes.get_ylim() == (-2.0, 4.0)
    finally:
        plt.close(figure)


def test_a_figure_may_be_as_large_as_100_inches():
    figure, _ = new_figure(width=100.0, height=100.0)
    try:
        assert tuple(figure.get_size_inches()) == (100.0, 100.0)
    finally:
        plt.close(figure)


def test_at_most_256_curves_or_paths_can_be_told_apart():
    # Viridis has 256 colours. 256 curves (or paths) pass the count, and
    # the next check speaks; 257 are refused by the count.
    momenta = np.linspace(0.0, 1.0, 257).tolist()
    curves = {mu: [1.0] for mu in momenta}
    paths = {mu: [[0.0, 0.0]] for mu in momenta}
    first_256 = dict(list(curves.items())[:256])
    try:
        with pytest.raises(TypeError, match="^ylabel must be a str, got 3$"):
            plot_loss_curves(first_256, ylabel=3)
        with pytest.raises(ValueError, match=(
            "^curves holds 257 curves: at most 256 can be told apart$"
        )):
            plot_loss_curves(curves)
        with pytest.raises(ValueError, match=(
            "^levels must be an integer >= 2, got 1$"
        )):
            plot_trajectories(*small_fit(), dict(list(paths.items())[:256]),
                              levels=1)
        with pytest.raises(ValueError, match=(
            "^paths holds 257 paths: at most 256 can be told apart$"
        )):
            plot_trajectories(*small_fit(), paths)
    finally:
        plt.close("all")


def test_a_momentum_has_one_colour_wherever_it_is_drawn():
    # The same value in two figures with other companions: same colour.
    _, first = plot_loss_curves({0.0: [1.0, 0.5], 0.9: [1.0, 0.2]})
    _, second = plot_loss_curves(
        {0.9: [1.0, 0.2], 0.3: [1.0, 0.4], 0.6: [1.0, 0.3]}
    )
    colour_of = {
        line.get_label(): mpl.colors.to_rgba(line.get_color())
        for axes in (first, second) for line in axes.get_lines()
        if line.get_label() == "μ = 0.9"
    }
    assert len(colour_of) == 1
    assert first.get_lines()[1].get_color() == pytest.approx(
        second.get_lines()[0].get_color()
    )
    plt.close("all")


def test_momentum_colours_are_distinct_and_ordered():
    values = (-1.0, -0.5, 0.0, 0.1, 0.3, 0.5, 0.6, 0.9, 1.0, 2.0, 3.0)
    colours = [momentum_colour(mu) for mu in values]
    assert len(set(colours)) == len(values)
    viridis = mpl.colormaps["viridis"]
    assert momentum_colour(0.0) == pytest.approx(viridis(0.0))
    assert momentum_colour(1.0) == pytest.approx(viridis(VIRIDIS_RANGE[1]))
    # Green rises along viridis: purple for 0, light green for 1.
    greens = [momentum_colour(mu)[1] for mu in (0.0, 0.3, 0.6, 0.9, 1.0)]
    assert greens == sorted(greens)


def luminance(colour) -> float:
    red, green, blue = colour[:3]
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def test_momenta_outside_0_to_1_get_oranges_and_reddish_purples():
    # Not viridis colours: oranges (blue the weakest) below 0, reddish
    # purples (green the weakest) above 1, darker the farther out.
    below = [momentum_colour(mu) for mu in (-0.01, -0.5, -1.0)]
    above = [momentum_colour(mu) for mu in (1.01, 1.5, 2.0, 3.0)]
    assert all(red > green > blue for red, green, blue, _ in below)
    assert all(green < min(red, blue) for red, green, blue, _ in above)
    for colours in (below, above):
        shades = [luminance(colour) for colour in colours]
        assert shades == sorted(shades, reverse=True)
        assert len(set(shades)) == len(shades)
    # Beyond -1 and 3 the shade stops darkening, short of the maps'
    # near-black ends.
    assert momentum_colour(-2.0) == momentum_colour(-1.0)
    assert momentum_colour(5.0) == momentum_colour(3.0)
    assert min(luminance(below[-1]), luminance(above[-1])) > 0.1


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        ("0.5", TypeError, "momentum must be a number, got '0.5'"),
        (None, TypeError, "momentum must be a number, got None"),
        (float("nan"), ValueError,
         "momentum must be a finite number, got nan"),
    ],
)
def test_momentum_colour_refuses_what_is_not_a_real_number(bad, error,
                                                           message):
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        momentum_colour(bad)


# Refusals of plot_trajectories read in full, at their edges; each comes
# before anything is drawn.


def trajectories(**options):
    x = np.arange(5.0)
    return plot_trajectories(x, 2 * x, {0.5: [[0.0, 0.0]]}, **options)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"levels": 1.5}, "levels must be an integer >= 2, got 1.5"),
        ({"biases": [0.0, 1.0, 1.0]}, "biases must be an increasing 1-D "
         "grid of at least two values, got array([0., 1., 1.])"),
        ({"slopes": [0.0]}, "slopes must be an increasing 1-D grid of at "
         "least two values, got array([0.])"),
    ],
)
def test_plot_trajectories_refusals_in_full(options, message):
    with pytest.raises(ValueError) as caught:
        trajectories(**options)
    assert str(caught.value) == message


def test_a_momentum_key_of_paths_is_named_as_one():
    x = np.arange(5.0)
    with pytest.raises(TypeError) as caught:
        plot_trajectories(x, 2 * x, {"0.5": [[0.0, 0.0]]})
    assert str(caught.value) == (
        "the keys of paths must be momentum values (numbers), got '0.5'")


def test_loss_curves_refuse_a_ylabel_that_is_not_text():
    with pytest.raises(TypeError) as caught:
        plot_loss_curves({0.5: [1.0, 0.5]}, ylabel=3)
    assert str(caught.value) == "ylabel must be a str, got 3"
