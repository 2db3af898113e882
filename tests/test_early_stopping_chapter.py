"""Every number the chapter on validation and early stopping glues, again.

The oracle splits NumPy arrays (the chapter splits tensors), trains with
``torch.optim.SGD`` and ``torch.nn.MSELoss`` in a plain loop written here
(the chapter uses ``train_linear_model``), measures the full-set losses in
float64 NumPy, and picks the minima with ``numpy.argmin``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, TensorDataset

from autodiff_book import data
from autodiff_book.data import load_dataset
from tests.notebooks import executed_chapter, glued_values

# The settings of problems 2.3 and 2.4 in the problem set.
BATCH_SIZE, LEARNING_RATE, EPOCHS, SPLIT_SEED, SEED = 32, 0.001, 150, 42, 0

# float32 training by two implementations: losses agree to about 1e-7.
# Near the validation minimum neighbouring epochs differ by about 3e-6,
# so the argmin comparisons below are exact.
FLOAT32_TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def glued():
    return glued_values("early-stopping")


def mse(parameters, x, y):
    slope, bias = (float(p) for p in parameters)
    return float(np.mean((slope * x + bias - y) ** 2))


@pytest.fixture(scope="module")
def oracle():
    x, y = (t.numpy() for t in load_dataset())
    x_train, x_rest, y_train, y_rest = train_test_split(
        x, y, test_size=0.2, random_state=SPLIT_SEED
    )
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, test_size=0.5, random_state=SPLIT_SEED
    )
    parameters = torch.zeros(2, requires_grad=True)
    optimizer = torch.optim.SGD([parameters], lr=LEARNING_RATE)
    criterion = torch.nn.MSELoss()
    loader = DataLoader(
        TensorDataset(torch.from_numpy(x_train), torch.from_numpy(y_train)),
        batch_size=BATCH_SIZE,
        shuffle=True,
        generator=torch.Generator().manual_seed(SEED),
    )
    snapshots = []
    for _ in range(EPOCHS):
        for inputs, targets in loader:
            optimizer.zero_grad()
            criterion(
                parameters[0] * inputs + parameters[1], targets
            ).backward()
            optimizer.step()
        snapshots.append(parameters.detach().clone().numpy())
    as64 = [a.astype(np.float64) for a in (x_train, y_train, x_val, y_val)]
    x_train, y_train, x_val, y_val = as64
    x_test, y_test = x_test.astype(np.float64), y_test.astype(np.float64)
    train = np.array([mse(p, x_train, y_train) for p in snapshots])
    val = np.array([mse(p, x_val, y_val) for p in snapshots])
    best_train, best_val = int(np.argmin(train)), int(np.argmin(val))
    final = snapshots[-1]
    squared = (final[0] * x_val + final[1] - y_val) ** 2
    return {
        "sizes": (len(x_train), len(x_val), len(x_test), len(x)),
        "best_train": best_train,
        "best_val": best_val,
        "test_final": mse(final, x_test, y_test),
        "test_best": mse(snapshots[best_val], x_test, y_test),
        "val_rise": val[-1] - val[best_val],
        "val_standard_error": squared.std(ddof=1) / np.sqrt(len(x_val)),
    }


def test_settings_are_the_problem_sets(glued):
    assert glued["es_batch_size"] == BATCH_SIZE
    assert glued["es_learning_rate"] == LEARNING_RATE
    assert glued["es_epochs"] == EPOCHS
    assert glued["es_split_seed"] == SPLIT_SEED
    assert glued["es_noise_variance"] == pytest.approx(data.NOISE_STD**2)


def test_split_sizes_are_80_10_10(glued, oracle):
    n_train, n_val, n_test, n = oracle["sizes"]
    assert (glued["es_n_train"], glued["es_n_val"], glued["es_n_test"]) == (
        n_train,
        n_val,
        n_test,
    )
    percents = [glued[f"es_{s}_percent"] for s in ("train", "val", "test")]
    assert percents == pytest.approx([80, 10, 10])
    assert percents == pytest.approx(
        [100 * n_train / n, 100 * n_val / n, 100 * n_test / n]
    )


@pytest.mark.parametrize("split", ["train", "val"])
def test_problem_2_3_epochs_of_the_minima(glued, oracle, split):
    best = oracle[f"best_{split}"]
    assert glued[f"es_best_{split}_index"] == best
    assert glued[f"es_best_{split}_count"] == best + 1


@pytest.mark.parametrize("which", ["final", "best"])
def test_problem_2_4_test_mses(glued, oracle, which):
    assert glued[f"es_test_{which}"] == pytest.approx(
        oracle[f"test_{which}"], abs=FLOAT32_TOLERANCE
    )


def test_problem_2_4_observation_follows_the_numbers(glued, oracle):
    difference = oracle["test_best"] - oracle["test_final"]
    assert glued["es_test_difference"] == pytest.approx(
        difference, abs=FLOAT32_TOLERANCE
    )
    assert glued["es_test_relative"] == pytest.approx(
        abs(difference) / oracle["test_final"], rel=1e-3
    )
    (text,) = [
        output["data"]["application/papermill.record/text/markdown"]
        for cell in executed_chapter("early-stopping").cells
        for output in cell.get("outputs", [])
        if output.get("metadata", {}).get("scrapbook", {}).get("name")
        == "es_observation"
    ]
    expected = "higher" if difference > 0 else "lower"
    assert text.startswith(expected)


def test_validation_rise_is_small_against_its_uncertainty(glued, oracle):
    assert glued["es_val_rise"] == pytest.approx(
        oracle["val_rise"], abs=FLOAT32_TOLERANCE
    )
    assert glued["es_val_standard_error"] == pytest.approx(
        oracle["val_standard_error"], rel=1e-4
    )
    assert glued["es_val_rise_ratio"] == pytest.approx(
        oracle["val_standard_error"] / oracle["val_rise"], rel=1e-2
    )
    # The chapter's argument: the rise is well inside the noise.
    assert glued["es_val_rise_ratio"] > 5


def test_every_glued_value_is_checked(glued):
    checked = {
        "es_batch_size",
        "es_learning_rate",
        "es_epochs",
        "es_split_seed",
        "es_noise_variance",
        "es_n_train",
        "es_n_val",
        "es_n_test",
        "es_train_percent",
        "es_val_percent",
        "es_test_percent",
        "es_best_train_index",
        "es_best_train_count",
        "es_best_val_index",
        "es_best_val_count",
        "es_test_final",
        "es_test_best",
        "es_test_difference",
        "es_test_relative",
        "es_observation",
        "es_val_rise",
        "es_val_standard_error",
        "es_val_rise_ratio",
    }
    assert set(glued) == checked
