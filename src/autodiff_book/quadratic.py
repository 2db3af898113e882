"""Gradient descent with momentum on the linear model's quadratic loss.

The mean squared error of ``slope * x + bias`` is exactly quadratic in
``theta = [slope, bias]``: five averages over the data (of x², x, xy, y
and y²) fix it completely. Its Hessian is constant, and along each of the
Hessian's eigenvectors gradient descent with momentum is a scalar linear
recurrence whose two roots decide everything: whether it converges, how
fast, and whether it creeps, swings or zig-zags.

The momentum rule is the problem set's: ``b_0 = g_0``,
``b_t = momentum * b_{t-1} + g_t``, ``theta_t = theta_{t-1} -
learning_rate * b_t``. Every function returns plain Python floats (or numpy
arrays of float64 for paths), so the numbers can be written to JSON for an
interactive explorer as they are.
"""

from __future__ import annotations

import cmath
import math
from dataclasses import dataclass, field

import numpy as np

from autodiff_book.checks import check_array, check_count, check_real, shown
from autodiff_book.regression import (
    _centred_moments,
    _is_degenerate,
    _paired_samples,
)

# A reference run longer than this is a typo: its path alone would fill
# gigabytes (two float64 per step).
MAX_STEPS = 10_000_000

# The regimes of one eigen-direction, from the roots of its recurrence.
REGIMES = (
    "monotone",  # real roots, the larger one positive: a steady creep
    "critically damped",  # a double real root: the border of the two
    "oscillating",  # complex roots: spirals in at rate sqrt(momentum)
    "zig-zag",  # the dominant root is negative: the sign flips each step
    "divergent",  # a root of modulus >= 1: no convergence
)


_AVERAGES = ("mean_xx", "mean_x", "mean_xy", "mean_y", "mean_yy")
_SOURCES = {
    "variance_x": "mean_xx and mean_x",
    "covariance_xy": "mean_xy, mean_x and mean_y",
    "variance_y": "mean_yy and mean_y",
}


@dataclass(frozen=True)
class SufficientStatistics:
    """The five averages that fix the MSE of ``slope * x + bias``.

    The centred ones (``variance_x``, ``covariance_xy``, ``variance_y``)
    follow from the five, but computed that way they lose every digit for
    data far from 0; ``sufficient_statistics`` measures them on centred
    data. Left out, they are derived from the five.
    """

    mean_xx: float
    mean_x: float
    mean_xy: float
    mean_y: float
    mean_yy: float
    variance_x: float | None = field(default=None, compare=False)
    covariance_xy: float | None = field(default=None, compare=False)
    variance_y: float | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for name in _AVERAGES:
            value = check_real(name, getattr(self, name))
            object.__setattr__(self, name, value)
        derived = {
            "variance_x": self.mean_xx - self.mean_x * self.mean_x,
            "covariance_xy": self.mean_xy - self.mean_x * self.mean_y,
            "variance_y": self.mean_yy - self.mean_y * self.mean_y,
        }
        for name, value in derived.items():
            given = getattr(self, name)
            if given is not None:
                value = check_real(name, given)
            elif not math.isfinite(value):
                raise ValueError(
                    f"the averages are too large: {name} overflows float64 "
                    f"(from {_SOURCES[name]})"
                )
            object.__setattr__(self, name, value)

    def as_dict(self) -> dict[str, float]:
        """The five averages by name, as plain floats."""
        return {name: getattr(self, name) for name in _AVERAGES}



def sufficient_statistics(x, y) -> SufficientStatistics:
    """Average x², x, xy, y and y² over the data, in float64.

    Args:
        x, y: inputs and targets (tensors or arrays), shape ``(N,)`` or
            ``(N, 1)``.
    """
    x, y = _paired_samples(x, y)
    mean_x, mean_y, variance_x, covariance_xy, variance_y = (
        _centred_moments(x, y)
    )
    return SufficientStatistics(
        mean_xx=float(np.mean(x * x)),
        mean_x=mean_x,
        mean_xy=float(np.mean(x * y)),
        mean_y=mean_y,
        mean_yy=float(np.mean(y * y)),
        variance_x=variance_x,
        covariance_xy=covariance_xy,
        variance_y=variance_y,
    )


def _check_statistics(stats) -> SufficientStatistics:
    if not isinstance(stats, SufficientStatistics):
        raise TypeError(
            "stats must be a SufficientStatistics (see "
            f"sufficient_statistics), got {type(stats).__name__}"
        )
    return stats


def hessian(stats: SufficientStatistics) -> np.ndarray:
    """The constant Hessian ``2 [[<x²>, <x>], [<x>, 1]]`` of the MSE."""
    s = _check_statistics(stats)
    return 2.0 * np.array([[s.mean_xx, s.mean_x], [s.mean_x, 1.0]])


def _gradient(s: SufficientStatistics, a: float, b: float) -> np.ndarray:
    # With the residual of the means r = a <x> + b - <y>, the gradient
    # 2 (a <x²> + b <x> - <xy>, a <x> + b - <y>) is
    # 2 (a var(x) - cov(x, y) + <x> r, r): centred, hence exact far from 0.
    offset = a * s.mean_x + b - s.mean_y
    return 2.0 * np.array(
        [a * s.variance_x - s.covariance_xy + s.mean_x * offset, offset]
    )


def _finite(name: str, value, what: str):
    if not np.all(np.isfinite(value)):
        raise ValueError(
            f"{name} is so far from the minimum that the {what} overflows "
            "float64"
        )
    return value


def gradient(stats: SufficientStatistics, theta) -> np.ndarray:
    """Gradient of the MSE at ``theta = [slope, bias]``, from the averages."""
    s = _check_statistics(stats)
    a, b = _as_point("theta", theta)
    with np.errstate(over="ignore", invalid="ignore"):
        return _finite("theta", _gradient(s, a, b), "gradient")


def loss(stats: SufficientStatistics, theta) -> float:
    """The MSE at ``theta = [slope, bias]``, from the averages."""
    s = _check_statistics(stats)
    a, b = _as_point("theta", theta)
    # The expansion a² <x²> + 2ab <x> + ... in centred terms:
    # var(y) - 2a cov + a² var(x) + (a <x> + b - <y>)².
    with np.errstate(over="ignore", invalid="ignore"):
        offset = np.float64(a) * s.mean_x + b - s.mean_y
        value = float(
            s.variance_y - 2 * a * s.covariance_xy + a * a * s.variance_x
            + offset * offset
        )
    return _finite("theta", value, "loss")


def minimiser(stats: SufficientStatistics) -> tuple[float, float]:
    """``(slope, bias)`` where the gradient vanishes (least squares)."""
    s = _check_statistics(stats)
    if _is_degenerate(s.variance_x, s.mean_xx):
        raise ValueError(
            "stats describe inputs that are all equal (variance "
            f"{s.variance_x!r}): the slope is not determined"
        )
    slope = s.covariance_xy / s.variance_x
    return float(slope), float(s.mean_y - slope * s.mean_x)


@dataclass(frozen=True)
class EigenDecomposition:
    """Curvatures of the MSE bowl and the directions they belong to.

    ``direction_small`` and ``direction_large`` are unit vectors in the
    (slope, bias) plane, each with a non-negative slope component (and a
    positive bias component when the slope component is 0).
    """

    curvature_small: float
    curvature_large: float
    direction_small: tuple[float, float]
    direction_large: tuple[float, float]

    def __post_init__(self) -> None:
        for name in ("curvature_small", "curvature_large"):
            value = check_real(name, getattr(self, name))
            if not value > 0:
                raise ValueError(f"{name} must be positive, got {value!r}")
            object.__setattr__(self, name, value)
        for name in ("direction_small", "direction_large"):
            vector = _as_point(name, getattr(self, name))
            object.__setattr__(self, name, tuple(map(float, vector)))

    @property
    def condition_number(self) -> float:
        """How many times steeper the bowl is across than along."""
        return self.curvature_large / self.curvature_small


def eigen_decomposition(stats: SufficientStatistics) -> EigenDecomposition:
    """Eigenvalues and eigenvectors of the Hessian, in closed form.

    For a symmetric 2×2 matrix ``[[p, q], [q, r]]`` the eigenvalues are
    ``(p + r)/2 ± sqrt(((p - r)/2)² + q²)``; the formulas need no linear
    algebra library, so an explorer in the browser can repeat them.
    """
    stats = _check_statistics(stats)
    p, q, r = 2 * stats.mean_xx, 2 * stats.mean_x, 2.0
    half_sum, half_gap = (p + r) / 2, math.hypot((p - r) / 2, q)
    large = half_sum + half_gap
    # small = half_sum - half_gap would cancel for data far from 0; the
    # product of the two is the determinant p r - q² = 4 var(x), exactly.
    small = 4 * stats.variance_x / large
    if _is_degenerate(stats.variance_x, stats.mean_xx):
        raise ValueError(
            "stats describe inputs that are all equal: the Hessian is "
            "singular and the bowl has a flat direction"
        )

    if half_gap == 0:
        # A round bowl (centred inputs of variance 1): every direction is
        # an eigenvector; name the slope and bias axes.
        return EigenDecomposition(small, large, (1.0, 0.0), (0.0, 1.0))

    def direction(value: float) -> tuple[float, float]:
        # (q, value - p) solves the first row; (value - r, q) the second.
        # Use whichever is longer, so that q = 0 still gives a direction.
        first, second = (q, value - p), (value - r, q)
        a, b = max(first, second, key=lambda v: math.hypot(*v))
        norm = math.hypot(a, b)
        a, b = a / norm, b / norm
        return (a, b) if a > 0 or (a == 0 and b > 0) else (-a, -b)

    return EigenDecomposition(
        curvature_small=small,
        curvature_large=large,
        direction_small=direction(small),
        direction_large=direction(large),
    )


def quadratic_summary(x, y) -> dict[str, float]:
    """Everything an explorer of γ and μ needs, as plain floats.

    Returns:
        A flat dict: the five averages (``mean_xx`` ... ``mean_yy``), the
        minimiser (``slope_star``, ``bias_star``) and its loss
        (``loss_star``), the curvatures (``curvature_small``,
        ``curvature_large``), their eigenvectors (``direction_small_slope``,
        ``direction_small_bias``, ``direction_large_slope``,
        ``direction_large_bias``) and the ``condition_number``.
    """
    stats = sufficient_statistics(x, y)
    eigen = eigen_decomposition(stats)
    slope_star, bias_star = minimiser(stats)
    summary = stats.as_dict()
    summary.update(
        slope_star=slope_star,
        bias_star=bias_star,
        loss_star=loss(stats, (slope_star, bias_star)),
        curvature_small=eigen.curvature_small,
        curvature_large=eigen.curvature_large,
        direction_small_slope=eigen.direction_small[0],
        direction_small_bias=eigen.direction_small[1],
        direction_large_slope=eigen.direction_large[0],
        direction_large_bias=eigen.direction_large[1],
        condition_number=eigen.condition_number,
    )
    return summary


def _check_positive(name: str, value) -> float:
    value = check_real(name, value)
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return value


def _as_point(name: str, value) -> np.ndarray:
    point = check_array(name, value)
    if point.shape != (2,) or not np.all(np.isfinite(point)):
        raise ValueError(
            f"{name} must be a finite [slope, bias] pair, got {shown(value)}"
        )
    return point


def _check_rates(learning_rate, momentum, curvature) -> tuple[float, ...]:
    """The three numbers of a recurrence, if its roots fit in float64."""
    gamma = _check_positive("learning_rate", learning_rate)
    mu = check_real("momentum", momentum)
    lam = _check_positive("curvature", curvature)
    trace = 1 + mu - gamma * lam
    # The discriminant trace² - 4μ is the largest number the roots need.
    if not math.isfinite(trace * trace - 4 * mu):
        raise ValueError(
            "learning_rate * curvature or momentum is so large that the "
            f"recurrence overflows float64 (learning_rate {gamma!r}, "
            f"momentum {mu!r}, curvature {lam!r})"
        )
    return gamma, mu, lam


def recurrence_matrix(
    learning_rate: float, momentum: float, curvature: float
) -> np.ndarray:
    """The 2×2 matrix taking ``(e_t, e_{t-1})`` to ``(e_{t+1}, e_t)``.

    ``e`` is the distance to the minimum along an eigenvector of curvature
    ``curvature``; the rule gives
    ``e_{t+1} = (1 + momentum - learning_rate * curvature) e_t
    - momentum * e_{t-1}``.
    """
    gamma, mu, lam = _check_rates(learning_rate, momentum, curvature)
    return np.array([[1 + mu - gamma * lam, -mu], [1.0, 0.0]])


def characteristic_roots(
    learning_rate: float, momentum: float, curvature: float
) -> tuple[complex, complex]:
    """Roots of ``z² - (1 + μ - γλ) z + μ``, larger modulus first."""
    gamma, mu, lam = _check_rates(learning_rate, momentum, curvature)
    trace = 1 + mu - gamma * lam
    root = cmath.sqrt(trace * trace - 4 * mu)
    first, second = (trace + root) / 2, (trace - root) / 2
    return tuple(sorted((first, second), key=abs, reverse=True))


def convergence_rate(
    learning_rate: float, momentum: float, curvature: float
) -> float:
    """Factor by which the error shrinks per step, in the long run.

    The larger modulus of the two roots: below 1 the direction converges,
    at 1 or above it does not.
    """
    return abs(characteristic_roots(learning_rate, momentum, curvature)[0])


def regime(
    learning_rate: float,
    momentum: float,
    curvature: float,
    *,
    tolerance: float = 1e-9,
) -> str:
    """Name the behaviour of one eigen-direction (one of ``REGIMES``).

    Args:
        tolerance: a discriminant within ``tolerance`` of zero counts as a
            double root ("critically damped").

    Raises:
        ValueError: if ``tolerance`` is negative.
    """
    gamma = _check_positive("learning_rate", learning_rate)
    mu = check_real("momentum", momentum)
    lam = _check_positive("curvature", curvature)
    # A negative tolerance would skip the double root, and call the
    # vanishing error of a zero double root a zig-zag.
    tolerance = check_real("tolerance", tolerance)
    if tolerance < 0:
        raise ValueError(f"tolerance must be at least 0, got {tolerance!r}")
    # Steps beyond float64 (γλ or μ near 1e308) diverge at once, and the
    # roots cannot be computed to say so.
    trace = 1 + mu - gamma * lam
    if not math.isfinite(trace * trace - 4 * mu):
        return "divergent"
    if not convergence_rate(gamma, mu, lam) < 1:
        return "divergent"
    trace = 1 + mu - gamma * lam
    discriminant = trace * trace - 4 * mu
    if abs(discriminant) <= tolerance:
        return "critically damped"
    if discriminant < 0:
        return "oscillating"
    dominant = characteristic_roots(gamma, mu, lam)[0].real
    return "monotone" if dominant > 0 else "zig-zag"


def largest_stable_learning_rate(
    curvature: float, momentum: float = 0.0
) -> float:
    """The stability bound ``2 (1 + μ) / λ`` on the learning rate.

    Every learning rate strictly between 0 and this bound converges along
    a direction of curvature ``λ``; none at or above it does.

    Raises:
        ValueError: if ``|momentum| >= 1``: then no learning rate converges.
    """
    lam = _check_positive("curvature", curvature)
    mu = check_real("momentum", momentum)
    if not -1 < mu < 1:
        raise ValueError(
            f"momentum must lie strictly between -1 and 1, got {mu!r}: "
            "otherwise no learning rate converges"
        )
    bound = 2 * (1 + mu) / lam
    if not math.isfinite(bound):
        raise ValueError(
            f"curvature {lam!r} is so small that the bound overflows float64"
        )
    return bound


def critical_momentum(learning_rate: float, curvature: float) -> float:
    """The momentum ``(1 - sqrt(γλ))²`` that gives a double root.

    At this momentum the direction of curvature ``λ`` is critically
    damped: its error shrinks by ``|1 - sqrt(γλ)|`` per step, the best
    rate any momentum reaches at this learning rate.
    """
    gamma = _check_positive("learning_rate", learning_rate)
    lam = _check_positive("curvature", curvature)
    momentum = (1 - math.sqrt(gamma * lam)) * (1 - math.sqrt(gamma * lam))
    if not math.isfinite(momentum):
        raise ValueError(
            "learning_rate * curvature is so large that the momentum "
            f"overflows float64 (learning_rate {gamma!r}, curvature {lam!r})"
        )
    return momentum


def heavy_ball(
    stats: SufficientStatistics,
    learning_rate: float,
    momentum: float,
    steps: int,
    start=(0.0, 0.0),
) -> np.ndarray:
    """Full-batch gradient descent with momentum, in float64.

    A reference iteration on the exact quadratic, written from the five
    averages alone (no torch, no data loader).

    Returns:
        Array of shape ``(steps + 1, 2)``: ``start`` and the
        ``[slope, bias]`` after each step. Rows turn inf or nan when the
        iteration overflows; nothing is raised.
    """
    s = _check_statistics(stats)
    gamma = _check_positive("learning_rate", learning_rate)
    mu = check_real("momentum", momentum)
    steps = check_count("steps", steps, minimum=0, maximum=MAX_STEPS)
    theta = _as_point("start", start).copy()
    path = np.empty((steps + 1, 2))
    path[0] = theta
    running_sum = None  # b_t of the problem set
    # A divergent run is part of the lesson: let it overflow quietly.
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, steps + 1):
            g = _gradient(s, *theta)
            running_sum = g if running_sum is None else mu * running_sum + g
            theta = theta - gamma * running_sum
            path[t] = theta
    return path
