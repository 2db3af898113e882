"""The quadratic-model theory, each result checked another way.

Closed forms in ``quadratic`` are checked against numpy's linear algebra
and ``torch.func``; the stability theory against iterations run on both
sides of each bound; the float64 reference iteration against the
package's ``Momentum`` rule and ``torch.optim.SGD`` on the full batch.
"""

from __future__ import annotations

import json
import math
import re
import warnings

import numpy as np
import pytest
import torch
from torch.func import grad, hessian

from autodiff_book import quadratic
from autodiff_book.training import Momentum, train_linear_model


@pytest.fixture(scope="module")
def data(data64):
    return data64


@pytest.fixture(scope="module")
def stats(data):
    return quadratic.sufficient_statistics(*data)


def mse(theta, x, y):
    return ((theta[0] * x + theta[1] - y) ** 2).mean()


def test_statistics_are_the_five_averages(data, stats):
    x, y = (t[:, 0].numpy() for t in data)
    expected = (
        np.mean(x**2), np.mean(x), np.mean(x * y), np.mean(y),
        np.mean(y**2),
    )
    assert tuple(stats.as_dict().values()) == pytest.approx(
        expected, rel=1e-12
    )
    assert list(stats.as_dict()) == [
        "mean_xx", "mean_x", "mean_xy", "mean_y", "mean_yy",
    ]
    # A flat array gives the same averages as an (N, 1) tensor.
    assert quadratic.sufficient_statistics(x, y) == stats


def test_loss_gradient_and_hessian_match_autodiff(data, stats):
    x, y = data
    theta = torch.tensor([0.7, -1.3], dtype=torch.float64)
    assert quadratic.loss(stats, theta.numpy()) == pytest.approx(
        mse(theta, x, y).item(), rel=1e-12
    )
    expected_gradient = grad(mse)(theta, x, y).numpy()
    actual_gradient = quadratic.gradient(stats, theta.numpy())
    assert actual_gradient.shape == expected_gradient.shape == (2,)
    np.testing.assert_allclose(actual_gradient, expected_gradient,
                               rtol=1e-10)
    expected_hessian = hessian(mse)(theta, x, y).numpy()
    actual_hessian = quadratic.hessian(stats)
    assert actual_hessian.shape == expected_hessian.shape == (2, 2)
    np.testing.assert_allclose(actual_hessian, expected_hessian, rtol=1e-10)


def test_minimiser_matches_lstsq(data, stats):
    x, y = (t[:, 0].numpy() for t in data)
    design = np.column_stack([x, np.ones_like(x)])
    expected, *_ = np.linalg.lstsq(design, y, rcond=None)
    assert quadratic.minimiser(stats) == pytest.approx(
        tuple(expected), rel=1e-10
    )
    np.testing.assert_allclose(
        quadratic.gradient(stats, quadratic.minimiser(stats)), 0,
        atol=1e-10,
    )


def check_eigen(matrix: np.ndarray, eigen) -> None:
    values, vectors = np.linalg.eigh(matrix)
    assert (eigen.curvature_small, eigen.curvature_large) == pytest.approx(
        tuple(values), rel=1e-12
    )
    for value, direction, column in zip(
        values, (eigen.direction_small, eigen.direction_large), vectors.T,
        strict=True,
    ):
        direction = np.array(direction)
        assert direction.shape == column.shape == (2,)
        assert np.linalg.norm(direction) == pytest.approx(1, abs=1e-12)
        if values[0] != values[1]:  # else any direction is an eigenvector
            assert abs(direction @ column) == pytest.approx(1, abs=1e-12)
        np.testing.assert_allclose(
            matrix @ direction, value * direction, atol=1e-12
        )
        assert direction[0] >= 0


def test_eigen_decomposition_matches_eigh(stats):
    eigen = quadratic.eigen_decomposition(stats)
    check_eigen(quadratic.hessian(stats), eigen)
    values = np.linalg.eigvalsh(quadratic.hessian(stats))
    assert eigen.condition_number == pytest.approx(
        values[1] / values[0], rel=1e-12
    )


@pytest.mark.parametrize(
    ("mean_xx", "mean_x"),
    [
        (4.0, 0.0), (0.25, 0.0), (1.0, 0.0), (2.0, 1.0), (1.5, -1.0),
        # <x²> < 1 with <x> != 0: the second row's solution is the longer
        # one, and it comes out with a negative slope part to flip.
        (0.5, 0.1), (0.5, -0.1), (0.3, 0.5),
    ],
)
def test_eigen_decomposition_of_special_cases(mean_xx, mean_x):
    # Centred data (mean_x = 0) gives a diagonal Hessian; variance 1 a
    # multiple of the identity, where any direction will do.
    stats = quadratic.SufficientStatistics(mean_xx, mean_x, 0.0, 0.0, 0.0)
    check_eigen(quadratic.hessian(stats), quadratic.eigen_decomposition(
        stats
    ))


def test_summary_is_plain_floats_for_an_explorer(data, stats):
    summary = quadratic.quadratic_summary(*data)
    assert all(type(value) is float for value in summary.values())
    assert json.loads(json.dumps(summary)) == summary
    eigen = quadratic.eigen_decomposition(stats)
    assert summary["curvature_large"] == eigen.curvature_large
    assert summary["direction_small_bias"] == eigen.direction_small[1]
    assert summary["mean_xy"] == stats.mean_xy
    assert (summary["slope_star"], summary["bias_star"]) == (
        quadratic.minimiser(stats)
    )
    x, y = data
    star = torch.tensor([summary["slope_star"], summary["bias_star"]])
    assert summary["loss_star"] == pytest.approx(
        mse(star.double(), x, y).item(), rel=1e-10
    )


@pytest.mark.parametrize("momentum", [-0.5, 0.0, 0.3, 0.9, 1.0, 2.0])
@pytest.mark.parametrize("product", [0.01, 0.5, 1.5, 3.0])
def test_roots_are_the_eigenvalues_of_the_recurrence(momentum, product):
    matrix = quadratic.recurrence_matrix(product, momentum, 1.0)
    expected = sorted(np.linalg.eigvals(matrix), key=abs, reverse=True)
    roots = quadratic.characteristic_roots(product, momentum, 1.0)
    np.testing.assert_allclose(
        np.abs(roots), np.abs(expected), rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(
        np.sort_complex(np.array(roots)), np.sort_complex(expected),
        atol=1e-9,
    )
    assert quadratic.convergence_rate(product, momentum, 1.0) == (
        pytest.approx(abs(expected[0]), rel=1e-9)
    )


def scalar_errors(product: float, momentum: float, steps: int):
    """The rule itself on L(w) = w²/2 with curvature 1, from w = 1."""
    w, running_sum, errors = 1.0, None, [1.0]
    for _ in range(steps):
        g = w
        running_sum = g if running_sum is None else (
            momentum * running_sum + g
        )
        w -= product * running_sum
        errors.append(w)
    return np.array(errors)


@pytest.mark.parametrize(
    ("product", "momentum", "expected"),
    [
        (0.5, 0.0, "monotone"),
        (1.5, 0.0, "zig-zag"),
        (2.5, 0.0, "divergent"),
        (0.1, 0.25, "monotone"),
        (0.25, 0.25, "critically damped"),
        (1.0, 0.25, "oscillating"),
        (2.4, 0.25, "zig-zag"),
        (2.6, 0.25, "divergent"),
        (0.5, 1.0, "divergent"),
        (0.5, -1.0, "divergent"),
        (0.8, -0.5, "zig-zag"),
        (0.05, -0.5, "monotone"),
    ],
)
def test_regime_names_what_the_iteration_does(product, momentum, expected):
    assert quadratic.regime(product, momentum, 1.0) == expected
    errors = scalar_errors(product, momentum, 400)
    tail = errors[200:]
    crossings = np.sum(np.sign(tail[1:]) != np.sign(tail[:-1]))
    if expected == "divergent":
        assert abs(errors[-1]) >= 0.1 * abs(errors[0])
    elif expected == "zig-zag":
        assert crossings == len(tail) - 1  # a sign change every step
    elif expected == "oscillating":
        assert 0 < crossings < len(tail) - 1
    else:
        assert crossings == 0
    if expected != "divergent":
        # The measured rate is the larger root's modulus.
        rate = quadratic.convergence_rate(product, momentum, 1.0)
        measured = (abs(errors[300]) / abs(errors[100])) ** (1 / 200)
        assert measured == pytest.approx(rate, rel=0.02)


@pytest.mark.parametrize("momentum", [-0.5, 0.0, 0.5, 0.9])
def test_stability_bound_on_both_sides(stats, momentum):
    eigen = quadratic.eigen_decomposition(stats)
    bound = quadratic.largest_stable_learning_rate(
        eigen.curvature_large, momentum
    )
    assert bound == pytest.approx(
        2 * (1 + momentum) / np.linalg.eigvalsh(quadratic.hessian(stats))[1]
    )
    star = np.array(quadratic.minimiser(stats))
    start = np.linalg.norm(star)
    below = quadratic.heavy_ball(stats, 0.98 * bound, momentum, 3000)
    above = quadratic.heavy_ball(stats, 1.02 * bound, momentum, 3000)
    assert np.linalg.norm(below[-1] - star) < 1e-6 * start
    with np.errstate(over="ignore", invalid="ignore"):  # inf is fine
        assert not np.linalg.norm(above[-1] - star) < 1e6 * start
    assert quadratic.convergence_rate(0.98 * bound, momentum,
                                      eigen.curvature_large) < 1
    assert quadratic.convergence_rate(1.02 * bound, momentum,
                                      eigen.curvature_large) > 1


@pytest.mark.parametrize("product", [0.04, 0.5, 1.8, 3.0])
def test_critical_momentum_gives_a_double_root_and_the_best_rate(product):
    mu = quadratic.critical_momentum(product, 1.0)
    first, second = quadratic.characteristic_roots(product, mu, 1.0)
    assert first == pytest.approx(second, abs=1e-6)
    rate = quadratic.convergence_rate(product, mu, 1.0)
    assert rate == pytest.approx(abs(1 - math.sqrt(product)), rel=1e-6)
    grid = np.linspace(-0.99, 0.99, 397)
    best = min(quadratic.convergence_rate(product, m, 1.0) for m in grid)
    assert rate <= best + 1e-9
    assert best == pytest.approx(rate, abs=0.02)


@pytest.mark.parametrize(
    ("learning_rate", "momentum"), [(0.001, 0.9), (0.2, 0.0), (0.2, 0.5)]
)
def test_heavy_ball_matches_the_package_rule_and_torch(
    data, stats, learning_rate, momentum
):
    x, y = data
    steps = 60
    reference = quadratic.heavy_ball(stats, learning_rate, momentum, steps)
    # The package's rule in its training loop, one full batch per epoch.
    _, history = train_linear_model(
        x, y, rule=Momentum(learning_rate, momentum), epochs=steps,
        batch_size=len(x),
    )
    package = torch.stack(history.snapshots).numpy()
    assert package.shape == reference[1:].shape == (steps, 2)
    np.testing.assert_allclose(package, reference[1:], rtol=1e-9,
                               atol=1e-12)
    theta = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD(
        [theta], lr=learning_rate, momentum=momentum, dampening=0,
        nesterov=False,
    )
    path = [theta.detach().clone()]
    for _ in range(steps):
        optimizer.zero_grad()
        mse(theta, x, y).backward()
        optimizer.step()
        path.append(theta.detach().clone())
    torch_path = torch.stack(path).numpy()
    assert torch_path.shape == reference.shape
    np.testing.assert_allclose(torch_path, reference, rtol=1e-9, atol=1e-12)


def test_heavy_ball_overflows_quietly(stats):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not even a RuntimeWarning
        path = quadratic.heavy_ball(stats, 0.001, 3.0, 2000)
    assert path.shape == (2001, 2)
    assert not np.all(np.isfinite(path[-1]))


def test_effective_learning_rate_for_a_shallow_direction():
    # 1 - gamma lambda / (1 - mu) approximates the slow root when
    # gamma lambda << (1 - sqrt(mu))^2.
    rate = quadratic.convergence_rate(1e-5, 0.9, 1.0)
    assert 1 - rate == pytest.approx(1e-5 / (1 - 0.9), rel=1e-3)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda s: quadratic.hessian({"mean_xx": 1}), TypeError,
         "stats must be a SufficientStatistics"),
        (lambda s: quadratic.gradient(s, [1.0]), ValueError,
         "theta must be a finite"),
        (lambda s: quadratic.loss(s, [1.0, math.nan]), ValueError,
         "theta must be a finite"),
        (lambda s: quadratic.minimiser(
            quadratic.SufficientStatistics(4.0, 2.0, 0, 0, 0)),
         ValueError, "inputs that are all equal"),
        (lambda s: quadratic.eigen_decomposition(
            quadratic.SufficientStatistics(4.0, 2.0, 0, 0, 0)),
         ValueError, "Hessian is singular"),
        (lambda s: quadratic.recurrence_matrix(0.0, 0.5, 1.0), ValueError,
         "learning_rate must be positive"),
        (lambda s: quadratic.characteristic_roots(0.1, "0.5", 1.0),
         TypeError, "momentum must be a number"),
        (lambda s: quadratic.regime(0.1, 0.5, -1.0), ValueError,
         "curvature must be positive"),
        (lambda s: quadratic.convergence_rate(0.1, math.inf, 1.0),
         ValueError, "momentum must be a finite number"),
        (lambda s: quadratic.largest_stable_learning_rate(1.0, 1.0),
         ValueError, "momentum must lie strictly between -1 and 1"),
        (lambda s: quadratic.largest_stable_learning_rate(1.0, -1.0),
         ValueError, "momentum must lie strictly between -1 and 1"),
        (lambda s: quadratic.critical_momentum(True, 1.0), TypeError,
         "learning_rate must be a number"),
        (lambda s: quadratic.heavy_ball(s, 0.1, 0.5, 2.5), TypeError,
         "steps must be an int"),
        (lambda s: quadratic.heavy_ball(s, 0.1, 0.5, -1), ValueError,
         "steps must be at least 0"),
        (lambda s: quadratic.heavy_ball(s, 0.1, 0.5, 3, start=(0, 0, 0)),
         ValueError, "start must be a finite"),
        (lambda s: quadratic.sufficient_statistics([1.0], [2.0]),
         TypeError, "x must be a torch.Tensor or numpy array"),
        (lambda s: quadratic.sufficient_statistics(
            np.ones(3), np.ones(4)), ValueError, "they must pair up"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(stats, call, error,
                                                   match):
    with pytest.raises(error, match=match):
        call(stats)


# Each public function with arguments it accepts, and the kind of check
# each argument promises: "positive" or any finite "real" number.
CHECKED_ARGUMENTS = {
    "recurrence_matrix": (
        dict(learning_rate=0.1, momentum=0.5, curvature=1.0),
        dict(learning_rate="positive", momentum="real",
             curvature="positive"),
    ),
    "characteristic_roots": (
        dict(learning_rate=0.1, momentum=0.5, curvature=1.0),
        dict(learning_rate="positive", momentum="real",
             curvature="positive"),
    ),
    "convergence_rate": (
        dict(learning_rate=0.1, momentum=0.5, curvature=1.0),
        dict(learning_rate="positive", momentum="real",
             curvature="positive"),
    ),
    "regime": (
        dict(learning_rate=0.1, momentum=0.5, curvature=1.0),
        dict(learning_rate="positive", momentum="real",
             curvature="positive"),
    ),
    "largest_stable_learning_rate": (
        dict(curvature=1.0, momentum=0.5),
        dict(curvature="positive", momentum="real"),
    ),
    "critical_momentum": (
        dict(learning_rate=0.1, curvature=1.0),
        dict(learning_rate="positive", curvature="positive"),
    ),
    "heavy_ball": (
        dict(learning_rate=0.1, momentum=0.5, steps=3),
        dict(learning_rate="positive", momentum="real"),
    ),
}

# A bad value, what is wrong with it for a "real" and a "positive"
# argument (None: accepted), and how the message shows it.
BAD_VALUES = [
    ("0.5", TypeError, "must be a number", "must be a number", "'0.5'"),
    (True, TypeError, "must be a number", "must be a number", "True"),
    (None, TypeError, "must be a number", "must be a number", "None"),
    (1 + 0j, TypeError, "must be a number", "must be a number", "(1+0j)"),
    (math.nan, ValueError, "must be a finite number",
     "must be a finite number", "nan"),
    (-math.inf, ValueError, "must be a finite number",
     "must be a finite number", "-inf"),
    (0.0, ValueError, None, "must be positive", "0.0"),
    (-0.75, ValueError, None, "must be positive", "-0.75"),
    (np.float64(-0.25), ValueError, None, "must be positive", "-0.25"),
]


@pytest.mark.parametrize(
    ("function", "argument"),
    [
        (function, argument)
        for function, (_, kinds) in CHECKED_ARGUMENTS.items()
        for argument in kinds
    ],
)
@pytest.mark.parametrize(
    ("value", "error", "as_real", "as_positive", "shown"), BAD_VALUES
)
def test_every_argument_is_checked_and_named(
    stats, function, argument, value, error, as_real, as_positive, shown
):
    valid, kinds = CHECKED_ARGUMENTS[function]
    call = getattr(quadratic, function)
    args = (stats,) if function == "heavy_ball" else ()
    problem = as_real if kinds[argument] == "real" else as_positive
    kwargs = {**valid, argument: value}
    if problem is None:  # a real argument takes zero and negatives
        call(*args, **kwargs)
        return
    message = f"{argument} {problem}, got {shown}"
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        call(*args, **kwargs)


def test_the_smallest_positive_float_is_positive(stats):
    tiny = 5e-324
    assert quadratic.critical_momentum(tiny, 1.0) == pytest.approx(1.0)
    assert quadratic.largest_stable_learning_rate(1e300, 0.0) == 2e-300
    assert quadratic.recurrence_matrix(tiny, 0.0, 1.0)[0, 0] == 1.0


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda s: quadratic.hessian({"mean_xx": 1}), TypeError,
         "stats must be a SufficientStatistics (see sufficient_statistics)"
         ", got dict"),
        (lambda s: quadratic.gradient(None, [0.0, 0.0]), TypeError,
         "stats must be a SufficientStatistics (see sufficient_statistics)"
         ", got NoneType"),
        (lambda s: quadratic.loss((1, 0, 0, 0, 0), [0.0, 0.0]), TypeError,
         "stats must be a SufficientStatistics (see sufficient_statistics)"
         ", got tuple"),
        (lambda s: quadratic.minimiser("stats"), TypeError,
         "stats must be a SufficientStatistics (see sufficient_statistics)"
         ", got str"),
        (lambda s: quadratic.eigen_decomposition({"mean_xx": 1.0}),
         TypeError, "stats must be a SufficientStatistics (see "
         "sufficient_statistics), got dict"),
        (lambda s: quadratic.regime(0.1, 0.5, 1.0, tolerance="1e-9"),
         TypeError, "tolerance must be a number, got '1e-9'"),
        (lambda s: quadratic.regime(0.1, 0.5, 1.0, tolerance=math.nan),
         ValueError, "tolerance must be a finite number, got nan"),
        (lambda s: quadratic.regime(0.1, 0.5, 1.0, tolerance=-1e-12),
         ValueError, "tolerance must be at least 0, got -1e-12"),
        (lambda s: quadratic.heavy_ball([1.0], 0.1, 0.5, 3), TypeError,
         "stats must be a SufficientStatistics (see sufficient_statistics)"
         ", got list"),
        (lambda s: quadratic.gradient(s, [1.0]), ValueError,
         "theta must be a finite [slope, bias] pair, got [1.0]"),
        (lambda s: quadratic.gradient(s, [[1.0, 2.0]]), ValueError,
         "theta must be a finite [slope, bias] pair, got [[1.0, 2.0]]"),
        (lambda s: quadratic.loss(s, [1.0, math.nan]), ValueError,
         "theta must be a finite [slope, bias] pair, got [1.0, nan]"),
        (lambda s: quadratic.loss(s, (math.inf, 0.0)), ValueError,
         "theta must be a finite [slope, bias] pair, got (inf, 0.0)"),
        (lambda s: quadratic.minimiser(
            quadratic.SufficientStatistics(4.0, 2.0, 0, 0, 0)),
         ValueError, "stats describe inputs that are all equal (variance "
         "0.0): the slope is not determined"),
        (lambda s: quadratic.minimiser(
            quadratic.SufficientStatistics(1.0, 2.0, 0, 0, 0)),
         ValueError, "stats describe inputs that are all equal (variance "
         "-3.0): the slope is not determined"),
        (lambda s: quadratic.eigen_decomposition(
            quadratic.SufficientStatistics(4.0, 2.0, 0, 0, 0)),
         ValueError, "stats describe inputs that are all equal: the "
         "Hessian is singular and the bowl has a flat direction"),
        (lambda s: quadratic.largest_stable_learning_rate(1.0, 1.0),
         ValueError, "momentum must lie strictly between -1 and 1, got "
         "1.0: otherwise no learning rate converges"),
        (lambda s: quadratic.largest_stable_learning_rate(1.0, -1),
         ValueError, "momentum must lie strictly between -1 and 1, got "
         "-1.0: otherwise no learning rate converges"),
        (lambda s: quadratic.largest_stable_learning_rate(2.0, 7.5),
         ValueError, "momentum must lie strictly between -1 and 1, got "
         "7.5: otherwise no learning rate converges"),
        (lambda s: quadratic.heavy_ball(s, 0.1, 0.5, 2.5), TypeError,
         "steps must be an int, got 2.5"),
        (lambda s: quadratic.heavy_ball(s, 0.1, 0.5, True), TypeError,
         "steps must be an int, got True"),
        (lambda s: quadratic.heavy_ball(s, 0.1, 0.5, "3"), TypeError,
         "steps must be an int, got '3'"),
        (lambda s: quadratic.heavy_ball(s, 0.1, 0.5, -1), ValueError,
         "steps must be at least 0, got -1"),
        (lambda s: quadratic.heavy_ball(s, 0.1, 0.5, 3, start=(0, 0, 0)),
         ValueError, "start must be a finite [slope, bias] pair, got "
         "(0, 0, 0)"),
        (lambda s: quadratic.heavy_ball(s, 0.1, 0.5, 3, start=(0, -math.inf)),
         ValueError, "start must be a finite [slope, bias] pair, got "
         "(0, -inf)"),
    ],
)
def test_errors_say_what_is_wrong_in_full(stats, call, error, message):
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        call(stats)


@pytest.mark.parametrize(
    ("mean_xx", "expected_small", "expected_large"),
    [
        (0.25, (1.0, 0.0), (0.0, 1.0)),  # the slope axis is the flatter
        (2.0, (0.0, 1.0), (1.0, 0.0)),  # the bias axis is the flatter
        (1.0, (1.0, 0.0), (0.0, 1.0)),  # a round bowl: both axes
    ],
)
def test_centred_inputs_give_the_axes_themselves(mean_xx, expected_small,
                                                 expected_large):
    # Centred inputs make the Hessian diagonal, 2 diag(<x²>, 1): its
    # eigenvectors are the slope axis (1, 0) and the bias axis (0, 1),
    # each pointing the documented way.
    stats = quadratic.SufficientStatistics(mean_xx, 0.0, 0.0, 0.0, 0.0)
    eigen = quadratic.eigen_decomposition(stats)
    assert (eigen.curvature_small, eigen.curvature_large) == tuple(
        sorted((2 * mean_xx, 2.0))
    )
    assert eigen.direction_small == expected_small
    assert eigen.direction_large == expected_large


@pytest.mark.parametrize(
    ("mean_xx", "mean_x"),
    # Half the gap between the curvatures is exactly 1 in both: the
    # Hessians are [[4, 0], [0, 2]] and [[2, 1], [1, 2]].
    [(2.0, 0.0), (1.0, 0.5)],
)
def test_eigen_decomposition_when_the_half_gap_is_one(mean_xx, mean_x):
    stats = quadratic.SufficientStatistics(mean_xx, mean_x, 0.0, 0.0, 0.0)
    check_eigen(quadratic.hessian(stats), quadratic.eigen_decomposition(
        stats
    ))


def test_summary_holds_every_documented_value(data):
    x, y = (t[:, 0].numpy() for t in data)
    summary = quadratic.quadratic_summary(*data)
    averages = dict(
        mean_xx=np.mean(x * x), mean_x=np.mean(x), mean_xy=np.mean(x * y),
        mean_y=np.mean(y), mean_yy=np.mean(y * y),
    )
    design = np.column_stack([x, np.ones_like(x)])
    (slope, bias), *_ = np.linalg.lstsq(design, y, rcond=None)
    hessian_matrix = 2 * design.T @ design / len(x)
    values, vectors = np.linalg.eigh(hessian_matrix)
    vectors = vectors * np.sign(vectors[0])  # non-negative slope parts
    expected = {
        **averages,
        "slope_star": slope,
        "bias_star": bias,
        "loss_star": np.mean((slope * x + bias - y) ** 2),
        "curvature_small": values[0],
        "curvature_large": values[1],
        "direction_small_slope": vectors[0, 0],
        "direction_small_bias": vectors[1, 0],
        "direction_large_slope": vectors[0, 1],
        "direction_large_bias": vectors[1, 1],
        "condition_number": values[1] / values[0],
    }
    assert list(summary) == list(expected)
    for key, value in expected.items():
        assert summary[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key


def test_regime_at_the_edges_of_its_tolerance():
    # γλ = 0.5 and μ = 1/16: the trace is 0.5625 and the discriminant
    # 0.5625² - 0.25 = 0.06640625, all exact in binary.
    discriminant = 0.5625**2 - 4 * 0.0625
    assert discriminant == 0.06640625
    assert quadratic.regime(0.5, 0.0625, 1.0, tolerance=discriminant) == (
        "critically damped"
    )
    assert quadratic.regime(
        0.5, 0.0625, 1.0, tolerance=math.nextafter(discriminant, 0)
    ) == "monotone"
    # The default tolerance is 1e-9, not more: a discriminant of 2e-9.
    mu = 0.25
    product = 1 + mu - math.sqrt(4 * mu + 2e-9)
    assert quadratic.regime(product, mu, 1.0) == "monotone"
    assert quadratic.regime(product, mu, 1.0, tolerance=3e-9) == (
        "critically damped"
    )


def test_a_root_of_modulus_exactly_one_is_divergent():
    # γλ = 2 without momentum: the roots are 0 and -1, so the error keeps
    # its size and flips sign for ever.
    assert quadratic.characteristic_roots(2.0, 0.0, 1.0) == (-1, 0)
    assert quadratic.convergence_rate(2.0, 0.0, 1.0) == 1.0
    assert quadratic.regime(2.0, 0.0, 1.0) == "divergent"
    errors = scalar_errors(2.0, 0.0, 6)
    np.testing.assert_array_equal(errors, [1, -1, 1, -1, 1, -1, 1])
    just_inside = math.nextafter(2.0, 0)
    assert quadratic.regime(just_inside, 0.0, 1.0) == "zig-zag"
    assert quadratic.largest_stable_learning_rate(1.0, 0.0) == 2.0


@pytest.mark.parametrize("start", [(0.0, 0.0), (1.5, -2), (3, 4)])
def test_heavy_ball_with_no_steps_is_its_start(stats, start):
    path = quadratic.heavy_ball(stats, 0.1, 0.5, 0, start=start)
    assert path.shape == (1, 2)
    assert path.dtype == np.float64
    np.testing.assert_array_equal(path, [start])


def test_heavy_ball_first_steps_by_hand(data, stats):
    # b_0 = g_0, then b_1 = μ b_0 + g_1, with torch's gradients.
    x, y = data
    start = torch.tensor([1.5, -2.0], dtype=torch.float64)
    path = quadratic.heavy_ball(stats, 0.1, 0.9, 2, start=(1.5, -2))
    g0 = grad(mse)(start, x, y)
    first = start - 0.1 * g0
    second = first - 0.1 * (0.9 * g0 + grad(mse)(first, x, y))
    expected = torch.stack([start, first, second]).numpy()
    assert path.shape == expected.shape == (3, 2)
    np.testing.assert_allclose(path, expected, rtol=1e-12)


def test_integer_points_are_read_as_floats(stats):
    # 2**33 squared overflows a 64-bit integer, not a float.
    big = 2**33
    expected = big * big * stats.mean_xx - 2 * big * stats.mean_xy + (
        stats.mean_yy
    )
    assert quadratic.loss(stats, (big, 0)) == pytest.approx(expected,
                                                            rel=1e-12)


@pytest.mark.parametrize(
    ("mean_xx", "mean_x", "mean_xy", "mean_y"),
    # Variances 0.75, 1 and 1e-6: small, but the slope is determined.
    [(1.0, 0.5, 0.5, 1.0), (1.0, 0.0, -2.0, 3.0), (1.000001, 1.0, 3.0, 1.0)],
)
def test_minimiser_of_a_small_variance(mean_xx, mean_x, mean_xy, mean_y):
    stats = quadratic.SufficientStatistics(mean_xx, mean_x, mean_xy,
                                           mean_y, 0.0)
    # The normal equations H θ = 2 [<xy>, <y>], solved by numpy.
    matrix = 2 * np.array([[mean_xx, mean_x], [mean_x, 1.0]])
    expected = np.linalg.solve(matrix, 2 * np.array([mean_xy, mean_y]))
    assert quadratic.minimiser(stats) == pytest.approx(tuple(expected),
                                                       rel=1e-8)


@pytest.mark.parametrize(
    ("learning_rate", "curvature"),
    [(0.05, 8.0), (0.8, 0.5), (2.0, 0.2), (0.004, 100.0)],
)
@pytest.mark.parametrize("momentum", [0.0, 0.25, 0.9])
def test_only_the_product_of_rate_and_curvature_counts(
    learning_rate, curvature, momentum
):
    # γλ = 0.4 in every row, with λ far from 1: the closed forms of the
    # docstrings, and the roots numpy finds for z² - (1 + μ - γλ) z + μ.
    product = learning_rate * curvature
    matrix = quadratic.recurrence_matrix(learning_rate, momentum, curvature)
    np.testing.assert_allclose(
        matrix, [[1 + momentum - product, -momentum], [1.0, 0.0]],
        rtol=1e-14,
    )
    assert matrix.shape == (2, 2)
    expected = np.roots([1.0, -(1 + momentum - product), momentum])
    roots = quadratic.characteristic_roots(learning_rate, momentum,
                                           curvature)
    np.testing.assert_allclose(
        np.sort_complex(np.array(roots)), np.sort_complex(expected),
        atol=1e-7,
    )
    # With μ = 0.25 and γλ = 0.4 the roots are complex: it oscillates.
    expected_regime = {0.0: "monotone", 0.25: "oscillating",
                       0.9: "oscillating"}[momentum]
    assert quadratic.regime(learning_rate, momentum, curvature) == (
        expected_regime
    )
    mu = quadratic.critical_momentum(learning_rate, curvature)
    assert (1 + mu - product) ** 2 == pytest.approx(4 * mu, abs=1e-12)
    assert mu == pytest.approx((1 - math.sqrt(0.4)) ** 2, rel=1e-12)
    bound = quadratic.largest_stable_learning_rate(curvature, momentum)
    assert bound * curvature == pytest.approx(2 * (1 + momentum), rel=1e-14)


def test_largest_stable_learning_rate_without_momentum_by_default():
    assert quadratic.largest_stable_learning_rate(4.0) == 0.5


def test_regime_takes_a_tolerance_of_zero():
    # A double root within rounding: γλ = 0.25, μ = 0.25 has trace 1
    # and discriminant 1 - 1 = 0 exactly.
    assert quadratic.regime(0.25, 0.25, 1.0, tolerance=0.0) == (
        "critically damped"
    )
    assert quadratic.regime(0.25, 0.25, 1.0, tolerance=0) == (
        "critically damped"
    )
    assert quadratic.regime(1.0, 0.25, 1.0, tolerance=0.5) == "oscillating"
    assert quadratic.regime(1.0, 0.25, 1.0, tolerance=1.0) == (
        "critically damped"
    )


@pytest.mark.parametrize(
    ("learning_rate", "momentum", "curvature"),
    [(1e200, 0.0, 1e200), (1e200, 0.5, 1e200), (0.1, 5e307, 1.0),
     # trace = 1 + μ - γλ near -1e154: its square overflows (while
     # 1 + μ + γλ cancels), which characteristic_roots refuses.
     (0.5, -1e154, 1e154), (1.0, -1e300, 1e300)],
)
def test_regime_of_an_overflowing_product_is_divergent(
    learning_rate, momentum, curvature
):
    # γλ (or 4μ, or (1 + μ - γλ)²) overflows a float: the iteration,
    # written out, leaves the finite numbers within three steps; the
    # regime must not call it a zig-zag, nor fail to compute the roots.
    w, running_sum = 1.0, None
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(3):
            g = curvature * w
            running_sum = g if running_sum is None else (
                momentum * running_sum + g
            )
            w = w - learning_rate * running_sum
    assert not math.isfinite(w)
    assert quadratic.regime(learning_rate, momentum, curvature) == (
        "divergent"
    )


def test_regime_of_a_huge_momentum_is_divergent_where_the_roots_overflow():
    # The roots' product is μ: |μ| = 1e200 > 1 diverges, though slowly
    # at γλ = 1e-600; the trace 1 + μ - γλ squared (1e400) overflows, so
    # the roots cannot be computed (characteristic_roots refuses) and
    # regime must say so itself.
    with pytest.raises(ValueError, match="overflows float64"):
        quadratic.characteristic_roots(1e-300, -1e200, 1e-300)
    assert quadratic.regime(1e-300, -1e200, 1e-300) == "divergent"


def test_roots_while_4_mu_still_fits_in_float64():
    # μ = γλ = 4e307: the trace 1 + μ - γλ rounds to 0 and 4μ = 1.6e308
    # still fits, so z² + μ has the roots ±i sqrt(μ).
    first, second = quadratic.characteristic_roots(1.0, 4e307, 4e307)
    assert first == pytest.approx(1j * math.sqrt(4e307), rel=1e-15)
    assert second == first.conjugate()
    assert quadratic.regime(1.0, 4e307, 4e307) == "divergent"


def test_one_exact_step_is_critically_damped():
    # γλ = 1 without momentum lands on the minimum in one step: the
    # characteristic polynomial is z², a double root at 0 (trace 0).
    assert quadratic.characteristic_roots(1.0, 0.0, 1.0) == (0j, 0j)
    assert quadratic.regime(1.0, 0.0, 1.0) == "critically damped"


# Hostile input, round 2 (issue 24).


def exact_fit(x, y):
    """Least squares in exact rational arithmetic on the float64 data."""
    from fractions import Fraction

    xs, ys = [Fraction(v) for v in x], [Fraction(v) for v in y]
    n = len(xs)
    x_mean, y_mean = sum(xs) / n, sum(ys) / n
    spread = sum((v - x_mean) ** 2 for v in xs) / n
    covariance = sum(
        (a - x_mean) * (b - y_mean) for a, b in zip(xs, ys, strict=True)
    ) / n
    slope = covariance / spread
    bias = y_mean - slope * x_mean
    mse = sum((slope * a + bias - b) ** 2 for a, b in zip(xs, ys,
                                                          strict=True)) / n
    return slope, bias, spread, mse


def test_an_overflowing_critical_momentum_is_refused_in_full():
    with pytest.raises(ValueError) as caught:
        quadratic.critical_momentum(1e300, 1e300)
    assert str(caught.value) == (
        "learning_rate * curvature is so large that the momentum overflows "
        "float64 (learning_rate 1e+300, curvature 1e+300)")

@pytest.mark.parametrize("centre", [0.0, 1e6, 1e7, -3e8])
def test_the_quadratic_is_exact_for_data_far_from_zero(centre):
    # Raw moments lose every digit here: <x²> - <x>² of x near 1e7 is the
    # difference of two numbers near 1e14 (the slope 2.56 for
    # 2.50). Centred statistics keep them; exact fractions judge.
    from fractions import Fraction

    rng = np.random.default_rng(24)
    x = centre + rng.uniform(0, 1, 200)
    y = 2.5 * (x - centre) - 1.0 + rng.normal(0, 0.5, 200)
    slope, bias, spread, mse = exact_fit(x, y)
    stats = quadratic.sufficient_statistics(x, y)
    found = quadratic.minimiser(stats)
    assert found[0] == pytest.approx(float(slope), rel=1e-9)
    assert found[1] == pytest.approx(float(bias), rel=1e-9, abs=1e-6)
    assert quadratic.loss(stats, found) == pytest.approx(float(mse),
                                                         rel=1e-6)
    gradient = quadratic.gradient(stats, (float(slope), float(bias)))
    scale = max(abs(centre), 1.0)
    assert np.abs(gradient).max() < 1e-6 * scale
    # The curvatures multiply to the determinant 4 var(x), exactly.
    eigen = quadratic.eigen_decomposition(stats)
    product = Fraction(eigen.curvature_small) * Fraction(
        eigen.curvature_large
    )
    assert float(product / (4 * spread)) == pytest.approx(1.0, rel=1e-9)
    summary = quadratic.quadratic_summary(x, y)
    assert summary["slope_star"] == pytest.approx(float(slope), rel=1e-9)


@pytest.mark.parametrize("value", [0.1, 1 / 3, 1e7 + 0.1, -2.7e-5])
def test_inputs_equal_up_to_rounding_are_refused(value):
    # The computed spread of 0.1 a thousand times is rounding, not 0.
    x, y = np.full(1000, value), np.arange(1000.0)
    stats = quadratic.sufficient_statistics(x, y)
    with pytest.raises(ValueError, match="inputs that are all equal"):
        quadratic.minimiser(stats)
    with pytest.raises(ValueError, match="Hessian is singular"):
        quadratic.eigen_decomposition(stats)


@pytest.mark.parametrize(
    "call",
    [
        lambda: quadratic.recurrence_matrix(10**400, 0.5, 1.0),
        lambda: quadratic.characteristic_roots(0.1, 10**400, 1.0),
        lambda: quadratic.convergence_rate(0.1, 0.5, -(10**400)),
        lambda: quadratic.regime(0.1, 0.5, 1.0, tolerance=10**400),
        lambda: quadratic.largest_stable_learning_rate(10**400),
        lambda: quadratic.critical_momentum(10**400, 1.0),
        lambda: quadratic.heavy_ball(
            quadratic.SufficientStatistics(2.0, 1.0, 0, 0, 0), 10**400,
            0.5, 3,
        ),
        lambda: quadratic.SufficientStatistics(10**400, 1.0, 0, 0, 0),
    ],
)
def test_huge_integers_are_refused_by_name(call):
    with pytest.raises(ValueError, match="must be a finite number, got "
                                         "(an|a negative) int of 1329 bits"):
        call()


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: quadratic.characteristic_roots(1e300, 0.5, 1e300),
         re.escape(
             "learning_rate * curvature or momentum is so large that the "
             "recurrence overflows float64 (learning_rate 1e+300, momentum "
             "0.5, curvature 1e+300)"
         ) + "$"),
        # 1 + μ - γλ is -2e300 here: only its square overflows.
        (lambda: quadratic.characteristic_roots(1.0, -1e300, 1e300),
         "^learning_rate \\* curvature or momentum is so large"),
        (lambda: quadratic.characteristic_roots(0.1, 1e300, 1.0),
         "learning_rate \\* curvature or momentum is so large"),
        (lambda: quadratic.largest_stable_learning_rate(1e-310, 0.5),
         "curvature 1e-310 is so small"),
        (lambda: quadratic.critical_momentum(1e300, 1e300),
         re.escape(
             "learning_rate * curvature is so large that the momentum "
             "overflows float64 (learning_rate 1e+300, curvature 1e+300)"
         ) + "$"),
        (lambda: quadratic.heavy_ball(
            quadratic.SufficientStatistics(2.0, 1.0, 0, 0, 0), 0.1, 0.5,
            10**9), "steps must be at most 10000000"),
        (lambda: quadratic.loss(
            quadratic.SufficientStatistics(2.0, 1.0, 0, 0, 0), (1e200, 0)),
         "^theta is so far from the minimum that the loss overflows "
         "float64$"),
        (lambda: quadratic.gradient(
            quadratic.SufficientStatistics(2.0, 1.0, 0, 0, 0),
            (1e308, 1e308)),
         "^theta is so far from the minimum that the gradient overflows "
         "float64$"),
        (lambda: quadratic.gradient(
            quadratic.SufficientStatistics(2.0, 1.0, 0, 0, 0), "12"),
         "theta must be numbers"),
        (lambda: quadratic.SufficientStatistics(1e200, 1e200, 0, 0, 0),
         "the averages are too large: variance_x overflows"),
    ],
)
def test_results_beyond_float64_are_refused_not_inf_or_nan(call, match):
    with pytest.raises((TypeError, ValueError), match=match):
        call()


def test_a_gradient_beyond_float64_is_refused_without_a_warning():
    # 2 (a <x> + b - <y>) overflows to inf; with <x> = 0 (and a mean of
    # y beyond the square root of float64, given with its variance) the
    # term <x> (a <x> + b - <y>) is 0 * inf = nan. numpy would announce
    # both before the package's own error.
    consistent = quadratic.SufficientStatistics(2.0, 1.0, 3.5, 1.5, 7.0)
    centred = quadratic.SufficientStatistics(
        1.0, 0.0, 0.0, -1e308, 1.0, variance_y=1.0
    )
    message = (
        "^theta is so far from the minimum that the gradient overflows "
        "float64$"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for stats, theta in ((consistent, (1e308, 1e308)),
                             (centred, (1.0, 1.7e308))):
            with pytest.raises(ValueError, match=message):
                quadratic.gradient(stats, theta)


@pytest.mark.parametrize("curvature", [0.0, -1.0])
def test_an_eigen_decomposition_needs_positive_curvatures(curvature):
    directions = ((1.0, 0.0), (0.0, 1.0))
    for name, curvatures in (("curvature_small", (curvature, 2.0)),
                             ("curvature_large", (1.0, curvature))):
        message = f"{name} must be positive, got {curvature!r}"
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            quadratic.EigenDecomposition(*curvatures, *directions)


def test_the_five_averages_alone_give_the_centred_ones():
    # x = (0, 2), y = (0, 3): var(x) = 1, cov(x, y) = 1.5, var(y) = 2.25,
    # as the data give them, centred.
    stats = quadratic.SufficientStatistics(2.0, 1.0, 3.0, 1.5, 4.5)
    measured = quadratic.sufficient_statistics(
        np.array([0.0, 2.0]), np.array([0.0, 3.0])
    )
    centred = ("variance_x", "covariance_xy", "variance_y")
    for statistics in (stats, measured):
        assert [getattr(statistics, name) for name in centred] == [
            1.0, 1.5, 2.25
        ]


def test_the_spread_of_y_far_from_zero_is_exact():
    # y near 1e8: <y²> - <y>² is the difference of two numbers near 1e16,
    # 2 apart in float64, and comes out 0. The centred variance is 1/4,
    # the loss of the flat line at the mean of y.
    x = np.arange(4.0)
    y = 1e8 + np.array([0.0, 1.0, 0.0, 1.0])
    stats = quadratic.sufficient_statistics(x, y)
    assert stats.variance_y == 0.25
    assert quadratic.loss(stats, (0.0, 1e8 + 0.5)) == 0.25


def test_a_loss_beyond_float64_is_refused_without_a_warning():
    # a² var(x) overflows to inf and -2 a cov(x, y) to -inf: their sum is
    # nan, which numpy would announce before the package's own error.
    stats = quadratic.SufficientStatistics(2.0, 1.0, 3.5, 1.5, 7.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for theta in ((1e308, 0.0), (1e200, 0.0)):
            with pytest.raises(ValueError, match="the loss overflows"):
                quadratic.loss(stats, theta)


@pytest.mark.parametrize(
    ("stats", "theta"),
    [
        # Overflow: a <x> + b - <y> passes the largest float.
        (quadratic.SufficientStatistics(2.0, 1.0, 0, 0, 0), (1e308, 1e308)),
        # inf - inf: a var(x) overflows upwards (var(x) = 1e10) while
        # <x> (a <x> + b) overflows downwards (b = -1.7e308).
        (quadratic.SufficientStatistics(1e10 + 4.0, 2.0, 0, 0, 0),
         (1e300, -1.7e308)),
    ],
)
def test_an_overflowing_gradient_is_refused_without_numpy_warnings(
        stats, theta):
    # The refusal is the package's; numpy's overflow and invalid-value
    # warnings on the way would only repeat it, in numpy's words.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError) as caught:
            quadratic.gradient(stats, theta)
    assert str(caught.value) == (
        "theta is so far from the minimum that the gradient overflows "
        "float64")
