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

from autodiff_book.data import load_dataset
from autodiff_book.training import Momentum, PathRecorder, train_linear_model
from tests.notebooks import BOOK, glued_values

LEARNING_RATE = 0.001
EPOCHS = 50
BATCH_SIZE = 32

# The six answer options of problem 2.5, in the problem set's order.
OPTION_SETS = (
    (0.0, 0.1, 0.2, 0.3),
    (0.0, 0.5, 0.9, 1.0),
    (1.0, 0.9, 0.5, 0.1),
    (0.2, 0.4, 0.6, 0.8),
    (0.0, 1.0, 2.0, 3.0),
    (-1.0, 0.0, 1.0, 2.0),
)


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


def test_curvatures_match_the_closed_form_hessian(glued):
    x, _ = load_dataset()
    x = x[:, 0].double().numpy()
    # MSE = mean((a x + b - y)^2): its Hessian is 2 [[<x^2>, <x>], [<x>, 1]].
    hessian = 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1]])
    small, large = np.linalg.eigvalsh(hessian)
    assert glued["mean_x"] == pytest.approx(np.mean(x), rel=1e-6)
    assert glued["curvature_small"] == pytest.approx(small, rel=1e-9)
    assert glued["curvature_large"] == pytest.approx(large, rel=1e-9)
    assert glued["curvature_ratio"] == pytest.approx(large / small, rel=1e-9)


def test_updates_per_e_fold_match_the_closed_form(glued):
    x, _ = load_dataset()
    x = x[:, 0].double().numpy()
    hessian = 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1]])
    small, large = np.linalg.eigvalsh(hessian)
    floor, wall = glued["floor_updates"], glued["wall_updates"]
    assert floor == pytest.approx(1 / (LEARNING_RATE * small), rel=1e-9)
    assert wall == pytest.approx(1 / (LEARNING_RATE * large), rel=1e-9)
    # "too small to overshoot the walls": 1 - eta * lambda stays positive.
    assert wall > 1


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
    assert glued["torch_max_difference"] < 1e-5


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
    # "far above the minimum": even its lowest late value.
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
