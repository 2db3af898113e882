"""Every number the chapter on the quadratic picture of momentum glues.

The oracles are the closed forms of the 2x2 Hessian and of the roots of
the recurrence (by ``numpy.roots``), a full-batch iteration written here
in NumPy from the raw samples, grid scans for the best settings, and the
plain momentum loop of ``tests/test_momentum_chapter.py``; none of them
uses the package's ``quadratic`` module.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tests.notebooks import BOOK, executed_chapter, glued_values
from tests.test_momentum_chapter import (
    BATCH_SIZE,
    EPOCHS,
    LEARNING_RATE,
    closed_form_hessian,
    curvatures_2x2,
    data64,
    full_batch_numpy,
    least_squares,
    plain_loop,
    rate,
    roots,
)


@pytest.fixture(scope="module")
def glued():
    return glued_values("momentum-theory")


def test_curvatures_match_the_closed_form_hessian(glued):
    x, _ = data64()
    small, large = curvatures_2x2(x)
    # A second way: torch.func.hessian of the MSE on the raw samples.
    xt, yt = (torch.from_numpy(v) for v in data64())
    autodiff = torch.func.hessian(
        lambda t: ((t[0] * xt + t[1] - yt) ** 2).mean()
    )(torch.zeros(2, dtype=torch.float64))
    assert autodiff.shape == (2, 2)
    np.testing.assert_allclose(
        torch.linalg.eigvalsh(autodiff).numpy(), [small, large], rtol=1e-10
    )
    assert glued["mean_x"] == pytest.approx(np.mean(x), rel=1e-9)
    assert glued["mean_xx"] == pytest.approx(np.mean(x * x), rel=1e-9)
    assert glued["curvature_small"] == pytest.approx(small, rel=1e-9)
    assert glued["curvature_large"] == pytest.approx(large, rel=1e-9)
    assert glued["condition_number"] == pytest.approx(large / small,
                                                      rel=1e-9)


def test_directions_of_the_valley(glued):
    x, _ = data64()
    values, vectors = np.linalg.eigh(closed_form_hessian(x))
    floor = vectors[:, 0] * np.sign(vectors[0, 0])
    steep = vectors[:, 1] * np.sign(vectors[0, 1])
    assert (glued["floor_slope"], glued["floor_bias"]) == pytest.approx(
        tuple(floor), rel=1e-9
    )
    assert glued["tilt_degrees"] == pytest.approx(
        math.degrees(math.atan2(steep[1], steep[0])), rel=1e-9
    )
    # "walking along the floor mostly changes the bias"
    assert abs(glued["floor_bias"]) > abs(glued["floor_slope"])
    # "the slope's curvature far exceeds the bias's"
    assert 2 * glued["mean_xx"] > 3 * 2


def test_largest_stable_rates_and_runs_on_both_sides(glued):
    x, _ = data64()
    _, large = curvatures_2x2(x)
    assert glued["max_rate_mu_0"] == pytest.approx(2 / large, rel=1e-9)
    assert glued["max_rate_mu_09"] == pytest.approx(3.8 / large, rel=1e-9)
    star = least_squares()
    assert glued["start_distance"] == pytest.approx(np.linalg.norm(star),
                                                    rel=1e-9)
    steps = glued["steps_side"]
    assert steps == 200
    for momentum, key in ((0.0, "max_rate_mu_0"), (0.9, "max_rate_mu_09")):
        name = "09" if momentum else "0"
        for side, factor in (("below", 0.95), ("above", 1.05)):
            path = full_batch_numpy(factor * glued[key], momentum, steps)
            distance = np.linalg.norm(path[-1] - star)
            assert glued[f"side_{side}_mu_{name}"] == pytest.approx(
                distance, rel=1e-6
            )
        if momentum == 0.9:
            # sqrt(0.9) per update in both directions, over the steps.
            growth = max(rate(0.95 * glued[key], 0.9, lam)
                         for lam in curvatures_2x2(x))
            assert growth == pytest.approx(math.sqrt(0.9), rel=1e-9)
            assert glued["side_shrink_mu_09"] == pytest.approx(
                growth**steps, rel=1e-6
            )
        # The prose: converged far below, blown up far above.
        below = glued[f"side_below_mu_{name}"]
        above = glued[f"side_above_mu_{name}"]
        assert below < 1e-3 * glued["start_distance"] < 1e3 * (
            glued["start_distance"]
        ) < above


def test_floor_rates_at_the_problem_sets_learning_rate(glued):
    x, _ = data64()
    small, _ = curvatures_2x2(x)
    for momentum in (0.0, 0.3, 0.6, 0.9):
        # "the floor is in the monotone regime for every momentum here"
        floor_roots = roots(LEARNING_RATE, momentum, small)
        assert np.all(np.isreal(floor_roots))
        assert np.max(floor_roots.real) > 0
    for key, momentum in (("floor_efold_mu_0", 0.0),
                          ("floor_efold_mu_09", 0.9)):
        assert glued[key] == pytest.approx(
            -1 / math.log(rate(LEARNING_RATE, momentum, small)), rel=1e-9
        )
    assert glued["floor_efold_mu_09"] < glued["floor_efold_mu_0"] / 10
    assert glued["floor_efold_effective"] == pytest.approx(
        (1 - 0.9) / (LEARNING_RATE * small), rel=1e-9
    )
    # "the exact count is somewhat smaller than the effective step's"
    assert 0.7 < glued["floor_efold_mu_09"] / glued[
        "floor_efold_effective"] < 1
    assert glued["updates_per_epoch"] == math.ceil(1000 / BATCH_SIZE)


def test_steep_direction_regimes(glued):
    x, _ = data64()
    _, large = curvatures_2x2(x)
    at_09 = roots(LEARNING_RATE, 0.9, large)
    assert np.all(np.abs(at_09.imag) > 0)  # complex: oscillating
    assert glued["steep_regime_mu_09"] == "oscillating"
    at_06 = roots(LEARNING_RATE, 0.6, large)
    assert np.all(np.isreal(at_06)) and np.max(at_06.real) > 0
    assert glued["steep_regime_mu_06"] == "monotone"
    assert glued["sqrt_09"] == pytest.approx(np.max(np.abs(at_09)),
                                             rel=1e-9)
    threshold = glued["oscillation_threshold_09"]
    assert np.all(np.isreal(roots(LEARNING_RATE, 0.9, 0.99 * threshold)))
    assert np.all(roots(LEARNING_RATE, 0.9, 1.01 * threshold).imag != 0)
    assert threshold < large


def test_minibatch_paths_stay_near_the_full_batch_iteration(glued):
    gaps = []
    for momentum in (0.0, 0.9):
        minibatch = plain_loop(momentum)[2].double().numpy()
        full = full_batch_numpy(LEARNING_RATE, momentum, len(minibatch) - 1)
        assert minibatch.shape == full.shape == (EPOCHS * 32 + 1, 2)
        gaps.append(np.linalg.norm(minibatch - full, axis=1).max())
    assert glued["minibatch_gap"] == pytest.approx(max(gaps), rel=1e-3)
    assert glued["minibatch_gap"] < 0.05 * np.linalg.norm(least_squares())


def test_overshoot_across_the_valley(glued):
    x, _ = data64()
    steep = np.linalg.eigh(closed_form_hessian(x))[1][:, 1]
    star = least_squares()
    across = {
        momentum: (full_batch_numpy(LEARNING_RATE, momentum, 1600) - star)
        @ steep
        for momentum in (0.0, 0.9)
    }
    start = across[0.9][0]
    assert glued["overshoot_mu_09"] == pytest.approx(
        100 * np.max(-np.sign(start) * across[0.9]) / abs(start), rel=1e-6
    )
    assert glued["overshoot_mu_09"] > 1
    # "without momentum it never crosses"
    assert np.all(np.sign(across[0.0]) == np.sign(across[0.0][0]))


def test_the_zigzag_section(glued):
    x, _ = data64()
    small, large = curvatures_2x2(x)
    gamma = glued["zigzag_rate"]
    assert gamma == pytest.approx(0.9 * 2 / large, rel=1e-9)
    plain = roots(gamma, 0.0, large)
    assert plain.real[0] < 0  # the sign flips: a real zig-zag
    assert glued["zigzag_steep_mu_0"] == pytest.approx(abs(plain[0]),
                                                       rel=1e-9)
    assert glued["zigzag_floor_mu_0"] == pytest.approx(
        rate(gamma, 0.0, small), rel=1e-9
    )
    assert glued["zigzag_steep_mu_01"] == pytest.approx(
        rate(gamma, 0.1, large), rel=1e-9
    )
    assert glued["zigzag_floor_mu_01"] == pytest.approx(
        rate(gamma, 0.1, small), rel=1e-9
    )
    assert glued["zigzag_rate_mu_09"] == pytest.approx(
        max(rate(gamma, 0.9, small), rate(gamma, 0.9, large)), rel=1e-9
    )
    # The prose: 0.1 helps in both directions, 0.9 is slower than none.
    assert glued["zigzag_steep_mu_01"] < glued["zigzag_steep_mu_0"]
    assert glued["zigzag_floor_mu_01"] < glued["zigzag_floor_mu_0"]
    assert glued["zigzag_rate_mu_09"] > max(glued["zigzag_steep_mu_0"],
                                            glued["zigzag_floor_mu_0"])
    # Both directions oscillate at 0.9: complex roots.
    for curvature in (small, large):
        assert np.all(roots(gamma, 0.9, curvature).imag != 0)
    star = least_squares()
    for name, momentum in (("0", 0.0), ("09", 0.9)):
        path = full_batch_numpy(gamma, momentum, 40)
        assert glued[f"circling_distance_mu_{name}"] == pytest.approx(
            np.linalg.norm(path[-1] - star), rel=1e-6
        )
    # "still ... from it, where plain gradient descent is ... away"
    assert glued["circling_distance_mu_09"] > 100 * glued[
        "circling_distance_mu_0"]
    # The critical momentum gives a double root, and the best rate on a
    # fine grid of momenta.
    critical = glued["zigzag_critical"]
    double = roots(gamma, critical, large)
    assert abs(double[0] - double[1]) < 1e-6
    grid = np.linspace(0, 0.5, 5001)
    best = grid[np.argmin([rate(gamma, m, large) for m in grid])]
    assert critical == pytest.approx(best, abs=2e-4)


def test_the_best_momentum_overall_at_the_zigzag_rate(glued):
    x, _ = data64()
    small, large = curvatures_2x2(x)
    gamma = glued["zigzag_rate"]
    critical = glued["zigzag_critical"]
    assert glued["zigzag_critical_steep"] == pytest.approx(
        abs(1 - math.sqrt(gamma * large)), rel=1e-6
    )
    assert glued["zigzag_critical_floor"] == pytest.approx(
        rate(gamma, critical, small), rel=1e-9
    )
    # "the slower direction sets the pace": the floor is slower there.
    assert glued["zigzag_critical_floor"] > glued["zigzag_critical_steep"]
    # The best overall: the floor's critical momentum in closed form,
    # where both directions shrink by sqrt(mu).
    floor_critical = (1 - math.sqrt(gamma * small)) ** 2
    assert glued["zigzag_floor_critical"] == pytest.approx(floor_critical)
    assert glued["zigzag_best_overall"] == pytest.approx(floor_critical,
                                                         abs=2e-4)
    assert glued["zigzag_best_overall_rate"] == pytest.approx(
        math.sqrt(floor_critical), abs=1e-3
    )
    assert np.all(roots(gamma, floor_critical, large).imag != 0)
    # Better than both the steep-only best and plain descent.
    assert glued["zigzag_best_overall_rate"] < glued["zigzag_critical_floor"]
    assert glued["zigzag_best_overall_rate"] < max(
        rate(gamma, 0.0, small), rate(gamma, 0.0, large)
    )


def test_the_second_double_root_is_negative():
    # At gamma lambda = (1 + sqrt(mu))^2 the double root is -sqrt(mu).
    for mu in (0.1, 0.5, 0.9):
        z = roots(1.0, mu, (1 + math.sqrt(mu)) ** 2)
        assert z.real == pytest.approx([-math.sqrt(mu)] * 2, abs=1e-6)
    text = (BOOK / "momentum-theory.md").read_text()
    assert "one double root, $-\\sqrt\\mu$" in text


def test_only_the_oscillating_momenta_are_named(glued):
    x, _ = data64()
    _, large = curvatures_2x2(x)
    oscillating = [
        mu for mu in (0.0, 0.3, 0.6, 0.9)
        if np.all(roots(LEARNING_RATE, mu, large).imag != 0)
    ]
    assert glued["oscillating_momenta"] == " and ".join(
        f"{mu:g}" for mu in oscillating
    )
    assert oscillating == [0.9]


def test_the_theory_of_odd_momenta(glued):
    x, _ = data64()
    _, large = curvatures_2x2(x)
    assert glued["rate_mu_2"] == pytest.approx(rate(LEARNING_RATE, 2.0,
                                                    large), rel=1e-9)
    assert glued["rate_mu_1"] == pytest.approx(1.0, abs=1e-12)
    assert glued["rate_mu_neg1"] == pytest.approx(
        rate(LEARNING_RATE, -1.0, large), rel=1e-12
    )
    assert glued["growth_mu_neg1"] == pytest.approx(
        glued["rate_mu_neg1"] ** (EPOCHS * 32), rel=1e-9
    )
    # "overflows within a few epochs"
    assert plain_loop(2.0)[1] <= 5 * 32
    # "mu = 1 neither grows nor shrinks": complex roots on the circle.
    assert np.all(roots(LEARNING_RATE, 1.0, large).imag != 0)


def test_stability_exercise(glued):
    x, _ = data64()
    _, large = curvatures_2x2(x)
    star, start = least_squares(), np.linalg.norm(least_squares())
    for key, momentum in (("exercise_bound_mu_05", 0.5),
                          ("exercise_bound_mu_neg05", -0.5)):
        bound = glued[key]
        assert bound == pytest.approx(2 * (1 + momentum) / large, rel=1e-9)
        below = full_batch_numpy(0.95 * bound, momentum, 200)[-1]
        above = full_batch_numpy(1.05 * bound, momentum, 200)[-1]
        # "below ends closer than it started, above much farther away"
        assert np.linalg.norm(below - star) < start
        assert np.linalg.norm(above - star) > 10 * start
    assert glued["exercise_bound_mu_05"] == pytest.approx(
        1.5 * glued["max_rate_mu_0"], rel=1e-9
    )
    assert glued["exercise_bound_mu_neg05"] == pytest.approx(
        0.5 * glued["max_rate_mu_0"], rel=1e-9
    )


def test_the_log_error_panel_follows_the_rates():
    # The figure's claims, from the float64 numpy iteration: the floor
    # orders the momenta slow to fast, 0.9 is fastest across the valley,
    # and each error follows its rate (the measured decay over the last
    # half of the run matches the largest root's modulus).
    x, _ = data64()
    small, large = curvatures_2x2(x)
    vectors = np.linalg.eigh(closed_form_hessian(x))[1]
    star = least_squares()
    decay = {}
    for mu in (0.0, 0.6, 0.9):
        along = np.abs((full_batch_numpy(LEARNING_RATE, mu, 1600) - star)
                       @ vectors)
        for k, lam in enumerate((small, large)):
            expected = rate(LEARNING_RATE, mu, lam)
            # Over 200 updates the envelope shrinks by expected**200
            # (within the polynomial factors of a near-double root).
            # (Early windows: 0.9 reaches float64 rounding by update 700.)
            measured = (along[300:500, k].max()
                        / along[100:300, k].max()) ** (1 / 200)
            assert measured == pytest.approx(expected, abs=2e-3)
            decay[mu, k] = expected
    assert decay[0.0, 0] > decay[0.6, 0] > decay[0.9, 0]
    assert decay[0.9, 1] < min(decay[0.0, 1], decay[0.6, 1])
    notebook = executed_chapter("momentum-theory")
    (cell,) = [c for c in notebook.cells
               if "fig-momentum-errors" in str(c.metadata)]
    assert any("image/png" in out.get("data", {}) for out in cell.outputs)


def zero_target_iteration(learning_rate, momentum, steps):
    """The momentum rule on targets y = 0 from (1, 1), in NumPy."""
    x, _ = data64()
    hessian = closed_form_hessian(x)
    theta, running, sizes = np.ones(2), None, [1.0]
    for _ in range(steps):
        g = hessian @ theta  # the gradient when every target is 0
        running = g if running is None else momentum * running + g
        theta = theta - learning_rate * running
        sizes.append(np.abs(theta).max())  # squares would underflow
    return np.array(sizes)


def test_the_headline_rates(glued):
    x, _ = data64()
    small, large = curvatures_2x2(x)
    kappa = large / small
    assert glued["kappa"] == pytest.approx(kappa, rel=1e-9)
    # Plain descent: the best learning rate on a fine grid, against the
    # closed form.
    grid = np.linspace(0.5, 1.5, 20001) * 2 / (small + large)
    worst = np.maximum(np.abs(1 - grid * small), np.abs(1 - grid * large))
    assert glued["best_plain_lr"] == pytest.approx(
        grid[np.argmin(worst)], rel=1e-4)
    assert glued["best_plain_rate"] == pytest.approx(worst.min(), rel=1e-6)
    assert glued["best_plain_rate"] == pytest.approx(
        (kappa - 1) / (kappa + 1), rel=1e-9)
    # Heavy ball: a grid over (learning rate, momentum) finds nothing
    # better than the glued pair, which sits at its best cell.
    gammas = np.linspace(0.5, 1.5, 101) * glued["best_hb_lr"]
    momenta = np.linspace(0.0, 0.5, 101)
    best = min(
        (max(rate(g, m, small), rate(g, m, large)), g, m)
        for g in gammas for m in momenta
    )
    assert best[0] == pytest.approx(glued["best_hb_rate"], abs=5e-3)
    assert best[0] >= glued["best_hb_rate"] - 1e-9
    assert glued["best_hb_rate"] == pytest.approx(
        (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1), rel=1e-9)
    assert glued["best_hb_momentum"] == pytest.approx(
        glued["best_hb_rate"] ** 2, rel=1e-9)
    assert glued["best_hb_lr"] == pytest.approx(
        4 / (math.sqrt(large) + math.sqrt(small)) ** 2, rel=1e-9)
    # Runs at the optimal settings, measured over updates 400 to 800.
    for key, momentum in (("plain", 0.0), ("hb", None)):
        mu = glued["best_hb_momentum"] if momentum is None else momentum
        sizes = zero_target_iteration(glued[f"best_{key}_lr"], mu, 800)
        measured = (sizes[800] / sizes[400]) ** (1 / 400)
        assert glued[f"best_{key}_measured"] == pytest.approx(measured,
                                                             rel=1e-6)
        assert measured == pytest.approx(glued[f"best_{key}_rate"],
                                         rel=3e-3)
        assert glued[f"best_{key}_million"] == pytest.approx(
            math.log(1e-6) / math.log(glued[f"best_{key}_rate"]), rel=1e-9)
    assert glued["best_hb_million"] < glued["best_plain_million"] / 2
    narrow = glued["kappa_narrow"]
    assert narrow == 1e4
    assert glued["narrow_plain_million"] == pytest.approx(
        math.log(1e-6) / math.log((narrow - 1) / (narrow + 1)))
    assert glued["narrow_hb_million"] == pytest.approx(
        math.log(1e-6) / math.log((100 - 1) / (100 + 1)))


def test_standardised_inputs_make_the_bowl_round(glued):
    x, y = data64()
    xs = (x - x.mean()) / x.std()
    small, large = curvatures_2x2(xs)
    assert small == pytest.approx(2) and large == pytest.approx(2)
    assert glued["standard_kappa"] == pytest.approx(1.0, abs=1e-5)
    # One step of gamma = 1/2 from zeros lands on the least-squares fit.
    slope, bias = np.polyfit(xs, y, 1)
    r = -y  # residuals at zero
    step = -0.5 * 2 * np.array([np.mean(r * xs), np.mean(r)])
    assert np.abs(step - [slope, bias]).max() < 1e-9
    assert glued["standard_one_step"] < 1e-5


def test_the_problem_updates(glued):
    assert glued["learning_rate"] == LEARNING_RATE
    assert glued["problem_updates"] == EPOCHS * math.ceil(1000 / BATCH_SIZE)


def test_the_page_keeps_its_labels_and_no_inline_magic():
    text = (BOOK / "momentum-theory.md").read_text()
    for label in ("momentum-theory", "momentum-ravine",
                  "momentum-decoupling", "momentum-recurrence",
                  "momentum-stability", "momentum-theory-floor",
                  "momentum-paths", "momentum-zigzag", "momentum-headline",
                  "momentum-theory-failure", "momentum-explorer",
                  "momentum-theory-exercises"):
        assert f"({label})=" in text
    assert "%matplotlib" not in text
    # The explorer is the last section before the summary.
    assert text.index("(momentum-explorer)=") > text.index(
        "(momentum-theory-failure)=")


def test_every_glued_value_is_checked(glued):
    assert glued.unread() == set()
