"""Every number the chapter on SGD by hand glues, recomputed another way.

The oracle trains with ``torch.optim.SGD`` and ``torch.nn.MSELoss`` instead
of the chapter's hand-written update and loss, fits the least-squares line
with ``numpy.polyfit`` instead of ``torch.linalg.lstsq``, and computes the
broadcasting trap with NumPy's explicit outer difference. Gradients are
recomputed in float64 NumPy from the derived formulas
``dL/da = 2 mean(r x)`` and ``dL/db = 2 mean(r)``, and the engine's
training is replayed both with those formulas and with ``Value`` next to
``torch.optim.SGD``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from autodiff_book import data
from autodiff_book.data import load_dataset
from autodiff_book.engine import Value
from tests.notebooks import executed_chapter, glued_markdown, glued_values

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
    # "the right MSE is ..., about the noise variance".
    assert right == pytest.approx(data.NOISE_STD**2, rel=0.1)


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
    # "heading for the flat line at the mean target".
    assert glued["sgd_trap_bias"] == pytest.approx(
        glued["sgd_y_mean"], rel=0.1
    )


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


def formula_gradient(x, y, slope, bias):
    """dL/d(slope) and dL/d(bias) of the MSE, from the derived formulas."""
    x, y = np.asarray(x, np.float64).ravel(), np.asarray(y, np.float64).ravel()
    residuals = slope * x + bias - y
    return np.array([2 * np.mean(residuals * x), 2 * np.mean(residuals)])


def test_batch_gradient_by_hand(glued, dataset):
    x, y = dataset
    inputs, targets = next(iter(seeded_loader(x, y)))
    assert inputs.shape == targets.shape == (BATCH_SIZE, 1)
    expected = formula_gradient(inputs, targets, 0.0, 0.0)
    gradient = np.array(glued["sgd_batch_grad"])
    assert gradient.shape == (2,)
    np.testing.assert_allclose(gradient, expected, rtol=1e-5)
    assert glued["sgd_batch_grad_slope"] == gradient[0]
    assert glued["sgd_batch_grad_bias"] == gradient[1]
    # "Both are negative ... because the means of y and of x y are positive."
    assert np.mean(targets.numpy()) > 0
    assert np.mean((inputs * targets).numpy()) > 0
    assert (gradient < 0).all()
    # The chapter's float32 comparison, recomputed: autograd against the
    # formula in the same precision.
    parameters = torch.zeros(2, requires_grad=True)
    residuals = parameters[0] * inputs + parameters[1] - targets
    (residuals**2).mean().backward()
    by_hand = torch.stack([
        2 * (residuals.detach() * inputs).mean(),
        2 * residuals.detach().mean(),
    ])
    difference = (by_hand - parameters.grad).abs().max().item()
    assert glued["sgd_by_hand_difference"] == pytest.approx(
        difference, abs=1e-6
    )
    text = glued_markdown(glued, "sgd_by_hand_agreement")
    if glued["sgd_by_hand_difference"] == 0:
        assert text == "agree to the last bit"
    else:
        assert text.startswith(
            f"agree to {glued['sgd_by_hand_difference']:.1e}"
        )


def test_full_gradient_by_formula(glued, dataset):
    expected = formula_gradient(*dataset, 0.0, 0.0)
    full = np.array(glued["sgd_full_gradient"])
    assert full.shape == (2,)
    np.testing.assert_allclose(full, expected, rtol=1e-12)
    assert glued["sgd_full_gradient_slope"] == full[0]
    assert glued["sgd_full_gradient_bias"] == full[1]


def test_mean_of_an_epochs_equal_batches_is_the_full_gradient(
    glued, dataset
):
    x, y = (t.double().numpy() for t in dataset)
    size = glued["sgd_equal_batch_size"]
    assert len(x) % size == 0
    assert glued["sgd_equal_batches"] == len(x) // size
    order = torch.randperm(
        len(x), generator=torch.Generator().manual_seed(0)
    ).numpy()
    batches = order.reshape(-1, size)
    gradients = np.array([
        formula_gradient(x[rows], y[rows], 0.0, 0.0) for rows in batches
    ])
    assert gradients.shape == (len(x) // size, 2)
    difference = np.abs(
        gradients.mean(axis=0) - formula_gradient(x, y, 0.0, 0.0)
    ).max()
    # Pure rounding on both sides: the same size, not the same bits.
    assert glued["sgd_epoch_mean_difference"] == pytest.approx(
        difference, abs=1e-13
    )
    assert glued["sgd_epoch_mean_difference"] < 1e-12


def test_random_batches_average_to_the_full_gradient(glued, dataset):
    x, y = (t.double().numpy() for t in dataset)
    draws = glued["sgd_draws"]
    generator = torch.Generator().manual_seed(1)
    gradients = np.array([
        formula_gradient(x[rows], y[rows], 0.0, 0.0)
        for rows in (
            torch.randperm(len(x), generator=generator)[:BATCH_SIZE].numpy()
            for _ in range(draws)
        )
    ])
    assert gradients.shape == (draws, 2)
    mean = gradients.mean(axis=0)
    se = gradients.std(axis=0, ddof=1) / np.sqrt(draws)
    np.testing.assert_allclose(glued["sgd_random_mean"], mean, rtol=1e-10)
    np.testing.assert_allclose(glued["sgd_random_se"], se, rtol=1e-8)
    z = np.abs((mean - formula_gradient(x, y, 0.0, 0.0)) / se).max()
    assert glued["sgd_random_z"] == pytest.approx(z, rel=1e-6)
    # "within ... standard errors, as an unbiased estimate should".
    assert glued["sgd_random_z"] < 3
    spread = gradients.std(axis=0, ddof=1)
    assert glued["sgd_random_spread_slope"] == pytest.approx(
        spread[0], rel=1e-8
    )
    assert glued["sgd_random_spread_bias"] == pytest.approx(
        spread[1], rel=1e-8
    )


def engine_subset(dataset):
    x, y = dataset
    return x[:256].double(), y[:256].double()


def engine_batches(dataset):
    """The subset's batches in the order of the chapter's seeded loader."""
    x, y = engine_subset(dataset)
    loader = seeded_loader(x, y)
    return [batch for _ in range(EPOCHS) for batch in loader]


def test_engine_training_against_the_formulas(glued, dataset):
    slope = bias = 0.0
    losses = []
    for inputs, targets in engine_batches(dataset):
        xb, yb = inputs.numpy().ravel(), targets.numpy().ravel()
        losses.append(np.mean((slope * xb + bias - yb) ** 2))
        gradient = formula_gradient(xb, yb, slope, bias)
        slope -= LEARNING_RATE * gradient[0]
        bias -= LEARNING_RATE * gradient[1]
    assert glued["sgd_engine_samples"] == 256
    assert glued["sgd_engine_steps"] == len(losses) == EPOCHS * 256 // 32
    np.testing.assert_allclose(glued["sgd_engine_losses"], losses, rtol=1e-10)
    assert glued["sgd_engine_slope"] == pytest.approx(slope, abs=1e-10)
    assert glued["sgd_engine_bias"] == pytest.approx(bias, abs=1e-10)


def test_engine_and_torch_step_for_step(glued, dataset):
    # Replay both sides: the engine, written here from its operations, and
    # torch.optim.SGD in float64 on the same batches.
    slope, bias = Value(0.0), Value(0.0)
    theta = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([theta], lr=LEARNING_RATE)
    engine_path, torch_path = [], []
    for inputs, targets in engine_batches(dataset):
        slope.grad = bias.grad = 0.0
        pairs = zip(
            inputs.ravel().tolist(), targets.ravel().tolist(), strict=True
        )
        terms = [(slope * xi + bias - yi) ** 2 for xi, yi in pairs]
        loss = sum(terms, Value(0.0)) / len(terms)
        loss.backward()
        slope.data -= LEARNING_RATE * slope.grad
        bias.data -= LEARNING_RATE * bias.grad
        engine_path.append([loss.data, slope.data, bias.data])
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(theta[0] * inputs + theta[1],
                                            targets)
        loss.backward()
        optimizer.step()
        torch_path.append([loss.item(), *theta.tolist()])
    difference = np.abs(np.array(engine_path) - np.array(torch_path)).max()
    assert glued["sgd_engine_difference"] == pytest.approx(
        difference, abs=1e-13
    )
    assert glued["sgd_engine_difference"] < 1e-12


def test_engine_is_on_its_way_to_the_subset_fit(glued, dataset):
    x, y = (t.numpy().ravel() for t in engine_subset(dataset))
    slope, bias = np.polyfit(x, y, deg=1)
    assert glued["sgd_engine_fit_slope"] == pytest.approx(slope, abs=1e-9)
    assert glued["sgd_engine_fit_bias"] == pytest.approx(bias, abs=1e-9)
    # "on its way": nearer the fit than the start at zero, not yet there.
    for name, fit in [("slope", slope), ("bias", bias)]:
        gap = abs(glued[f"sgd_engine_{name}"] - fit)
        assert 0.001 < gap < abs(fit)


def full_batch_run(dataset, updates):
    x, y = dataset
    parameters = torch.zeros(2, requires_grad=True)
    optimizer = torch.optim.SGD([parameters], lr=LEARNING_RATE)
    losses = []
    for _ in range(updates):
        optimizer.zero_grad()
        loss = torch.nn.MSELoss()(parameters[0] * x + parameters[1], y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return parameters.detach(), np.array(losses)


def test_full_batch_exercise(glued, dataset):
    updates = EPOCHS * math.ceil(len(dataset[0]) / BATCH_SIZE)
    assert glued["sgd_full_updates"] == updates
    parameters, losses = full_batch_run(dataset, updates)
    assert glued["sgd_full_slope"] == pytest.approx(
        parameters[0].item(), abs=FLOAT32_TOLERANCE
    )
    assert glued["sgd_full_bias"] == pytest.approx(
        parameters[1].item(), abs=FLOAT32_TOLERANCE
    )
    rising = int((np.diff(losses) > 0).sum())
    assert glued["sgd_full_rising"] == rising
    x, y = (t.double().numpy().ravel() for t in dataset)
    fit = np.polyfit(x, y, deg=1)
    full_gap = np.abs(parameters.double().numpy() - fit).max()
    assert glued["sgd_full_gap"] == pytest.approx(full_gap, abs=1e-4)
    small_gap = max(
        abs(glued["sgd_slope"] - fit[0]), abs(glued["sgd_bias"] - fit[1])
    )
    assert glued["sgd_small_gap"] == pytest.approx(small_gap, abs=1e-4)
    curve = glued_markdown(glued, "sgd_full_curve")
    assert curve.startswith("falls at every" if rising == 0 else "falls at")
    closer = glued_markdown(glued, "sgd_full_closer")
    assert closer.startswith("closer" if full_gap < small_gap else "no closer")
    if full_gap >= small_gap:
        # "above all in the bias"
        slope_gap, bias_gap = np.abs(parameters.double().numpy() - fit)
        assert bias_gap > slope_gap


def optim_run_with_seed(x, y, seed):
    """Problem 2.1's training by torch.optim.SGD, loader seeded `seed`."""
    parameters = torch.zeros(2, requires_grad=True)
    optimizer = torch.optim.SGD([parameters], lr=LEARNING_RATE)
    loader = DataLoader(
        TensorDataset(x, y), batch_size=BATCH_SIZE, shuffle=True,
        generator=torch.Generator().manual_seed(seed),
    )
    for _ in range(EPOCHS):
        for inputs, targets in loader:
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(
                parameters[0] * inputs + parameters[1], targets
            ).backward()
            optimizer.step()
    return parameters.detach().double().numpy()


def test_gap_to_the_fit_along_the_eigen_directions(glued, dataset):
    x, y = (t.double().numpy().ravel() for t in dataset)
    # Closed-form Hessian 2 [[<x^2>, <x>], [<x>, 1]], eigenvectors by numpy.
    hessian = 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1]])
    curvatures, directions = np.linalg.eigh(hessian)
    directions = directions * np.sign(directions[0])
    fit = np.polyfit(x, y, deg=1)
    assert glued["sgd_gap_curvature_floor"] == pytest.approx(curvatures[0])
    assert glued["sgd_gap_curvature_steep"] == pytest.approx(curvatures[1])
    assert glued["sgd_gap_floor_direction_slope"] == pytest.approx(
        directions[0, 0]
    )
    assert glued["sgd_gap_floor_direction_bias"] == pytest.approx(
        directions[1, 0]
    )
    seeds = glued["sgd_gap_seeds"]
    assert seeds == 10
    errors = np.array([
        (optim_run_with_seed(*dataset, seed) - fit) @ directions
        for seed in range(seeds)
    ])
    assert glued["sgd_gap_floor_error"] == pytest.approx(
        errors[0, 0], abs=1e-4
    )
    for k, name in enumerate(["floor", "steep"]):
        assert glued[f"sgd_gap_{name}_mean"] == pytest.approx(
            errors[:, k].mean(), abs=1e-4
        )
        assert glued[f"sgd_gap_{name}_spread"] == pytest.approx(
            errors[:, k].std(ddof=1), abs=1e-4
        )
    # Full-batch descent in closed form: along eigen-direction i the error
    # shrinks by (1 - gamma lambda_i) per update, from the start at zero.
    updates = EPOCHS * math.ceil(len(x) / BATCH_SIZE)
    start = (np.zeros(2) - fit) @ directions
    full = start * (1 - LEARNING_RATE * curvatures) ** updates
    assert glued["sgd_gap_full_floor"] == pytest.approx(full[0], abs=1e-6)
    assert glued["sgd_gap_full_steep"] == pytest.approx(full[1], abs=1e-9)
    # The prose: the floor error is systematic (the same sign on every
    # seed, a spread far below its size, full batch within three spreads);
    # the steep error is jitter (mean within three standard errors of 0,
    # spread larger than the floor's).
    assert np.all(np.sign(errors[:, 0]) == np.sign(full[0]))
    assert errors[:, 0].std(ddof=1) < abs(errors[:, 0].mean()) / 4
    assert abs(errors[:, 0].mean() - full[0]) < 3 * errors[:, 0].std(ddof=1)
    steep_spread = errors[:, 1].std(ddof=1)
    assert abs(errors[:, 1].mean()) < 3 * steep_spread / math.sqrt(seeds)
    assert steep_spread > errors[:, 0].std(ddof=1)
    # The balance of shrinking and noise, and its first-order form.
    gamma, noise, lam = LEARNING_RATE, data.NOISE_STD**2, curvatures[1]
    theory = math.sqrt(2 * gamma * noise / (BATCH_SIZE * (2 - gamma * lam)))
    assert glued["sgd_gap_jitter_theory"] == pytest.approx(theory)
    assert theory == pytest.approx(math.sqrt(gamma * noise / BATCH_SIZE),
                                   rel=0.05)
    # Ten seeds estimate a spread to about 25 %: agree within 50 %.
    assert steep_spread == pytest.approx(theory, rel=0.5)


def test_torch_optim_sgd_equals_the_hand_loop(glued, oracle):
    # torch.optim.SGD with nn.MSELoss in the oracle; the hand loop's
    # result is the glued slope and bias of problem 2.1.
    parameters, _, _ = oracle
    hand = torch.tensor([glued["sgd_slope"], glued["sgd_bias"]])
    difference = (parameters - hand).abs().max().item()
    assert glued["sgd_optim_difference"] == pytest.approx(difference,
                                                          abs=1e-7)
    assert glued["sgd_optim_difference"] < 1e-5
    text = glued_markdown(glued, "sgd_optim_agreement")
    assert text == "bit for bit" if difference == 0 else "to within" in text


def test_learning_rate_exercise(glued, dataset):
    x, y = (t.double().numpy().ravel() for t in dataset)
    hessian = 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1]])
    bound = 2 / np.linalg.eigvalsh(hessian)[1]
    assert glued["sgd_lr_bound"] == pytest.approx(bound, rel=1e-6)
    assert 0.2 < bound < 0.25
    finals, diverged, per_epoch = {}, {}, {}
    for rate in (0.1, 0.2, 0.25):
        theta = torch.zeros(2, requires_grad=True)
        optimizer = torch.optim.SGD([theta], lr=rate)
        xt, yt = dataset
        loader = seeded_loader(xt, yt)
        diverged[rate], updates, per_epoch[rate] = None, 0, []
        for _ in range(EPOCHS):
            for inputs, targets in loader:
                optimizer.zero_grad()
                loss = ((theta[0] * inputs + theta[1] - targets) ** 2).mean()
                if not math.isfinite(loss.item()):
                    diverged[rate] = diverged[rate] or updates
                    break
                loss.backward()
                optimizer.step()
                updates += 1
            with torch.no_grad():
                full = ((theta[0] * xt + theta[1] - yt) ** 2).mean()
            per_epoch[rate].append(full.item())
            if diverged[rate] is None and not math.isfinite(full.item()):
                diverged[rate] = updates
            if diverged[rate] is not None:
                break
        with torch.no_grad():
            finals[rate] = ((theta[0] * xt + theta[1] - yt) ** 2).mean().item()
    assert diverged[0.1] is None and diverged[0.2] is None
    assert glued["sgd_lr_final_01"] == pytest.approx(finals[0.1], rel=1e-3)
    assert glued["sgd_lr_final_02"] == pytest.approx(finals[0.2], rel=1e-3)
    text = glued_markdown(glued, "sgd_lr_blowup")
    if diverged[0.25] is None:
        assert text == (f"grows every epoch, to {finals[0.25]:.1e} after "
                        f"{EPOCHS} epochs")
        assert glued["sgd_lr_first_025"] == pytest.approx(
            per_epoch[0.25][0], rel=1e-3)
        assert np.all(np.diff(per_epoch[0.25]) > 0)  # "grows every epoch"
    else:
        assert text == (f"stops being a finite number after "
                        f"{diverged[0.25]} updates")
    text = glued_markdown(glued, "sgd_lr_larger")
    assert text.startswith("higher" if finals[0.2] > finals[0.1]
                           else "lower")


def test_rebinding_parameters_warns_then_raises():
    notebook = executed_chapter("sgd")
    (cell,) = [c for c in notebook.cells
               if "def two_rebinding_steps" in c.source]
    text = "".join(out.get("text", "") for out in cell.outputs)
    errors = [out for out in cell.outputs if out.output_type == "error"]
    assert "step 0: leaf True" in text and "step 1: leaf False" in text
    assert "not a leaf Tensor is being accessed" in text
    assert [e.ename for e in errors] == ["TypeError"]


def test_one_backward_sums_both_paths():
    notebook = executed_chapter("sgd")
    (cell,) = [c for c in notebook.cells
               if "(a**2 + 3 * a).backward()" in c.source]
    (result,) = [out for out in cell.outputs
                 if out.output_type == "execute_result"]
    # d/da (a^2 + 3a) = 2a + 3 at a = 2, by hand.
    assert result["data"]["text/plain"] == f"tensor({2 * 2 + 3}.)"


def test_no_zeroing_exercise(glued, dataset):
    x, y = dataset
    parameters = torch.zeros(2, requires_grad=True)
    optimizer = torch.optim.SGD([parameters], lr=LEARNING_RATE)
    losses, slopes = [], []
    loader = seeded_loader(x, y)
    for _ in range(EPOCHS):
        for inputs, targets in loader:
            loss = torch.nn.MSELoss()(
                parameters[0] * inputs + parameters[1], targets
            )
            loss.backward()  # never zeroed: .grad holds the running sum
            optimizer.step()
            losses.append(loss.item())
            slopes.append(parameters[0].item())
    assert glued["sgd_nozero_slope"] == pytest.approx(slopes[-1], rel=1e-4)
    assert glued["sgd_nozero_bias"] == pytest.approx(
        parameters[1].item(), rel=1e-4
    )
    assert glued["sgd_nozero_max_loss"] == pytest.approx(max(losses), rel=1e-4)
    fit_slope = np.polyfit(
        x.double().numpy().ravel(), y.double().numpy().ravel(), deg=1
    )[0]
    above = np.array(slopes) > fit_slope
    crossings = int((above[1:] != above[:-1]).sum())
    assert glued["sgd_nozero_crossings"] == crossings
    batches = math.ceil(len(x) / BATCH_SIZE)
    last = np.mean(losses[-batches:])
    assert glued["sgd_nozero_last_epoch_loss"] == pytest.approx(last, rel=1e-4)
    assert glued["sgd_nozero_noise_ratio"] == pytest.approx(
        last / data.NOISE_STD**2, rel=1e-4
    )
    # "swings back and forth", "far above the noise level".
    assert glued["sgd_nozero_crossings"] >= 2
    assert glued["sgd_nozero_noise_ratio"] > 10


def test_learning_curve_falls_then_settles_near_the_noise(glued, oracle):
    _, losses, _ = oracle
    losses = np.array(losses)
    batches = math.ceil(1000 / BATCH_SIZE)
    # "Over the first few dozen updates the loss falls steeply."
    assert losses[30:40].mean() < 0.1 * losses[0]
    # "settles near the noise variance" over the last epoch.
    assert np.mean(losses[-batches:]) == pytest.approx(
        data.NOISE_STD**2, rel=0.2
    )
    # "The noise is mostly in the measurement": batches at frozen
    # parameters spread at least half as widely as the last epoch's steps.
    frozen = glued["sgd_fixed_loss_max"] - glued["sgd_fixed_loss_min"]
    assert frozen > 0.5 * np.ptp(losses[-batches:])


def test_the_epoch_means_keep_falling_then_settle(glued, oracle):
    _, losses, _ = oracle
    batches = math.ceil(1000 / BATCH_SIZE)
    means = np.array(losses).reshape(EPOCHS, batches).mean(axis=1)
    assert glued_markdown(glued, "sgd_epoch_means") == ", ".join(
        f"{mean:.2f}" for mean in means
    )
    close = np.abs(means - means[-1]) <= 0.1 * means[-1]
    settled = int(np.argmax(close))
    assert glued["sgd_settled_update"] == settled * batches
    # "keeps improving on average for longer than the ragged line
    # suggests": the means fall for several epochs after the steep drop
    # of the first few dozen updates, and every later mean is close.
    assert settled >= 3 and np.all(close[settled:])
    assert np.all(np.diff(means[:settled + 1]) < 0)


def test_sgd_ends_close_to_the_generating_line(glued):
    # "The slope and bias have moved from zero to close to the line the
    # data came from."
    assert glued["sgd_slope"] == pytest.approx(data.TRUE_SLOPE, abs=0.05)
    assert glued["sgd_bias"] == pytest.approx(data.TRUE_BIAS, abs=0.05)


def test_every_glued_value_is_checked(glued):
    assert glued.unread() == set()
