"""Every number the chapter on validation and early stopping glues, again.

The oracle splits NumPy arrays (the chapter splits tensors), trains with
``torch.optim.SGD`` and ``torch.nn.MSELoss`` in a plain loop written here
(the chapter uses ``train_linear_model``), measures the full-set losses in
float64 NumPy, picks the minima with ``numpy.argmin``, fits lines with
``numpy.polyfit`` and integrates the expected error with ``scipy``'s
``quad`` (the chapter uses a closed form).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from scipy.integrate import quad
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, TensorDataset

from autodiff_book import data
from autodiff_book.data import load_dataset
from tests.notebooks import executed_chapter, glued_markdown, glued_values

# The settings of problems 2.3 and 2.4 in the problem set.
BATCH_SIZE, LEARNING_RATE, EPOCHS, SPLIT_SEED, SEED = 32, 0.001, 150, 42, 0

# float32 training by two implementations: losses agree to about 1e-7.
# Near the validation minimum neighbouring epochs differ by about 3e-6,
# so the argmin comparisons below are exact.
FLOAT32_TOLERANCE = 1e-5

# The exercise on seeds: shuffling seeds with the chapter's split, and
# splits with the chapter's shuffling seed.
OTHER_SEEDS, OTHER_SPLITS = (1, 2, 3, 4, 5), (0, 1, 2, 3, 4)


@pytest.fixture(scope="module")
def glued():
    return glued_values("early-stopping")


def mse(parameters, x, y):
    slope, bias = (float(p) for p in parameters)
    return float(np.mean((slope * x + bias - y) ** 2))


def squared_errors(parameters, x, y):
    slope, bias = (float(p) for p in parameters)
    return (slope * x + bias - y).ravel() ** 2


@functools.cache
def run(split_seed, seed):
    """Split, train with torch.optim.SGD, measure every epoch in float64."""
    x, y = (t.numpy() for t in load_dataset())
    x_train, x_rest, y_train, y_rest = train_test_split(
        x, y, test_size=0.2, random_state=split_seed
    )
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, test_size=0.5, random_state=split_seed
    )
    parameters = torch.zeros(2, requires_grad=True)
    optimizer = torch.optim.SGD([parameters], lr=LEARNING_RATE)
    criterion = torch.nn.MSELoss()
    loader = DataLoader(
        TensorDataset(torch.from_numpy(x_train), torch.from_numpy(y_train)),
        batch_size=BATCH_SIZE,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
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
    sets = {
        name: (a.astype(np.float64), b.astype(np.float64))
        for name, a, b in [
            ("train", x_train, y_train),
            ("val", x_val, y_val),
            ("test", x_test, y_test),
        ]
    }
    train = np.array([mse(p, *sets["train"]) for p in snapshots])
    val = np.array([mse(p, *sets["val"]) for p in snapshots])
    return {
        "n": len(x),
        "sets": sets,
        "snapshots": snapshots,
        "train": train,
        "val": val,
        "best_train": int(np.argmin(train)),
        "best_val": int(np.argmin(val)),
    }


@pytest.fixture(scope="module")
def oracle():
    return run(SPLIT_SEED, SEED)


def paired(oracle, name):
    """Mean, standard error and their ratio of final minus chosen."""
    final = oracle["snapshots"][-1]
    chosen = oracle["snapshots"][oracle["best_val"]]
    x, y = oracle["sets"][name]
    d = squared_errors(final, x, y) - squared_errors(chosen, x, y)
    mean, se = d.mean(), d.std(ddof=1) / np.sqrt(len(d))
    return mean, se, (0.0 if se == 0 else mean / se)


def test_settings_are_the_problem_sets(glued):
    assert glued["es_batch_size"] == BATCH_SIZE
    assert glued["es_learning_rate"] == LEARNING_RATE
    assert glued["es_epochs"] == EPOCHS
    assert glued["es_split_seed"] == SPLIT_SEED
    assert glued["es_noise_variance"] == pytest.approx(data.NOISE_STD**2)


def test_split_sizes_are_80_10_10(glued, oracle):
    sizes = [len(oracle["sets"][s][0]) for s in ("train", "val", "test")]
    assert [glued["es_n_train"], glued["es_n_val"], glued["es_n_test"]] == (
        sizes
    )
    # Each set is a column of samples, like the full data.
    for x, y in oracle["sets"].values():
        assert x.shape == y.shape == (len(x), 1)
    percents = [glued[f"es_{s}_percent"] for s in ("train", "val", "test")]
    assert percents == pytest.approx([80, 10, 10])
    assert percents == pytest.approx([100 * n / oracle["n"] for n in sizes])


@pytest.mark.parametrize("split", ["train", "val"])
def test_problem_2_3_epochs_of_the_minima(glued, oracle, split):
    best = oracle[f"best_{split}"]
    assert glued[f"es_best_{split}_index"] == best
    assert glued[f"es_best_{split}_count"] == best + 1


def test_the_curves_as_the_prose_and_alt_text_describe_them(glued, oracle):
    # "the training curve keeps falling to the last epoch"; "the validation
    # curve has a shallow minimum and then rises".
    assert oracle["best_train"] == EPOCHS - 1
    assert oracle["best_val"] < EPOCHS - 1
    rise = oracle["val"][-1] - oracle["val"][oracle["best_val"]]
    assert glued["es_val_rise"] == pytest.approx(rise, abs=FLOAT32_TOLERANCE)
    assert glued["es_val_rise"] > 0
    # "Both curves ... flatten out near the noise variance"; "the
    # validation curve sits a little higher".
    for curve in (oracle["train"], oracle["val"]):
        assert curve[-1] == pytest.approx(data.NOISE_STD**2, rel=0.2)
        assert curve[0] > 2 * curve[-1]
    assert oracle["val"][-1] > oracle["train"][-1]


def test_final_parameters_against_the_training_fit(glued, oracle):
    x, y = (a.ravel() for a in oracle["sets"]["train"])
    slope, bias = np.polyfit(x, y, deg=1)
    assert glued["es_train_fit_slope"] == pytest.approx(slope, abs=1e-9)
    assert glued["es_train_fit_bias"] == pytest.approx(bias, abs=1e-9)
    final = oracle["snapshots"][-1]
    assert final.shape == (2,)
    assert glued["es_final_slope"] == pytest.approx(
        final[0], abs=FLOAT32_TOLERANCE
    )
    assert glued["es_final_bias"] == pytest.approx(
        final[1], abs=FLOAT32_TOLERANCE
    )
    # "the bias is short of the least-squares value, while the slope is
    # closer": the bias still lies between its start (0) and the fit.
    assert bias < final[1] < 0
    assert abs(final[0] - slope) < abs(final[1] - bias)


def test_validation_fit_lies_on_the_way(glued, oracle):
    x, y = (a.ravel() for a in oracle["sets"]["val"])
    slope, bias = np.polyfit(x, y, deg=1)
    assert glued["es_val_fit_slope"] == pytest.approx(slope, abs=1e-9)
    assert glued["es_val_fit_bias"] == pytest.approx(bias, abs=1e-9)
    # "Gradient descent starts from a bias of zero ... passes the
    # validation set's value on the way" to the training set's.
    train_bias = glued["es_train_fit_bias"]
    assert train_bias < bias < 0
    biases = [p[1] for p in oracle["snapshots"]]
    assert max(biases) > bias > min(biases)


@pytest.mark.parametrize("which", ["final", "best"])
def test_problem_2_4_test_mses(glued, oracle, which):
    index = -1 if which == "final" else oracle["best_val"]
    expected = mse(oracle["snapshots"][index], *oracle["sets"]["test"])
    assert glued[f"es_test_{which}"] == pytest.approx(
        expected, abs=FLOAT32_TOLERANCE
    )


def test_problem_2_4_observation_follows_the_numbers(glued, oracle):
    final = mse(oracle["snapshots"][-1], *oracle["sets"]["test"])
    best = mse(
        oracle["snapshots"][oracle["best_val"]], *oracle["sets"]["test"]
    )
    assert glued["es_test_relative"] == pytest.approx(
        abs(best - final) / final, rel=1e-3
    )
    expected = "higher" if best > final else "lower"
    assert glued_markdown(glued, "es_observation").startswith(expected)


@pytest.mark.parametrize("name", ["val", "test"])
def test_paired_differences(glued, oracle, name):
    mean, se, z = paired(oracle, name)
    assert glued[f"es_{name}_paired_mean"] == pytest.approx(
        mean, abs=FLOAT32_TOLERANCE
    )
    assert glued[f"es_{name}_paired_se"] == pytest.approx(se, rel=1e-3)
    assert glued[f"es_{name}_paired_z"] == pytest.approx(z, rel=1e-2)


def test_paired_mean_is_the_difference_of_the_mses(glued, oracle):
    # The identity the prose states: the mean of d_i is MSE_final - MSE_chosen.
    assert glued["es_val_paired_mean"] == pytest.approx(
        glued["es_val_rise"], abs=1e-6
    )
    test_gap = glued["es_test_final"] - glued["es_test_best"]
    assert glued["es_test_paired_mean"] == pytest.approx(test_gap, abs=1e-6)


def test_single_standard_error_and_ratio(glued, oracle):
    x, y = oracle["sets"]["val"]
    single = squared_errors(oracle["snapshots"][-1], x, y)
    se = single.std(ddof=1) / np.sqrt(len(single))
    assert glued["es_val_single_se"] == pytest.approx(se, rel=1e-3)
    _, paired_se, _ = paired(oracle, "val")
    assert glued["es_se_ratio"] == pytest.approx(se / paired_se, rel=1e-2)
    # "it would have drowned any difference": many times larger.
    assert glued["es_se_ratio"] > 5


def test_verdicts_follow_the_numbers(glued, oracle):
    _, _, val_z = paired(oracle, "val")
    val_text = glued_markdown(glued, "es_val_verdict")
    assert val_text.startswith("within" if abs(val_z) < 2 else "more than")
    # The closing paragraph says the minimum is not a sign of overfitting.
    assert abs(val_z) < 2
    test_mean, _, test_z = paired(oracle, "test")
    test_text = glued_markdown(glued, "es_test_verdict")
    better = "stopping early" if test_mean > 0 else "training to the end"
    assert test_text.startswith(better)
    assert ("less than two" in test_text) == (abs(test_z) < 2)


def expected_excess_by_quadrature(parameters):
    low, high = data.X_RANGE
    da = float(parameters[0]) - data.TRUE_SLOPE
    db = float(parameters[1]) - data.TRUE_BIAS
    value, _ = quad(lambda x: (da * x + db) ** 2 / (high - low), low, high)
    return value


def test_expected_excess_against_quadrature(glued, oracle):
    final = oracle["snapshots"][-1]
    chosen = oracle["snapshots"][oracle["best_val"]]
    excess_final = expected_excess_by_quadrature(final)
    excess_chosen = expected_excess_by_quadrature(chosen)
    assert glued["es_excess_final"] == pytest.approx(excess_final, rel=1e-3)
    assert glued["es_excess_chosen"] == pytest.approx(
        excess_chosen, rel=1e-3
    )
    expected = "early-stopped" if excess_chosen < excess_final else "trained"
    assert expected in glued_markdown(glued, "es_truth")
    # "Both excesses are tiny next to the noise variance."
    assert max(excess_final, excess_chosen) < 0.01 * data.NOISE_STD**2


def test_expected_excess_by_simulation(glued, oracle):
    # A second check of the closed form: fresh samples from the generating
    # process, a million of them, so the sampling error is about 1e-4.
    generator = np.random.default_rng(0)
    low, high = data.X_RANGE
    x = generator.uniform(low, high, 1_000_000)
    y = data.TRUE_SLOPE * x + data.TRUE_BIAS
    y += data.NOISE_STD * generator.standard_normal(x.shape)
    final = oracle["snapshots"][-1]
    simulated = np.mean((final[0] * x + final[1] - y) ** 2)
    assert data.NOISE_STD**2 + glued["es_excess_final"] == pytest.approx(
        simulated, abs=2e-3
    )


def test_the_hand_loop_records_what_the_package_records():
    (cell,) = [c for c in executed_chapter("early-stopping").cells
               if "def train_by_hand" in c.source]
    (result,) = [out for out in cell.outputs
                 if out.output_type == "execute_result"]
    assert result["data"]["text/plain"] == "(True, True, True)"
    # The clone() the prose insists on is in the loop.
    assert "snapshots.append(parameters.detach().clone())" in cell.source


def test_the_gap_between_the_curves_is_noise(glued, oracle):
    assert glued["es_final_gap"] == pytest.approx(
        oracle["val"][-1] - oracle["train"][-1], abs=FLOAT32_TOLERANCE
    )
    generating = (data.TRUE_SLOPE, data.TRUE_BIAS)
    true_train = mse(generating, *oracle["sets"]["train"])
    true_val = mse(generating, *oracle["sets"]["val"])
    assert glued["es_true_train_mse"] == pytest.approx(true_train, rel=1e-5)
    assert glued["es_true_val_mse"] == pytest.approx(true_val, rel=1e-5)
    # "not a sign of a worse model": the generating line shows a gap of
    # the same sign and at least half the size.
    gap = oracle["val"][-1] - oracle["train"][-1]
    assert true_val - true_train > 0.5 * gap > 0


def test_the_line_overfits_by_a_tiny_amount(glued, oracle):
    # The excess of every snapshot by quadrature, the training set's own
    # least-squares line by numpy.polyfit.
    noise = data.NOISE_STD**2
    x_train, y_train = oracle["sets"]["train"]
    n = len(x_train)
    assert glued["es_overfit_expected"] == pytest.approx(noise * 2 / n)
    slope, bias = np.polyfit(x_train.ravel(), y_train.ravel(), 1)
    fit_excess = expected_excess_by_quadrature((slope, bias))
    assert glued["es_overfit_fit_excess"] == pytest.approx(
        fit_excess, rel=1e-4
    )
    assert glued["es_overfit_fit_percent"] == pytest.approx(
        100 * fit_excess / noise, rel=1e-4
    )
    path = np.array([expected_excess_by_quadrature(p)
                     for p in oracle["snapshots"]])
    lowest = int(np.argmin(path))
    assert glued["es_overfit_lowest_count"] == lowest + 1
    assert glued["es_overfit_lowest_excess"] == pytest.approx(
        path[lowest], rel=1e-3
    )
    assert glued["es_overfit_final_percent"] == pytest.approx(
        100 * path[-1] / noise, rel=1e-3
    )
    # "on its way it passes lines that do better on fresh data than the
    # one it ends with", "of the order of 1e-4", "far below the paired
    # standard error", "the line does overfit" (a positive excess).
    assert lowest < EPOCHS - 1 and path[lowest] < path[-1]
    assert 0 < fit_excess < 1e-3 and path[-1] - path[lowest] < 1e-3
    _, se, _ = paired(oracle, "val")
    assert 10 * (path[-1] - path[lowest]) < se
    # The training set's line is within a factor of 3 of sigma^2 p / n.
    assert noise * 2 / n / 3 < fit_excess < 3 * noise * 2 / n


def polynomial_run(patience=None):
    """The flexible model in NumPy: degree-15 powers of x scaled to
    [-1, 1], the first 30 training samples, full-batch descent."""
    x, y = (t.numpy().astype(np.float64) for t in load_dataset())
    x_train, x_rest, y_train, y_rest = train_test_split(
        x, y, test_size=0.2, random_state=SPLIT_SEED)
    x_val, _, y_val, _ = train_test_split(
        x_rest, y_rest, test_size=0.5, random_state=SPLIT_SEED)
    low, high = data.X_RANGE

    def powers(v):
        z = (2 * v[:, 0] - (low + high)) / (high - low)
        return np.vander(z, 16, increasing=True)

    f, t = powers(x_train[:30]), y_train[:30, 0]
    fv, tv = powers(x_val), y_val[:, 0]
    w, val, best, since = np.zeros(16), [], None, 0
    for epoch in range(3000):
        w = w - 0.5 * 2 * f.T @ (f @ w - t) / len(t)
        val.append(np.mean((fv @ w - tv) ** 2))
        if best is None or val[-1] < val[best]:
            best, since = epoch, 0
        else:
            since += 1
        if patience is not None and since >= patience:
            break
    return np.array(val), best


def test_the_flexible_model_overfits_and_patience_stops_it(glued):
    val, best = polynomial_run()
    patient, patient_best = polynomial_run(patience=100)
    assert glued["es_flex_steps"] == len(val) == 3000
    assert glued["es_flex_best_count"] == best + 1
    assert glued["es_flex_best_val"] == pytest.approx(val[best], rel=1e-6)
    assert glued["es_flex_final_val"] == pytest.approx(val[-1], rel=1e-6)
    assert glued["es_flex_patience_epochs"] == len(patient)
    same = glued_markdown(glued, "es_flex_same")
    assert same == ("the same checkpoint" if patient_best == best
                    else "a different checkpoint")
    # A U: falls steeply, then climbs well above its minimum.
    assert val[0] > 5 * val[best] and val[-1] > 1.2 * val[best]
    assert 0 < best < len(val) // 10
    assert len(patient) == patient_best + 1 + 100


def test_seeds_exercise(glued, oracle):
    by_seed = [run(SPLIT_SEED, seed)["best_val"] for seed in OTHER_SEEDS]
    by_split = [run(state, SEED)["best_val"] for state in OTHER_SPLITS]
    assert glued["es_seed_best"] == by_seed
    assert glued["es_split_best"] == by_split
    seed_shift = max(abs(b - oracle["best_val"]) for b in by_seed)
    split_shift = max(abs(b - oracle["best_val"]) for b in by_split)
    assert glued["es_seed_shift"] == seed_shift
    assert glued["es_split_shift"] == split_shift
    text = glued_markdown(glued, "es_mover")
    if split_shift > seed_shift:
        assert text.startswith("the split moves it more")
    elif split_shift < seed_shift:
        assert text.startswith("the order of the batches moves it more")
    else:
        assert "equally" in text
    # "at this small learning rate the parameters follow nearly the same
    # path whatever the order": the minimum moves by a few epochs only.
    assert seed_shift <= 0.1 * EPOCHS


def test_learning_curves_figure_was_drawn():
    notebook = executed_chapter("early-stopping")
    (cell,) = [
        c for c in notebook.cells if "fig-es-curves" in str(c.metadata)
    ]
    assert any("image/png" in out.get("data", {}) for out in cell.outputs)


def test_every_glued_value_is_checked(glued):
    assert glued.unread() == set()
