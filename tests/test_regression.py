"""Tests of autodiff_book.regression: the closed-form fit and the MSE grid."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from autodiff_book.data import load_dataset
from autodiff_book.regression import least_squares_fit, mse_surface


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


@pytest.mark.parametrize("shift", [1e7, 1.7e9, -3e8])
def test_mse_surface_keeps_its_precision_on_uncentred_inputs(shift):
    # Expanding the square into mean(x*x), mean(x*y), ... subtracts numbers
    # of size shift**2 from each other: all digits of the MSE are lost.
    x, y = random_data(200, seed=5)
    x = x + shift
    slope, bias = least_squares_fit(x, y)
    slopes = slope + np.array([-1e-3, 0.0, 2e-3])
    biases = bias + np.array([-0.5, 0.0, 0.25])
    surface = mse_surface(x, y, slopes, biases)
    assert surface.shape == (3, 3)
    for i, b in enumerate(biases):
        for j, s in enumerate(slopes):
            assert surface[i, j] == pytest.approx(
                loop_mse(x, y, s, b), rel=1e-6
            )


def test_mse_surface_of_noiseless_data_is_zero_at_the_fit_never_negative():
    x = np.linspace(-2.0, 4.0, 101)
    y = 2.5 * x - 1.0
    slopes = np.linspace(2.0, 3.0, 11)  # holds 2.5
    biases = np.linspace(-1.5, -0.5, 11)  # holds -1.0
    surface = mse_surface(x, y, slopes, biases)
    assert surface.shape == (11, 11)
    assert surface.min() >= 0.0
    assert surface[5, 5] == pytest.approx(0.0, abs=1e-24)
    assert surface[0, 0] == pytest.approx(
        loop_mse(x, y, slopes[0], biases[0]), rel=1e-12
    )


def test_sparse_and_meta_tensors_are_refused_by_name():
    with pytest.raises(TypeError, match="y is a sparse tensor"):
        least_squares_fit(torch.ones(3, 1), torch.ones(3, 1).to_sparse())
    with pytest.raises(TypeError, match="x is a meta tensor"):
        mse_surface(torch.ones(3, 1, device="meta"), torch.ones(3, 1),
                    [0.0], [0.0])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: least_squares_fit(np.ones(5), np.arange(5.0)),
         "all x are equal: the slope is not determined"),
        (lambda: least_squares_fit(SAMPLES, [1.0]),
         "y must be a torch.Tensor or numpy array, got list"),
        (lambda: least_squares_fit(SAMPLES, np.array([])),
         "y is empty: need at least one sample"),
        (lambda: least_squares_fit(SAMPLES, SAMPLES[:2]),
         "x has 4 samples but y has 2: they must pair up"),
        (lambda: least_squares_fit(np.ones((2, 2)), SAMPLES),
         "x must have shape (N,) or (N, 1), got (2, 2)"),
        (lambda: mse_surface(SAMPLES, SAMPLES, [[0.0]], [0.0]),
         "slopes must be a non-empty 1-D grid, got shape (1, 1)"),
        (lambda: mse_surface(SAMPLES, SAMPLES, [0.0], [np.nan]),
         "biases holds inf or nan: the input is not finite; remove or "
         "repair those entries first"),
    ],
)
def test_error_messages_in_full(call, message):
    with pytest.raises((TypeError, ValueError)) as caught:
        call()
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("x", "name"),
    [(np.full(6, 3.0), "constant x"), (np.linspace(0.0, 0.9, 6), "narrow x")],
)
def test_mse_surface_of_constant_or_narrow_inputs(x, name):
    # Constant x has no least-squares slope, yet its MSE surface exists;
    # x spread less than 1 must not change the formula.
    y = np.array([0.5, -1.0, 2.0, 0.0, 1.5, 1.0])
    slopes, biases = np.array([-1.0, 0.5, 2.0]), np.array([-0.5, 1.0])
    surface = mse_surface(x, y, slopes, biases)
    assert surface.shape == (2, 3)
    for i, b in enumerate(biases):
        for j, s in enumerate(slopes):
            assert surface[i, j] == pytest.approx(
                loop_mse(x, y, s, b), rel=1e-12
            ), name


def test_mse_surface_of_nearly_constant_inputs_far_from_zero():
    # x = 1e7 +- 2^-24: a spread within float64 rounding of x's size, so
    # no slope is best, yet the points differ. Constant y: the exact MSE
    # is (s 1e7 + b - 5)^2 + s^2 2^-48, zero at s = 0, b = 5.
    from fractions import Fraction

    x = np.array([1e7 - 2.0**-24, 1e7 + 2.0**-24])
    y = np.full(2, 5.0)
    slopes = np.array([0.0, 2.0**-20, -(2.0**-21)])
    biases = np.array([5.0, 4.0])
    surface = mse_surface(x, y, slopes, biases)
    for i, b in enumerate(biases):
        for j, s in enumerate(slopes):
            exact = sum((Fraction(s) * Fraction(xi) + Fraction(b) - 5) ** 2
                        for xi in x) / 2
            assert surface[i, j] == pytest.approx(float(exact), rel=1e-9,
                                                  abs=0.0), (s, b)
    assert surface[0, 0] == 0.0

def test_grids_of_exact_numbers_are_read_as_floats():
    from decimal import Decimal

    surface = mse_surface(SAMPLES, SAMPLES, [Decimal("1")], [Decimal("0")])
    assert surface.shape == (1, 1)
    assert surface[0, 0] == 0.0


def exact_fit(x, y) -> tuple[float, float]:
    """The least-squares line in exact rational arithmetic, then rounded."""
    from fractions import Fraction

    xs, ys = [Fraction(v) for v in x], [Fraction(v) for v in y]
    x_mean, y_mean = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum(
        (a - x_mean) * (b - y_mean) for a, b in zip(xs, ys, strict=True)
    ) / sum((a - x_mean) ** 2 for a in xs)
    return float(slope), float(y_mean - slope * x_mean)


@pytest.mark.parametrize("shift", [1e7, 1.7e9, -3e8])
def test_least_squares_fit_keeps_its_precision_far_from_the_origin(shift):
    # Data on a line far from (0, 0): the centred sums keep every digit of
    # the slope, where sums of raw x and y would mix in rounding errors of
    # size shift**2. The bias, y_mean - slope * x_mean, is a difference of
    # numbers of size shift, hence its looser tolerance.
    generator = np.random.default_rng(4)
    x = shift + generator.uniform(-2, 4, 50)
    y = 2.5 * x - 1 + generator.normal(0, 0.5, 50)
    slope, bias = least_squares_fit(x, y)
    expected_slope, expected_bias = exact_fit(x, y)
    assert slope == pytest.approx(expected_slope, rel=1e-12)
    assert bias == pytest.approx(expected_bias, rel=1e-9)


# Hostile input, round 2 (issue 24).


@pytest.mark.parametrize("value", [0.1, 1 / 3, 1e7 + 0.1])
def test_x_equal_up_to_rounding_is_refused(value):
    # The mean of 0.1 a thousand times is not exactly 0.1, so the old
    # spread == 0 test passed a spread of rounding and returned (0, 499.5).
    x, y = np.full(1000, value), np.arange(1000.0)
    with pytest.raises(ValueError, match="all x are equal"):
        least_squares_fit(x, y)
    # The surface is then flat along the slope: the MSE is the offset of
    # the means squared plus the variance of y, whatever the slope.
    surface = mse_surface(x, y, [-1e3, 0.0, 1e3], [0.0])
    expected = (0.0 - y.mean()) ** 2 + y.var()
    assert surface[0, 1] == pytest.approx(expected, rel=1e-9)


def test_x_far_from_zero_is_fitted_exactly():
    from fractions import Fraction

    rng = np.random.default_rng(7)
    x = 1e7 + rng.uniform(0, 1, 100)
    y = 2.5 * (x - 1e7) + rng.normal(0, 0.5, 100)
    xs, ys = [Fraction(v) for v in x], [Fraction(v) for v in y]
    mx, my = sum(xs) / 100, sum(ys) / 100
    slope = sum((a - mx) * (b - my) for a, b in zip(xs, ys, strict=True))
    slope /= sum((a - mx) ** 2 for a in xs)
    assert least_squares_fit(x, y)[0] == pytest.approx(float(slope),
                                                       rel=1e-9)


@pytest.mark.parametrize(
    ("x", "error", "match"),
    [
        (np.array([1 + 1j, 2, 3]), TypeError, "x must hold real numbers"),
        (np.array([True, False]), TypeError, "x must hold real numbers"),
        (np.array(["1", "2"]), TypeError, "x must hold real numbers"),
        (torch.tensor([1.0, 2.0], dtype=torch.bfloat16), None, None),
        (torch.zeros(2, device="meta"), TypeError, "x is a meta tensor"),
        (np.array([1e200, -1e200]), ValueError, "too large"),
    ],
)
def test_samples_of_the_wrong_kind_are_refused_by_name(x, error, match):
    y = np.array([1.0, 3.0]) if len(x) == 2 else np.array([1.0, 2.0, 3.0])
    if error is None:  # bfloat16 holds 1 and 2 exactly: a fine fit
        assert least_squares_fit(x, y) == (2.0, -1.0)
        return
    with pytest.raises(error, match=match):
        least_squares_fit(x, y)


@pytest.mark.parametrize("value", [0.1, 1 / 3, 1e7 + 0.1])
def test_the_means_are_corrected_to_the_last_digit(value):
    # np.mean of 0.1 a thousand times is 0.1 + 1.4e-17; the second pass
    # brings both means back to the value itself, and the spread to 0.
    from autodiff_book.regression import _centred_moments

    samples = np.full(1000, value)
    assert _centred_moments(samples, samples) == (value, value, 0.0, 0.0,
                                                  0.0)


@pytest.mark.parametrize("centre", [1.0, 1e7])
def test_x_one_rounding_step_apart_is_refused(centre):
    # Two values one unit of rounding apart: a spread, but of rounding.
    x = np.tile([centre, np.nextafter(centre, 2 * centre)], 500)
    with pytest.raises(ValueError, match="all x are equal"):
        least_squares_fit(x, np.arange(1000.0))


def test_x_all_zero_is_refused():
    # A spread of 0 against a mean square of 0: still all equal.
    with pytest.raises(ValueError, match="all x are equal"):
        least_squares_fit(np.zeros(5), np.arange(5.0))


def test_squares_beyond_float64_are_refused_without_a_warning():
    # dx * dy holds +inf and -inf: their mean is nan, which numpy would
    # announce with a RuntimeWarning before the package's own error.
    a = 1e200
    x, y = np.array([a, -a, a, -a]), np.array([a, a, -a, -a])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError) as caught:
            least_squares_fit(x, y)
    assert str(caught.value) == (
        "x and y are too large: their squares overflow float64; rescale "
        "them first"
    )
