"""Self-checks for the problem set: is a student's answer right?

Each ``problem_*`` function takes what a student computed, recomputes the
reference from closed forms or from the package and the data, and returns a
``Verdict``: correct, not done yet, or wrong with a hint. A verdict never
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
        size, kind = value.numel(), "tensor"
    elif isinstance(value, np.ndarray):
        size, kind = value.size, "array"
    else:
        return value
    if size != 1:
        raise _Wrong(
            f"{name} should be a single number, got a {kind} of shape "
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


# Part I: closed forms, in float64.


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1 / (1 + math.exp(-x))
    return math.exp(x) / (1 + math.exp(x))


def problem_1_1(derivative) -> Verdict:
    """f'(2.0) for f(x) = 2 / ((5 - x)^2 + 2^2)."""

    def check(derivative):
        value = _number("derivative", derivative)
        reference = 4 * 3.0 / (3.0**2 + 4) ** 2
        if _close(value, 2 / (3.0**2 + 4)):
            return "that is f(2.0) itself: read x.grad after backward()"
        if _close(value, -reference):
            return "the sign is off: check the chain rule through (5 - x)"
        if not _close(value, reference):
            return "not f'(2.0): compare with a finite difference"
        return ""

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
        if not torch.allclose(values, sigma * (1 - sigma), atol=1e-5):
            return (
                "not the derivative at every point: did x.grad keep a "
                "previous backward pass (zero it first)?"
            )
        return ""

    return _judge("1.2", check, x, derivative)


PROBLEM_1_3_POINT = (1.376, 2.123)


def problem_1_3(df1_dx, df2_dy) -> Verdict:
    """∂f₁/∂x and ∂f₂/∂y of f = [x² + y², 2x²y²] at (1.376, 2.123)."""

    def check(df1_dx, df2_dy):
        x, y = PROBLEM_1_3_POINT
        first = _number("df1_dx", df1_dx)
        second = _number("df2_dy", df2_dy)
        if _close(first, 2 * y) or _close(second, 4 * x * y**2):
            return "a derivative with respect to the other variable"
        if _close(first, 2 * x + 4 * x * y**2) or _close(
            second, 2 * y + 4 * x**2 * y
        ):
            return (
                "the gradients of both components were added: .grad "
                "accumulates, so zero it between the two backward passes"
            )
        hints = []
        if not _close(first, 2 * x):
            hints.append("df1_dx is not right")
        if not _close(second, 4 * x**2 * y):
            hints.append("df2_dy is not right")
        return "; ".join(hints)

    return _judge("1.3", check, df1_dx, df2_dy)


PROBLEM_1_4_MATRIX = ((1.0, 2.0), (3.0, 4.0))


def problem_1_4(gradient) -> Verdict:
    """The full 2×2 gradient of trace(A²) at A = [[1, 2], [3, 4]]."""

    def check(gradient):
        if isinstance(gradient, int | float):
            raise _Wrong("pass the whole 2×2 gradient, not one element")
        values = _tensor("gradient", gradient, (2, 2))
        matrix = torch.tensor(PROBLEM_1_4_MATRIX, dtype=torch.float64)
        if torch.allclose(values, 2 * matrix, atol=ROUNDED) and not (
            torch.allclose(matrix, matrix.T)
        ):
            return "this is the transpose of the gradient: check the indices"
        if not torch.allclose(values, 2 * matrix.T, atol=ROUNDED):
            return "not the gradient: write trace(A @ A) as a double sum"
        return ""

    return _judge("1.4", check, gradient)


PROBLEM_1_5_POINT = 0.173


def problem_1_5(first, second) -> Verdict:
    """σ'(0.173) and σ''(0.173)."""

    def check(first, second):
        s = _sigmoid(PROBLEM_1_5_POINT)
        first_reference = s * (1 - s)
        second_reference = first_reference * (1 - 2 * s)
        first, second = _number("first", first), _number("second", second)
        if first == 0.0:
            return (
                "the first derivative is 0: you kept a reference to x.grad "
                "and zeroed it; keep a copy (clone) or use autograd.grad"
            )
        if _close(second, first_reference + second_reference):
            return (
                "the second derivative carries the first one: .grad "
                "accumulated; zero it before the second backward pass"
            )
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
    from sklearn.model_selection import train_test_split

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
    x_train, x_rest, y_train, y_rest = train_test_split(
        x, y, test_size=0.2, random_state=42
    )
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, test_size=0.5, random_state=42
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


def problem_2_1(slope, bias, *, seed: int = 0) -> Verdict:
    """Slope and bias after 10 epochs of SGD (η = 0.01, batches of 32)."""
    seed = _seed(seed)

    def check(slope, bias):
        slope, bias = _number("slope", slope), _number("bias", bias)
        parameters, _, _ = _sgd_run(10, 0.01, seed, False)
        reference = parameters.tolist()
        if _close(slope, reference[0]) and _close(bias, reference[1]):
            return ""
        # Wider than the spread of the result over shuffle seeds.
        near = 0.05
        if max(abs(slope - reference[0]), abs(bias - reference[1])) < near:
            return (
                "close, but not this run: start from zeros, train exactly 10 "
                f"epochs, and shuffle with a generator seeded {seed} (pass "
                "seed=... if you used another seed)"
            )
        return (
            "far from the trained line: are predictions and targets both "
            "of shape (N, 1), and is the update under torch.no_grad()?"
        )

    return _judge("2.1", check, slope, bias)


def problem_2_2(losses: Sequence[float], *, seed: int = 0) -> Verdict:
    """The loss of every one of the 320 updates of problem 2.1's run."""
    seed = _seed(seed)

    def check(losses):
        values = _numbers("losses", losses, "a list of numbers")
        _, history, _ = _sgd_run(10, 0.01, seed, False)
        reference = history.update_losses
        if len(values) != len(reference):
            return (
                f"expected one loss per update, {len(reference)} in all "
                f"(10 epochs of batches of 32), got {len(values)}"
            )
        finite = [math.isfinite(value) for value in values]
        if not all(finite):
            return (
                "the losses turn inf or nan at update "
                f"{finite.index(False)} (from 0): the run diverged; is the "
                "learning rate 0.01, and the update under torch.no_grad()?"
            )
        if min(values[-32:]) > 10 * max(reference[-32:]):
            return (
                "the losses stay far too high: a (N,) tensor minus a (N, 1) "
                "tensor broadcasts to (N, N); give both the same shape"
            )
        if not all(
            _close(value, expected, 1e-4 + 1e-4 * abs(expected))
            for value, expected in zip(values, reference, strict=True)
        ):
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
        hints = []
        if not _close(final, references[0]):
            hints.append("the final parameters' test MSE is not right")
        if not _close(best, references[1]):
            hints.append(
                "the best-validation parameters' test MSE is not right: "
                "did you store a copy (clone) of the parameters each epoch?"
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
        if max(answer) > 1.0:
            return "with μ > 1 the loss grows without bound: no such curve"
        return (
            "compare the slowest and fastest curves with the effective "
            "step 1/(1 - μ)"
        )

    return _judge("2.5", check, momenta)
