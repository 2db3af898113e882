"""Inputs exactly at the edge of what a function accepts.

A check written ``>`` where ``>=`` was meant moves the edge by one value;
these tests pin each edge from both sides (found by mutation testing).
"""

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest

from autodiff_book import functions, regression


@pytest.mark.parametrize("x", [1e100, -1e100])
def test_bump_takes_the_largest_allowed_input(x):
    # The edge is inclusive ("between -1e100 and 1e100"); the exact value
    # from fractions, 2 / ((5 - x)^2 + 4), is about 2e-200.
    exact = Fraction(2) / ((5 - Fraction(x)) ** 2 + 4)
    assert math.isclose(functions.bump(x), float(exact), rel_tol=1e-14)


@pytest.mark.parametrize("x", [np.nextafter(1e100, math.inf), -1e101])
def test_bump_refuses_an_input_just_beyond_it(x):
    with pytest.raises(ValueError) as caught:
        functions.bump(float(x))
    assert str(caught.value) == (
        f"x must lie between -1e+100 and 1e+100, got {float(x)!r}: the "
        "square in the formula overflows float64"
    )


@pytest.mark.parametrize(
    "x", [[0.0, 1.0, 2.0], [2.0, 2.0, 2.0]], ids=["spread", "constant"],
)
def test_an_overflowing_grid_is_refused_in_full_without_warnings(x):
    # 1e200 squared overflows (and for a constant x, 0 * inf is nan); the
    # refusal comes without numpy's warnings (errors here, so that a
    # warning fails the test).
    x = np.array(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError) as caught:
            regression.mse_surface(x, 2 * x, [1e200], [0.0])
    assert str(caught.value) == (
        "slopes and biases reach so far that the MSE overflows float64: "
        "choose grids nearer the data's least-squares line"
    )
