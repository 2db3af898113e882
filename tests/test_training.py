"""Tests of the hand-written training loop and its two update rules."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from autodiff_book.data import load_dataset
from autodiff_book.training import (
    SGD,
    DivergenceError,
    History,
    Momentum,
    PathRecorder,
    linear_model,
    mean_squared_error,
    train_linear_model,
)

# float64 comparisons of two implementations of the same arithmetic: they
# may differ only by rounding, far below this.
TOLERANCE_64 = {"rtol": 1e-10, "atol": 1e-12}


@pytest.fixture(scope="module")
def data():
    return load_dataset()


def seeded_batches(x, y, batch_size, seed):
    """The loader train_linear_model builds, written again here."""
    return DataLoader(
        TensorDataset(x, y),
        batch_size=batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
    )


def test_linear_model_is_slope_times_x_plus_bias():
    x = torch.tensor([[0.0], [1.0], [-2.0]])
    out = linear_model(x, torch.tensor([3.0, -1.0]))
    assert out.shape == (3, 1)
    torch.testing.assert_close(out, torch.tensor([[-1.0], [2.0], [-7.0]]))


def test_mean_squared_error_matches_torch(data64):
    x, y = data64
    predictions = 2 * x
    torch.testing.assert_close(
        mean_squared_error(predictions, y),
        torch.nn.functional.mse_loss(predictions, y),
        **TOLERANCE_64,
    )


@pytest.mark.parametrize(
    ("predictions_shape", "targets_shape"),
    [((5, 1), (5,)), ((5,), (5, 1)), ((5, 1), (4, 1)), ((5, 1), (1, 5))],
)
def test_mean_squared_error_refuses_to_broadcast(
    predictions_shape, targets_shape
):
    with pytest.raises(ValueError, match="must have the same shape, got"):
        mean_squared_error(
            torch.zeros(predictions_shape), torch.zeros(targets_shape)
        )


def torch_optimizer_for(rule):
    """The torch.optim.SGD configuration that should match ``rule``."""
    if isinstance(rule, Momentum):
        return {
            "lr": rule.learning_rate,
            "momentum": rule.momentum,
            "dampening": 0,
            "nesterov": False,
        }
    return {"lr": rule.learning_rate}


@pytest.mark.parametrize(
    "rule",
    [
        SGD(0.01),
        SGD(0.1),
        Momentum(0.01, 0.0),
        Momentum(0.001, 0.5),
        Momentum(0.001, 0.9),
        Momentum(0.001, 1.0),
    ],
    ids=repr,
)
def test_rule_matches_torch_optim_sgd_step_for_step(rule, data64):
    x, y = data64
    ours = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    theirs = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([theirs], **torch_optimizer_for(rule))
    rule.reset()
    steps = 0
    for _ in range(3):
        for x_batch, y_batch in seeded_batches(x, y, 32, seed=0):
            ours.grad = None
            mean_squared_error(linear_model(x_batch, ours), y_batch).backward()
            rule.step(ours)
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(
                linear_model(x_batch, theirs), y_batch
            ).backward()
            optimizer.step()
            steps += 1
            torch.testing.assert_close(
                ours.detach(), theirs.detach(), **TOLERANCE_64
            )
    assert steps == 3 * math.ceil(len(x) / 32)
    # The parameters really moved, so the comparison compared something.
    assert ours.detach().abs().min() > 0.1


@pytest.mark.parametrize("rule", [SGD(0.01), Momentum(0.01, 0.9)], ids=repr)
def test_rule_step_without_gradient_is_refused(rule):
    with pytest.raises(RuntimeError, match=r"grad is None: call loss"):
        rule.step(torch.zeros(2, requires_grad=True))


def closed_form_fit(x, y):
    """Least-squares [slope, bias] from torch.linalg.lstsq."""
    design = torch.cat([x, torch.ones_like(x)], dim=1)
    return torch.linalg.lstsq(design, y).solution.flatten()


def test_full_batch_training_reaches_least_squares(data64):
    x, y = data64
    parameters, history = train_linear_model(
        x, y, rule=SGD(0.1), epochs=300, batch_size=len(x)
    )
    # Full-batch gradient descent on a convex quadratic converges
    # geometrically (rate about 0.86 per step here): 300 steps reach
    # float64 rounding.
    torch.testing.assert_close(
        parameters, closed_form_fit(x, y), rtol=0, atol=1e-9
    )
    assert len(history.update_losses) == 300


def test_momentum_training_reaches_least_squares(data64):
    x, y = data64
    parameters, _ = train_linear_model(
        x, y, rule=Momentum(0.02, 0.9), epochs=600, batch_size=len(x)
    )
    # Heavy-ball iterations shrink the error by about sqrt(0.9) per step.
    torch.testing.assert_close(
        parameters, closed_form_fit(x, y), rtol=0, atol=1e-9
    )


def test_minibatch_training_ends_near_least_squares(data64):
    x, y = data64
    parameters, _ = train_linear_model(
        x, y, rule=SGD(0.01), epochs=30, batch_size=32
    )
    # With a constant step, mini-batch noise keeps the parameters jittering
    # around the optimum; at eta = 0.01 the jitter is below 0.05.
    torch.testing.assert_close(
        parameters, closed_form_fit(x, y), rtol=0, atol=0.05
    )


def test_same_seed_is_bit_identical_and_other_seed_differs(data):
    x, y = data
    runs = [
        train_linear_model(x, y, rule=SGD(0.01), epochs=3, seed=seed)
        for seed in (7, 7, 8)
    ]
    (first, first_history), (second, second_history), (third, third_h) = runs
    assert torch.equal(first, second)
    assert first_history.update_losses == second_history.update_losses
    assert not torch.equal(first, third)
    assert first_history.update_losses != third_h.update_losses


def test_rule_object_can_be_reused(data):
    x, y = data
    rule = Momentum(0.001, 0.9)
    first, _ = train_linear_model(x, y, rule=rule, epochs=2)
    second, _ = train_linear_model(x, y, rule=rule, epochs=2)
    assert torch.equal(first, second)


def test_plain_loop_reproduces_the_helper(data):
    x, y = data
    x_train, y_train, x_val, y_val = x[:800], y[:800], x[800:], y[800:]
    eta, epochs = 0.01, 4

    # The problem set's loop, written out with torch's own MSELoss.
    criterion = torch.nn.MSELoss()
    parameters = torch.zeros(2, requires_grad=True)
    loader = seeded_batches(x_train, y_train, batch_size=32, seed=3)
    update_losses, train_losses, val_losses, snapshots = [], [], [], []
    for _ in range(epochs):
        for inputs, targets in loader:
            if parameters.grad is not None:
                parameters.grad.zero_()
            outputs = parameters[0] * inputs + parameters[1]
            loss = criterion(outputs, targets)
            loss.backward()
            with torch.no_grad():
                parameters -= eta * parameters.grad
            update_losses.append(loss.item())
        with torch.no_grad():
            train_losses.append(
                criterion(parameters[0] * x_train + parameters[1], y_train)
            )
            val_losses.append(
                criterion(parameters[0] * x_val + parameters[1], y_val)
            )
        snapshots.append(parameters.detach().clone())

    final, history = train_linear_model(
        x_train,
        y_train,
        rule=SGD(eta),
        epochs=epochs,
        seed=3,
        x_val=x_val,
        y_val=y_val,
    )
    # float32, and MSELoss may round differently from our mean of squares.
    close = {"rtol": 1e-5, "atol": 1e-6}
    torch.testing.assert_close(
        torch.tensor(history.update_losses),
        torch.tensor(update_losses),
        **close,
    )
    torch.testing.assert_close(
        torch.tensor(history.epoch_train_losses),
        torch.stack(train_losses),
        **close,
    )
    torch.testing.assert_close(
        torch.tensor(history.epoch_val_losses),
        torch.stack(val_losses),
        **close,
    )
    torch.testing.assert_close(
        torch.stack(history.snapshots), torch.stack(snapshots), **close
    )
    torch.testing.assert_close(final, snapshots[-1], **close)
    assert len(history.update_losses) == epochs * 25
    assert history.diverged_at is None


def test_history_without_validation_has_no_validation_losses(data):
    x, y = data
    _, history = train_linear_model(x, y, rule=SGD(0.01), epochs=2)
    assert history.epoch_val_losses == []
    assert len(history.epoch_train_losses) == len(history.snapshots) == 2
    with pytest.raises(ValueError, match="no validation losses were recorded"):
        history.best_epoch()


def test_best_epoch_is_the_first_minimum_counted_from_zero():
    history = History(
        epoch_train_losses=[5.0, 4.0, 3.0, 3.0],
        epoch_val_losses=[3.0, 1.0, 2.0, 1.0],
        snapshots=[torch.full((2,), float(k)) for k in range(4)],
    )
    assert history.best_epoch() == 1
    assert history.best_epoch("validation") == 1
    assert history.best_epoch("train") == 2
    copy = history.parameters_at(3)
    torch.testing.assert_close(copy, torch.full((2,), 3.0))
    copy += 1  # a copy: the recorded snapshot must not change
    torch.testing.assert_close(history.snapshots[3], torch.full((2,), 3.0))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda h: h.best_epoch("test"), ValueError, "split must be"),
        (lambda h: h.parameters_at(4), IndexError, "epochs 0 to 3"),
        (lambda h: h.parameters_at(-1), IndexError, "out of range"),
        (lambda h: h.parameters_at(1.0), TypeError, "epoch must be an int"),
    ],
)
def test_history_rejects_bad_queries(call, error, message):
    history = History(
        epoch_train_losses=[1.0] * 4,
        snapshots=[torch.zeros(2)] * 4,
    )
    with pytest.raises(error, match=message):
        call(history)


@pytest.mark.parametrize(
    ("make_rule", "error", "message"),
    [
        (lambda: SGD(0.0), ValueError, "must be a positive number"),
        (lambda: SGD(-0.1), ValueError, "must be a positive number"),
        (lambda: SGD(math.inf), ValueError, "must be a finite number"),
        (lambda: SGD(math.nan), ValueError, "must be a finite number"),
        (lambda: SGD("0.1"), TypeError, "learning_rate must be a number"),
        (lambda: SGD(True), TypeError, "learning_rate must be a number"),
        (lambda: Momentum(0.0, 0.9), ValueError, "must be a positive"),
        (lambda: Momentum(math.nan, 0.9), ValueError, "finite"),
        (lambda: Momentum(0.1, math.inf), ValueError, "momentum must be a"),
        (lambda: Momentum(0.1, None), TypeError, "momentum must be a num"),
    ],
)
def test_rules_reject_bad_hyper_parameters(make_rule, error, message):
    with pytest.raises(error, match=message):
        make_rule()


@pytest.mark.parametrize("momentum", [-1.0, 0.0, 1.0, 2.0])
def test_momentum_allows_values_outside_zero_one(momentum):
    assert Momentum(0.001, momentum).momentum == momentum


def column(n, dtype=torch.float32):
    return torch.linspace(0, 1, n, dtype=dtype).reshape(-1, 1)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"batch_size": 0}, ValueError, "batch_size must be at least 1"),
        ({"batch_size": 2.5}, TypeError, "batch_size must be an int"),
        ({"epochs": 0}, ValueError, "epochs must be at least 1"),
        ({"epochs": True}, TypeError, "epochs must be an int"),
        ({"y": column(9)}, ValueError, "same number of samples"),
        ({"x": column(0), "y": column(0)}, ValueError, "are empty"),
        ({"y": column(10).flatten()}, ValueError, r"shape \(N, 1\)"),
        (
            {"x": column(10).reshape(5, 2), "y": column(10).reshape(5, 2)},
            ValueError,
            r"shape \(N, 1\)",
        ),
        ({"x": [[1.0]] * 10}, TypeError, "x must be a torch.Tensor"),
        ({"y": torch.ones(10, 1, dtype=torch.long)}, TypeError, "floating"),
        ({"y": column(10, torch.float64)}, TypeError, "share a dtype"),
        ({"x_val": column(5)}, ValueError, "both x_val and y_val"),
        (
            {"x_val": column(5), "y_val": column(4)},
            ValueError,
            "x_val and y_val must have the same number",
        ),
        ({"rule": 0.01}, TypeError, r"rule must have a step"),
        ({"on_divergence": "ignore"}, ValueError, "'raise' or 'stop'"),
        ({"initial": torch.zeros(3)}, ValueError, r"shape \(2,\)"),
    ],
)
def test_training_rejects_bad_input(arguments, error, message):
    settings = {"x": column(10), "y": column(10), "rule": SGD(0.1)}
    settings.update({"epochs": 1, **arguments})
    with pytest.raises(error, match=message):
        train_linear_model(**settings)


@pytest.mark.parametrize(
    ("rule", "advice"),
    [
        (SGD(1.0), "smaller learning rate"),
        (Momentum(0.001, 1.5), "momentum between 0 and 1"),
    ],
    ids=repr,
)
def test_divergence_raises_with_the_partial_history(rule, advice, data):
    x, y = data
    with pytest.raises(DivergenceError, match=advice) as caught:
        train_linear_model(x, y, rule=rule, epochs=50)
    history = caught.value.history
    assert history.diverged_at is not None
    assert history.diverged_at == len(history.update_losses)
    assert f"after {history.diverged_at} updates" in str(caught.value)
    assert all(math.isfinite(loss) for loss in history.update_losses)


@pytest.mark.parametrize("rule", [SGD(1.0), Momentum(0.001, 1.5)], ids=repr)
def test_divergence_can_stop_and_keep_the_record(rule, data):
    x, y = data
    _, history = train_linear_model(
        x, y, rule=rule, epochs=50, on_divergence="stop"
    )
    assert history.diverged_at is not None
    # Stopped early, and nothing non-finite was recorded.
    assert len(history.epoch_train_losses) < 50
    assert len(history.snapshots) == len(history.epoch_train_losses)
    recorded = history.update_losses + history.epoch_train_losses
    assert all(math.isfinite(loss) for loss in recorded)


def test_initial_parameters_are_used_and_not_modified(data):
    x, y = data
    initial = torch.tensor([2.0, -1.0])
    _, history = train_linear_model(
        x, y, rule=SGD(1e-9), epochs=1, initial=initial
    )
    torch.testing.assert_close(initial, torch.tensor([2.0, -1.0]))
    torch.testing.assert_close(
        history.snapshots[0], initial, rtol=0, atol=1e-6
    )


def short_run(rule, epochs=3):
    x, y = load_dataset()
    recorder = PathRecorder(rule)
    _, history = train_linear_model(x, y, rule=recorder, epochs=epochs)
    return recorder, history


@pytest.mark.parametrize("rule", [SGD(0.01), Momentum(0.001, 0.9)])
def test_path_recorder_agrees_with_the_epoch_snapshots(rule):
    recorder, history = short_run(rule)
    path = recorder.path
    updates = len(history.update_losses)
    assert path.shape == (updates + 1, 2)
    assert torch.equal(path[0], torch.zeros(2))
    per_epoch = updates // len(history.snapshots)
    for epoch, snapshot in enumerate(history.snapshots):
        assert torch.equal(path[(epoch + 1) * per_epoch], snapshot)


def test_path_recorder_does_not_change_the_training():
    x, y = load_dataset()
    plain, _ = train_linear_model(
        x, y, rule=Momentum(0.001, 0.5), epochs=2
    )
    recorded, _ = train_linear_model(
        x, y, rule=PathRecorder(Momentum(0.001, 0.5)), epochs=2
    )
    assert torch.equal(plain, recorded)


def test_path_recorder_starts_afresh_on_reset():
    recorder, history = short_run(Momentum(0.001, 0.9), epochs=1)
    recorder.reset()
    assert recorder.rule.buffer is None
    with pytest.raises(ValueError, match="no update has been recorded"):
        _ = recorder.path


def test_path_recorder_needs_a_rule_with_step():
    with pytest.raises(TypeError, match=r"step\(parameters\) method"):
        PathRecorder(0.9)


NOT_FINITE = [math.nan, math.inf, -math.inf]


@pytest.mark.parametrize("bad", NOT_FINITE)
@pytest.mark.parametrize("where", ["x", "y", "x_val", "y_val", "initial"])
def test_non_finite_input_is_named_not_called_divergence(where, bad):
    settings = {
        "x": column(10), "y": column(10), "x_val": column(4),
        "y_val": column(4), "initial": torch.zeros(2),
    }
    settings[where] = settings[where].clone()
    settings[where][1] = bad
    with pytest.raises(ValueError, match=rf"{where} holds inf or nan"):
        train_linear_model(**settings, rule=SGD(0.1), epochs=1)


@pytest.mark.parametrize(
    ("seed", "error", "message"),
    [
        ("7", TypeError, "seed must be an int"),
        (1.5, TypeError, "seed must be an int"),
        (True, TypeError, "seed must be an int"),
        (2**64, ValueError, "seed must lie between"),
    ],
)
def test_a_bad_seed_is_named(seed, error, message):
    with pytest.raises(error, match=message):
        train_linear_model(
            column(10), column(10), rule=SGD(0.1), epochs=1, seed=seed
        )


class StepOnly:
    """A rule without reset(): the protocol requires both methods."""

    def step(self, parameters):
        pass


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (SGD, r"rule must be an update rule object such as SGD\(0\.01\)"),
        (Momentum, "got the class Momentum"),
        (
            torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1),
            "torch.optim optimiser",
        ),
        (StepOnly(), r"reset\(\)"),
        (0.01, r"step\(parameters\)"),
    ],
)
@pytest.mark.parametrize("user", ["train_linear_model", "PathRecorder"])
def test_a_rule_that_is_not_an_update_rule_is_refused(user, rule, message):
    with pytest.raises(TypeError, match=message):
        if user == "PathRecorder":
            PathRecorder(rule)
        else:
            train_linear_model(column(10), column(10), rule=rule, epochs=1)


@pytest.mark.parametrize(
    ("convert", "message"),
    [
        (lambda t: t.to("meta"), "x is a meta tensor"),
        (lambda t: t.to_sparse(), "x is a sparse tensor"),
    ],
)
def test_meta_and_sparse_tensors_are_refused(convert, message):
    with pytest.raises(TypeError, match=message):
        train_linear_model(
            convert(column(10)), column(10), rule=SGD(0.1), epochs=1
        )


def test_numpy_integers_count_as_batch_sizes_and_epochs(data):
    import numpy as np

    x, y = data
    plain, plain_history = train_linear_model(
        x, y, rule=SGD(0.01), epochs=2, batch_size=50
    )
    numpy, numpy_history = train_linear_model(
        x, y, rule=SGD(0.01), epochs=np.int64(2), batch_size=np.int32(50)
    )
    assert torch.equal(plain, numpy)
    assert len(numpy_history.update_losses) == 2 * 1000 // 50
    assert numpy_history.update_losses == plain_history.update_losses


@pytest.mark.parametrize("rule", [SGD(1.0), Momentum(0.001, 1.5)], ids=repr)
def test_stopping_returns_the_last_finite_parameters(rule, data):
    x, y = data
    recorder = PathRecorder(rule)
    parameters, history = train_linear_model(
        x, y, rule=recorder, epochs=50, on_divergence="stop"
    )
    # The parameters before the update that made a loss inf or nan: the
    # ones whose batch loss was the last one recorded.
    assert history.returned_after == history.diverged_at - 1
    assert torch.isfinite(parameters).all()
    assert parameters.shape == (2,)
    assert torch.equal(parameters, recorder.path[history.returned_after])
    assert not torch.isfinite(recorder.path[history.diverged_at]).all() or (
        not math.isfinite(
            mean_squared_error(
                linear_model(x, recorder.path[history.diverged_at]), y
            ).item()
        )
    )


def test_a_run_that_does_not_diverge_returns_its_final_parameters(data):
    x, y = data
    parameters, history = train_linear_model(x, y, rule=SGD(0.01), epochs=2)
    assert history.returned_after is None
    assert torch.equal(parameters, history.snapshots[-1])


def test_initial_parameters_are_used_but_never_modified(data):
    x, y = data
    initial = torch.tensor([2.0, -1.0], requires_grad=True)
    parameters, history = train_linear_model(
        x, y, rule=SGD(0.1), epochs=1, batch_size=len(x), initial=initial
    )
    assert torch.equal(initial.detach(), torch.tensor([2.0, -1.0]))
    assert initial.grad is None
    # One full-batch step from the initial point, computed here by hand:
    # the training really moved away from ``initial``.
    x64, y64 = x.double(), y.double()
    residual = 2.0 * x64 - 1.0 - y64
    gradient = torch.stack([(2 * residual * x64).mean(), 2 * residual.mean()])
    expected = torch.tensor([2.0, -1.0], dtype=torch.float64) - 0.1 * gradient
    torch.testing.assert_close(
        parameters.double(), expected, rtol=1e-5, atol=1e-5
    )
    assert (parameters - initial.detach()).abs().min() > 1e-3
    assert torch.equal(history.snapshots[0], parameters)


def test_momentum_inside_the_loop_matches_torch_with_in_place_zeroing(data):
    # The loop zeroes parameters.grad in place; a momentum buffer that
    # aliased the gradient would be zeroed with it.
    x, y = data
    x64, y64 = x.double(), y.double()
    recorder = PathRecorder(Momentum(0.01, 0.9))
    train_linear_model(x64, y64, rule=recorder, epochs=2, seed=4)
    theirs = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([theirs], lr=0.01, momentum=0.9)
    path = [theirs.detach().clone()]
    loader = seeded_batches(x64, y64, 32, seed=4)
    for _ in range(2):
        for x_batch, y_batch in loader:
            optimizer.zero_grad(set_to_none=False)
            torch.nn.functional.mse_loss(
                linear_model(x_batch, theirs), y_batch
            ).backward()
            optimizer.step()
            path.append(theirs.detach().clone())
    expected = torch.stack(path)
    assert recorder.path.shape == expected.shape == (2 * 32 + 1, 2)
    torch.testing.assert_close(recorder.path, expected, **TOLERANCE_64)


def test_history_error_messages_in_full():
    history = History(epoch_train_losses=[1.0], snapshots=[torch.zeros(2)])
    with pytest.raises(ValueError) as caught:
        history.best_epoch()
    assert str(caught.value) == (
        "no validation losses were recorded; pass x_val and y_val to "
        "train_linear_model"
    )
    with pytest.raises(ValueError) as caught:
        History().best_epoch("train")
    assert str(caught.value) == "no train losses were recorded"
    with pytest.raises(ValueError) as caught:
        history.best_epoch("test")
    assert str(caught.value) == (
        "split must be 'validation' or 'train', got 'test'"
    )
    with pytest.raises(IndexError) as caught:
        history.parameters_at(1)
    assert str(caught.value) == (
        "epoch 1 is out of range: snapshots exist for epochs 0 to 0"
    )


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"x": column(10).to("meta")}, TypeError,
         "x is a meta tensor (a shape without data): create it on the CPU"),
        ({"y": column(10).to_sparse()}, TypeError,
         "y is a sparse tensor (torch.sparse_coo): convert it with "
         "y.to_dense()"),
        ({"y": torch.ones(10, 1, dtype=torch.long)}, TypeError,
         "y must hold floating-point numbers, got torch.int64; convert it "
         "with y.float()"),
        ({"x": torch.full((10, 1), math.nan)}, ValueError,
         "x holds inf or nan: the input is not finite; remove or repair "
         "those entries first"),
        ({"batch_size": 0}, ValueError,
         "batch_size must be at least 1, got 0"),
        ({"epochs": "3"}, TypeError, "epochs must be an int, got '3'"),
        ({"seed": -(2**63) - 1}, ValueError,
         "seed must lie between -9223372036854775808 and "
         "18446744073709551615 (64 bits), got -9223372036854775809"),
        ({"seed": None}, TypeError, "seed must be an int, got None"),
        ({"rule": SGD}, TypeError,
         "rule must be an update rule object such as SGD(0.01), got the "
         "class SGD: call it with its hyper-parameters"),
        ({"rule": StepOnly()}, TypeError,
         "rule must have a reset() method (an UpdateRule such as SGD or "
         "Momentum), got "),
        ({"rule": torch.optim.SGD([torch.zeros(1, requires_grad=True)],
                                  lr=0.1)}, TypeError,
         "rule is a torch.optim optimiser (SGD), which updates the tensors "
         "it was built with; pass one of this module's rules instead, e.g. "
         "Momentum(lr, momentum) for torch.optim.SGD(..., lr=lr, "
         "momentum=momentum)"),
        ({"x": torch.ones(10, 1, dtype=torch.long)}, TypeError,
         "x must hold floating-point numbers, got torch.int64; convert it "
         "with x.float()"),
        ({"x": torch.tensor(1.0)}, ValueError,
         "x and y must have the same number of samples, got shapes () and "
         "(10, 1)"),
        ({"y": torch.tensor(1.0)}, ValueError,
         "x and y must have the same number of samples, got shapes (10, 1) "
         "and ()"),
        ({"x": column(10).flatten()}, ValueError,
         "x and y must both have shape (N, 1), got (10,) and (10, 1); "
         "reshape with .reshape(-1, 1)"),
        ({"x_val": column(5)}, ValueError,
         "pass both x_val and y_val, or neither"),
        ({"initial": [0.0, 0.0]}, TypeError,
         "initial must be a torch.Tensor, got list"),
        # An array has a shape (2,) too: the message must not say
        # "must be of shape (2,), got (2,)".
        ({"initial": np.zeros(2)}, TypeError,
         "initial must be a torch.Tensor, got ndarray"),
        ({"initial": torch.zeros(3)}, ValueError,
         "initial must be a tensor [slope, bias] of shape (2,), got shape "
         "(3,)"),
        ({"initial": torch.zeros(2, 1)}, ValueError,
         "initial must be a tensor [slope, bias] of shape (2,), got shape "
         "(2, 1)"),
        ({"initial": torch.tensor([1, 2])}, TypeError,
         "initial must hold floating-point numbers, got torch.int64; "
         "convert it with initial.float()"),
        ({"initial": torch.zeros(2).to("meta")}, TypeError,
         "initial is a meta tensor (a shape without data): create it on "
         "the CPU"),
    ],
)
def test_input_errors_in_full(arguments, error, message):
    settings = {"x": column(10), "y": column(10), "rule": SGD(0.1)}
    settings.update({"epochs": 1, **arguments})
    with pytest.raises(error) as caught:
        train_linear_model(**settings)
    assert str(caught.value).startswith(message)
    if not message.endswith("got "):
        assert str(caught.value) == message


@pytest.mark.parametrize(
    ("make_rule", "error", "message"),
    [
        (lambda: SGD(math.inf), ValueError,
         "learning_rate must be a finite number, got inf"),
        (lambda: SGD("0.1"), TypeError,
         "learning_rate must be a number, got '0.1'"),
        (lambda: SGD(-1.0), ValueError,
         "learning_rate must be a positive number, got -1.0"),
    ],
)
def test_hyper_parameter_errors_in_full(make_rule, error, message):
    with pytest.raises(error) as caught:
        make_rule()
    assert str(caught.value) == message


def test_the_first_epoch_is_epoch_zero():
    history = History(
        epoch_train_losses=[2.0, 1.0],
        snapshots=[torch.zeros(2), torch.ones(2)],
    )
    assert torch.equal(history.parameters_at(0), torch.zeros(2))
    assert torch.equal(history.parameters_at(1), torch.ones(2))


@pytest.mark.parametrize(
    ("rule", "advice"),
    [
        (SGD(1.0), "try a smaller learning rate"),
        (Momentum(0.001, 1.5),
         "try a smaller learning rate or a momentum between 0 and 1"),
    ],
    ids=repr,
)
def test_divergence_message_in_full(rule, advice, data):
    x, y = data
    with pytest.raises(DivergenceError) as caught:
        train_linear_model(x, y, rule=rule, epochs=50)
    history = caught.value.history
    update = history.diverged_at
    epochs_done = len(history.epoch_train_losses)
    # 32 batches per epoch: a batch loss ends the epoch it falls in.
    batch = update == epochs_done * 32 and "the full-set loss" or (
        "the batch loss"
    )
    assert str(caught.value) == (
        f"training diverged: {batch} became inf or nan after {update} "
        f"updates, in epoch {epochs_done + 1} of 50 (counting from 1); "
        f"{advice}"
    )


def test_path_recorder_used_by_hand_records_from_the_first_step():
    recorder = PathRecorder(SGD(0.5))
    parameters = torch.tensor([1.0, 2.0], requires_grad=True)
    parameters.grad = torch.tensor([2.0, -2.0])
    recorder.step(parameters)
    torch.testing.assert_close(
        recorder.path, torch.tensor([[1.0, 2.0], [0.0, 3.0]])
    )


def test_mean_squared_error_message_in_full():
    with pytest.raises(ValueError) as caught:
        mean_squared_error(torch.zeros(5, 1), torch.zeros(5))
    assert str(caught.value) == (
        "predictions and targets must have the same shape, got (5, 1) and "
        "(5,); reshape one of them (e.g. with .reshape(-1, 1)) instead of "
        "letting the subtraction broadcast"
    )


@pytest.mark.parametrize("rule", [SGD(0.01), Momentum(0.01, 0.9)], ids=repr)
def test_step_without_gradient_message_in_full(rule):
    with pytest.raises(RuntimeError) as caught:
        rule.step(torch.zeros(2, requires_grad=True))
    assert str(caught.value) == (
        "parameters.grad is None: call loss.backward() before step()"
    )


def test_a_new_momentum_rule_needs_no_reset():
    # b_0 = g_0 holds for a rule used straight after construction, as by
    # hand in the chapters: compare with torch.optim.SGD fed the same
    # gradients.
    rule = Momentum(0.1, 0.5)
    ours = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    theirs = ours.detach().clone().requires_grad_(True)
    optimizer = torch.optim.SGD([theirs], lr=0.1, momentum=0.5)
    gradients = [[2.0, -4.0], [1.0, 1.0], [-3.0, 0.5]]
    for gradient in gradients:
        ours.grad = torch.tensor(gradient, dtype=torch.float64)
        theirs.grad = torch.tensor(gradient, dtype=torch.float64)
        rule.step(ours)
        optimizer.step()
        torch.testing.assert_close(
            ours.detach(), theirs.detach(), **TOLERANCE_64
        )
    # b_0 = [2, -4], b_1 = [2, -1], b_2 = [-2, 0]: theta moved by -0.1 * sum.
    torch.testing.assert_close(
        ours.detach(),
        torch.tensor([0.8, 2.5], dtype=torch.float64),
        **TOLERANCE_64,
    )


def test_the_default_seed_is_zero(data):
    x, y = data[0][:64], data[1][:64]
    runs = {
        seed: train_linear_model(
            x, y, rule=SGD(0.01), epochs=1, batch_size=8, **seed_argument
        )
        for seed, seed_argument in [
            ("default", {}), (0, {"seed": 0}), (1, {"seed": 1}),
        ]
    }
    assert runs["default"][1].update_losses == runs[0][1].update_losses
    assert torch.equal(runs["default"][0], runs[0][0])
    # Seeds 0 and 1 shuffle differently, so the comparison can fail.
    assert runs["default"][1].update_losses != runs[1][1].update_losses


def test_initial_parameters_take_the_dtype_of_the_data():
    x = column(10)
    y = 2 * x + 1
    runs = [
        train_linear_model(
            x, y, rule=SGD(0.1), epochs=2,
            initial=torch.tensor([0.5, -0.5], dtype=dtype),
        )
        for dtype in (torch.float64, torch.float32)
    ]
    (wide, wide_history), (narrow, narrow_history) = runs
    assert wide.dtype == narrow.dtype == torch.float32
    assert wide.shape == (2,)
    assert torch.equal(wide, narrow)
    assert wide_history.update_losses == narrow_history.update_losses
    assert [s.dtype for s in wide_history.snapshots] == [torch.float32] * 2


def test_a_first_loss_that_is_not_finite_returns_the_initial_parameters():
    # 1e20 * x squared overflows float32 at the very first batch: no update
    # has happened, so the parameters returned are the initial ones.
    initial = torch.tensor([1e20, 0.0])
    settings = {
        "x": column(10), "y": column(10), "rule": SGD(0.1), "epochs": 3,
        "initial": initial,
    }
    parameters, history = train_linear_model(**settings, on_divergence="stop")
    assert torch.equal(parameters, initial)
    assert history.diverged_at == 0
    assert history.returned_after == 0
    assert history.update_losses == history.epoch_train_losses == []
    with pytest.raises(DivergenceError) as caught:
        train_linear_model(**settings)
    assert str(caught.value) == (
        "training diverged: the batch loss became inf or nan after 0 "
        "updates, in epoch 1 of 3 (counting from 1); try a smaller "
        "learning rate"
    )


def test_a_full_set_loss_that_is_not_finite_is_a_divergence():
    # The training batches stay finite, but after the first update the
    # validation inputs of 1e20 square to more than float32 can hold:
    # the divergence is found by the full-set loss at the end of epoch 1.
    initial = torch.tensor([1.0, 0.0])
    settings = {
        "x": column(10), "y": column(10), "rule": SGD(0.1), "epochs": 3,
        "x_val": torch.full((4, 1), 1e20), "y_val": torch.zeros(4, 1),
        "initial": initial,
    }
    parameters, history = train_linear_model(**settings, on_divergence="stop")
    # One batch per epoch: one update was made, so the parameters before
    # it, the initial ones, are returned.
    assert history.diverged_at == 1
    assert history.returned_after == 0
    assert torch.equal(parameters, initial)
    assert len(history.update_losses) == 1
    assert history.epoch_train_losses == history.epoch_val_losses == []
    assert history.snapshots == []
    with pytest.raises(DivergenceError) as caught:
        train_linear_model(**settings)
    assert str(caught.value) == (
        "training diverged: the full-set loss became inf or nan after 1 "
        "update, in epoch 1 of 3 (counting from 1); try a smaller "
        "learning rate"
    )
    assert caught.value.history.diverged_at == 1


# Hostile input, round 2 (issue 24).


def test_training_leaves_the_callers_tensors_without_gradient(data):
    # backward() would fill in x.grad of inputs that require gradients:
    # the package must not touch what it was given.
    x, y = data
    inputs = [t[:64].clone().requires_grad_(True) for t in (x, y, x, y)]
    train_linear_model(
        inputs[0], inputs[1], rule=SGD(0.01), epochs=2,
        x_val=inputs[2], y_val=inputs[3],
    )
    assert [t.grad for t in inputs] == [None] * 4


@pytest.mark.parametrize(
    "call",
    [lambda: SGD(10**400), lambda: Momentum(0.1, 10**400),
     lambda: Momentum(-(10**400), 0.5)],
)
def test_huge_integers_are_refused_by_name(call):
    with pytest.raises(
        ValueError,
        match=r"^(learning_rate|momentum) must be a finite number, got "
              r"(an|a negative) int",
    ):
        call()


def test_the_mean_squared_error_of_nothing_is_refused():
    # torch returns nan for the mean of no numbers: a false divergence.
    with pytest.raises(ValueError, match="predictions and targets are "
                                         "empty"):
        mean_squared_error(torch.zeros(0, 1), torch.zeros(0, 1))


@pytest.mark.parametrize(
    ("losses", "epoch"), [([math.nan, 1.0, 2.0], 0), ([3.0, 1.0, math.inf],
                                                       2)],
)
def test_best_epoch_never_picks_an_epoch_whose_loss_is_not_finite(
    losses, epoch
):
    # min() with nan first returns the nan: it compares false to all.
    history = History(epoch_val_losses=losses)
    with pytest.raises(ValueError, match=f"loss of epoch {epoch} "):
        history.best_epoch()


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda x, y: mean_squared_error([1.0], torch.ones(1)), TypeError,
         "predictions must be a torch.Tensor"),
        (lambda x, y: mean_squared_error(torch.ones(1), torch.ones(1,
                                                                   dtype=int)),
         TypeError, "targets must hold floating-point"),
        (lambda x, y: linear_model(x, torch.ones(3)), ValueError,
         "parameters must be a tensor"),
        (lambda x, y: linear_model([1.0], torch.ones(2)), TypeError,
         "x must be a torch.Tensor"),
        (lambda x, y: train_linear_model(
            x.half(), y.half(), rule=SGD(0.1), epochs=1), TypeError,
         "x must hold float32 or float64"),
        (lambda x, y: train_linear_model(
            x.bfloat16(), y, rule=SGD(0.1), epochs=1), TypeError,
         "x must hold float32 or float64"),
        (lambda x, y: train_linear_model(x, y, rule=SGD(0.1),
                                         epochs=10**400), ValueError,
         "epochs must be at most 1000000"),
        (lambda x, y: train_linear_model(x, y, rule=SGD(0.1), epochs=1,
                                         on_divergence=["stop"]),
         ValueError, "on_divergence must be 'raise' or 'stop'"),
        (lambda x, y: SGD(0.1).step([1.0, 2.0]), TypeError,
         "parameters must be a torch.Tensor"),
        (lambda x, y: History().best_epoch(["train"]), ValueError,
         "split must be 'validation' or 'train'"),
        (lambda x, y: History().parameters_at("1"), TypeError,
         "^epoch must be an int, got '1'$"),
        (lambda x, y: DivergenceError("message", None), TypeError,
         "history must be a History"),
        (lambda x, y: DivergenceError("message", 3), TypeError,
         "^history must be a History, got int$"),
    ],
)
def test_hostile_arguments_get_the_packages_own_error(data, call, error,
                                                      match):
    x, y = data
    with pytest.raises(error, match=match):
        call(x[:8], y[:8])


def test_a_refused_step_records_nothing():
    recorder = PathRecorder(SGD(0.1))
    whole = torch.tensor([1, 2])
    message = (
        "parameters must hold floating-point numbers, got torch.int64; "
        "convert it with parameters.float()"
    )
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        recorder.step(whole)
    assert recorder.points == []


def test_parameters_at_takes_numpy_integers():
    history = History(snapshots=[torch.zeros(2), torch.ones(2)])
    assert history.parameters_at(np.int64(1)).tolist() == [1.0, 1.0]


@pytest.mark.parametrize("name", ["predictions", "targets"])
def test_the_mean_squared_error_of_integers_is_refused_by_name(name):
    # torch's mean of an int64 tensor fails with its own RuntimeError.
    tensors = {"predictions": torch.ones(2), "targets": torch.ones(2)}
    tensors[name] = torch.ones(2, dtype=torch.int64)
    with pytest.raises(TypeError) as caught:
        mean_squared_error(**tensors)
    assert str(caught.value) == (
        f"{name} must hold floating-point numbers, got torch.int64; "
        f"convert it with {name}.float()"
    )


# Refusals read in full (mutants that changed only a message survived).


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: DivergenceError("message", []), TypeError,
         "history must be a History, got list"),
        (lambda: History().parameters_at("1"), TypeError,
         "epoch must be an int, got '1'"),
        (lambda: PathRecorder(SGD(0.1)).step(torch.ones(2, dtype=int)),
         TypeError, "parameters must hold floating-point numbers, got "
         "torch.int64; convert it with parameters.float()"),
        (lambda: linear_model(torch.ones(3, dtype=torch.int64),
                              torch.ones(2)), TypeError,
         "x must hold floating-point numbers, got torch.int64; convert it "
         "with x.float()"),
        (lambda: linear_model(torch.ones(3), torch.ones(2, dtype=int)),
         TypeError, "parameters must hold floating-point numbers, got "
         "torch.int64; convert it with parameters.float()"),
        (lambda: linear_model(torch.ones(3), torch.ones(3)), ValueError,
         "parameters must be a tensor [slope, bias] of shape (2,), got "
         "shape (3,)"),
        (lambda: SGD(0.1).step(torch.ones(2, dtype=int)), TypeError,
         "parameters must hold floating-point numbers, got torch.int64; "
         "convert it with parameters.float()"),
        (lambda: History(epoch_train_losses=["a", "b"]).best_epoch("train"),
         TypeError, "the train losses must be numbers, got ['a', 'b']"),
        (lambda: History(epoch_train_losses="ab").best_epoch("train"),
         TypeError, "the train losses must be a list of numbers, got 'ab'"),
        (lambda: History(epoch_train_losses=[math.nan] * 2).best_epoch(
            "train"), ValueError, "the train loss of epoch 0 (from 0) is "
         "inf or nan: no epoch can be called best"),
        (lambda: train_linear_model(
            torch.ones(8, 1), torch.ones(8, 1), rule=SGD(0.1), epochs=1,
            on_divergence=["stop"]), ValueError,
         "on_divergence must be 'raise' or 'stop', got ['stop']"),
    ],
)
def test_refusals_name_what_they_were_given(call, error, message):
    with pytest.raises(error) as caught:
        call()
    assert str(caught.value) == message
