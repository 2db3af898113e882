"""Each mistake students make, run as a student writes it, gets its hint.

The code below is the students' code, mistake and all: autograd for
Part I, and for Part II the problem set's loop with a real DataLoader,
independent of the closed-form copy the checks run. A verdict names the
mistake without showing the answer, and the right answers still pass in
float32 and float64.
"""

from __future__ import annotations

import functools
import re

import pytest
import torch
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, TensorDataset

from autodiff_book import check
from autodiff_book.data import load_dataset
from tests import oracles


def assert_hint(verdict, phrase: str, *secrets: float):
    """A wrong verdict whose hint has ``phrase`` and none of ``secrets``."""
    assert verdict.status == "wrong", verdict
    assert phrase in verdict.hint, verdict
    for secret in secrets:
        assert f"{secret:.3f}" not in str(verdict), (secret, verdict)


# Part I.


def bump(x):
    return 2 / ((5 - x) ** 2 + 2**2)


def test_1_1_a_cell_run_twice_without_zeroing():
    x = torch.tensor(2.0, requires_grad=True)
    for _ in range(2):  # the cell "f = bump(x); f.backward()", run twice
        f = bump(x)
        f.backward()
    answer = oracles.bump_derivative(2.0)
    assert_hint(check.problem_1_1(x.grad), "backward() ran twice", answer)


def test_1_1_the_denominator_without_parentheses():
    x = torch.tensor(2.0, requires_grad=True)
    f = 2 / (5 - x) ** 2 + 2**2
    f.backward()
    answer = oracles.bump_derivative(2.0)
    assert_hint(check.problem_1_1(x.grad), "parentheses", answer)


def sigmoid(x):
    return 1 / (1 + torch.exp(-x))


def test_1_2_the_sum_trick_run_twice_and_with_mean():
    x = torch.arange(-5, 5, 0.1, requires_grad=True)
    for _ in range(2):
        sigmoid(x).sum().backward()
    assert_hint(check.problem_1_2(x, x.grad), "backward() ran twice")
    x = torch.arange(-5, 5, 0.1, requires_grad=True)
    sigmoid(x).mean().backward()
    assert_hint(check.problem_1_2(x, x.grad), ".mean() scales")


def components(x, y):
    return torch.stack([x**2 + y**2, 2 * x**2 * y**2])


def point_1_3():
    return (torch.tensor(1.376, requires_grad=True),
            torch.tensor(2.123, requires_grad=True))


def answers_1_3():
    x, y = 1.376, 2.123
    return 2 * x, 4 * x**2 * y


def test_1_3_two_backward_passes_without_zeroing():
    x, y = point_1_3()
    f = components(x, y)
    f[0].backward(retain_graph=True)
    df1_dx = x.grad  # kept without a copy: the next pass adds to it
    f[1].backward()
    df2_dy = y.grad
    verdict = check.problem_1_3(df1_dx, df2_dy)
    assert_hint(verdict, "zero it between", *answers_1_3())
    # The same, with df1_dx read at once: only df2_dy is wrong.
    x, y = point_1_3()
    f = components(x, y)
    f[0].backward(retain_graph=True)
    df1_dx = x.grad.item()
    f[1].backward()
    verdict = check.problem_1_3(df1_dx, y.grad)
    assert_hint(verdict, "zero it between", *answers_1_3())


def test_1_3_a_reference_to_x_grad_zeroed_and_refilled():
    x, y = point_1_3()
    f = components(x, y)
    f[0].backward(retain_graph=True)
    df1_dx = x.grad
    x.grad.zero_()
    y.grad.zero_()
    f[1].backward()
    verdict = check.problem_1_3(df1_dx, y.grad)
    assert_hint(verdict, "df1_dx = x.grad is the same tensor",
                *answers_1_3())


def test_1_3_the_derivative_by_the_other_variable():
    x, y = point_1_3()
    f = components(x, y)
    (df1_dy,) = torch.autograd.grad(f[0], y, retain_graph=True)
    (df2_dx,) = torch.autograd.grad(f[1], x)
    verdict = check.problem_1_3(df1_dy, df2_dx)
    assert_hint(verdict, "other variable", *answers_1_3())


def matrix_gradient(function, passes=1):
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    for _ in range(passes):  # the cell run once, or twice
        function(a).backward()
    return a.grad


@pytest.mark.parametrize(
    ("function", "passes", "phrase"),
    [
        (lambda a: torch.trace(a.T @ a), 1, "transpose"),
        (lambda a: torch.trace(a * a), 1, "element by element"),
        (lambda a: (a @ a).sum(), 1, "sum of all entries"),
        (lambda a: torch.trace(a @ a), 2, "backward() ran twice"),
    ],
    ids=["transposed", "elementwise", "sum", "twice"],
)
def test_1_4_mistakes(function, passes, phrase):
    verdict = check.problem_1_4(matrix_gradient(function, passes))
    assert_hint(verdict, phrase)
    # The answer's entries are small integers: no matrix in the hint.
    assert not re.search(r"\[\[|\d\.\d", verdict.hint), verdict


def answers_1_5():
    return (oracles.sigmoid_derivative(0.173),
            oracles.sigmoid_second_derivative(0.173))


# backward(create_graph=True) is the students' way; torch's warning about
# the reference cycle it makes is expected.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Using backward\\(\\) with create_graph"
)


def test_1_5_y_prime_as_x_grad_and_no_zeroing():
    x = torch.tensor(0.173, requires_grad=True)
    sigmoid(x).backward(create_graph=True)
    y_prime = x.grad
    y_prime.backward()
    verdict = check.problem_1_5(y_prime.item(), x.grad.item())
    assert_hint(verdict, "y_prime = x.grad is the same tensor",
                *answers_1_5())


def test_1_5_a_copy_but_no_zeroing():
    x = torch.tensor(0.173, requires_grad=True)
    sigmoid(x).backward(create_graph=True)
    y_prime = x.grad.clone()
    y_prime.backward()
    verdict = check.problem_1_5(y_prime.item(), x.grad.item())
    assert_hint(verdict, "carries the first", *answers_1_5())


def test_1_5_the_first_derivative_reported_as_the_second():
    x = torch.tensor(0.173, requires_grad=True)
    sigmoid(x).backward()
    first = x.grad.item()
    x.grad = None
    sigmoid(x).backward()  # differentiates σ again, not σ'
    verdict = check.problem_1_5(first, x.grad.item())
    assert_hint(verdict, "first derivative again", *answers_1_5())


def test_1_5_the_two_values_swapped():
    x = torch.tensor(0.173, requires_grad=True)
    (first,) = torch.autograd.grad(sigmoid(x), x, create_graph=True)
    (second,) = torch.autograd.grad(first, x)
    verdict = check.problem_1_5(second.item(), first.item())
    assert_hint(verdict, "swapped", *answers_1_5())


# Part II: the students' loop.


def student_training(x, y, *, learning_rate, epochs, zero_grad=True,
                     watch=()):
    """The problem set's loop; MSE of each (x, y) in ``watch`` per epoch.

    Returns the parameters, the loss of every batch, copies of the
    parameters after each epoch, the parameter tensor itself appended
    after each epoch (no copy), and the watched MSEs per epoch.
    """
    parameters = torch.zeros(2, dtype=x.dtype, requires_grad=True)
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    losses, copies, kept, measured = [], [], [], []
    for _ in epochs:
        for inputs, targets in loader:
            if zero_grad and parameters.grad is not None:
                parameters.grad.zero_()
            outputs = parameters[0] * inputs + parameters[1]
            loss = ((outputs - targets) ** 2).mean()
            loss.backward()
            with torch.no_grad():
                parameters -= learning_rate * parameters.grad
            losses.append(loss.item())
        copies.append(parameters.detach().clone())
        kept.append(parameters.detach())  # the same storage, no copy
        with torch.no_grad():
            measured.append([
                ((parameters[0] * a + parameters[1] - b) ** 2).mean().item()
                for a, b in watch
            ])
    return parameters.detach(), losses, copies, kept, measured


@functools.cache
def full_set_run(dtype=torch.float32, flat=False, zero_grad=True,
                 first_epoch=0):
    x, y = (tensor.to(dtype) for tensor in load_dataset())
    if flat:
        x = x.flatten()  # predictions (N,) against targets (N, 1)
    return student_training(x, y, learning_rate=0.01,
                            epochs=range(first_epoch, 10),
                            zero_grad=zero_grad)


def answers_2_1():
    return full_set_run()[0].tolist()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_2_1_and_2_2_right_in_either_precision(dtype):
    parameters, losses, *_ = full_set_run(dtype)
    assert check.problem_2_1(*parameters).passed
    assert check.problem_2_2(losses).passed


@pytest.mark.parametrize(
    ("mistake", "phrase"),
    [
        ({"zero_grad": False}, "never zeroed"),
        ({"flat": True}, "broadcasts to (N, N)"),
        ({"first_epoch": 1}, "range(1, 10) counts nine"),
    ],
    ids=["unzeroed", "flat", "nine-epochs"],
)
def test_2_1_and_2_2_mistakes(mistake, phrase):
    parameters, losses, *_ = full_set_run(**mistake)
    assert_hint(check.problem_2_1(*parameters), phrase, *answers_2_1())
    if "first_epoch" not in mistake:
        assert_hint(check.problem_2_2(losses), phrase)
    # The far hint names no mistake it has not recognised.
    assert "shape (N, 1)" not in check.problem_2_1(0.0, 0.0).hint


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "mistake", [{}, {"zero": False}, {"flat": True}],
    ids=["right", "unzeroed", "flat"],
)
def test_the_checks_mistaken_loop_is_the_students_loop(mistake, dtype):
    # The checks run the students' loop in closed form, several learning
    # rates at once on the same batches, in the data's precision; here on
    # 80 samples (3 batches) for 2 epochs against the loop above. By
    # default it zeroes.
    x, y = (tensor[:80].to(dtype) for tensor in load_dataset())
    rates = [0.01, 0.002, 0.03]
    losses, snapshots = check._mistaken_loop(
        torch.stack([x] * 3), torch.stack([y] * 3), rates, epochs=2,
        seed=0, **mistake,
    )
    assert losses.shape == (3, 6) and snapshots.shape == (3, 2, 2)
    assert losses.dtype == snapshots.dtype == dtype
    tolerance = {"rtol": 1e-5, "atol": 1e-7}
    if dtype == torch.float64:
        tolerance = {"rtol": 1e-12, "atol": 1e-14}
    for k, rate in enumerate(rates):
        _, expected, copies, _, _ = student_training(
            x.flatten() if "flat" in mistake else x, y,
            learning_rate=rate, epochs=range(2),
            zero_grad=mistake.get("zero", True),
        )
        torch.testing.assert_close(
            losses[k], torch.tensor(expected, dtype=dtype), **tolerance
        )
        torch.testing.assert_close(
            snapshots[k], torch.stack(copies), **tolerance
        )


def test_2_2_running_totals_and_epoch_means():
    x, y = load_dataset()
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    parameters = torch.zeros(2, requires_grad=True)
    totals, epoch_means = [], []
    for _ in range(10):
        running = 0.0
        for inputs, targets in loader:
            parameters.grad = None
            loss = ((parameters[0] * inputs + parameters[1] - targets) ** 2
                    ).mean()
            loss.backward()
            with torch.no_grad():
                parameters -= 0.01 * parameters.grad
            running += loss.item()
            totals.append(running)  # the mistake: the total, not the loss
        epoch_means.append(running / len(loader))
    assert_hint(check.problem_2_2(totals), "running total")
    assert_hint(check.problem_2_2(epoch_means), "one per epoch")


def student_split(x, y, random_state=42, swap=False):
    x_train, x_rest, y_train, y_rest = train_test_split(
        x, y, test_size=0.2, random_state=random_state)
    if swap:  # the second split's halves unpacked the wrong way round
        x_test, x_val, y_test, y_val = train_test_split(
            x_rest, y_rest, test_size=0.5, random_state=random_state)
    else:
        x_val, x_test, y_val, y_test = train_test_split(
            x_rest, y_rest, test_size=0.5, random_state=random_state)
    return (x_train, y_train), (x_val, y_val), (x_test, y_test)


@functools.cache
def split_run(dtype=torch.float32, learning_rate=0.001, random_state=42):
    """Problem 2.3's run; per epoch the train, validation and test MSE."""
    x, y = (tensor.to(dtype) for tensor in load_dataset())
    train, validation, test = student_split(x, y, random_state)
    return student_training(*train, learning_rate=learning_rate,
                            epochs=range(150),
                            watch=(train, validation, test))


def argmin(values):
    return min(range(len(values)), key=values.__getitem__)


def split_answers(run, measures=(0, 1, 2)):
    """(train epoch, validation epoch), (final, best test MSE) of a run,
    as a student computes them from the MSEs the loop measured:
    ``measures`` says which of the watched sets the student's training,
    validation and test sets are."""
    measured = run[4]
    train, validation, test = (
        [row[k] for row in measured] for k in measures
    )
    best = argmin(validation)
    return (argmin(train), best), (test[-1], test[best])


def secrets_2_4():
    return split_answers(split_run())[1]


def assert_no_epoch(verdict, epochs):
    for epoch in epochs:
        for shown in (epoch, epoch + 1):
            assert not re.search(rf"\b{shown}\b", verdict.hint), verdict


def test_the_mse_of_each_row_of_parameters():
    # The mistaken runs of 2.3 and 2.4 measure each snapshot with this;
    # by hand: residuals (0, 0, 1), (-1, -3, -4) and (-2, -3, -3).
    x = torch.tensor([[0.0], [1.0], [2.0]])
    y = torch.tensor([[1.0], [3.0], [4.0]])
    rows = torch.tensor([[2.0, 1.0], [0.0, 0.0], [1.0, -1.0]])
    assert check._mse(rows, x, y).tolist() == pytest.approx(
        [1 / 3, 26 / 3, 22 / 3]
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_2_3_and_2_4_right_in_either_precision(dtype):
    epochs, mses = split_answers(split_run(dtype))
    assert check.problem_2_3(*epochs).passed
    assert check.problem_2_4(*mses).passed


def test_2_3_and_2_4_validation_measured_on_the_training_set():
    # The loop's "validation" MSE measured on (x_train, y_train): the
    # training column twice.
    epochs, mses = split_answers(split_run(), measures=(0, 0, 2))
    verdict = check.problem_2_3(*epochs)
    assert_hint(verdict, "both answers come from the training set")
    assert_no_epoch(verdict, split_answers(split_run())[0])
    assert_hint(check.problem_2_4(*mses), "from the training set",
                *secrets_2_4())


def test_2_3_the_training_mse_as_the_mean_of_batch_losses():
    _, losses, _, _, measured = split_run()
    per_epoch = len(losses) // 150
    means = [sum(losses[k:k + per_epoch]) / per_epoch
             for k in range(0, len(losses), per_epoch)]
    validation = argmin([row[1] for row in measured])
    verdict = check.problem_2_3(argmin(means), validation)
    assert_hint(verdict, "mean of the epoch's batch losses")
    assert_no_epoch(verdict, split_answers(split_run())[0])


def test_2_3_one_answer_from_0_the_other_from_1():
    (train, validation), _ = split_answers(split_run())
    verdict = check.problem_2_3(train, validation + 1)
    assert_hint(verdict, "the same convention")


def test_2_3_and_2_4_the_halves_of_the_second_split_swapped():
    x, y = load_dataset()
    right, swapped = student_split(x, y), student_split(x, y, swap=True)
    # The same training set, so the same run; the roles of the halves
    # swap: the student's validation MSE is the test column.
    assert all(torch.equal(a, b) for a, b in zip(right[0], swapped[0],
                                                   strict=True))
    assert all(torch.equal(a, b) for a, b in zip(right[1], swapped[2],
                                                   strict=True))
    epochs, mses = split_answers(split_run(), measures=(0, 2, 1))
    phrase = "validation and test sets are swapped"
    verdict = check.problem_2_3(*epochs)
    assert_hint(verdict, phrase)
    assert_no_epoch(verdict, split_answers(split_run())[0])
    assert_hint(check.problem_2_4(*mses), phrase, *secrets_2_4())


@pytest.mark.parametrize(
    ("setting", "phrase"),
    [
        ({"learning_rate": 0.01}, "problem 2.1's learning rate"),
        ({"random_state": 0}, "random_state=42 both times"),
    ],
    ids=["learning-rate", "split-seed"],
)
def test_2_3_and_2_4_mistakes_in_the_run(setting, phrase):
    epochs, mses = split_answers(split_run(**setting))
    verdict = check.problem_2_3(*epochs)
    assert_hint(verdict, phrase)
    assert_no_epoch(verdict, split_answers(split_run())[0])
    # The same mistake with epochs counted from 1 is named too (with
    # problem 2.1's learning rate the two epochs differ).
    assert_hint(check.problem_2_3(epochs[0] + 1, epochs[1] + 1), phrase)
    assert_hint(check.problem_2_4(*mses), phrase, *secrets_2_4())


def test_2_4_snapshots_without_clone():
    _, _, _, kept, measured = split_run()
    _, validation = split_answers(split_run())[0]
    x, y = load_dataset()
    x_test, y_test = student_split(x, y)[2]
    best = kept[validation]  # the parameter tensor itself: the final one
    best_mse = ((best[0] * x_test + best[1] - y_test) ** 2).mean().item()
    verdict = check.problem_2_4(measured[-1][2], best_mse)
    assert_hint(verdict, "without clone()", *secrets_2_4())


def test_2_4_an_epoch_counted_from_1_used_as_an_index_rounds_alike():
    # copies[epoch + 1] for the epoch of lowest validation MSE: near that
    # minimum the parameters barely move, so the neighbour's test MSE
    # rounds to the answer and the check rightly accepts it. Should a
    # change of data or of torch make them differ, this test fails and the
    # check needs a hint for the mistake.
    _, _, copies, _, measured = split_run()
    _, validation = split_answers(split_run())[0]
    x, y = load_dataset()
    x_test, y_test = student_split(x, y)[2]
    for shift in (1, -1):
        best = copies[validation + shift]
        best_mse = ((best[0] * x_test + best[1] - y_test) ** 2).mean()
        verdict = check.problem_2_4(measured[-1][2], best_mse.item())
        assert verdict.passed, (shift, verdict)


def test_2_4_measured_on_the_validation_set():
    _, _, _, _, measured = split_run()
    _, validation = split_answers(split_run())[0]
    verdict = check.problem_2_4(measured[-1][1], measured[validation][1])
    assert_hint(verdict, "these are validation MSEs", *secrets_2_4())


def momentum_curves(momenta, *, copy_buffer=True):
    """Problem 2.5's runs, one per momentum, as a student's loop: the
    full-set loss after each epoch. The runs share the batches, so one
    loop trains them all, one row of ``parameters`` each."""
    x, y = load_dataset()
    mu = torch.tensor(momenta).reshape(-1, 1)
    parameters = torch.zeros(len(momenta), 2, requires_grad=True)
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    buffer, curves = None, []
    for _ in range(50):
        for inputs, targets in loader:
            if parameters.grad is not None:
                parameters.grad.zero_()
            outputs = parameters[:, 0] * inputs + parameters[:, 1]
            loss = ((outputs - targets) ** 2).mean(dim=0).sum()
            loss.backward()
            with torch.no_grad():
                if buffer is None:
                    # The mistake: without clone() the buffer is .grad.
                    buffer = (parameters.grad.clone() if copy_buffer
                              else parameters.grad)
                else:
                    buffer.mul_(mu).add_(parameters.grad)
                parameters -= 0.001 * buffer
        with torch.no_grad():
            outputs = parameters[:, 0] * x + parameters[:, 1]
            curves.append(((outputs - y) ** 2).mean(dim=0))
    return torch.stack(curves, dim=1)


def test_2_5_a_momentum_buffer_without_clone():
    # The student runs every offered set and picks the one whose curves
    # look most like the figure (log scale). With a right momentum that is
    # the figure's set; with the buffer aliasing .grad, another one.
    options = check.PROBLEM_2_5_OPTIONS
    values = [mu for option in options for mu in option]

    def logs(curves):
        curves = curves.nan_to_num(1e30, 1e30).clamp(1e-30, 1e30)
        return curves.log().reshape(len(options), 4, -1)

    right = logs(momentum_curves(values))
    figure = right[options.index(check.problem_2_5_momenta())]

    def picked(curves):
        distances = (logs(curves) - figure).abs().mean(dim=(1, 2))
        return options[int(distances.argmin())]

    distances = (right - figure).abs().mean(dim=(1, 2))
    assert sorted(distances.tolist())[1] > 0.5  # the figure's set stands out
    mistaken = picked(momentum_curves(values, copy_buffer=False))
    verdict = check.problem_2_5(mistaken)
    assert_hint(verdict, "without clone()")
    assert "0.5, 0.9" not in verdict.hint and "{0" not in verdict.hint


def test_two_mistakes_matching_one_answer_are_both_named():
    """An answer that two mistakes would give names both, joined by "or";
    two names with one hint name it once."""
    unzeroed = check._FULL_SET_HINTS["unzeroed"]
    swapped = check._SPLIT_HINTS["halves swapped"]
    assert check._named(["unzeroed", "halves swapped"]) == (
        f"{unzeroed}; or {swapped}")
    assert check._named(["unzeroed", "unzeroed"]) == unzeroed
