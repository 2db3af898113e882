"""The self-checks accept every right answer, refuse wrong ones with a hint,
and never show the answer.

The right answers here are computed independently of ``check``: autograd in
float32 and float64 for Part I, and a plain training loop written below
(no package code) for Part II.
"""

from __future__ import annotations

import functools

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from autodiff_book import check
from autodiff_book.data import load_dataset


def rounded(value: float) -> float:
    """The answer as the problem set reports it: three decimals."""
    return round(value, 3)


def assert_verdict(verdict, status: str, hint: str = "", *secrets):
    assert verdict.status == status, verdict
    assert hint in verdict.hint
    for secret in secrets:
        assert f"{secret:.3f}" not in str(verdict)


# Part I: the answers by autograd, in both precisions.


def bump_derivative(dtype):
    x = torch.tensor(2.0, dtype=dtype, requires_grad=True)
    (2 / ((5 - x) ** 2 + 2**2)).backward()
    return x.grad


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_problem_1_1_accepts_autograd_in_either_precision(dtype):
    answer = bump_derivative(dtype)
    assert_verdict(check.problem_1_1(answer), "correct")
    assert_verdict(check.problem_1_1(rounded(answer.item())), "correct")


def test_problem_1_1_refuses_near_misses_without_telling_the_answer():
    answer = bump_derivative(torch.float64).item()
    for wrong in (answer + 0.001, answer - 0.001, -answer):
        assert_verdict(check.problem_1_1(wrong), "wrong", "", answer)
    assert_verdict(
        check.problem_1_1(2 / 13), "wrong", "f(2.0) itself", answer
    )


@pytest.mark.parametrize("placeholder", [..., None])
def test_every_check_says_not_done_for_a_placeholder(placeholder):
    verdicts = [
        check.problem_1_1(placeholder),
        check.problem_1_2(torch.arange(-5, 5, 0.1), placeholder),
        check.problem_1_3(placeholder, 1.0),
        check.problem_1_4(placeholder),
        check.problem_1_5(0.2, placeholder),
        check.problem_2_1(placeholder, 0.0),
        check.problem_2_2(placeholder),
        check.problem_2_3(placeholder, 3),
        check.problem_2_4(0.2, placeholder),
        check.problem_2_5(placeholder),
    ]
    for verdict in verdicts:
        assert_verdict(verdict, "not done", "placeholder")
        assert str(verdict).startswith("… Problem ")


def sigmoid_by_sum_trick(x):
    x = x.clone().requires_grad_(True)
    (1 / (1 + torch.exp(-x))).sum().backward()
    return x.grad


def test_problem_1_2_accepts_the_sum_trick_and_refuses_mistakes():
    x = torch.arange(-5, 5, 0.1)
    assert_verdict(check.problem_1_2(x, sigmoid_by_sum_trick(x)), "correct")
    assert_verdict(
        check.problem_1_2(x, torch.sigmoid(x)), "wrong", "sigmoid itself"
    )
    assert_verdict(
        check.problem_1_2(x, 2 * sigmoid_by_sum_trick(x)),
        "wrong",
        "zero it first",
    )
    assert_verdict(
        check.problem_1_2(x, sigmoid_by_sum_trick(x)[:-1]),
        "wrong",
        "should have shape (100,)",
    )
    short = torch.arange(0, 5, 0.1)
    assert_verdict(
        check.problem_1_2(short, sigmoid_by_sum_trick(short)),
        "wrong",
        "range -5 ... 5",
    )


def vector_partials(dtype):
    x = torch.tensor(1.376, dtype=dtype, requires_grad=True)
    y = torch.tensor(2.123, dtype=dtype, requires_grad=True)
    first = x**2 + y**2
    second = 2 * x**2 * y**2
    (df1_dx,) = torch.autograd.grad(first, x)
    (df2_dy,) = torch.autograd.grad(second, y)
    return df1_dx, df2_dy


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_problem_1_3_accepts_autograd(dtype):
    assert_verdict(check.problem_1_3(*vector_partials(dtype)), "correct")


def test_problem_1_3_names_the_accumulation_and_the_wrong_variable():
    df1_dx, df2_dy = vector_partials(torch.float64)
    x, y = 1.376, 2.123
    assert_verdict(
        check.problem_1_3(df1_dx + 4 * x * y**2, df2_dy),
        "wrong",
        "zero it between",
        df1_dx.item(),
    )
    assert_verdict(
        check.problem_1_3(2 * y, df2_dy), "wrong", "other variable"
    )
    assert_verdict(
        check.problem_1_3(df1_dx, df2_dy + 0.001), "wrong", "df2_dy"
    )


def trace_gradient(dtype):
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=dtype)
    a.requires_grad_(True)
    torch.trace(a @ a).backward()
    return a.grad


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_problem_1_4_accepts_autograd_and_refuses_the_transpose(dtype):
    gradient = trace_gradient(dtype)
    assert_verdict(check.problem_1_4(gradient), "correct")
    assert_verdict(check.problem_1_4(gradient.tolist()), "correct")
    assert_verdict(check.problem_1_4(gradient.T), "wrong", "transpose")
    assert_verdict(
        check.problem_1_4(gradient[0, 1].item()), "wrong", "whole 2×2"
    )
    assert_verdict(
        check.problem_1_4(gradient.reshape(4)), "wrong", "shape (2, 2)"
    )


def sigmoid_derivatives(dtype):
    x = torch.tensor(0.173, dtype=dtype, requires_grad=True)
    s = 1 / (1 + torch.exp(-x))
    (first,) = torch.autograd.grad(s, x, create_graph=True)
    (second,) = torch.autograd.grad(first, x)
    return first.item(), second.item()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_problem_1_5_accepts_autograd(dtype):
    first, second = sigmoid_derivatives(dtype)
    assert_verdict(check.problem_1_5(first, second), "correct")
    assert_verdict(
        check.problem_1_5(rounded(first), rounded(second)), "correct"
    )


# backward(create_graph=True) is the student's mistake being reproduced;
# torch's warning about the reference cycle it makes is expected.
@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph")
def test_problem_1_5_names_the_aliasing_and_the_accumulation():
    first, second = sigmoid_derivatives(torch.float64)
    # The aliasing mistake: y_prime = x.grad, then x.grad.zero_().
    x = torch.tensor(0.173, requires_grad=True)
    (1 / (1 + torch.exp(-x))).backward(create_graph=True)
    y_prime = x.grad
    x.grad.data.zero_()
    assert_verdict(
        check.problem_1_5(y_prime.item(), second),
        "wrong",
        "reference to x.grad",
        first,
        second,
    )
    assert_verdict(
        check.problem_1_5(first, first + second), "wrong", "accumulated"
    )
    assert_verdict(
        check.problem_1_5(first, second + 0.001),
        "wrong",
        "second derivative is not right",
    )


# Part II: the reference is a plain loop with no package code.


def plain_sgd(x, y, *, learning_rate, epochs, seed, evaluate=None):
    """The problem set's loop; returns (parameters, batch losses, epochs)."""
    parameters = torch.zeros(2, requires_grad=True)
    loader = DataLoader(
        TensorDataset(x, y),
        batch_size=32,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
    )
    losses, per_epoch = [], []
    for _ in range(epochs):
        for x_batch, y_batch in loader:
            if parameters.grad is not None:
                parameters.grad.zero_()
            loss = ((parameters[0] * x_batch + parameters[1] - y_batch) ** 2)
            loss = loss.mean()
            loss.backward()
            with torch.no_grad():
                parameters -= learning_rate * parameters.grad
            losses.append(loss.item())
        if evaluate is not None:
            per_epoch.append(evaluate(parameters.detach().clone()))
    return parameters.detach(), losses, per_epoch


@functools.cache
def problem_2_1_run(seed: int = 0):
    x, y = load_dataset()
    return plain_sgd(x, y, learning_rate=0.01, epochs=10, seed=seed)


def test_problem_2_1_accepts_the_run_and_its_rounding():
    (slope, bias), _, _ = problem_2_1_run()
    assert_verdict(check.problem_2_1(slope, bias), "correct")
    assert_verdict(
        check.problem_2_1(rounded(slope.item()), rounded(bias.item())),
        "correct",
    )


def test_problem_2_1_takes_the_seed_of_another_shuffle():
    (slope, bias), _, _ = problem_2_1_run(seed=7)
    assert_verdict(
        check.problem_2_1(slope, bias), "wrong", "pass seed=", slope.item()
    )
    assert_verdict(check.problem_2_1(slope, bias, seed=7), "correct")
    with pytest.raises(ValueError, match="seed must be the non-negative"):
        check.problem_2_1(slope, bias, seed=-1)


def test_problem_2_1_refuses_a_slightly_wrong_line():
    (slope, bias), _, _ = problem_2_1_run()
    assert_verdict(
        check.problem_2_1(slope + 0.001, bias), "wrong", "", slope.item()
    )
    assert_verdict(check.problem_2_1(0.0, 0.0), "wrong", "far from")


def test_problem_2_2_accepts_the_curve_and_names_the_broadcast():
    _, losses, _ = problem_2_1_run()
    assert_verdict(check.problem_2_2(losses), "correct")
    assert_verdict(check.problem_2_2(losses[:-1]), "wrong", "one loss per")
    # The shape trap: predictions (N,) against targets (N, 1).
    x, y = load_dataset()
    _, broadcast, _ = plain_sgd(
        x[:, 0], y, learning_rate=0.01, epochs=10, seed=0
    )
    assert_verdict(check.problem_2_2(broadcast), "wrong", "broadcasts")
    nudged = [*losses[:-1], losses[-1] * 1.01]
    assert_verdict(check.problem_2_2(nudged), "wrong", "differs")


@functools.cache
def problem_2_3_run(seed: int = 0):
    x, y = load_dataset()
    sets = check.three_way_split(x, y)
    (x_val, y_val), (x_train, y_train) = sets["validation"], sets["train"]

    def mses(parameters):
        return tuple(
            ((parameters[0] * a + parameters[1] - b) ** 2).mean().item()
            for a, b in ((x_train, y_train), (x_val, y_val))
        ) + (parameters,)

    _, _, per_epoch = plain_sgd(
        x_train, y_train, learning_rate=0.001, epochs=150, seed=seed,
        evaluate=mses,
    )
    train = min(range(150), key=lambda k: per_epoch[k][0])
    validation = min(range(150), key=lambda k: per_epoch[k][1])
    return train, validation, per_epoch, sets["test"]


def test_problem_2_3_accepts_both_conventions_not_a_mix():
    train, validation, _, _ = problem_2_3_run()
    assert_verdict(check.problem_2_3(train, validation), "correct")
    assert_verdict(check.problem_2_3(train + 1, validation + 1), "correct")
    assert_verdict(check.problem_2_3(train, validation + 1), "wrong")
    assert_verdict(check.problem_2_3(validation, train), "wrong", "swapped")


def test_problem_2_4_accepts_both_test_losses():
    _, validation, per_epoch, (x_test, y_test) = problem_2_3_run()

    def test_mse(parameters):
        return ((parameters[0] * x_test + parameters[1] - y_test) ** 2).mean()

    final = test_mse(per_epoch[-1][2]).item()
    best = test_mse(per_epoch[validation][2]).item()
    assert_verdict(check.problem_2_4(final, best), "correct")
    assert_verdict(check.problem_2_4(rounded(final), rounded(best)), "correct")
    assert_verdict(
        check.problem_2_4(final, final + 0.002), "wrong", "clone", best
    )


def test_problem_2_5_accepts_only_the_figure_s_set():
    options = check.PROBLEM_2_5_OPTIONS
    verdicts = [check.problem_2_5(option) for option in options]
    assert sum(verdict.passed for verdict in verdicts) == 1
    assert_verdict(check.problem_2_5([0, 1, 2, 3]), "wrong", "μ > 1")
    assert_verdict(check.problem_2_5([0.5, 0.5]), "wrong", "one of the six")
