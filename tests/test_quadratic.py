"""The quadratic-model theory, each result checked another way.

Closed forms in ``quadratic`` are checked against numpy's linear algebra
and ``torch.func``; the stability theory against iterations run on both
sides of each bound; the float64 reference iteration against the
package's ``Momentum`` rule and ``torch.optim.SGD`` on the full batch.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch.func import grad, hessian

from autodiff_book import quadratic
from autodiff_book.data import load_dataset
from autodiff_book.training import Momentum, train_linear_model


@pytest.fixture(scope="module")
def data():
    x, y = load_dataset()
    return x.double(), y.double()


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
    [(4.0, 0.0), (0.25, 0.0), (1.0, 0.0), (2.0, 1.0), (1.5, -1.0)],
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
