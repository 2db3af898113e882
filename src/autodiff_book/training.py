"""Train the linear model of Part II by hand, with swappable update rules.

The loop is the one the chapters build step by step: batches from a seeded
``DataLoader``, zeroed gradients, a forward pass, the mean squared error,
``backward()``, and an update of the parameter tensor under
``torch.no_grad()``. The update itself is a small object with a ``step``
method (``SGD`` or ``Momentum``), so the two rules are interchangeable.
The loop prints nothing: it returns a ``History`` that the chapters plot
and from which early stopping picks its epoch.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch.utils.data import DataLoader, TensorDataset

from autodiff_book.checks import (
    check_count,
    check_finite,
    check_real,
    check_seed,
    check_tensor,
    shown,
)

ON_DIVERGENCE = ("raise", "stop")
# The book trains for 150 epochs at most; a count far beyond this is a
# typo (or 10**400) that would keep the loop running for ever.
MAX_EPOCHS = 1_000_000
# Half precision rounds a loss to three digits: the curves would be steps.
TRAINING_DTYPES = (torch.float32, torch.float64)


class DivergenceError(RuntimeError):
    """The loss became inf or nan; ``history`` holds the record so far."""

    def __init__(self, message: str, history: History) -> None:
        if not isinstance(history, History):
            raise TypeError(
                f"history must be a History, got {type(history).__name__}"
            )
        super().__init__(message)
        self.history = history


def linear_model(x: torch.Tensor, parameters: torch.Tensor) -> torch.Tensor:
    """Predict ``slope * x + bias`` with ``parameters = [slope, bias]``."""
    check_tensor("x", x, floating=True)
    check_tensor("parameters", parameters, floating=True)
    if parameters.shape != (2,):
        raise ValueError(
            "parameters must be a tensor [slope, bias] of shape (2,), got "
            f"shape {tuple(parameters.shape)}"
        )
    return parameters[0] * x + parameters[1]


def mean_squared_error(
    predictions: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    """Mean of the squared differences, refusing to broadcast shapes.

    ``(N, 1) - (N,)`` would silently broadcast to ``(N, N)`` and average
    N * N wrong differences, so shapes must match exactly.
    """
    check_tensor("predictions", predictions, floating=True)
    check_tensor("targets", targets, floating=True)
    if predictions.shape != targets.shape:
        raise ValueError(
            "predictions and targets must have the same shape, got "
            f"{tuple(predictions.shape)} and {tuple(targets.shape)}; "
            "reshape one of them (e.g. with .reshape(-1, 1)) instead of "
            "letting the subtraction broadcast"
        )
    if predictions.numel() == 0:
        # The mean of nothing is nan, which reads as a divergence.
        raise ValueError(
            "predictions and targets are empty: the mean squared error of "
            "no samples is not defined"
        )
    return ((predictions - targets) ** 2).mean()


def _check_learning_rate(learning_rate) -> float:
    learning_rate = check_real("learning_rate", learning_rate)
    if learning_rate <= 0:
        raise ValueError(
            f"learning_rate must be a positive number, got {learning_rate!r}"
        )
    return learning_rate


def _gradient_of(parameters: torch.Tensor) -> torch.Tensor:
    check_tensor("parameters", parameters, floating=True)
    if parameters.grad is None:
        raise RuntimeError(
            "parameters.grad is None: call loss.backward() before step()"
        )
    return parameters.grad


class UpdateRule(Protocol):
    """What the training loop needs from an update rule: both methods."""

    def reset(self) -> None: ...

    def step(self, parameters: torch.Tensor) -> None: ...


def check_rule(rule) -> UpdateRule:
    """Return ``rule`` if it has the ``UpdateRule`` methods, else raise."""
    if isinstance(rule, type):
        raise TypeError(
            "rule must be an update rule object such as SGD(0.01), got the "
            f"class {rule.__name__}: call it with its hyper-parameters"
        )
    if isinstance(rule, torch.optim.Optimizer):
        raise TypeError(
            f"rule is a torch.optim optimiser ({type(rule).__name__}), which "
            "updates the tensors it was built with; pass one of this "
            "module's rules instead, e.g. Momentum(lr, momentum) for "
            "torch.optim.SGD(..., lr=lr, momentum=momentum)"
        )
    methods = (("step", "step(parameters)"), ("reset", "reset()"))
    for method, signature in methods:
        if not callable(getattr(rule, method, None)):
            raise TypeError(
                f"rule must have a {signature} method (an UpdateRule such "
                f"as SGD or Momentum), got {rule!r}"
            )
    return rule


class SGD:
    """Plain gradient descent: theta <- theta - learning_rate * grad."""

    def __init__(self, learning_rate: float) -> None:
        self.learning_rate = _check_learning_rate(learning_rate)

    def reset(self) -> None:
        """Forget any state (plain SGD has none)."""

    def step(self, parameters: torch.Tensor) -> None:
        """Update ``parameters`` in place from ``parameters.grad``."""
        gradient = _gradient_of(parameters)
        # Outside no_grad, autograd would record the update as part of the
        # graph (and refuses in-place changes of a leaf that needs grad).
        with torch.no_grad():
            parameters -= self.learning_rate * gradient

    def __repr__(self) -> str:
        return f"SGD(learning_rate={self.learning_rate})"


class Momentum:
    """Gradient descent with momentum, as the problem set defines it.

    ``b_0 = g_0``, ``b_t = momentum * b_{t-1} + g_t`` and
    ``theta_t = theta_{t-1} - learning_rate * b_t``. Any finite momentum is
    accepted, including negative values and values of 1 or more, so that
    their effect can be measured.
    """

    def __init__(self, learning_rate: float, momentum: float) -> None:
        self.learning_rate = _check_learning_rate(learning_rate)
        self.momentum = check_real("momentum", momentum)
        self.buffer: torch.Tensor | None = None

    def reset(self) -> None:
        """Forget the running sum b_t before a new training run."""
        self.buffer = None

    def step(self, parameters: torch.Tensor) -> None:
        """Update ``parameters`` in place from ``parameters.grad``."""
        gradient = _gradient_of(parameters)
        with torch.no_grad():
            if self.buffer is None:
                self.buffer = gradient.clone()
            else:
                self.buffer = self.momentum * self.buffer + gradient
            parameters -= self.learning_rate * self.buffer

    def __repr__(self) -> str:
        return (
            f"Momentum(learning_rate={self.learning_rate}, "
            f"momentum={self.momentum})"
        )


class EpochError(IndexError, ValueError):
    """An epoch that the history has no record of."""


@dataclass
class History:
    """What a training run recorded.

    Epoch lists are indexed from 0: entry ``k`` was measured after ``k + 1``
    epochs of training.
    """

    update_losses: list[float] = field(default_factory=list)
    epoch_train_losses: list[float] = field(default_factory=list)
    epoch_val_losses: list[float] = field(default_factory=list)
    snapshots: list[torch.Tensor] = field(default_factory=list)
    # Updates completed when a loss first turned inf or nan; None if never.
    diverged_at: int | None = None
    # After a divergence with on_divergence="stop": how many updates the
    # returned parameters had received (the last ones with a finite loss).
    returned_after: int | None = None

    def best_epoch(self, split: str = "validation") -> int:
        """0-based index of the epoch with the lowest full-set loss.

        Args:
            split: ``"validation"`` or ``"train"``.
        """
        losses = {
            "validation": self.epoch_val_losses,
            "train": self.epoch_train_losses,
        }
        if not isinstance(split, str) or split not in losses:
            raise ValueError(
                f"split must be 'validation' or 'train', got {shown(split)}"
            )
        if not losses[split]:
            raise ValueError(
                f"no {split} losses were recorded"
                + (
                    "; pass x_val and y_val to train_linear_model"
                    if split == "validation"
                    else ""
                )
            )
        values = losses[split]
        if isinstance(values, str | bytes) or not isinstance(
            values, Sequence | torch.Tensor
        ):
            raise TypeError(
                f"the {split} losses must be a list of numbers, got "
                f"{shown(values)}"
            )
        try:
            floats = [float(value) for value in values]
        except (TypeError, ValueError, OverflowError):
            raise TypeError(
                f"the {split} losses must be numbers, got {shown(values)}"
            ) from None
        bad = [k for k, value in enumerate(floats) if not math.isfinite(value)]
        if bad:
            # nan compares false with everything: min() could pick it.
            raise ValueError(
                f"the {split} loss of epoch {bad[0]} (from 0) is inf or nan: "
                "no epoch can be called best"
            )
        # The first of equal minima, like torch.argmin.
        return min(range(len(floats)), key=floats.__getitem__)

    def parameters_at(self, epoch: int) -> torch.Tensor:
        """A copy of the parameters after 0-based epoch ``epoch``."""
        # numpy integers count, as they do for epochs and batch_size.
        if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral):
            raise TypeError(f"epoch must be an int, got {shown(epoch)}")
        epoch = int(epoch)
        if not 0 <= epoch < len(self.snapshots):
            raise EpochError(
                f"epoch {epoch} is out of range: snapshots exist for "
                f"epochs 0 to {len(self.snapshots) - 1}"
            )
        return self.snapshots[epoch].clone()


def _check_pair(x, y, x_name: str, y_name: str) -> None:
    for name, value in ((x_name, x), (y_name, y)):
        check_tensor(name, value, floating=True)
        if value.dtype not in TRAINING_DTYPES:
            raise TypeError(
                f"{name} must hold float32 or float64 numbers, got "
                f"{value.dtype}; convert it with {name}.float()"
            )
    if x.ndim == 0 or y.ndim == 0 or x.shape[0] != y.shape[0]:
        raise ValueError(
            f"{x_name} and {y_name} must have the same number of samples, "
            f"got shapes {tuple(x.shape)} and {tuple(y.shape)}"
        )
    if x.shape[0] == 0:
        raise ValueError(f"{x_name} and {y_name} are empty: no samples")
    if x.ndim != 2 or x.shape[1] != 1 or x.shape != y.shape:
        raise ValueError(
            f"{x_name} and {y_name} must both have shape (N, 1), got "
            f"{tuple(x.shape)} and {tuple(y.shape)}; reshape with "
            ".reshape(-1, 1)"
        )
    if x.dtype != y.dtype:
        raise TypeError(
            f"{x_name} and {y_name} must share a dtype, got {x.dtype} "
            f"and {y.dtype}"
        )
    # A nan in the data would show up as a "divergence" at the first step.
    check_finite(x_name, x)
    check_finite(y_name, y)


def _initial_parameters(initial, dtype: torch.dtype) -> torch.Tensor:
    if initial is None:
        return torch.zeros(2, dtype=dtype, requires_grad=True)
    # The tensor check comes first: a numpy array also has a .shape, and
    # "must be a tensor of shape (2,), got (2,)" would explain nothing.
    check_tensor("initial", initial, floating=True)
    if initial.shape != (2,):
        raise ValueError(
            "initial must be a tensor [slope, bias] of shape (2,), got "
            f"shape {tuple(initial.shape)}"
        )
    check_finite("initial", initial)
    return initial.detach().to(dtype).clone().requires_grad_(True)


def _divergence_message(
    what: str, update: int, epoch: int, epochs: int, rule
) -> str:
    advice = "try a smaller learning rate"
    if isinstance(rule, Momentum):
        advice += " or a momentum between 0 and 1"
    # The loss is measured at the parameters left by `update` updates:
    # "after N updates" holds for a batch loss and a full-set loss alike,
    # where "at update N (counting from 0)" was one too many for the
    # full-set loss of the parameters after update N - 1.
    updates = "1 update" if update == 1 else f"{update} updates"
    return (
        f"training diverged: {what} became inf or nan after {updates}, "
        f"in epoch {epoch + 1} of {epochs} (counting from 1); {advice}"
    )


def _full_set_loss(x, y, parameters) -> float:
    with torch.no_grad():
        return mean_squared_error(linear_model(x, parameters), y).item()


def _check_training_arguments(
    x, y, x_val, y_val, rule, on_divergence
) -> None:
    _check_pair(x, y, "x", "y")
    if (x_val is None) != (y_val is None):
        raise ValueError("pass both x_val and y_val, or neither")
    if x_val is not None:
        _check_pair(x_val, y_val, "x_val", "y_val")
    check_rule(rule)
    if not isinstance(on_divergence, str) or (
        on_divergence not in ON_DIVERGENCE
    ):
        raise ValueError(
            "on_divergence must be 'raise' or 'stop', got "
            f"{shown(on_divergence)}"
        )


def train_linear_model(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    rule: UpdateRule,
    epochs: int,
    batch_size: int = 32,
    seed: int = 0,
    x_val: torch.Tensor | None = None,
    y_val: torch.Tensor | None = None,
    initial: torch.Tensor | None = None,
    on_divergence: str = "raise",
) -> tuple[torch.Tensor, History]:
    """Fit ``slope * x + bias`` to ``y`` by mini-batch gradient descent.

    Args:
        x, y: training inputs and targets, both of shape ``(N, 1)``.
        rule: the update rule, e.g. ``SGD(0.01)``; it is reset first.
        epochs: passes over the training data.
        batch_size: samples per update (the last batch may be smaller).
        seed: seeds the generator that shuffles the batches.
        x_val, y_val: optional validation data, measured after each epoch.
        initial: starting ``[slope, bias]``; zeros by default.
        on_divergence: ``"raise"`` a ``DivergenceError`` or ``"stop"`` and
            return what was recorded, when the loss becomes inf or nan.

    Returns:
        ``(parameters, history)``: the final ``[slope, bias]`` (detached)
        and the ``History`` of the run. After a divergence with
        ``on_divergence="stop"``, the parameters are the last ones whose
        loss was finite, from before the update that made it inf or nan
        (``history.returned_after`` says after how many updates).
    """
    _check_training_arguments(x, y, x_val, y_val, rule, on_divergence)
    epochs = check_count("epochs", epochs, maximum=MAX_EPOCHS)
    batch_size = check_count("batch_size", batch_size)
    seed = check_seed("seed", seed)
    validating = x_val is not None
    # Detached views: the caller's tensors may require gradients, and
    # backward() must fill in the parameters' gradient, never theirs.
    x, y = x.detach(), y.detach()
    if validating:
        x_val, y_val = x_val.detach(), y_val.detach()
    rule.reset()  # a momentum rule must not carry a previous run's state

    parameters = _initial_parameters(initial, x.dtype)
    loader = DataLoader(
        TensorDataset(x, y),
        batch_size=batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
    )
    history = History()
    # The parameters before the latest update: the last ones known to give
    # a finite loss, should that update make the loss inf or nan.
    before_update = parameters.detach().clone()

    def diverged(what: str, epoch: int):
        history.diverged_at = len(history.update_losses)
        message = _divergence_message(
            what, history.diverged_at, epoch, epochs, rule
        )
        if on_divergence == "raise":
            raise DivergenceError(message, history)
        history.returned_after = max(history.diverged_at - 1, 0)
        return before_update, history

    for epoch in range(epochs):
        for x_batch, y_batch in loader:
            # backward() adds to .grad: the last batch's gradient must go.
            if parameters.grad is not None:
                parameters.grad.zero_()
            predictions = linear_model(x_batch, parameters)
            loss = mean_squared_error(predictions, y_batch)
            if not torch.isfinite(loss):
                return diverged("the batch loss", epoch)
            loss.backward()
            before_update = parameters.detach().clone()
            rule.step(parameters)
            history.update_losses.append(loss.item())
        losses = [_full_set_loss(x, y, parameters)]
        if validating:
            losses.append(_full_set_loss(x_val, y_val, parameters))
        if not all(math.isfinite(value) for value in losses):
            return diverged("the full-set loss", epoch)
        history.epoch_train_losses.append(losses[0])
        if validating:
            history.epoch_val_losses.append(losses[1])
        history.snapshots.append(parameters.detach().clone())
    return parameters.detach().clone(), history


class PathRecorder:
    """Wrap an update rule and keep the parameters before every update.

    ``train_linear_model`` snapshots the parameters once per epoch; the
    path across the loss surface needs every step, so this wrapper records
    them while the wrapped rule (``SGD``, ``Momentum``, ...) does the work.
    """

    def __init__(self, rule: UpdateRule) -> None:
        self.rule = check_rule(rule)
        self.points: list[torch.Tensor] = []

    def reset(self) -> None:
        """Reset the wrapped rule and forget the recorded path."""
        self.rule.reset()
        self.points = []

    def step(self, parameters: torch.Tensor) -> None:
        """Record where the parameters are, then let the rule move them."""
        check_tensor("parameters", parameters, floating=True)
        if not self.points:
            self.points.append(parameters.detach().clone())
        self.rule.step(parameters)
        self.points.append(parameters.detach().clone())

    @property
    def path(self) -> torch.Tensor:
        """The start and every update's result, shape ``(T + 1, 2)``."""
        if not self.points:
            raise ValueError("no update has been recorded yet")
        return torch.stack(self.points)
