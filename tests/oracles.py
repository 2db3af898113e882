"""The book's answers computed a second way, each in one place.

The chapter and self-check tests compare what the book computes with an
independent reference: a closed form in plain Python floats, a central
finite difference, the problem set's training loop written out by hand.
Each reference lives here once, so that two tests checking the same answer
check it against the same oracle, and a fix to an oracle reaches them all.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from autodiff_book.data import load_dataset

# The data in the oracles' precision.


@functools.cache
def float64_data() -> tuple[torch.Tensor, torch.Tensor]:
    """The problem set's data set in float64: two (N, 1) tensors.

    Read once per test run; no test changes them in place.
    """
    x, y = load_dataset()
    return x.double(), y.double()


# Oracles: closed forms in plain floats (float64).


def bump(x: float) -> float:
    """Problem 1.1's function, 2 / ((5 - x)^2 + 4)."""
    return 2 / ((5 - x) ** 2 + 4)


def bump_derivative(x: float) -> float:
    """Its derivative by the quotient rule: 4 (5 - x) / ((5 - x)^2 + 4)^2."""
    return 4 * (5 - x) / ((5 - x) ** 2 + 4) ** 2


def sigmoid(x: float) -> float:
    """1 / (1 + exp(-x)), written apart from the package."""
    return 1 / (1 + math.exp(-x))


def sigmoid_derivative(x: float) -> float:
    """s (1 - s), the closed form of problem 1.5's first derivative."""
    s = sigmoid(x)
    return s * (1 - s)


def sigmoid_second_derivative(x: float) -> float:
    """s (1 - s) (1 - 2 s), the derivative of s (1 - s)."""
    s = sigmoid(x)
    return s * (1 - s) * (1 - 2 * s)


def central_difference(function: Callable[[float], float], at: float,
                       step: float = 1e-6) -> float:
    """(f(at + step) - f(at - step)) / (2 step)."""
    return (function(at + step) - function(at - step)) / (2 * step)


# The problem set's training loop (Part II), as the set writes it.


def plain_sgd(x, y, *, learning_rate, epochs, seed=0, evaluate=None):
    """Plain SGD on the line ``a x + b``: batches of 32 shuffled by ``seed``.

    Returns:
        The parameters (a, b), the loss of every update, and
        ``evaluate(parameters)`` after each epoch (empty without it).
    """
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
            parameters.grad = None
            loss = ((parameters[0] * x_batch + parameters[1] - y_batch) ** 2)
            loss = loss.mean()
            loss.backward()
            with torch.no_grad():
                parameters -= learning_rate * parameters.grad
            losses.append(loss.item())
        if evaluate is not None:
            per_epoch.append(evaluate(parameters.detach().clone()))
    return parameters.detach(), losses, per_epoch


# A chapter's table of oracles: glue name -> (closed form, finite
# difference). The three checks every such table gets.


def assert_closed_form_agrees(oracles: dict, name: str, **tolerance) -> None:
    """The two oracles of ``name`` agree: neither is a typo."""
    closed, difference = oracles[name]
    assert closed == pytest.approx(difference, **tolerance), name


def assert_glued_matches(glued: dict, oracles: dict, name: str,
                         **tolerance) -> None:
    """The chapter's glued value of ``name`` is its closed form."""
    closed, _ = oracles[name]
    assert glued[name] == pytest.approx(closed, **tolerance), name


def assert_rounds_like(glued: dict, oracles: dict, name: str) -> None:
    """The three decimals a reader sees are the closed form's."""
    closed, _ = oracles[name]
    assert f"{glued[name]:.3f}" == f"{closed:.3f}", name


def oracle_table_tests(oracles: dict, *, agree: dict, match: dict,
                       rounded: list[str] | None = None) -> tuple:
    """The three tests of a chapter's table of oracles, parametrized.

    A chapter test module assigns them to names that start with ``test_``
    (pytest collects them there, with that module's ``glued`` fixture):
    the closed form agrees with the finite difference (``agree``: the
    tolerance of ``pytest.approx``), the glued value matches the closed
    form (``match``), and the values named in ``rounded`` (default: all)
    show the closed form's three decimals.
    """
    every_name = pytest.mark.parametrize("name", sorted(oracles))

    @every_name
    def closed_form_agrees(name):
        assert_closed_form_agrees(oracles, name, **agree)

    @every_name
    def glued_matches(glued, name):
        assert_glued_matches(glued, oracles, name, **match)

    @pytest.mark.parametrize("name", sorted(rounded or oracles))
    def rounds_like(glued, name):
        assert_rounds_like(glued, oracles, name)

    return closed_form_agrees, glued_matches, rounds_like
