"""Every number the chapter on SGD by hand glues, recomputed another way.

The oracle trains with ``torch.optim.SGD`` and ``torch.nn.MSELoss`` instead
of the chapter's hand-written update and loss, fits the least-squares line
with ``numpy.polyfit`` instead of ``torch.linalg.lstsq``, and computes the
broadcasting trap with NumPy's explicit outer difference.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from autodiff_book import data
from autodiff_book.data import load_dataset
from tests.notebooks import executed_chapter, glued_values

# The settings of problems 2.1 and 2.2 in the problem set.
BATCH_SIZE, LEARNING_RATE, EPOCHS, SEED = 32, 0.01, 10, 0

# Two float32 implementations of the same steps round differently; after
# a few hundred updates they agree to about 1e-6, far below the 5e-4 that
# rounding to three decimals hides.
FLOAT32_TOLERANCE = 2e-5


@pytest.fixture(scope="module")
def glued():
    return glued_values("sgd")


@pytest.fixture(scope="module")
def dataset():
    return load_dataset()


def seeded_loader(x, y):
    return DataLoader(
        TensorDataset(x, y),
        batch_size=BATCH_SIZE,
        shuffle=True,
        generator=torch.Generator().manual_seed(SEED),
    )


def torch_optim_run(x, y, loss_of):
    """Train [slope, bias] from zeros with torch.optim.SGD.

    Returns:
        (parameters, per-update losses, the loader, for one more epoch).
    """
    parameters = torch.zeros(2, requires_grad=True)
    optimizer = torch.optim.SGD([parameters], lr=LEARNING_RATE)
    loader = seeded_loader(x, y)
    losses = []
    for _ in range(EPOCHS):
        for inputs, targets in loader:
            optimizer.zero_grad()
            loss = loss_of(parameters[0] * inputs + parameters[1], targets)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return parameters.detach(), losses, loader


@pytest.fixture(scope="module")
def oracle(dataset):
    x, y = dataset
    return torch_optim_run(x, y, torch.nn.MSELoss())


def test_settings_are_the_problem_sets(glued):
    assert glued["sgd_batch_size"] == BATCH_SIZE
    assert glued["sgd_learning_rate"] == LEARNING_RATE
    assert glued["sgd_epochs"] == EPOCHS


def test_data_description(glued, dataset):
    x, _ = dataset
    assert glued["sgd_n_samples"] == len(x)
    assert glued["sgd_true_slope"] == data.TRUE_SLOPE
    assert glued["sgd_true_bias"] == data.TRUE_BIAS
    assert glued["sgd_noise_std"] == data.NOISE_STD
    assert glued["sgd_noise_variance"] == pytest.approx(data.NOISE_STD**2)


def test_batch_counts(glued, dataset):
    x, _ = dataset
    batches = math.ceil(len(x) / BATCH_SIZE)
    assert glued["sgd_batches_per_epoch"] == batches
    assert glued["sgd_last_batch"] == len(x) - (batches - 1) * BATCH_SIZE
    assert glued["sgd_n_updates"] == EPOCHS * batches


@pytest.mark.parametrize(("name", "index"), [("slope", 0), ("bias", 1)])
def test_problem_2_1_against_torch_optim(glued, oracle, name, index):
    parameters, _, _ = oracle
    assert glued[f"sgd_{name}"] == pytest.approx(
        parameters[index].item(), abs=FLOAT32_TOLERANCE
    )


@pytest.mark.parametrize(("name", "index"), [("slope", 0), ("bias", 1)])
def test_least_squares_against_polyfit(glued, dataset, name, index):
    x, y = (t.double().numpy().ravel() for t in dataset)
    slope, bias = np.polyfit(x, y, deg=1)
    assert glued[f"sgd_lstsq_{name}"] == pytest.approx(
        (slope, bias)[index], abs=1e-9
    )


def test_sgd_lands_near_least_squares_not_on_it(glued):
    # The chapter's prose says so; a distance of a few thousandths is what
    # mini-batch jitter at this learning rate produces.
    gap = abs(glued["sgd_slope"] - glued["sgd_lstsq_slope"])
    assert 0 < gap < 0.05


def test_fixed_parameter_batch_losses(glued, oracle):
    # The chapter measures the batches of the loader's next (11th) epoch
    # at the final parameters.
    parameters, _, loader = oracle
    losses = [
        torch.mean((parameters[0] * xb + parameters[1] - yb) ** 2).item()
        for xb, yb in loader
    ]
    assert glued["sgd_fixed_loss_min"] == pytest.approx(
        min(losses), abs=FLOAT32_TOLERANCE
    )
    assert glued["sgd_fixed_loss_max"] == pytest.approx(
        max(losses), abs=FLOAT32_TOLERANCE
    )


def test_shape_trap_losses(glued, dataset):
    x, y = (t.double().numpy().ravel() for t in dataset)
    predictions = data.TRUE_SLOPE * x + data.TRUE_BIAS
    right = np.mean((predictions - y) ** 2)
    # Prediction i against target j, for every pair, written explicitly.
    wrong = np.mean(np.subtract.outer(predictions, y) ** 2)
    assert glued["sgd_trap_right"] == pytest.approx(right, rel=1e-5)
    assert glued["sgd_trap_wrong"] == pytest.approx(wrong, rel=1e-5)


def test_shape_trap_training(glued, dataset):
    x, y = dataset

    def every_pair(outputs, targets):
        return torch.mean((outputs - targets.reshape(1, -1)) ** 2)

    parameters, _, _ = torch_optim_run(x, y, every_pair)
    assert glued["sgd_trap_slope"] == pytest.approx(
        parameters[0].item(), abs=FLOAT32_TOLERANCE
    )
    assert glued["sgd_trap_bias"] == pytest.approx(
        parameters[1].item(), abs=FLOAT32_TOLERANCE
    )
    assert glued["sgd_y_mean"] == pytest.approx(
        float(np.mean(y.double().numpy())), abs=1e-6
    )
    # What the prose claims: the slope is driven far below the data's.
    assert abs(glued["sgd_trap_slope"]) < 0.1 * data.TRUE_SLOPE


def test_problem_2_2_learning_curve(glued, oracle):
    _, losses, _ = oracle
    curve = glued["sgd_update_losses"]
    assert len(curve) == len(losses) == glued["sgd_n_updates"]
    np.testing.assert_allclose(curve, losses, rtol=1e-4, atol=1e-5)
    # The figure really was drawn.
    notebook = executed_chapter("sgd")
    label = "fig-sgd-learning-curve"
    (cell,) = [c for c in notebook.cells if label in str(c.metadata)]
    assert any("image/png" in out.get("data", {}) for out in cell.outputs)


def test_every_glued_value_is_checked(glued):
    checked = {
        "sgd_batch_size",
        "sgd_learning_rate",
        "sgd_epochs",
        "sgd_n_samples",
        "sgd_true_slope",
        "sgd_true_bias",
        "sgd_noise_std",
        "sgd_noise_variance",
        "sgd_batches_per_epoch",
        "sgd_last_batch",
        "sgd_n_updates",
        "sgd_update_losses",
        "sgd_slope",
        "sgd_bias",
        "sgd_lstsq_slope",
        "sgd_lstsq_bias",
        "sgd_fixed_loss_min",
        "sgd_fixed_loss_max",
        "sgd_trap_right",
        "sgd_trap_wrong",
        "sgd_trap_slope",
        "sgd_trap_bias",
        "sgd_y_mean",
    }
    assert set(glued) == checked
