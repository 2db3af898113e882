"""Check the sigmoid derivatives the higher-derivatives chapter glues (1.5).

The oracles are the closed forms s(1 - s) and s'(1 - 2s) and finite
differences of the sigmoid, all in float64 with plain Python floats.
"""

from __future__ import annotations

import math

import pytest

from tests.notebooks import glued_values

POINT = 0.173  # the input of the problem set


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def first_closed(x: float) -> float:
    s = sigmoid(x)
    return s * (1 - s)


def second_closed(x: float) -> float:
    s = sigmoid(x)
    return s * (1 - s) * (1 - 2 * s)


def first_difference(x: float, h: float = 1e-6) -> float:
    return (sigmoid(x + h) - sigmoid(x - h)) / (2 * h)


def second_difference(x: float, h: float = 1e-4) -> float:
    return (sigmoid(x + h) - 2 * sigmoid(x) + sigmoid(x - h)) / h**2


# glue name -> (closed form, finite difference) at POINT.
ORACLES = {
    "sigmoid_first": (first_closed(POINT), first_difference(POINT)),
    "sigmoid_second": (second_closed(POINT), second_difference(POINT)),
}


@pytest.fixture(scope="module")
def glued() -> dict:
    return glued_values("higher-derivatives")


@pytest.mark.parametrize("name", sorted(ORACLES))
def test_closed_form_agrees_with_finite_difference(name):
    closed, difference = ORACLES[name]
    assert closed == pytest.approx(difference, abs=1e-7)


@pytest.mark.parametrize("name", sorted(ORACLES))
def test_glued_answer_matches_oracle(glued, name):
    closed, _ = ORACLES[name]
    # float32 in the chapter: agreement to a few units in the 7th digit.
    assert glued[name] == pytest.approx(closed, abs=1e-6)


@pytest.mark.parametrize("name", sorted(ORACLES))
def test_glued_answer_rounds_like_oracle(glued, name):
    closed, _ = ORACLES[name]
    assert f"{glued[name]:.3f}" == f"{closed:.3f}"


def test_chapter_uses_the_problem_input(glued):
    assert glued["point"] == pytest.approx(POINT, rel=1e-6)
