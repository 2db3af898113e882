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
from tests.oracles import float64_data

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


def optim_path(momentum: float, epochs: int = EPOCHS,
               lr: float = LEARNING_RATE, **options) -> torch.Tensor:
    """The same training with torch.optim.SGD; parameters per update.

    ``options`` go to the optimiser (nesterov, dampening).
    """
    x, y = load_dataset()
    theta = torch.zeros(2, requires_grad=True)
    optimizer = torch.optim.SGD(
        [theta], lr=lr, momentum=momentum, **options
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
    """The data in float64 as two flat NumPy arrays."""
    return tuple(t[:, 0].numpy() for t in float64_data())


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


def cell_with(text: str):
    (cell,) = [c for c in executed_chapter("momentum").cells
               if text in c.source]
    return cell


def test_the_students_loop_equals_the_package():
    cell = cell_with("packaged.epoch_train_losses == hand_losses")
    (result,) = [out for out in cell.outputs
                 if out.output_type == "execute_result"]
    assert result["data"]["text/plain"] == "(True, True)"
    # And the plain loop of this file agrees with the hand loop's result.
    cell = cell_with("hand_losses, hand_snapshots = train_by_hand(0.9)")
    (result,) = [out for out in cell.outputs
                 if out.output_type == "execute_result"]
    assert float(result["data"]["text/plain"]) == pytest.approx(
        plain_loop(0.9)[0][-1], rel=1e-5
    )


def test_the_snapshot_trap(glued):
    # Three steps of -0.1 * 1 from zero: every stored "snapshot" is the
    # final tensor itself.
    final = [-0.1 * 3] * 2
    assert glued["trap_snapshots"] == [pytest.approx(final)] * 3


def test_the_buffer_trap(glued):
    x, y = load_dataset()
    (x0, y0), (x1, y1) = list(seeded_loader(x, y))[:2]

    def gradient(theta, xb, yb):
        xb, yb = xb[:, 0].double().numpy(), yb[:, 0].double().numpy()
        r = theta[0] * xb + theta[1] - yb
        return 2 * np.array([np.mean(r * xb), np.mean(r)])

    g0 = gradient(np.zeros(2), x0, y0)
    g1 = gradient(-LEARNING_RATE * g0, x1, y1)
    assert glued["alias_right"] == pytest.approx(0.9 * g0 + g1, rel=1e-4)
    # zero_() wiped g0 out of the aliased buffer, backward() wrote g1 in.
    assert glued["alias_wrong"] == pytest.approx(1.9 * g1, rel=1e-4)


def optim_final_loss(momentum, **options) -> float:
    """The full-set MSE after training with torch.optim.SGD."""
    x, y = load_dataset()
    theta = optim_path(momentum, **options)[-1]
    return ((theta[0] * x + theta[1] - y) ** 2).mean().item()


def test_nesterov_and_dampening(glued):
    assert glued["variant_gap"] < 1e-5
    nesterov = optim_final_loss(0.9, nesterov=True)
    damped = optim_final_loss(0.9, dampening=0.5)
    assert glued["nesterov_loss"] == pytest.approx(nesterov, rel=1e-4)
    assert glued["dampening_loss"] == pytest.approx(damped, rel=1e-4)
    # "halves ... the effective step": dampening 0.5 ends higher.
    assert glued["dampening_loss"] > glued["final_mu_09"]


def test_the_two_forms_agree_only_at_a_constant_rate(glued):
    # PyTorch's form by torch.optim.SGD and a LambdaLR schedule;
    # Sutskever's form by hand. Both on the chapter's batches.
    x, y = load_dataset()
    updates = EPOCHS * math.ceil(len(x) / BATCH_SIZE)
    gaps = {}
    for name, factor in (("constant", lambda t: 1.0),
                         ("halved", lambda t: 1.0 if t < updates // 2
                          else 0.5)):
        ours = torch.zeros(2, requires_grad=True)
        optimizer = torch.optim.SGD([ours], lr=LEARNING_RATE, momentum=0.9)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        theirs = torch.zeros(2, requires_grad=True)
        velocity, gap, t = torch.zeros(2), 0.0, 0
        loader = seeded_loader(x, y)
        for _ in range(EPOCHS):
            for x_batch, y_batch in loader:
                for theta in (ours, theirs):
                    theta.grad = None
                    ((theta[0] * x_batch + theta[1] - y_batch) ** 2
                     ).mean().backward()
                rate_now = LEARNING_RATE * factor(t)
                optimizer.step()
                schedule.step()
                with torch.no_grad():
                    velocity = 0.9 * velocity - rate_now * theirs.grad
                    theirs += velocity
                gap = max(gap, (ours - theirs).abs().max().item())
                t += 1
        gaps[name] = gap
    assert glued["forms_constant_gap"] < 1e-5 and gaps["constant"] < 1e-5
    assert glued["forms_halved_gap"] == pytest.approx(gaps["halved"],
                                                      rel=1e-2)
    assert glued["forms_halved_gap"] > 100 * glued["forms_constant_gap"]


def test_plain_sgd_at_the_effective_step(glued):
    plain = optim_final_loss(0.0, lr=0.01)
    assert glued["same_step_plain"] == pytest.approx(plain, rel=1e-4)
    assert glued["same_step_momentum"] == pytest.approx(
        plain_loop(0.9)[0][-1], rel=1e-4
    )
    # "momentum does buy what a larger step buys, no more"
    assert glued["same_step_momentum"] == pytest.approx(plain, rel=0.02)


def test_the_settings_glued(glued):
    assert glued["learning_rate"] == LEARNING_RATE
    assert glued["epochs"] == EPOCHS
    assert glued["updates_per_epoch"] == math.ceil(1000 / BATCH_SIZE)


def test_the_page_keeps_its_labels_and_no_inline_magic():
    text = (BOOK / "momentum.md").read_text()
    for label in ("momentum", "momentum-by-hand", "momentum-traps",
                  "momentum-torch", "momentum-loss-curves",
                  "momentum-effective-step", "momentum-same-step",
                  "momentum-failure", "momentum-variants",
                  "momentum-sutskever", "momentum-exercises"):
        assert f"({label})=" in text
    assert "%matplotlib" not in text


def test_every_glued_value_is_checked(glued):
    assert glued.unread() == set()
