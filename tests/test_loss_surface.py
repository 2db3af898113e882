"""Tests of autodiff_book.loss_surface: the MSE grid, the fit, the plots."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from autodiff_book.data import load_dataset
from autodiff_book.loss_surface import (
    VIRIDIS_RANGE,
    PathRecorder,
    least_squares_fit,
    mse_surface,
    plot_loss_curves,
    plot_trajectories,
    viridis_colours,
)
from autodiff_book.training import SGD, Momentum, train_linear_model


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def random_data(n: int = 50, seed: int = 1):
    generator = np.random.default_rng(seed)
    x = generator.uniform(-3, 5, n)
    return x, 0.7 * x - 2 + generator.normal(0, 0.3, n)


def loop_mse(x, y, slope, bias) -> float:
    """The MSE one sample at a time, in plain Python floats."""
    total = 0.0
    for xi, yi in zip(x, y, strict=True):
        total += (slope * float(xi) + bias - float(yi)) ** 2
    return total / len(x)


@pytest.mark.parametrize("source", ["random", "book"])
def test_mse_surface_matches_a_plain_loop(source):
    if source == "book":
        x, y = load_dataset()
        x, y = x[:, 0].double().numpy(), y[:, 0].double().numpy()
    else:
        x, y = random_data()
    slopes = np.array([-1.0, 0.0, 0.7, 2.5])
    biases = np.array([-2.0, -1.0, 0.5])
    surface = mse_surface(x, y, slopes, biases)
    assert surface.shape == (len(biases), len(slopes))
    for i, bias in enumerate(biases):
        for j, slope in enumerate(slopes):
            expected = loop_mse(x, y, slope, bias)
            assert surface[i, j] == pytest.approx(expected, rel=1e-10)


def test_mse_surface_accepts_column_tensors_and_flat_arrays():
    x, y = load_dataset()
    grid = np.linspace(-1, 3, 5)
    from_tensors = mse_surface(x, y, grid, grid)
    flat = (x[:, 0].numpy(), y[:, 0].numpy())
    np.testing.assert_allclose(from_tensors, mse_surface(*flat, grid, grid))


def test_least_squares_fit_matches_numpy_lstsq():
    x, y = random_data(200, seed=3)
    design = np.column_stack([x, np.ones_like(x)])
    expected, *_ = np.linalg.lstsq(design, y, rcond=None)
    assert least_squares_fit(x, y) == pytest.approx(tuple(expected))


def test_least_squares_fit_is_where_the_autograd_gradient_vanishes():
    x, y = load_dataset()
    theta = torch.tensor(
        least_squares_fit(x, y), dtype=torch.float64, requires_grad=True
    )
    loss = ((theta[0] * x.double() + theta[1] - y.double()) ** 2).mean()
    loss.backward()
    assert theta.grad.abs().max().item() < 1e-10


def test_least_squares_fit_is_the_lowest_point_of_the_surface():
    x, y = random_data()
    slope, bias = least_squares_fit(x, y)
    slopes = slope + np.linspace(-0.1, 0.1, 21)
    biases = bias + np.linspace(-0.1, 0.1, 21)
    surface = mse_surface(x, y, slopes, biases)
    assert np.unravel_index(surface.argmin(), surface.shape) == (10, 10)


SAMPLES = np.arange(4.0)


@pytest.mark.parametrize(
    ("x", "y", "error", "message"),
    [
        ([0.0, 1.0], SAMPLES[:2], TypeError, "x must be a torch.Tensor"),
        (np.array([]), np.array([]), ValueError, "x is empty"),
        (SAMPLES, SAMPLES[:3], ValueError, "x has 4 samples but y has 3"),
        (np.ones((4, 2)), SAMPLES, ValueError, r"shape \(N,\) or \(N, 1\)"),
        (SAMPLES, np.array([0, 1, np.nan, 3]), ValueError, "y holds inf"),
    ],
)
def test_bad_data_is_refused(x, y, error, message):
    with pytest.raises(error, match=message):
        mse_surface(x, y, [0.0], [0.0])
    with pytest.raises(error, match=message):
        least_squares_fit(x, y)


@pytest.mark.parametrize(
    ("slopes", "biases", "message"),
    [
        ([], [0.0], "slopes must be a non-empty 1-D grid"),
        ([0.0], [], "biases must be a non-empty 1-D grid"),
        ([[0.0, 1.0]], [0.0], r"slopes must be .* shape \(1, 2\)"),
        ([0.0, np.inf], [0.0], "slopes holds inf or nan"),
    ],
)
def test_bad_grids_are_refused(slopes, biases, message):
    with pytest.raises(ValueError, match=message):
        mse_surface(SAMPLES, SAMPLES, slopes, biases)


def test_a_constant_input_has_no_least_squares_slope():
    with pytest.raises(ValueError, match="all x are equal"):
        least_squares_fit(np.ones(5), np.arange(5.0))


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


def short_run(rule, epochs=3):
    x, y = load_dataset()
    recorder = PathRecorder(rule)
    _, history = train_linear_model(x, y, rule=recorder, epochs=epochs)
    return recorder, history


@pytest.mark.parametrize("rule", [SGD(0.01), Momentum(0.001, 0.9)])
def test_path_recorder_agrees_with_the_epoch_snapshots(rule):
    recorder, history = short_run(rule)
    path = recorder.path
    updates = len(history.update_losses)
    assert path.shape == (updates + 1, 2)
    assert torch.equal(path[0], torch.zeros(2))
    per_epoch = updates // len(history.snapshots)
    for epoch, snapshot in enumerate(history.snapshots):
        assert torch.equal(path[(epoch + 1) * per_epoch], snapshot)


def test_path_recorder_does_not_change_the_training():
    x, y = load_dataset()
    plain, _ = train_linear_model(
        x, y, rule=Momentum(0.001, 0.5), epochs=2
    )
    recorded, _ = train_linear_model(
        x, y, rule=PathRecorder(Momentum(0.001, 0.5)), epochs=2
    )
    assert torch.equal(plain, recorded)


def test_path_recorder_starts_afresh_on_reset():
    recorder, history = short_run(Momentum(0.001, 0.9), epochs=1)
    recorder.reset()
    assert recorder.rule.buffer is None
    with pytest.raises(ValueError, match="no update has been recorded"):
        _ = recorder.path


def test_path_recorder_needs_a_rule_with_step():
    with pytest.raises(TypeError, match=r"step\(parameters\) method"):
        PathRecorder(0.9)


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
    ({0.5: np.full((2, 2), np.nan)}, {}, "holds inf/nan"),
    ({0.5: np.zeros((2, 2))}, {"levels": 1}, "levels must be an integer"),
    ({0.5: np.zeros((2, 2))}, {"mark_every": 0}, "mark_every must be"),
]


@pytest.mark.parametrize(("paths", "options", "message"), BAD_PATH_CASES)
def test_trajectories_refuse_bad_input(paths, options, message):
    x, y = random_data()
    with pytest.raises(ValueError, match=message):
        plot_trajectories(x, y, paths, **options)
