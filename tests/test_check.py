"""The self-checks accept every right answer, refuse wrong ones with a hint,
and never show the answer.

The right answers here are computed independently of ``check``: autograd in
float32 and float64 for Part I, and a plain training loop written below
(no package code) for Part II.
"""

from __future__ import annotations

import functools
import itertools
import math
import re

import numpy as np
import pytest
import torch

from autodiff_book import check
from autodiff_book.data import load_dataset
from tests.oracles import plain_sgd


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
        "backward() ran twice",
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


@functools.cache
def problem_2_1_run(seed: int = 0, evaluate=None):
    x, y = load_dataset()
    return plain_sgd(x, y, learning_rate=0.01, epochs=10, seed=seed,
                     evaluate=evaluate)


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

    # One epoch more than the problem's 150: the 151st shows that the checks
    # stop at 150 (the shuffle of the first 150 is the same either way).
    _, _, per_epoch = plain_sgd(
        x_train, y_train, learning_rate=0.001, epochs=151, seed=seed,
        evaluate=mses,
    )
    train = min(range(150), key=lambda k: per_epoch[k][0])
    validation = min(range(150), key=lambda k: per_epoch[k][1])
    return train, validation, per_epoch[:150], sets["test"], per_epoch[150]


def test_problem_2_3_accepts_both_conventions_not_a_mix():
    train, validation, *_ = problem_2_3_run()
    assert_verdict(check.problem_2_3(train, validation), "correct")
    assert_verdict(check.problem_2_3(train + 1, validation + 1), "correct")
    assert_verdict(check.problem_2_3(train, validation + 1), "wrong")
    assert_verdict(check.problem_2_3(validation, train), "wrong", "swapped")


def test_problem_2_4_accepts_both_test_losses():
    _, validation, per_epoch, (x_test, y_test), _ = problem_2_3_run()

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


# The full text of every verdict. A hint is a promise to the student: each
# table row pins a verdict's mark, problem, status and hint, for right
# answers just inside each tolerance, wrong ones just outside, every named
# mistake and every kind of bad input.

NOT_DONE = "replace the ... placeholder with your result and run again"
FINITE_DIFFERENCE = "not f'(2.0): compare with a finite difference"
NOT_DERIVATIVE = (
    "not the derivative at every point: compare with a finite difference "
    "at a few points"
)
MEAN_1_2 = (
    "the derivative divided by the number of points: the sum trick needs "
    ".sum(); .mean() scales every gradient by 1/N"
)
TWICE_1_2 = (
    "twice the derivative: backward() ran twice and .grad adds up; zero "
    "x.grad (or make x afresh) before backward()"
)
ADDED = (
    "the gradients of both components were added: .grad accumulates, so "
    "zero it between the two backward passes"
)
NOT_GRADIENT = "not the gradient: write trace(A @ A) as a double sum"
# Just inside the rounding tolerance, by less than float32 would drift.
EDGE = check.ROUNDED - 1e-9
FIRST_WRONG = "the first derivative is not right"
SECOND_WRONG = (
    "the second derivative is not right (backward needs create_graph=True "
    "to differentiate a derivative)"
)
FAR = (
    "far from the trained line: go through the loop step by step (zero the "
    "gradients, predict, the MSE, backward(), the update under "
    "torch.no_grad()) and check η and the number of epochs"
)
FLAT = (
    "predictions of shape (N,) against targets of shape (N, 1): their "
    "difference broadcasts to (N, N); give both the same shape"
)
NINE_EPOCHS = (
    "the parameters after nine epochs: range(1, 10) counts nine; train for "
    "ten"
)
RUNNING_TOTAL = (
    "each value is a running total of the losses so far: keep the loss of "
    "the batch itself, loss.item()"
)
CURVE_DIFFERS = (
    "the curve differs from this run: keep loss.item() of every batch, in "
    "order (pass seed=... if you used another seed)"
)
BROADCAST = (
    "the losses stay far too high: a (N,) tensor minus a (N, 1) tensor "
    "broadcasts to (N, N); give both the same shape"
)
OTHER_EPOCHS = (
    "not the epochs of this run: measure both MSEs over the whole training "
    "and validation sets after every epoch (pass seed=... if you used "
    "another seed)"
)
FINAL_WRONG = "the final parameters' test MSE is not right"
BEST_WRONG = (
    "the best-validation parameters' test MSE is not right: measure a copy "
    "(clone) of the parameters after the epoch of lowest validation MSE on "
    "the test set"
)
MIXED = (
    "one answer counts epochs from 0, the other from 1: use the same "
    "convention for both"
)


def close_hint(seed: int) -> str:
    return (
        "close, but not this run: start from zeros, train exactly 10 "
        f"epochs, and shuffle with a generator seeded {seed} (pass seed=... "
        "if you used another seed)"
    )


def says(problem: str, hint: str = "") -> str:
    """The text of a verdict: correct without a hint, wrong with one."""
    if not hint:
        return f"✔ Problem {problem}: correct."
    return f"✘ Problem {problem}: wrong. {hint}"


def assert_says(verdict, text: str):
    assert str(verdict) == text
    assert repr(verdict) == text
    assert verdict.passed == text.startswith("✔")


@pytest.mark.parametrize(
    ("status", "hint", "text"),
    [
        ("correct", "", "✔ Problem 9.9: correct."),
        ("not done", "fill it in", "… Problem 9.9: not done. fill it in"),
        ("wrong", "", "✘ Problem 9.9: wrong."),
        ("wrong", "look again", "✘ Problem 9.9: wrong. look again"),
    ],
)
def test_a_verdict_reads_mark_problem_status_and_hint(status, hint, text):
    verdict = check.Verdict("9.9", status, hint)
    assert str(verdict) == text
    assert repr(verdict) == text
    assert verdict.passed == (status == "correct")


def test_todo_names_what_is_left_to_do():
    with pytest.raises(check.NotDone, match=r"^not done yet: the loop$"):
        check.todo("the loop")
    assert issubclass(check.NotDone, NotImplementedError)


@pytest.mark.parametrize(
    "x", [-30.0, -2.0, -0.5, 0.0, 0.173, 0.5, 3.0, 30.0]
)
def test_the_closed_form_sigmoid_is_torch_s(x):
    expected = torch.sigmoid(torch.tensor(x, dtype=torch.float64)).item()
    assert check._sigmoid(x) == pytest.approx(expected, rel=1e-15, abs=0)


def test_the_closed_form_sigmoid_does_not_overflow():
    assert check._sigmoid(-800.0) == 0.0
    assert check._sigmoid(800.0) == 1.0


def part_one_answers():
    """Every Part I answer and trap, by autograd in float64."""
    f64 = torch.float64
    d = bump_derivative(f64).item()
    x = torch.tensor(2.0, dtype=f64)
    f_at_2 = (2 / ((5 - x) ** 2 + 2**2)).item()

    u = torch.tensor(1.376, dtype=f64, requires_grad=True)
    v = torch.tensor(2.123, dtype=f64, requires_grad=True)
    df1_dx, df1_dy = torch.autograd.grad(u**2 + v**2, (u, v))
    df2_dx, df2_dy = torch.autograd.grad(2 * u**2 * v**2, (u, v))

    gradient = trace_gradient(f64)
    first, second = sigmoid_derivatives(f64)
    sigma = torch.sigmoid(torch.tensor(0.173, dtype=f64)).item()
    return {
        "d": d, "f": f_at_2,
        "df1_dx": df1_dx.item(), "df1_dy": df1_dy.item(),
        "df2_dx": df2_dx.item(), "df2_dy": df2_dy.item(),
        "gradient": gradient, "first": first, "second": second,
        "sigma": sigma,
    }


def part_one_cases():
    """(call, expected text) for problems 1.1, 1.3, 1.4 and 1.5."""
    a = part_one_answers()
    d, g = a["d"], a["gradient"]
    d1, d2 = a["df1_dx"], a["df2_dy"]
    first, second = a["first"], a["second"]
    c11, c13 = check.problem_1_1, check.problem_1_3
    c14, c15 = check.problem_1_4, check.problem_1_5
    p11, p13, p14, p15 = "1.1", "1.3", "1.4", "1.5"
    other = "a derivative with respect to the other variable"
    sign = "the sign is off: check the chain rule through (5 - x)"
    itself = "that is f(2.0) itself: read x.grad after backward()"
    transpose = (
        "this is the transpose of the gradient: entry [i, j] is the "
        "derivative by A[i, j] (and f is trace(A @ A), not trace(A.T @ A))"
    )
    zeroed = (
        "the first derivative is 0: you kept a reference to x.grad and "
        "zeroed it; keep a copy (clone) or use autograd.grad"
    )
    carries = (
        "the second derivative carries the first one: .grad accumulated; "
        "zero it before the second backward pass"
    )
    import numpy as np

    return [
        # 1.1: inside and outside the rounding, the traps, bad input.
        (lambda: c11(d), says(p11)),
        (lambda: c11(torch.tensor(d)), says(p11)),
        (lambda: c11(torch.tensor([d])), says(p11)),
        (lambda: c11(np.float32(d)), says(p11)),
        (lambda: c11(rounded(d)), says(p11)),
        (lambda: c11(d + 5e-4), says(p11)),
        (lambda: c11(d - 5e-4), says(p11)),
        (lambda: c11(d + 0.001), says(p11, FINITE_DIFFERENCE)),
        (lambda: c11(d - 0.001), says(p11, FINITE_DIFFERENCE)),
        (lambda: c11(-d), says(p11, sign)),
        (lambda: c11(-d + 5e-4), says(p11, sign)),
        (lambda: c11(a["f"]), says(p11, itself)),
        (lambda: c11(a["f"] - 5e-4), says(p11, itself)),
        (lambda: c11("abc"), says(p11, "derivative should be a number, "
                                       "got str")),
        (lambda: c11(True), says(p11, "derivative should be a number, "
                                      "got bool")),
        (lambda: c11(torch.tensor(True)),
         says(p11, "derivative should be a number, got bool")),
        (lambda: c11(torch.ones(2)),
         says(p11, "derivative should be a single number, got a tensor of "
                   "shape (2,)")),
        (lambda: c11(np.ones((2, 1))),
         says(p11, "derivative should be a single number, got an array of "
                   "shape (2, 1)")),
        (lambda: c11(float("inf")),
         says(p11, "derivative is inf: something diverged or divided by 0")),
        (lambda: c11(float("nan")),
         says(p11, "derivative is nan: something diverged or divided by 0")),
        # 1.3: each mistake alone, both at once, bad input for each name.
        (lambda: c13(d1, d2), says(p13)),
        (lambda: c13(rounded(d1), rounded(d2)), says(p13)),
        (lambda: c13(d1 + 5e-4, d2 - 5e-4), says(p13)),
        (lambda: c13(a["df1_dy"], d2), says(p13, other)),
        (lambda: c13(d1, a["df2_dx"]), says(p13, other)),
        (lambda: c13(d1 + a["df2_dx"], d2), says(p13, ADDED)),
        (lambda: c13(d1, d2 + a["df1_dy"]), says(p13, ADDED)),
        (lambda: c13(d1 + 0.001, d2), says(p13, "df1_dx is not right")),
        (lambda: c13(d1, d2 - 0.001), says(p13, "df2_dy is not right")),
        (lambda: c13(d1 + 0.001, d2 + 0.001),
         says(p13, "df1_dx is not right; df2_dy is not right")),
        (lambda: c13("abc", d2),
         says(p13, "df1_dx should be a number, got str")),
        (lambda: c13(d1, "abc"),
         says(p13, "df2_dy should be a number, got str")),
        # 1.4
        (lambda: c14(g), says(p14)),
        (lambda: c14(g.float()), says(p14)),
        (lambda: c14(g.tolist()), says(p14)),
        (lambda: c14(g + 5e-4), says(p14)),
        (lambda: c14(g - 5e-4), says(p14)),
        (lambda: c14(g + 0.001), says(p14, NOT_GRADIENT)),
        (lambda: c14(g.T), says(p14, transpose)),
        (lambda: c14(g.T + 5e-4), says(p14, transpose)),
        (lambda: c14(g[0, 1].item()),
         says(p14, "pass the whole 2×2 gradient, not one element")),
        (lambda: c14(g.reshape(4)),
         says(p14, "gradient should have shape (2, 2), got (4,)")),
        (lambda: c14("abc"), says(p14, "gradient should be a tensor, "
                                       "got str")),
        # 1.5
        (lambda: c15(first, second), says(p15)),
        (lambda: c15(rounded(first), rounded(second)), says(p15)),
        (lambda: c15(first - 5e-4, second + 5e-4), says(p15)),
        (lambda: c15(0.0, second), says(p15, zeroed)),
        (lambda: c15(1.0, second), says(p15, FIRST_WRONG)),
        (lambda: c15(first, first + second), says(p15, carries)),
        # The accumulated second value names its mistake whatever the
        # first value is.
        (lambda: c15(first + 0.001, first + second), says(p15, carries)),
        (lambda: c15(a["sigma"], second), says(p15, "the first value is "
                                                    "σ(x), not σ'(x)")),
        (lambda: c15(first + 0.001, second), says(p15, FIRST_WRONG)),
        (lambda: c15(first, second - 0.001), says(p15, SECOND_WRONG)),
        (lambda: c15(first + 0.001, second + 0.001),
         says(p15, f"{FIRST_WRONG}; {SECOND_WRONG}")),
        (lambda: c15("abc", second),
         says(p15, "first should be a number, got str")),
        (lambda: c15(first, "abc"),
         says(p15, "second should be a number, got str")),
    ]


def test_a_mistakes_pair_at_the_rounding_edge_gets_its_hint():
    # Just inside the rounding, on either side: the mistaken procedure
    # runs in float64 like the reference (in float32 it drifts by 2e-6,
    # and one side falls outside). The cache is cleared so that the
    # procedure runs here, whichever test ran it first.
    check._problem_1_3_mistakes.cache_clear()
    a = part_one_answers()
    other = "a derivative with respect to the other variable"
    for sign in (1, -1):
        verdict = check.problem_1_3(a["df1_dy"] + sign * EDGE,
                                    a["df2_dx"] + sign * EDGE)
        assert str(verdict) == says("1.3", other), sign


def test_part_one_verdicts_in_full():
    for index, (call, text) in enumerate(part_one_cases()):
        assert str(call()) == text, index


def sum_trick(x):
    return sigmoid_by_sum_trick(torch.as_tensor(x, dtype=torch.float64))


def test_problem_1_2_verdicts_in_full():
    x = torch.arange(-5, 5, 0.1)
    right = sigmoid_by_sum_trick(x)
    mean = right / len(x)
    sigma = torch.sigmoid(x.double())
    two = torch.tensor([-5.0, 4.0])
    edge = torch.tensor([-5 + 1e-6, 4.0], dtype=torch.float64)
    wider = torch.tensor([-5.5, 4.0])
    not_1d = "x should be a 1-D range of points"
    short = "x should run over the range -5 ... 5 of the problem"
    cases = [
        ((x, right), ""),
        ((x.tolist(), right.tolist()), ""),
        ((x, right + 9e-6), ""),
        ((two, sum_trick(two)), ""),
        ((edge, sum_trick(edge)), ""),
        ((wider, sum_trick(wider)), ""),
        ((x, sigma), "that is the sigmoid itself, not its derivative"),
        ((x, sigma + 9e-6), "that is the sigmoid itself, not its derivative"),
        ((x, sigma + 2e-5), NOT_DERIVATIVE),
        ((x, right + 2e-5), NOT_DERIVATIVE),
        ((x, 2 * right), TWICE_1_2),
        ((x, 2 * right + 9e-6), TWICE_1_2),
        ((x, 2 * right + 2e-5), NOT_DERIVATIVE),
        # .mean(): within 1e-7 absolute (the smallest entry is 7e-5) and
        # 0.1 % relative of the derivative over N, and just beyond.
        ((x, mean), MEAN_1_2),
        ((x, mean + 9e-8), MEAN_1_2),
        ((x, mean * 1.0005), MEAN_1_2),
        ((x, mean * 1.002), NOT_DERIVATIVE),
        ((x, right[:-1]), "derivative should have shape (100,), got (99,)"),
        ((x, "abc"), "derivative should be a tensor, got str"),
        (("abc", right), "x should be a tensor, got str"),
        ((x, right.to(torch.complex64)),
         "derivative should be a tensor of real numbers, got "
         "torch.complex64"),
        ((x > 0, right), "x should be a tensor of real numbers, got "
         "torch.bool"),
        ((x.reshape(10, 10), right.reshape(10, 10)), not_1d),
        ((torch.tensor(-5.0), torch.tensor(0.0)), not_1d),
        ((torch.tensor([-5.0]), torch.tensor([0.0])), not_1d),
        ((torch.tensor([-4.5, 4.0]), sum_trick([-4.5, 4.0])), short),
        ((torch.tensor([-5.0, 3.9]), sum_trick([-5.0, 3.9])), short),
    ]
    for index, (answers, hint) in enumerate(cases):
        assert str(check.problem_1_2(*answers)) == says("1.2", hint), index


def placeholder_calls(placeholder):
    """Every check with a placeholder in each argument in turn."""
    x, a = torch.arange(-5, 5, 0.1), 0.2
    return [
        ("1.1", lambda: check.problem_1_1(placeholder)),
        ("1.2", lambda: check.problem_1_2(x, placeholder)),
        ("1.2", lambda: check.problem_1_2(placeholder, x)),
        ("1.3", lambda: check.problem_1_3(placeholder, a)),
        ("1.3", lambda: check.problem_1_3(a, placeholder)),
        ("1.4", lambda: check.problem_1_4(placeholder)),
        ("1.5", lambda: check.problem_1_5(placeholder, a)),
        ("1.5", lambda: check.problem_1_5(a, placeholder)),
        ("2.1", lambda: check.problem_2_1(placeholder, a)),
        ("2.1", lambda: check.problem_2_1(a, placeholder)),
        ("2.2", lambda: check.problem_2_2(placeholder)),
        ("2.3", lambda: check.problem_2_3(placeholder, 3)),
        ("2.3", lambda: check.problem_2_3(3, placeholder)),
        ("2.4", lambda: check.problem_2_4(placeholder, a)),
        ("2.4", lambda: check.problem_2_4(a, placeholder)),
        ("2.5", lambda: check.problem_2_5(placeholder)),
    ]


@pytest.mark.parametrize("placeholder", [..., None])
def test_every_placeholder_is_not_done_in_full(placeholder):
    for problem, call in placeholder_calls(placeholder):
        assert str(call()) == f"… Problem {problem}: not done. {NOT_DONE}"


@pytest.mark.parametrize("seed", [True, -1, 1.0, "0", None])
@pytest.mark.parametrize(
    "call",
    [
        lambda seed: check.problem_2_1(0.0, 0.0, seed=seed),
        lambda seed: check.problem_2_2([0.0], seed=seed),
        lambda seed: check.problem_2_3(0, 0, seed=seed),
        lambda seed: check.problem_2_4(0.0, 0.0, seed=seed),
    ],
)
def test_every_training_check_refuses_a_bad_seed(call, seed):
    message = (
        "seed must be the non-negative integer that seeds your "
        f"DataLoader's generator, got {seed!r}"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        call(seed)


def test_problem_2_1_verdicts_in_full():
    (slope, bias), _, per_epoch = problem_2_1_run(
        evaluate=lambda parameters: parameters.tolist()
    )
    (slope_7, bias_7), _, _ = problem_2_1_run(seed=7)
    s, b = slope.item(), bias.item()
    # After nine epochs: a mistake has both numbers, or it is not named.
    nine_s, nine_b = per_epoch[8]
    assert min(abs(nine_s - s), abs(nine_b - b)) > check.ROUNDED
    assert max(abs(nine_s - s), abs(nine_b - b)) < 0.04
    cases = [
        ((s, b), {}, ""),
        ((slope, bias), {}, ""),
        ((rounded(s), rounded(b)), {}, ""),
        ((s + 5e-4, b - 5e-4), {}, ""),
        ((slope_7, bias_7), {"seed": 7}, ""),
        ((s + 0.001, b), {}, close_hint(0)),
        ((s, b - 0.001), {}, close_hint(0)),
        ((s + 0.049, b), {}, close_hint(0)),
        ((s - 0.049, b), {}, close_hint(0)),
        ((s, b + 0.049), {}, close_hint(0)),
        ((s, b - 0.049), {}, close_hint(0)),
        ((s, b), {"seed": 7}, close_hint(7)),
        ((s + 0.051, b), {}, FAR),
        ((s, b - 0.051), {}, FAR),
        ((0.0, 0.0), {}, FAR),
        ((nine_s, nine_b), {}, NINE_EPOCHS),
        ((nine_s, b), {}, close_hint(0)),
        ((s, nine_b), {}, close_hint(0)),
        (("abc", b), {}, "slope should be a number, got str"),
        ((s, "abc"), {}, "bias should be a number, got str"),
    ]
    for index, (answers, seed, hint) in enumerate(cases):
        verdict = check.problem_2_1(*answers, **seed)
        assert str(verdict) == says("2.1", hint), index


def boundary_index(losses):
    """A loss whose distance to one float is exactly the tolerance."""
    for index, expected in enumerate(losses):
        tolerance = 1e-4 + 1e-4 * abs(expected)
        if abs((expected + tolerance) - expected) == tolerance:
            return index, expected + tolerance
    raise AssertionError("no loss sits exactly on its tolerance")


def test_problem_2_2_verdicts_in_full():
    _, losses, _ = problem_2_1_run()
    x, y = load_dataset()
    _, broadcast, _ = plain_sgd(
        x[:, 0], y, learning_rate=0.01, epochs=10, seed=0
    )
    top = 10 * max(losses[-32:])
    edge, on_edge = boundary_index(losses)

    def with_last(value, *, before=None):
        head = losses[:288] if before is None else [*losses[:287], before]
        return [*head, *[value] * 32]

    def nudged(factor):
        expected = losses[-1]
        step = factor * (1e-4 + 1e-4 * abs(expected))
        return [*losses[:-1], expected + step]

    assert abs(losses[-1]) < 0.5  # where 1e-4/|e| and 1e-4 * |e| differ
    cases = [
        (losses, ""),
        ([torch.tensor(value) for value in losses], ""),
        ([*losses[:edge], on_edge, *losses[edge + 1:]], ""),
        (nudged(0.9), ""),
        (nudged(-0.9), ""),
        (nudged(1.1), CURVE_DIFFERS),
        (nudged(-1.1), CURVE_DIFFERS),
        (losses[::-1], CURVE_DIFFERS),
        (broadcast, FLAT),
        (with_last(1.05 * top), BROADCAST),
        (with_last(top), CURVE_DIFFERS),
        (with_last(2 * top, before=0.0), BROADCAST),
        (losses[:-1], "expected one loss per update, 320 in all "
                      "(10 epochs of batches of 32), got 319"),
        (losses[:10], "10 values, one per epoch: keep the loss of every "
                      "update (every batch), 320 in all"),
        (list(itertools.accumulate(losses)), RUNNING_TOTAL),
        ([total for k in range(0, 320, 32)
          for total in itertools.accumulate(losses[k:k + 32])],
         RUNNING_TOTAL),
        ([*losses[:5], math.inf, *losses[6:]],
         "the losses turn inf or nan at update 5 (from 0): the run "
         "diverged; is the learning rate 0.01?"),
        (iter(losses), ""),
        ([*losses, 0.1], "expected one loss per update, 320 in all "
                         "(10 epochs of batches of 32), got 321"),
        (0.5, "losses should be a list of numbers"),
        (["abc"], "losses should be a list of numbers"),
    ]
    for index, (answer, hint) in enumerate(cases):
        assert str(check.problem_2_2(answer)) == says("2.2", hint), index


def test_problem_2_2_reads_an_iterator_up_to_max_entries(monkeypatch):
    # An endless iterator must not hang the check: it is read up to
    # MAX_ENTRIES values (lowered here from 100,000 to keep this fast); a
    # list, whose length is known, is read in full.
    monkeypatch.setattr(check, "MAX_ENTRIES", 400)
    _, losses, _ = problem_2_1_run()
    longer = [*losses, *[0.1] * 81]
    expected = (
        "expected one loss per update, 320 in all (10 epochs of batches of "
        "32), got {}"
    )
    assert str(check.problem_2_2(iter(longer))) == says(
        "2.2", expected.format(400)
    )
    assert str(check.problem_2_2(itertools.repeat(0.1))) == says(
        "2.2", expected.format(400)
    )
    assert str(check.problem_2_2(longer)) == says("2.2", expected.format(401))


def test_problem_2_2_compares_the_last_epoch_only():
    # With seed 4 the last batch of epoch 9 has a larger loss than every
    # batch of epoch 10: only the last 32 losses set the broadcast bound.
    x, y = load_dataset()
    _, losses, _ = plain_sgd(x, y, learning_rate=0.01, epochs=10, seed=4)
    assert losses[-33] > 1.1 * max(losses[-32:])
    answer = [*losses[:288], *[10.5 * max(losses[-32:])] * 32]
    assert str(check.problem_2_2(answer, seed=4)) == says("2.2", BROADCAST)


def test_problem_2_3_verdicts_in_full():
    t, v, *_ = problem_2_3_run()
    assert abs(t - v) > 3  # else the shifted answers below could collide
    swapped = "the two answers are swapped"
    cases = [
        ((t, v), ""),
        ((t + 1, v + 1), ""),
        ((float(t), torch.tensor(v)), ""),
        ((v, t), swapped),
        ((v + 1, t + 1), swapped),
        ((t, v + 1), MIXED),
        ((t + 1, v), MIXED),
        ((t - 2, v + 1), OTHER_EPOCHS),
        ((t + 2, v + 1), OTHER_EPOCHS),
        ((t + 1, v - 1), OTHER_EPOCHS),
        ((t + 1, v + 2), OTHER_EPOCHS),
        ((v - 1, t + 1), OTHER_EPOCHS),
        ((v + 2, t + 1), OTHER_EPOCHS),
        ((v + 1, t - 1), OTHER_EPOCHS),
        ((v + 1, t + 2), OTHER_EPOCHS),
        (("abc", v), "train_epoch should be a number, got str"),
        ((t, "abc"), "validation_epoch should be a number, got str"),
        ((True, v), "train_epoch should be a number, got bool"),
    ]
    for index, (answers, hint) in enumerate(cases):
        assert str(check.problem_2_3(*answers)) == says("2.3", hint), index


def test_problem_2_4_verdicts_in_full():
    _, validation, per_epoch, (x_test, y_test), after = problem_2_3_run()

    def test_mse(parameters):
        residual = parameters[0] * x_test + parameters[1] - y_test
        return (residual**2).mean().item()

    final = test_mse(per_epoch[-1][2])
    best = test_mse(per_epoch[validation][2])
    # Just inside the rounding, on the side away from a 151st epoch.
    drift = test_mse(after[2]) - final
    assert 1e-5 < abs(drift) < 1e-4
    inside = -math.copysign(check.ROUNDED - abs(drift) / 2, drift)
    assert abs(final - best) > 0.002
    cases = [
        ((final, best), ""),
        ((rounded(final), rounded(best)), ""),
        ((final + inside, best), ""),
        ((final, best - 5e-4), ""),
        ((final + 0.001, best), FINAL_WRONG),
        ((final, best + 0.001), BEST_WRONG),
        ((final - 0.001, best - 0.001), f"{FINAL_WRONG}; {BEST_WRONG}"),
        ((best, final), f"{FINAL_WRONG}; {BEST_WRONG}"),
        ((best, best), FINAL_WRONG),
        (("abc", best), "final_test_mse should be a number, got str"),
        ((final, "abc"), "best_test_mse should be a number, got str"),
    ]
    for index, (answers, hint) in enumerate(cases):
        assert str(check.problem_2_4(*answers)) == says("2.4", hint), index


def test_problem_2_5_verdicts_in_full():
    figure = check.problem_2_5_momenta()
    grows = "with μ > 1 the loss grows without bound: no such curve"
    compare = (
        "compare the slowest and fastest curves with the effective step "
        "1/(1 - μ)"
    )
    aliased = (
        "with these values the curves look like the figure's if the "
        "momentum buffer is the gradient tensor itself: buffer = "
        "parameters.grad without clone() is overwritten by grad.zero_() and "
        "backward(), so each step moves by 2μ times the gradient; keep "
        "buffer = parameters.grad.clone()"
    )
    ((picked, _),) = check._momentum_mistakes()
    for option in check.PROBLEM_2_5_OPTIONS:
        if option == figure:
            hint = ""
        elif max(option) > 1.0:
            hint = grows
        elif option == picked:
            hint = aliased
        else:
            hint = compare
        assert str(check.problem_2_5(option)) == says("2.5", hint), option
        assert str(check.problem_2_5(list(option))) == says("2.5", hint)
    # Every wrong option that stays within 0 <= μ <= 1 gets the comparison.
    assert {check.problem_2_5(option).hint
            for option in check.PROBLEM_2_5_OPTIONS
            if option not in (figure, picked) and max(option) <= 1.0
            } == {compare}
    # float32's rounding (and any change beyond the sixth decimal) is
    # forgiven, a change in the sixth decimal is not.
    assert str(check.problem_2_5(torch.tensor(figure))) == says("2.5")
    one_of = "give one of the six sets of the problem, in its order"
    for answer, hint in [
        ([value + 4e-7 for value in figure], ""),
        ([value + 4e-6 for value in figure], one_of),
        (figure[::-1], one_of),
        ([0.5, 0.5], one_of),
        (0.5, "momenta should be a sequence of numbers"),
        (["abc"], "momenta should be a sequence of numbers"),
    ]:
        assert str(check.problem_2_5(answer)) == says("2.5", hint), answer


def test_three_way_split_of_ten_samples_in_one_dimension():
    # Ten samples are the fewest: 8, 1 and 1; a flat tensor is fine.
    sets = check.three_way_split(torch.arange(10.0), torch.arange(10.0))
    sizes = [len(sets[part][0]) for part in ("train", "validation", "test")]
    assert sizes == [8, 1, 1]


def test_three_way_split_is_80_10_10_with_random_state_42_twice():
    # sklearn's train_test_split shuffles with
    # RandomState(random_state).permutation(n) and takes the first
    # ceil(test_size * n) indices as the test part, the rest for training.
    import numpy as np

    x, y = load_dataset()
    first = np.random.RandomState(42).permutation(1000)
    rest, train = first[:200], first[200:]
    second = np.random.RandomState(42).permutation(200)
    validation, test = rest[second[100:]], rest[second[:100]]
    sets = check.three_way_split(x, y)
    assert list(sets) == ["train", "validation", "test"]
    for name, index in [
        ("train", train), ("validation", validation), ("test", test)
    ]:
        part_x, part_y = sets[name]
        assert part_x.shape == (len(index), 1)
        assert torch.equal(part_x, x[torch.from_numpy(index)])
        assert torch.equal(part_y, y[torch.from_numpy(index)])


# Hostile input, round 2 (issue 24): every answer a student can type gets
# a verdict, and a verdict for a wrong type says which type is expected.


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        ("0.071", "derivative should be a number, got str"),
        (b"0.071", "derivative should be a number, got bytes"),
        (0.071 + 0j, "derivative should be a real number, got complex"),
        (0.071 + 1j, "derivative should be a real number, got complex"),
        (np.complex128(0.071 + 1j),
         "derivative should be a real number, got complex"),
        (torch.tensor(0.071 + 1j),
         "derivative should be a real number, got complex"),
        (10**400, "derivative is too large for a float: an int of 1329 "
                  "bits"),
        (torch.zeros((), device="meta"), "derivative should be a number, "
                                         "got a meta tensor"),
        (torch.zeros(1).to_sparse(), "derivative should be a number, "
                                     "got a sparse tensor"),
        (np.array(["0.071"]), "derivative should be a number, got str"),
    ],
)
def test_problem_1_1_refuses_what_is_not_a_number(answer, hint):
    verdict = check.problem_1_1(answer)
    assert (verdict.status, verdict.hint) == ("wrong", hint)


def test_numpy_numbers_are_numbers():
    d = bump_derivative(torch.float64).item()
    for answer in (np.float64(d), np.float32(d), np.array(d), np.array([d])):
        assert check.problem_1_1(answer).passed, answer


@pytest.mark.parametrize(
    "call",
    [
        lambda: check.problem_1_1(10**400),
        lambda: check.problem_1_3(10**400, 0.0),
        lambda: check.problem_1_5(0.1, -(10**400)),
        lambda: check.problem_2_1(10**400, 0.0),
        lambda: check.problem_2_3(0, 10**400),
        lambda: check.problem_2_4(10**400, 0.0),
        lambda: check.problem_2_5([0.0, 0.5, 0.9, 10**400]),
        lambda: check.problem_2_2([10**400] * 320),
        lambda: check.problem_1_4([[10**400, 0], [0, 0]]),
    ],
)
def test_huge_integers_get_a_verdict_not_an_overflow_error(call):
    verdict = call()
    assert verdict.status == "wrong"
    assert "too large" in verdict.hint or "should be" in verdict.hint


def test_a_diverged_run_is_told_it_diverged_not_that_it_broadcast():
    verdict = check.problem_2_2([math.inf] * 320)
    assert verdict.status == "wrong"
    assert "diverged" in verdict.hint and "broadcast" not in verdict.hint
    nan_late = [1.0] * 300 + [math.nan] * 20
    assert "update 300 (from 0)" in check.problem_2_2(nan_late).hint


@pytest.mark.parametrize(
    "losses", ["1" * 320, b"1" * 320, {k: 1.0 for k in range(320)},
               torch.tensor(1.0), iter(["1.0"] * 320)],
)
def test_problem_2_2_refuses_text_and_mappings_as_losses(losses):
    verdict = check.problem_2_2(losses)
    assert (verdict.status, verdict.hint) == (
        "wrong", "losses should be a list of numbers"
    )


@pytest.mark.parametrize(
    "momenta", ["0159", (0.0, "0.5", 0.9, 1.0), {0.0: 1, 0.5: 1}],
)
def test_problem_2_5_refuses_text_and_mappings_as_momenta(momenta):
    verdict = check.problem_2_5(momenta)
    assert (verdict.status, verdict.hint) == (
        "wrong", "momenta should be a sequence of numbers"
    )


@pytest.mark.parametrize("seed", [np.int64(0), 0])
def test_a_numpy_seed_is_a_seed(seed):
    assert check._seed(seed) == 0 and type(check._seed(seed)) is int


def test_a_seed_beyond_64_bits_is_refused_by_name():
    with pytest.raises(ValueError, match="^seed must be the non-negative"):
        check.problem_2_1(0.0, 0.0, seed=2**64)
    # The largest seed a generator takes is one.
    assert check._seed(2**64 - 1) == 2**64 - 1


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: check.Verdict("1.1", "right"), ValueError,
         "^status must be one of correct, not done, wrong, got 'right'$"),
        (lambda: check.Verdict(1.1, "correct"), TypeError,
         "^problem must be a str, got float$"),
        (lambda: check.Verdict("1.1", "wrong", None), TypeError,
         "^hint must be a str, got NoneType$"),
        (lambda: check.todo(None), TypeError, "task must be a str"),
        (lambda: check.todo(3), TypeError, "^task must be a str, got int$"),
        (lambda: check.three_way_split(torch.zeros(5, 1), torch.zeros(5, 1)),
         ValueError, "x must hold at least 10 samples"),
        (lambda: check.three_way_split(torch.zeros(20, 1),
                                       torch.zeros(19, 1)),
         ValueError, "x has 20 samples but y has 19"),
        (lambda: check.three_way_split(torch.zeros(20), torch.zeros(9)),
         ValueError,
         re.escape("y must hold at least 10 samples, so that each of the "
                   "three sets gets one, got shape (9,)") + "$"),
        (lambda: check.three_way_split([0.0] * 20, torch.zeros(20, 1)),
         TypeError, "x must be a torch.Tensor"),
    ],
)
def test_hostile_arguments_get_the_packages_own_error(call, error, match):
    with pytest.raises(error, match=match):
        call()
