"""Self-checks for the problem set: is a student's answer right?

Each ``problem_*`` function takes what a student computed, recomputes the
reference from closed forms or from the package and the data, and returns a
``Verdict``: correct, not done yet, or wrong with a hint. A wrong answer is
compared with what each mistake students make gives, the mistaken
procedure run here on the problem's own data (cached, so each runs once),
and the hint names the mistake it matches. A verdict never
contains the reference answer, so a starter notebook that calls the checks
gives nothing away. Answers may be Python numbers or tensors, float32 or
float64; a number rounded to three decimals, as the problem set reports
them, is accepted.
"""

from __future__ import annotations

import functools
import itertools
import math
import numbers
import warnings
from collections.abc import Iterable, Mapping, Sequence, Sized
from dataclasses import dataclass

import numpy as np
import torch

from autodiff_book.checks import NOT_REAL, SEED_RANGE, check_tensor, shown

# Half a unit of the third decimal, plus room for float32 rounding: an
# answer rounded to three decimals passes, one off by 0.001 does not.
ROUNDED = 6e-4

NOT_DONE_HINT = "replace the ... placeholder with your result and run again"


class NotDone(NotImplementedError):
    """A starter notebook's placeholder that the student has not filled in."""


def todo(task: str):
    """Stand for code the student writes; raise ``NotDone`` naming it.

    Starter notebooks call it where a solution was, so running an
    unfinished cell says what is left to do instead of failing somewhere
    further down with an unrelated error.
    """
    if not isinstance(task, str):
        raise TypeError(f"task must be a str, got {type(task).__name__}")
    raise NotDone(f"not done yet: {task}")


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check: ``passed`` and what to tell the student."""

    problem: str
    status: str  # "correct", "not done" or "wrong"
    hint: str = ""

    def __post_init__(self) -> None:
        for name in ("problem", "hint"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(
                    f"{name} must be a str, got "
                    f"{type(getattr(self, name)).__name__}"
                )
        if not isinstance(self.status, str) or self.status not in STATUSES:
            raise ValueError(
                f"status must be one of {', '.join(STATUSES)}, got "
                f"{shown(self.status)}"
            )

    @property
    def passed(self) -> bool:
        return self.status == "correct"

    def __str__(self) -> str:
        mark = {"correct": "✔", "not done": "…", "wrong": "✘"}[self.status]
        text = f"{mark} Problem {self.problem}: {self.status}"
        return f"{text}. {self.hint}" if self.hint else f"{text}."

    def __repr__(self) -> str:
        return str(self)


STATUSES = ("correct", "not done", "wrong")


class _Wrong(Exception):
    """Raised inside a check to return a "wrong" verdict with a hint."""


def _not_done(*answers) -> bool:
    return any(answer is ... or answer is None for answer in answers)


def _scalar(name: str, value):
    """The Python number in a one-element tensor or array; others as given.

    Raises ``_Wrong`` for a tensor or array that is not a single number.
    """
    if isinstance(value, torch.Tensor):
        if value.is_meta or value.layout != torch.strided:
            kind = "meta" if value.is_meta else "sparse"
            raise _Wrong(f"{name} should be a number, got a {kind} tensor")
        size, kind = value.numel(), "a tensor"
    elif isinstance(value, np.ndarray):
        size, kind = value.size, "an array"
    else:
        return value
    if size != 1:
        raise _Wrong(
            f"{name} should be a single number, got {kind} of shape "
            f"{tuple(value.shape)}"
        )
    return value.item()


def _real(name: str, value) -> float:
    """``value`` as a float (maybe inf or nan), or ``_Wrong`` naming why."""
    value = _scalar(name, value)
    # A bool is an int to Python, and float(True) is 1.0; "0.071" would
    # pass float() too. Only numbers are numbers.
    if isinstance(value, bool | np.bool_):
        raise _Wrong(f"{name} should be a number, got bool")
    if isinstance(value, numbers.Complex) and not isinstance(
        value, numbers.Real
    ):
        raise _Wrong(f"{name} should be a real number, got complex")
    if not isinstance(value, numbers.Real):
        raise _Wrong(f"{name} should be a number, got {type(value).__name__}")
    try:
        return float(value)
    except OverflowError:
        raise _Wrong(
            f"{name} is too large for a float: {shown(value)}"
        ) from None


def _number(name: str, value) -> float:
    """A student's scalar answer as a float, or a hint why it is not one."""
    value = _real(name, value)
    if not math.isfinite(value):
        raise _Wrong(f"{name} is {value}: something diverged or divided by 0")
    return value


def _tensor(name: str, value, shape: tuple[int, ...] | None) -> torch.Tensor:
    """A student's array answer as a float64 tensor of the expected shape.

    ``shape=None`` accepts any shape.
    """
    if not isinstance(value, torch.Tensor):
        try:
            if isinstance(value, str | bytes):
                raise TypeError  # torch would read text as numbers
            value = torch.as_tensor(value)
        except (TypeError, ValueError, RuntimeError, OverflowError):
            raise _Wrong(
                f"{name} should be a tensor, got {type(value).__name__}"
            ) from None
    if value.is_meta or value.layout != torch.strided:
        raise _Wrong(f"{name} should be a tensor with data, got a "
                     f"{'meta' if value.is_meta else 'sparse'} tensor")
    if value.dtype in NOT_REAL:
        raise _Wrong(
            f"{name} should be a tensor of real numbers, got {value.dtype}"
        )
    if shape is not None and tuple(value.shape) != shape:
        raise _Wrong(
            f"{name} should have shape {shape}, got {tuple(value.shape)}"
        )
    return value.detach().to(torch.float64)


def _close(answer: float, reference: float, tolerance: float = ROUNDED):
    return abs(answer - reference) <= tolerance


def _judge(problem: str, check, *answers) -> Verdict:
    if _not_done(*answers):
        return Verdict(problem, "not done", NOT_DONE_HINT)
    try:
        hint = check(*answers)
    except _Wrong as wrong:
        return Verdict(problem, "wrong", str(wrong))
    if hint:
        return Verdict(problem, "wrong", hint)
    return Verdict(problem, "correct")


# Part I: closed forms, in float64. A wrong answer is compared with what
# each mistake students make gives when it is run: the procedure is
# written out below with autograd, mistake and all, so that the hint names
# the mistake whose result the student reports.


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1 / (1 + math.exp(-x))
    return math.exp(x) / (1 + math.exp(x))


def _leaf(value: float) -> torch.Tensor:
    return torch.tensor(value, dtype=torch.float64, requires_grad=True)


@functools.cache
def _problem_1_1_mistakes() -> tuple[tuple[float, str], ...]:
    """f'(2.0) as three mistaken procedures compute it, with their hints."""
    x = _leaf(2.0)
    # backward() run twice (a cell run again) without zeroing x.grad.
    bump = 2 / ((5 - x) ** 2 + 2**2)
    bump.backward(retain_graph=True)
    bump.backward()
    twice = x.grad.item()
    # The denominator without its parentheses: 2 / (5 - x)**2 + 2**2.
    x = _leaf(2.0)
    (2 / (5 - x) ** 2 + 2**2).backward()
    unbracketed = x.grad.item()
    return (
        (twice, "twice f'(2.0): backward() ran twice and .grad adds up; "
                "zero x.grad (or make x afresh) before each backward()"),
        (unbracketed, "that is the derivative of 2 / (5 - x)**2 + 2**2: "
                      "put the whole denominator in parentheses"),
    )


def problem_1_1(derivative) -> Verdict:
    """f'(2.0) for f(x) = 2 / ((5 - x)^2 + 2^2)."""

    def check(derivative):
        value = _number("derivative", derivative)
        reference = 4 * 3.0 / (3.0**2 + 4) ** 2
        if _close(value, 2 / (3.0**2 + 4)):
            return "that is f(2.0) itself: read x.grad after backward()"
        if _close(value, -reference):
            return "the sign is off: check the chain rule through (5 - x)"
        if _close(value, reference):
            return ""
        for result, hint in _problem_1_1_mistakes():
            if _close(value, result):
                return hint
        return "not f'(2.0): compare with a finite difference"

    return _judge("1.1", check, derivative)


def problem_1_2(x, derivative) -> Verdict:
    """The sigmoid's derivative at every point of ``x`` (the sum trick)."""

    def check(x, derivative):
        inputs = _tensor("x", x, None)
        if inputs.ndim != 1 or inputs.numel() < 2:
            raise _Wrong("x should be a 1-D range of points")
        if inputs.min() > -5 + 1e-6 or inputs.max() < 4:
            return "x should run over the range -5 ... 5 of the problem"
        values = _tensor("derivative", derivative, tuple(inputs.shape))
        sigma = torch.sigmoid(inputs)
        if torch.allclose(values, sigma, atol=1e-5):
            return "that is the sigmoid itself, not its derivative"
        if torch.allclose(values, sigma * (1 - sigma), atol=1e-5):
            return ""
        # The sum trick run twice without zeroing, and with mean().
        points = inputs.clone().requires_grad_(True)
        curve = torch.sigmoid(points)
        curve.sum().backward(retain_graph=True)
        curve.sum().backward(retain_graph=True)
        if torch.allclose(values, points.grad, atol=1e-5):
            return (
                "twice the derivative: backward() ran twice and .grad adds "
                "up; zero x.grad (or make x afresh) before backward()"
            )
        points.grad = None
        curve.mean().backward()
        if torch.allclose(values, points.grad, atol=1e-7, rtol=1e-3):
            return (
                "the derivative divided by the number of points: the sum "
                "trick needs .sum(); .mean() scales every gradient by 1/N"
            )
        return (
            "not the derivative at every point: compare with a finite "
            "difference at a few points"
        )

    return _judge("1.2", check, x, derivative)


PROBLEM_1_3_POINT = (1.376, 2.123)


@functools.cache
def _problem_1_3_mistakes() -> tuple[tuple[float, float, str], ...]:
    """(df1_dx, df2_dy) as mistaken procedures report them, with hints."""

    def passes(*, zero: bool, copy: bool):
        # f1.backward(), read df1_dx, (zero .grad,) f2.backward(), read
        # df2_dy: as a student writes it, with or without each fix.
        x, y = (_leaf(v) for v in PROBLEM_1_3_POINT)
        f = torch.stack([x**2 + y**2, 2 * x**2 * y**2])
        f[0].backward(retain_graph=True)
        df1_dx = x.grad.clone() if copy else x.grad
        if zero:
            x.grad.zero_()
            y.grad.zero_()
        f[1].backward()
        return df1_dx.item(), y.grad.item()

    x, y = (_leaf(v) for v in PROBLEM_1_3_POINT)
    (df1_dy,) = torch.autograd.grad(x**2 + y**2, y)
    (df2_dx,) = torch.autograd.grad(2 * x**2 * y**2, x)
    added = (
        "the gradients of both components were added: .grad accumulates, "
        "so zero it between the two backward passes"
    )
    return (
        (*passes(zero=False, copy=False), added),
        (*passes(zero=False, copy=True), added),
        (*passes(zero=True, copy=False),
         "df1_dx is a derivative of the second component: df1_dx = x.grad "
         "is the same tensor, which the next backward pass changed; keep a "
         "copy (.item() or .clone())"),
        (df1_dy.item(), df2_dx.item(),
         "a derivative with respect to the other variable"),
    )


def problem_1_3(df1_dx, df2_dy) -> Verdict:
    """∂f₁/∂x and ∂f₂/∂y of f = [x² + y², 2x²y²] at (1.376, 2.123)."""

    def check(df1_dx, df2_dy):
        x, y = PROBLEM_1_3_POINT
        first = _number("df1_dx", df1_dx)
        second = _number("df2_dy", df2_dy)
        right = (_close(first, 2 * x), _close(second, 4 * x**2 * y))
        if all(right):
            return ""
        mistakes = _problem_1_3_mistakes()
        # Both answers as one mistake gives them, then each alone.
        for mistaken_first, mistaken_second, hint in mistakes:
            if _close(first, mistaken_first) and _close(
                second, mistaken_second
            ):
                return hint
        for mistaken_first, mistaken_second, hint in mistakes:
            if (_close(first, mistaken_first) and right[1]) or (
                right[0] and _close(second, mistaken_second)
            ):
                return hint
        hints = []
        if not right[0]:
            hints.append("df1_dx is not right")
        if not right[1]:
            hints.append("df2_dy is not right")
        return "; ".join(hints)

    return _judge("1.3", check, df1_dx, df2_dy)


PROBLEM_1_4_MATRIX = ((1.0, 2.0), (3.0, 4.0))


@functools.cache
def _problem_1_4_mistakes() -> tuple[tuple[torch.Tensor, str], ...]:
    """The 2×2 gradient as mistaken procedures compute it, with hints."""

    def gradient(function, passes=1):
        a = torch.tensor(PROBLEM_1_4_MATRIX, dtype=torch.float64)
        a.requires_grad_(True)
        value = function(a)
        for _ in range(passes):
            value.backward(retain_graph=True)
        return a.grad

    return (
        (gradient(lambda a: torch.trace(a.T @ a)),
         "this is the transpose of the gradient: entry [i, j] is the "
         "derivative by A[i, j] (and f is trace(A @ A), not "
         "trace(A.T @ A))"),
        (gradient(lambda a: torch.trace(a * a)),
         "that is the gradient of trace(A * A): * multiplies element by "
         "element; the matrix product is A @ A"),
        (gradient(lambda a: (a @ a).sum()),
         "that is the gradient of the sum of all entries of A @ A, not of "
         "its trace"),
        (gradient(lambda a: torch.trace(a @ a), passes=2),
         "twice the gradient: backward() ran twice and .grad adds up; "
         "zero A.grad (or make A afresh) before backward()"),
    )


def problem_1_4(gradient) -> Verdict:
    """The full 2×2 gradient of trace(A²) at A = [[1, 2], [3, 4]]."""

    def check(gradient):
        if isinstance(gradient, int | float):
            raise _Wrong("pass the whole 2×2 gradient, not one element")
        values = _tensor("gradient", gradient, (2, 2))
        matrix = torch.tensor(PROBLEM_1_4_MATRIX, dtype=torch.float64)
        if torch.allclose(values, 2 * matrix.T, atol=ROUNDED):
            return ""
        for mistaken, hint in _problem_1_4_mistakes():
            if torch.allclose(values, mistaken, atol=ROUNDED):
                return hint
        return "not the gradient: write trace(A @ A) as a double sum"

    return _judge("1.4", check, gradient)


PROBLEM_1_5_POINT = 0.173


@functools.cache
def _problem_1_5_mistakes() -> tuple[tuple[float, float, str], ...]:
    """(first, second) as mistaken procedures report them, with hints."""
    point = PROBLEM_1_5_POINT

    def sigmoid(x):
        return 1 / (1 + torch.exp(-x))

    # y_prime = x.grad without a copy, then the second backward pass
    # without zeroing: both names hold the same, accumulated tensor.
    with warnings.catch_warnings():
        # backward(create_graph=True) is the mistake being reproduced;
        # torch's warning about the reference cycle it makes is expected.
        warnings.simplefilter("ignore", UserWarning)
        x = _leaf(point)
        torch.autograd.backward(sigmoid(x), create_graph=True)
        y_prime = x.grad
        torch.autograd.backward(y_prime)
        aliased = (y_prime.item(), x.grad.item())
        # The second pass without zeroing, the first kept as a copy.
        x = _leaf(point)
        torch.autograd.backward(sigmoid(x), create_graph=True)
        y_prime = x.grad.clone()
        torch.autograd.backward(y_prime)
        accumulated = (y_prime.item(), x.grad.item())
    # The first derivative computed twice, once reported as the second.
    x = _leaf(point)
    (first,) = torch.autograd.grad(sigmoid(x), x)
    again = (first.item(), first.item())
    second = accumulated[1] - accumulated[0]
    return (
        (*aliased, "both values are x.grad after the second backward "
                   "pass: y_prime = x.grad is the same tensor; keep a copy "
                   "(clone) and zero x.grad before the second pass"),
        (*accumulated, "the second derivative carries the first one: "
                       ".grad accumulated; zero it before the second "
                       "backward pass"),
        (*again, "the second value is the first derivative again: "
                 "differentiate the first derivative (backward with "
                 "create_graph=True, then backward of it), not σ"),
        (second, again[0],
         "the two values are swapped: first is σ'(x), second is σ''(x)"),
    )


def problem_1_5(first, second) -> Verdict:
    """σ'(0.173) and σ''(0.173)."""

    def check(first, second):
        s = _sigmoid(PROBLEM_1_5_POINT)
        first_reference = s * (1 - s)
        second_reference = first_reference * (1 - 2 * s)
        first, second = _number("first", first), _number("second", second)
        if _close(first, first_reference) and _close(
            second, second_reference
        ):
            return ""
        if first == 0.0:
            return (
                "the first derivative is 0: you kept a reference to x.grad "
                "and zeroed it; keep a copy (clone) or use autograd.grad"
            )
        mistakes = _problem_1_5_mistakes()
        for mistaken_first, mistaken_second, hint in mistakes:
            if _close(first, mistaken_first) and _close(
                second, mistaken_second
            ):
                return hint
        # The accumulated second derivative, whatever the first value.
        if _close(second, mistakes[1][1]):
            return mistakes[1][2]
        if _close(first, s):
            return "the first value is σ(x), not σ'(x)"
        hints = []
        if not _close(first, first_reference):
            hints.append("the first derivative is not right")
        if not _close(second, second_reference):
            hints.append(
                "the second derivative is not right (backward needs "
                "create_graph=True to differentiate a derivative)"
            )
        return "; ".join(hints)

    return _judge("1.5", check, first, second)


def x_log_x_function(function) -> Verdict:
    """A ``torch.autograd.Function``'s ``apply`` for f(x) = x log x.

    Checks the values, the backward rule against log x + 1, and
    ``gradcheck`` on points in (0, 4], in float64.
    """
    problem = "x log x (custom Function)"
    if function is not ... and function is not None and not callable(
        function
    ):
        return Verdict(
            problem,
            "wrong",
            f"function should be callable (XLogX.apply), got "
            f"{type(function).__name__}",
        )

    def check(function):
        points = torch.linspace(
            0.5, 4.0, 6, dtype=torch.float64, requires_grad=True
        )
        values = function(points)
        if not isinstance(values, torch.Tensor):
            raise _Wrong("forward should return a tensor")
        reference = points.detach() * torch.log(points.detach())
        if values.shape != points.shape or not torch.allclose(
            values.detach(), reference
        ):
            return "forward does not return x log x"
        (gradient,) = torch.autograd.grad(values.sum(), points)
        if torch.allclose(gradient, torch.log(points.detach())):
            return "backward misses the + 1 of the product rule"
        if not torch.autograd.gradcheck(
            function, (points,), raise_exception=False
        ):
            return "backward does not match finite differences"
        return ""

    try:
        return _judge(problem, check, function)
    except NotDone as not_done:
        return Verdict(problem, "not done", str(not_done))


# Derive-then-verify exercises of Part I: the data each one states, and
# its check. References are computed here in float64.

PIECES_X = (1.0, 2.0, 3.0, 4.0)
PIECES_Y = (2.0, 3.0, 5.0, 8.0)
PIECES_W = 1.0


def gradient_in_pieces(gradient) -> Verdict:
    """d/dw of mean((w x - y)^2) over all four points, built in two halves.

    The data are ``PIECES_X``, ``PIECES_Y`` at ``w = PIECES_W``.
    """

    def check(gradient):
        value = _number("gradient", gradient)
        pairs = list(zip(PIECES_X, PIECES_Y, strict=True))
        terms = [2 * (PIECES_W * x - y) * x for x, y in pairs]
        reference = sum(terms) / len(terms)
        halves = len(terms) // 2
        unscaled = sum(terms[:halves]) / halves + sum(terms[halves:]) / (
            len(terms) - halves
        )
        if _close(value, unscaled):
            return (
                "each half's mean counted in full: the two means add up to "
                "twice the whole mean; scale each half by its share"
            )
        if not _close(value, reference):
            return "not the gradient of the mean over all four points"
        return ""

    return _judge("gradient in pieces", check, gradient)


LEAST_SQUARES_W = ((1.0, 2.0), (0.0, -1.0), (3.0, 1.0))
LEAST_SQUARES_X = (1.0, -2.0)
LEAST_SQUARES_Y = (0.5, 1.0, -1.0)


def least_squares_gradient(gradient) -> Verdict:
    """The 3×2 gradient of ||W x - y||^2 with respect to W."""

    def check(gradient):
        w = torch.tensor(LEAST_SQUARES_W, dtype=torch.float64)
        x = torch.tensor(LEAST_SQUARES_X, dtype=torch.float64)
        y = torch.tensor(LEAST_SQUARES_Y, dtype=torch.float64)
        reference = 2 * torch.outer(w @ x - y, x)
        if isinstance(gradient, torch.Tensor) and tuple(
            gradient.shape
        ) == tuple(reversed(reference.shape)):
            return "the shape is transposed: the gradient has W's shape"
        values = _tensor("gradient", gradient, tuple(reference.shape))
        if torch.allclose(values, reference / 2, atol=ROUNDED):
            return "half the gradient: d/dr of r^2 is 2r"
        if torch.allclose(values, -reference, atol=ROUNDED):
            return "the sign is off: the residual is W x - y"
        if not torch.allclose(values, reference, atol=ROUNDED):
            return "not the gradient: write the loss as a sum over rows"
        return ""

    return _judge("least-squares gradient", check, gradient)


SOFTMAX_POINT = (1.0, 2.0, 0.5)


def softmax_jacobian(jacobian) -> Verdict:
    """The 3×3 Jacobian of the softmax at ``SOFTMAX_POINT``."""

    def check(jacobian):
        z = torch.tensor(SOFTMAX_POINT, dtype=torch.float64)
        p = torch.softmax(z, dim=0)
        reference = torch.diag(p) - torch.outer(p, p)
        values = _tensor("jacobian", jacobian, tuple(reference.shape))
        if torch.allclose(values, torch.diag(p * (1 - p)), atol=ROUNDED):
            return (
                "only the diagonal: every output depends on every input, "
                "so the off-diagonal entries are -p_i p_j"
            )
        if torch.allclose(values, torch.diag(p), atol=ROUNDED):
            return "diag(p) alone: the outer product p p^T is missing"
        if not torch.allclose(values, reference, atol=ROUNDED):
            return "not the softmax's Jacobian at this point"
        return ""

    return _judge("softmax Jacobian", check, jacobian)


HESSIAN_B = (
    (1.0, -0.5, 2.0),
    (0.0, 1.5, -1.0),
    (2.0, 1.0, 0.5),
    (-1.0, 0.5, 1.0),
)
HESSIAN_POINT = (0.5, -1.0, 0.25)


def curvature_function(w: torch.Tensor) -> torch.Tensor:
    """logsumexp(B w) + |w|^2 / 2, the function of the power-iteration
    exercise (B is ``HESSIAN_B``)."""
    w = check_tensor("w", w, floating=True)
    if w.shape != (len(HESSIAN_POINT),):
        raise ValueError(
            f"w must be a vector of {len(HESSIAN_POINT)} numbers, got "
            f"shape {tuple(w.shape)}"
        )
    b = torch.tensor(HESSIAN_B, dtype=w.dtype)
    return torch.logsumexp(b @ w, dim=0) + 0.5 * (w @ w)


def largest_hessian_eigenvalue(eigenvalue) -> Verdict:
    """The largest eigenvalue of the Hessian of ``curvature_function`` at
    ``HESSIAN_POINT``."""

    def check(eigenvalue):
        value = _number("eigenvalue", eigenvalue)
        point = torch.tensor(HESSIAN_POINT, dtype=torch.float64)
        hessian = torch.func.hessian(curvature_function)(point)
        eigenvalues = torch.linalg.eigvalsh(hessian)
        if any(_close(value, other, 1e-3) for other in eigenvalues[:-1]):
            return (
                "an eigenvalue, but not the largest: start power iteration "
                "from a random vector, not from an eigenvector"
            )
        if not _close(value, eigenvalues[-1].item(), 1e-3):
            return (
                "not the largest eigenvalue: iterate u <- H u / |H u| until "
                "u stops changing, then take u . H u"
            )
        return ""

    return _judge("largest Hessian eigenvalue", check, eigenvalue)


# Part II: the package's training, on the book's data, as the chapters run
# it. Results depend on the shuffle order, so each check takes the seed of
# the DataLoader's generator (the book uses 0).


@functools.cache
def _sgd_run(epochs: int, learning_rate: float, seed: int, split: bool):
    from autodiff_book.data import load_dataset
    from autodiff_book.training import SGD, train_linear_model

    x, y = load_dataset()
    if not split:
        parameters, history = train_linear_model(
            x, y, rule=SGD(learning_rate), epochs=epochs, seed=seed
        )
        return parameters, history, None
    sets = three_way_split(x, y)
    parameters, history = train_linear_model(
        sets["train"][0],
        sets["train"][1],
        rule=SGD(learning_rate),
        epochs=epochs,
        seed=seed,
        x_val=sets["validation"][0],
        y_val=sets["validation"][1],
    )
    return parameters, history, sets


MIN_SPLIT_SAMPLES = 10


def three_way_split(x, y) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The 80:10:10 split of problem 2.3 (random_state 42, twice)."""
    for name, value in (("x", x), ("y", y)):
        check_tensor(name, value)
        if value.ndim == 0 or len(value) < MIN_SPLIT_SAMPLES:
            raise ValueError(
                f"{name} must hold at least {MIN_SPLIT_SAMPLES} samples, "
                "so that each of the three sets gets one, got shape "
                f"{tuple(value.shape)}"
            )
    if len(x) != len(y):
        raise ValueError(
            f"x has {len(x)} samples but y has {len(y)}: they must pair up"
        )
    return _split(x, y, 42)


def _split(x, y, random_state: int):
    from sklearn.model_selection import train_test_split

    x_train, x_rest, y_train, y_rest = train_test_split(
        x, y, test_size=0.2, random_state=random_state
    )
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, test_size=0.5, random_state=random_state
    )
    return {
        "train": (x_train, y_train),
        "validation": (x_val, y_val),
        "test": (x_test, y_test),
    }


def _seed(seed) -> int:
    if (
        isinstance(seed, bool)
        or not isinstance(seed, numbers.Integral)
        or not 0 <= seed <= SEED_RANGE[1]
    ):
        raise ValueError(
            f"seed must be the non-negative integer that seeds your "
            f"DataLoader's generator, got {shown(seed)}"
        )
    return int(seed)


# The mistakes students make in Part II, run as they make them. Each
# mistaken procedure is the problem set's loop with one thing done wrong;
# its results are compared with a wrong answer, so that the hint names the
# mistake that gives it. The loop below computes the gradient of the mean
# squared error of a line in closed form (autograd gives the same numbers)
# on the batches a shuffled DataLoader yields, which keeps each run well
# under a second.


@functools.cache
def _batch_order(samples: int, seed: int, epochs: int):
    """The index batches of ``DataLoader(..., batch_size=32, shuffle=True)``
    with a generator seeded ``seed``, for each epoch."""
    from torch.utils.data import DataLoader

    loader = DataLoader(
        range(samples),
        batch_size=32,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
    )
    return tuple(tuple(loader) for _ in range(epochs))


def _mistaken_loop(
    x, y, learning_rates, *, epochs, seed, zero=True, flat=False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Several runs at once, on the same batches: K data sets x, y of
    shape (K, N, 1) and K learning rates.

    Returns the loss of every update, shape (K, updates), and the
    parameters after every epoch, shape (K, epochs, 2). ``zero=False``
    never zeroes the gradient, so each update uses the sum of all
    gradients so far; ``flat=True`` predicts a vector of shape (N,) against
    targets of shape (N, 1), whose difference broadcasts to (N, N).
    """
    runs = len(x)
    rates = torch.tensor(learning_rates, dtype=x.dtype).reshape(runs, 1)
    parameters = torch.zeros(runs, 2, 1, 1, dtype=x.dtype)
    gradient = torch.zeros(runs, 2, dtype=x.dtype)
    losses, snapshots = [], []
    for batches in _batch_order(x.shape[1], seed, epochs):
        for index in batches:
            x_batch, y_batch = x[:, index], y[:, index]
            if flat:
                x_batch = x_batch.transpose(1, 2)
            residual = parameters[:, 0] * x_batch + parameters[:, 1] - y_batch
            step = torch.stack(
                [(2 * residual * x_batch).mean(dim=(1, 2)),
                 (2 * residual).mean(dim=(1, 2))],
                dim=1,
            )
            gradient = gradient + step if not zero else step
            losses.append((residual**2).mean(dim=(1, 2)))
            parameters = parameters - (rates * gradient)[..., None, None]
        snapshots.append(parameters[..., 0, 0])
    return torch.stack(losses, dim=1), torch.stack(snapshots, dim=1)


def _mse(parameters: torch.Tensor, x, y) -> torch.Tensor:
    """The MSE of each row of ``parameters`` (shape (E, 2)) on (x, y)."""
    predictions = parameters[:, :1] * x[:, 0] + parameters[:, 1:]
    return ((predictions - y[:, 0]) ** 2).mean(dim=1)


@functools.cache
def _full_set_mistakes(seed: int):
    """Problem 2.1's run (η = 0.01, 10 epochs) done wrong, three ways.

    Returns (name, slope and bias, update losses) per mistake.
    """
    from autodiff_book.data import load_dataset

    x, y = load_dataset()
    _, history, _ = _sgd_run(10, 0.01, seed, False)
    found = []
    for name, options in (("unzeroed", {"zero": False}),
                          ("flat", {"flat": True})):
        losses, snapshots = _mistaken_loop(
            x[None], y[None], [0.01], epochs=10, seed=seed, **options
        )
        found.append((name, snapshots[0, -1].tolist(), losses[0].tolist()))
    # for epoch in range(1, 10): nine epochs, the first nine of the run.
    found.append(("nine epochs", history.snapshots[8].tolist(), None))
    return tuple(found)


@dataclass(frozen=True)
class _SplitRun:
    """Per-epoch results of a run of problems 2.3 and 2.4."""

    snapshots: torch.Tensor  # (epochs, 2): the parameters after each epoch
    train: torch.Tensor  # full-set MSE after each epoch, per set
    validation: torch.Tensor
    test: torch.Tensor
    batch_means: torch.Tensor  # the mean of each epoch's batch losses


@functools.cache
def _split_runs(seed: int) -> dict[str, _SplitRun]:
    """150 epochs of problem 2.3, right and with two mistakes in training:
    problem 2.1's learning rate, and the split of random_state 0."""
    from autodiff_book.data import load_dataset

    x, y = load_dataset()
    settings = {"right": (0.001, 42), "learning rate 0.01": (0.01, 42),
                "split seed": (0.001, 0)}
    splits = {name: _split(x, y, state)
              for name, (_, state) in settings.items()}
    losses, snapshots = _mistaken_loop(
        torch.stack([split["train"][0] for split in splits.values()]),
        torch.stack([split["train"][1] for split in splits.values()]),
        [rate for rate, _ in settings.values()],
        epochs=150,
        seed=seed,
    )
    return {
        name: _SplitRun(
            snapshots[k],
            *(_mse(snapshots[k], *split[part])
              for part in ("train", "validation", "test")),
            losses[k].reshape(150, -1).mean(dim=1),
        )
        for k, (name, split) in enumerate(splits.items())
    }


def _argmin(values) -> int:
    return int(torch.as_tensor(values).argmin())


# What to do differently, per mistake of problems 2.3 and 2.4.
_SPLIT_HINTS = {
    "validation on training set": (
        "both answers come from the training set: measure the validation "
        "MSE on the validation set"
    ),
    "batch means": (
        "the training MSE is the mean of the epoch's batch losses, taken "
        "while the parameters moved: measure it over the whole training "
        "set after the epoch"
    ),
    "halves swapped": (
        "the validation and test sets are swapped: the first half of the "
        "second split is the validation set"
    ),
    "learning rate 0.01": (
        "this is a run with problem 2.1's learning rate: problems 2.3 and "
        "2.4 use η = 0.001"
    ),
    "split seed": (
        "another split: call train_test_split with random_state=42 both "
        "times"
    ),
    "aliased snapshots": (
        "both are the final parameters' test MSE: a snapshot without "
        "clone() is the parameter tensor itself, which the later updates "
        "change; store parameters.detach().clone()"
    ),
    "measured on validation set": (
        "these are validation MSEs: measure both on the test set"
    ),
}


@functools.cache
def _split_mistakes(seed: int):
    """Problems 2.3 and 2.4 done wrong: (name, epochs, test MSEs) each.

    The epochs are 0-based (train, validation) indices; the test MSEs are
    (final, best validation). Mistakes in measuring share the right
    training run; those in training run again.
    """
    runs = _split_runs(seed)
    right = runs["right"]
    t, v = _argmin(right.train), _argmin(right.validation)

    def test_mses(run, chosen, measured=None):
        measured = run.test if measured is None else measured
        return (measured[-1].item(), measured[chosen].item())

    found = [
        ("validation on training set", (t, t), test_mses(right, t)),
        ("batch means", (_argmin(right.batch_means), v), None),
        ("aliased snapshots", None, test_mses(right, -1)),
        ("measured on validation set", None,
         test_mses(right, v, right.validation)),
    ]
    # The second split's halves swapped: the same training set, the test
    # half chooses the epoch and the validation half is measured.
    chosen = _argmin(right.test)
    found.append(("halves swapped", (t, chosen),
                  test_mses(right, chosen, right.validation)))
    for name in ("learning rate 0.01", "split seed"):
        run = runs[name]
        best = _argmin(run.validation)
        found.append((name, (_argmin(run.train), best), test_mses(run, best)))
    return tuple(found)


# More entries than any answer has: an endless iterator stops here.
MAX_ENTRIES = 100_000


def _numbers(name: str, values, expected: str) -> list[float]:
    """A student's list of numbers as floats (inf and nan kept)."""
    wrong = _Wrong(f"{name} should be {expected}")
    # A string is a sequence of characters, a dict one of its keys.
    if isinstance(values, str | bytes | Mapping) or not isinstance(
        values, Iterable
    ):
        raise wrong
    if isinstance(values, torch.Tensor) and values.ndim == 0:
        raise wrong
    if not isinstance(values, Sized):
        values = itertools.islice(values, MAX_ENTRIES)
    try:
        return [_real(name, value) for value in values]
    except (_Wrong, TypeError, ValueError, RuntimeError):
        raise wrong from None


# What to do differently, per mistake of problems 2.1 and 2.2.
_FULL_SET_HINTS = {
    "unzeroed": (
        "the gradients were never zeroed: backward() adds to .grad, so "
        "each update used the sum of all gradients so far; zero "
        "parameters.grad before every backward()"
    ),
    "flat": (
        "predictions of shape (N,) against targets of shape (N, 1): their "
        "difference broadcasts to (N, N); give both the same shape"
    ),
    "nine epochs": (
        "the parameters after nine epochs: range(1, 10) counts nine; "
        "train for ten"
    ),
}


def _named(names) -> str:
    """The hints of the mistakes ``names``, one or several ("or")."""
    hints = {**_FULL_SET_HINTS, **_SPLIT_HINTS}
    unique = list(dict.fromkeys(hints[name] for name in names))
    return "; or ".join(unique)


def problem_2_1(slope, bias, *, seed: int = 0) -> Verdict:
    """Slope and bias after 10 epochs of SGD (η = 0.01, batches of 32)."""
    seed = _seed(seed)

    def check(slope, bias):
        slope, bias = _number("slope", slope), _number("bias", bias)
        parameters, _, _ = _sgd_run(10, 0.01, seed, False)
        reference = parameters.tolist()
        if _close(slope, reference[0]) and _close(bias, reference[1]):
            return ""
        mistakes = [
            name for name, (a, b), _ in _full_set_mistakes(seed)
            if _close(slope, a) and _close(bias, b)
        ]
        if mistakes:
            return _named(mistakes)
        # Wider than the spread of the result over shuffle seeds.
        near = 0.05
        if max(abs(slope - reference[0]), abs(bias - reference[1])) < near:
            return (
                "close, but not this run: start from zeros, train exactly 10 "
                f"epochs, and shuffle with a generator seeded {seed} (pass "
                "seed=... if you used another seed)"
            )
        return (
            "far from the trained line: go through the loop step by step "
            "(zero the gradients, predict, the MSE, backward(), the update "
            "under torch.no_grad()) and check η and the number of epochs"
        )

    return _judge("2.1", check, slope, bias)


def _same_curve(values: list[float], reference: Sequence[float]) -> bool:
    return len(values) == len(reference) and all(
        _close(value, expected, 1e-4 + 1e-4 * abs(expected))
        for value, expected in zip(values, reference, strict=True)
    )


def problem_2_2(losses: Sequence[float], *, seed: int = 0) -> Verdict:
    """The loss of every one of the 320 updates of problem 2.1's run."""
    seed = _seed(seed)

    def check(losses):
        values = _numbers("losses", losses, "a list of numbers")
        _, history, _ = _sgd_run(10, 0.01, seed, False)
        reference = history.update_losses
        if len(values) == 10:
            return (
                "10 values, one per epoch: keep the loss of every update "
                f"(every batch), {len(reference)} in all"
            )
        if len(values) != len(reference):
            return (
                f"expected one loss per update, {len(reference)} in all "
                f"(10 epochs of batches of 32), got {len(values)}"
            )
        mistakes = [
            name for name, _, curve in _full_set_mistakes(seed)
            if curve is not None and _same_curve(values, curve)
        ]
        if mistakes:
            return _named(mistakes)
        batches = len(reference) // 10
        totals = [
            list(itertools.accumulate(reference[k:k + batches]))
            for k in range(0, len(reference), batches)
        ]
        if _same_curve(values, list(itertools.accumulate(reference))) or (
            _same_curve(values, list(itertools.chain(*totals)))
        ):
            return (
                "each value is a running total of the losses so far: keep "
                "the loss of the batch itself, loss.item()"
            )
        finite = [math.isfinite(value) for value in values]
        if not all(finite):
            return (
                "the losses turn inf or nan at update "
                f"{finite.index(False)} (from 0): the run diverged; is the "
                "learning rate 0.01?"
            )
        if min(values[-32:]) > 10 * max(reference[-32:]):
            return (
                "the losses stay far too high: a (N,) tensor minus a (N, 1) "
                "tensor broadcasts to (N, N); give both the same shape"
            )
        if not _same_curve(values, reference):
            return (
                "the curve differs from this run: keep loss.item() of every "
                "batch, in order (pass seed=... if you used another seed)"
            )
        return ""

    return _judge("2.2", check, losses)


def problem_2_3(train_epoch, validation_epoch, *, seed: int = 0) -> Verdict:
    """The epochs of lowest training and validation MSE (η = 0.001, 150).

    Either convention is accepted, as long as both answers use the same:
    an index from 0, or an epoch number from 1.
    """
    seed = _seed(seed)

    def check(train_epoch, validation_epoch):
        answer = (
            _number("train_epoch", train_epoch),
            _number("validation_epoch", validation_epoch),
        )
        _, history, _ = _sgd_run(150, 0.001, seed, True)
        train = history.best_epoch("train")
        validation = history.best_epoch("validation")
        if answer in {(train, validation), (train + 1, validation + 1)}:
            return ""
        if answer in {(validation, train), (validation + 1, train + 1)}:
            return "the two answers are swapped"
        mistakes = [
            name for name, epochs, _ in _split_mistakes(seed)
            if epochs is not None
            and answer in {epochs, (epochs[0] + 1, epochs[1] + 1)}
        ]
        if mistakes:
            return _named(mistakes)
        if answer in {(train, validation + 1), (train + 1, validation)}:
            return (
                "one answer counts epochs from 0, the other from 1: use "
                "the same convention for both"
            )
        return (
            "not the epochs of this run: measure both MSEs over the whole "
            "training and validation sets after every epoch (pass seed=... "
            "if you used another seed)"
        )

    return _judge("2.3", check, train_epoch, validation_epoch)


def problem_2_4(final_test_mse, best_test_mse, *, seed: int = 0) -> Verdict:
    """Test MSE with the final parameters and with the best-validation ones."""
    seed = _seed(seed)

    def check(final_test_mse, best_test_mse):
        from autodiff_book.training import linear_model, mean_squared_error

        final = _number("final_test_mse", final_test_mse)
        best = _number("best_test_mse", best_test_mse)
        parameters, history, sets = _sgd_run(150, 0.001, seed, True)
        x_test, y_test = sets["test"]
        epoch = history.best_epoch("validation")
        references = [
            mean_squared_error(linear_model(x_test, p), y_test).item()
            for p in (parameters, history.parameters_at(epoch))
        ]
        if _close(final, references[0]) and _close(best, references[1]):
            return ""
        mistakes = [
            name for name, _, mses in _split_mistakes(seed)
            if mses is not None
            and _close(final, mses[0]) and _close(best, mses[1])
        ]
        if mistakes:
            return _named(mistakes)
        hints = []
        if not _close(final, references[0]):
            hints.append("the final parameters' test MSE is not right")
        if not _close(best, references[1]):
            hints.append(
                "the best-validation parameters' test MSE is not right: "
                "measure a copy (clone) of the parameters after the epoch "
                "of lowest validation MSE on the test set"
            )
        return "; ".join(hints)

    return _judge("2.4", check, final_test_mse, best_test_mse)


PROBLEM_2_5_OPTIONS = (
    (0.0, 0.1, 0.2, 0.3),
    (0.0, 0.5, 0.9, 1.0),
    (1.0, 0.9, 0.5, 0.1),
    (0.2, 0.4, 0.6, 0.8),
    (0.0, 1.0, 2.0, 3.0),
    (-1.0, 0.0, 1.0, 2.0),
)
# Which option made the figure, stored as its position among the options
# so that the module's source does not spell out the answer.
_PROBLEM_2_5_INDEX = 1


def problem_2_5_momenta() -> tuple[float, ...]:
    """The momentum values behind problem 2.5's figure, to draw it.

    The chapter's figure cell calls this instead of naming the values, so
    that the problem-set edition's notebook does not spell out the answer.
    """
    return PROBLEM_2_5_OPTIONS[_PROBLEM_2_5_INDEX]


@functools.cache
def _momentum_mistakes() -> tuple[tuple[tuple[float, ...], str], ...]:
    """The set a mistaken momentum makes a student pick, with its hint.

    A student runs each offered set and picks the one whose curves look
    like the figure. With the buffer kept as ``buffer = parameters.grad``
    (no clone) and updated in place, ``grad.zero_()`` and ``backward()``
    overwrite it, so every step moves by 2 μ times the batch gradient. The
    runs below (full-set loss after each epoch, η = 0.001, 50 epochs,
    batches of 32 shuffled by a generator seeded 0) find the set whose
    mistaken curves lie nearest the figure's, on a logarithmic scale.
    """
    from autodiff_book.data import load_dataset

    x, y = (tensor[:, 0] for tensor in load_dataset())
    sets = [*PROBLEM_2_5_OPTIONS, problem_2_5_momenta()]
    momenta = torch.tensor([mu for values in sets for mu in values])
    aliased = torch.arange(len(momenta)) < len(momenta) - 4
    mu = momenta.reshape(-1, 1)
    parameters = torch.zeros(len(momenta), 2)
    buffer, curves = None, []
    for batches in _batch_order(len(x), 0, 50):
        for index in batches:
            residual = parameters[:, :1] * x[index] + parameters[:, 1:]
            residual = residual - y[index]
            gradient = torch.stack(
                [(2 * residual * x[index]).mean(dim=1),
                 (2 * residual).mean(dim=1)],
                dim=1,
            )
            if buffer is None:
                buffer = gradient
            else:
                buffer = torch.where(
                    aliased[:, None], 2 * mu * gradient, mu * buffer + gradient
                )
            parameters = parameters - 0.001 * buffer
        residual = parameters[:, :1] * x + parameters[:, 1:] - y
        curves.append((residual**2).mean(dim=1))
    # Diverged runs count as very far, not as nan.
    logs = torch.stack(curves, dim=1).nan_to_num(1e30, 1e30).clamp(
        1e-30, 1e30
    ).log().reshape(len(sets), 4, -1)
    distances = (logs[:-1] - logs[-1]).abs().mean(dim=(1, 2))
    picked = PROBLEM_2_5_OPTIONS[int(distances.argmin())]
    return ((
        picked,
        "with these values the curves look like the figure's if the "
        "momentum buffer is the gradient tensor itself: buffer = "
        "parameters.grad without clone() is overwritten by grad.zero_() "
        "and backward(), so each step moves by 2μ times the gradient; "
        "keep buffer = parameters.grad.clone()",
    ),)


def problem_2_5(momenta: Sequence[float]) -> Verdict:
    """Which of the six sets of momentum values produced the figure."""

    def check(momenta):
        values = _numbers("momenta", momenta, "a sequence of numbers")
        # Rounded: in float32, 0.9 is 0.8999999761581421.
        answer = tuple(
            round(value, 6) if math.isfinite(value) else value
            for value in values
        )
        if answer not in PROBLEM_2_5_OPTIONS:
            return "give one of the six sets of the problem, in its order"
        if answer == PROBLEM_2_5_OPTIONS[_PROBLEM_2_5_INDEX]:
            return ""
        for picked, hint in _momentum_mistakes():
            if answer == picked:
                return hint
        if max(answer) > 1.0:
            return "with μ > 1 the loss grows without bound: no such curve"
        return (
            "compare the slowest and fastest curves with the effective "
            "step 1/(1 - μ)"
        )

    return _judge("2.5", check, momenta)
