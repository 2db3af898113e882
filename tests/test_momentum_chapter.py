"""Every number the momentum chapter glues, recomputed another way.

The chapter trains with the package's ``Momentum`` rule inside
``train_linear_model``. The oracles here do not use either: a plain loop
written below applies the problem set's momentum rule directly, and
``torch.optim.SGD`` is the second library. Closed forms check the
curvatures, the least-squares loss and the effective step size.
"""

from __future__ import annotations

import functools
import math
import re

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from autodiff_book.check import PROBLEM_2_5_OPTIONS
from autodiff_book.data import load_dataset
from autodiff_book.training import Momentum, PathRecorder, train_linear_model
from tests.notebooks import BOOK, executed_chapter, glued_values

LEARNING_RATE = 0.001
EPOCHS = 50
BATCH_SIZE = 32

# The six answer options of problem 2.5, in the problem set's order: one
# table, the self-checks'.
OPTION_SETS = PROBLEM_2_5_OPTIONS


@pytest.fixture(scope="module")
def glued():
    return glued_values("momentum")


def seeded_loader(x, y):
    """Batches in the order the chapter's loader (seed 0) produces."""
    return DataLoader(
        TensorDataset(x, y),
        batch_size=BATCH_SIZE,
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
    )


@functools.cache
def plain_loop(momentum: float, epochs: int = EPOCHS):
    """The problem set's rule, written out with no package code.

    Returns:
        ``(epoch_losses, diverged_at, path)``: full-set MSE after each
        epoch, the index of the first update whose batch loss was not
        finite (or ``None``) and the parameters before and after each
        update.
    """
    x, y = load_dataset()
    theta = torch.zeros(2, requires_grad=True)
    velocity = None
    epoch_losses, path, update = [], [theta.detach().clone()], 0
    loader = seeded_loader(x, y)
    for _ in range(epochs):
        for x_batch, y_batch in loader:
            loss = ((theta[0] * x_batch + theta[1] - y_batch) ** 2).mean()
            if not math.isfinite(loss.item()):
                return epoch_losses, update, torch.stack(path)
            theta.grad = None
            loss.backward()
            with torch.no_grad():
                if velocity is None:
                    velocity = theta.grad.clone()
                else:
                    velocity = momentum * velocity + theta.grad
                theta -= LEARNING_RATE * velocity
            path.append(theta.detach().clone())
            update += 1
        with torch.no_grad():
            full = ((theta[0] * x + theta[1] - y) ** 2).mean().item()
        if not math.isfinite(full):
            return epoch_losses, update, torch.stack(path)
        epoch_losses.append(full)
    return epoch_losses, None, torch.stack(path)


def optim_path(momentum: float, epochs: int = EPOCHS) -> torch.Tensor:
    """The same training with torch.optim.SGD; parameters per update."""
    x, y = load_dataset()
    theta = torch.zeros(2, requires_grad=True)
    optimizer = torch.optim.SGD(
        [theta], lr=LEARNING_RATE, momentum=momentum, dampening=0,
        nesterov=False,
    )
    path = [theta.detach().clone()]
    loader = seeded_loader(x, y)
    for _ in range(epochs):
        for x_batch, y_batch in loader:
            optimizer.zero_grad()
            ((theta[0] * x_batch + theta[1] - y_batch) ** 2).mean().backward()
            optimizer.step()
            path.append(theta.detach().clone())
    return torch.stack(path)


def data64():
    x, y = load_dataset()
    return x[:, 0].double().numpy(), y[:, 0].double().numpy()


def closed_form_hessian(x):
    # MSE = mean((a x + b - y)^2): its Hessian is 2 [[<x^2>, <x>], [<x>, 1]].
    return 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1]])


def curvatures_2x2(x):
    """The two eigenvalues from the 2x2 formula (mean ± half-gap)."""
    p, q, r = 2 * np.mean(x * x), 2 * np.mean(x), 2.0
    half_gap = math.sqrt(((p - r) / 2) ** 2 + q * q)
    return (p + r) / 2 - half_gap, (p + r) / 2 + half_gap


def roots(learning_rate, momentum, curvature):
    """Roots of z^2 - (1 + mu - gamma lambda) z + mu, by numpy."""
    return np.roots([1, -(1 + momentum - learning_rate * curvature),
                     momentum])


def rate(learning_rate, momentum, curvature):
    return float(np.max(np.abs(roots(learning_rate, momentum, curvature))))


def full_batch_numpy(learning_rate, momentum, steps):
    """The problem set's rule on the full data set, gradients from the
    raw samples in float64 (no package code)."""
    x, y = data64()
    theta, running_sum, path = np.zeros(2), None, [np.zeros(2)]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            residual = theta[0] * x + theta[1] - y
            g = 2 * np.array([np.mean(residual * x), np.mean(residual)])
            running_sum = g if running_sum is None else (
                momentum * running_sum + g
            )
            theta = theta - learning_rate * running_sum
            path.append(theta)
    return np.array(path)


def least_squares():
    x, y = data64()
    design = np.column_stack([x, np.ones_like(x)])
    solution, *_ = np.linalg.lstsq(design, y, rcond=None)
    return solution


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


def test_updates_per_e_fold_match_the_closed_form(glued):
    x, _ = data64()
    small, large = curvatures_2x2(x)
    assert glued["learning_rate"] == LEARNING_RATE
    floor, wall = glued["floor_updates"], glued["wall_updates"]
    assert floor == pytest.approx(1 / (LEARNING_RATE * small), rel=1e-9)
    assert wall == pytest.approx(1 / (LEARNING_RATE * large), rel=1e-9)
    # "both factors 1 - gamma lambda are positive": no zig-zag.
    assert 1 - LEARNING_RATE * large > 0


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


def test_hand_rule_matches_torch_optim_as_the_chapter_says(glued):
    x, _ = load_dataset()
    updates = EPOCHS * math.ceil(len(x) / BATCH_SIZE)
    assert glued["torch_updates"] == updates
    mine = plain_loop(0.9)[2]
    theirs = optim_path(0.9)
    assert mine.shape == theirs.shape == (updates + 1, 2)
    own_difference = (mine - theirs).abs().max().item()
    # float32 rounding only: far below anything a wrong rule would give.
    assert own_difference < 1e-5
    x, y = load_dataset()
    recorder = PathRecorder(Momentum(LEARNING_RATE, 0.9))
    train_linear_model(x, y, rule=recorder, epochs=EPOCHS)
    assert glued["torch_max_difference"] == pytest.approx(
        (recorder.path - theirs).abs().max().item(), rel=1e-6
    )
    assert 0 < glued["torch_max_difference"] < 1e-6


@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.9, 1.0])
def test_momentum_rule_follows_torch_optim_step_for_step(momentum):
    x, y = load_dataset()
    recorder = PathRecorder(Momentum(LEARNING_RATE, momentum))
    train_linear_model(x, y, rule=recorder, epochs=5)
    theirs = optim_path(momentum, epochs=5)
    assert recorder.path.shape == theirs.shape
    torch.testing.assert_close(recorder.path, theirs, rtol=0, atol=1e-5)


def test_least_squares_loss_matches_lstsq(glued):
    x, y = load_dataset()
    x, y = x[:, 0].double().numpy(), y[:, 0].double().numpy()
    design = np.column_stack([x, np.ones_like(x)])
    _, residual, *_ = np.linalg.lstsq(design, y, rcond=None)
    assert glued["least_squares_mse"] == pytest.approx(
        residual[0] / len(x), rel=1e-9
    )


@pytest.mark.parametrize(
    ("name", "momentum"),
    [
        ("final_mu_0", 0.0),
        ("final_mu_03", 0.3),
        ("final_mu_06", 0.6),
        ("final_mu_09", 0.9),
        ("final_mu_1", 1.0),
        ("final_mu_neg05", -0.5),
        ("final_mu_neg1", -1.0),
    ],
)
def test_final_losses_match_a_plain_loop(glued, name, momentum):
    losses, diverged_at, _ = plain_loop(momentum)
    assert diverged_at is None
    assert glued[name] == pytest.approx(losses[-1], rel=1e-4)


def test_the_prose_about_the_loss_curves_holds(glued):
    finals = [glued[f"final_mu_{k}"] for k in ("0", "03", "06", "09")]
    assert finals == sorted(finals, reverse=True)  # "keep the order"
    # "mu = 0.9 has reached the lowest value", to the printed 3 decimals.
    assert round(glued["final_mu_09"], 3) == round(
        glued["least_squares_mse"], 3
    )
    assert round(glued["final_mu_0"], 3) > round(
        glued["least_squares_mse"], 3
    )


@pytest.mark.parametrize("momentum", [2.0, 3.0])
def test_divergence_updates_match_a_plain_loop(glued, momentum):
    _, diverged_at, _ = plain_loop(momentum)
    assert diverged_at is not None
    assert glued[f"diverged_mu_{momentum:.0f}"] == diverged_at


def test_the_prose_about_odd_momenta_holds(glued):
    losses_one = plain_loop(1.0)[0]
    assert glued["late_min_mu_1"] == pytest.approx(
        min(losses_one[-20:]), rel=1e-4
    )
    assert glued["late_max_mu_1"] == pytest.approx(
        max(losses_one[-20:]), rel=1e-4
    )
    # "already ... times the minimum": even its lowest late value.
    assert glued["late_min_ratio_mu_1"] == pytest.approx(
        min(losses_one[-20:]) / glued["least_squares_mse"], rel=1e-4
    )
    assert glued["late_min_mu_1"] > 1.5 * glued["least_squares_mse"]
    assert glued["final_mu_neg05"] > glued["final_mu_0"]
    assert glued["first_mu_neg1"] == pytest.approx(
        plain_loop(-1.0)[0][0], rel=1e-4
    )
    assert glued["final_mu_neg1"] > glued["first_mu_neg1"]


def test_effective_step_matches_the_geometric_series(glued):
    steps, mu = glued["effective_step_steps"], 0.9
    partial_sum = (1 - mu**steps) / (1 - mu)
    assert glued["effective_step_measured"] == pytest.approx(
        partial_sum, rel=1e-5
    )
    assert glued["effective_step_formula"] == pytest.approx(1 / (1 - mu))
    assert glued["effective_step_mu_05"] == pytest.approx(1 / (1 - 0.5))


def test_steps_to_one_percent_matches_the_closed_form(glued):
    # Step t (from 0) is (1 - 0.99^(t+1)) / (1 - 0.99) times the plain one.
    expected = math.ceil(math.log(0.01) / math.log(0.99)) - 1
    assert glued["steps_to_one_percent"] == expected


def shape_of_curves(option: tuple) -> list[str]:
    """'breaks off', 'swings' or 'settles' for each value's loss curve."""
    shapes = []
    for momentum in option:
        losses, diverged_at, _ = plain_loop(momentum)
        if diverged_at is not None:
            shapes.append("breaks off")
        elif np.any(np.diff(np.log(losses)) > np.log(1.1)):  # a 10 % rise
            shapes.append("swings")
        else:
            shapes.append("settles")
    return shapes


def matches_the_puzzle_figure(option: tuple) -> bool:
    """The solution's clues: three settling curves, fastest last, then
    one swinging curve in light green (the last colour)."""
    shapes = shape_of_curves(option)
    if shapes != ["settles"] * (len(option) - 1) + ["swings"]:
        return False
    finals = [plain_loop(momentum)[0][-1] for momentum in option[:-1]]
    return finals == sorted(finals, reverse=True)


def test_puzzle_figure_uses_one_option_and_only_it_fits_the_clues(glued):
    puzzle = tuple(glued["puzzle_momenta"])
    assert puzzle in OPTION_SETS
    fitting = [option for option in OPTION_SETS
               if matches_the_puzzle_figure(option)]
    assert fitting == [puzzle]


@pytest.mark.parametrize(
    ("option", "reason"),
    [
        (OPTION_SETS[4], "breaks off"),
        (OPTION_SETS[5], "breaks off"),
        (OPTION_SETS[0], "no swing"),
        (OPTION_SETS[3], "no swing"),
        (OPTION_SETS[2], "swings first"),
    ],
)
def test_each_other_option_fails_as_the_solution_says(option, reason):
    shapes = shape_of_curves(option)
    if reason == "breaks off":
        assert "breaks off" in shapes
    elif reason == "no swing":
        assert set(shapes) == {"settles"}
    else:
        assert shapes[0] == "swings"


def test_the_solution_names_the_set_of_the_figure(glued):
    text = (BOOK / "momentum.md").read_text()
    solution = text.split(":label: sol-momentum-puzzle", 1)[1]
    named = re.search(r"Set (\d), \$\\\{([^$]*)\\\}\$", solution)
    assert named, "the solution must start by naming the set"
    values = tuple(float(v) for v in named.group(2).split(","))
    assert values == tuple(glued["puzzle_momenta"])
    assert OPTION_SETS[int(named.group(1)) - 1] == values


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
    text = (BOOK / "momentum.md").read_text()
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


def test_the_divergence_message_counts_the_updates_made():
    notebook = executed_chapter("momentum")
    text = "".join(
        out.get("text", "") for cell in notebook.cells
        for out in cell.get("outputs", [])
        if "DivergenceError as error" in cell.source
    )
    made = int(re.search(r"after\s+(\d+)\s+updates", text).group(1))
    # The plain loop: updates made before a loss turned inf or nan.
    assert made == plain_loop(2.0)[1]


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
    assert glued["diverged_mu_2"] <= 5 * 32
    # "mu = 1 neither grows nor shrinks": complex roots on the circle.
    assert np.all(roots(LEARNING_RATE, 1.0, large).imag != 0)


def test_centred_exercise(glued):
    x, _ = data64()
    centred = x - x.mean()
    values = np.linalg.eigvalsh(closed_form_hessian(centred))
    assert glued["centred_ratio"] == pytest.approx(
        values[1] / values[0], rel=1e-6
    )
    assert glued["centred_variance"] == pytest.approx(np.var(x), rel=1e-6)
    # "rounder but still not round"
    assert 1.5 < glued["centred_ratio"] < glued["condition_number"]


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


def test_the_page_keeps_its_labels_and_no_inline_magic():
    text = (BOOK / "momentum.md").read_text()
    for label in ("momentum", "momentum-ravine", "momentum-by-hand",
                  "momentum-torch", "momentum-loss-curves",
                  "momentum-effective-step", "momentum-paths",
                  "momentum-failure", "momentum-exercises"):
        assert f"({label})=" in text
    assert "%matplotlib" not in text


def test_every_glued_value_is_checked(glued):
    assert glued.unread() == set()


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
    notebook = executed_chapter("momentum")
    (cell,) = [c for c in notebook.cells
               if "fig-momentum-errors" in str(c.metadata)]
    assert any("image/png" in out.get("data", {}) for out in cell.outputs)
