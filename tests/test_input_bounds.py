"""Inputs exactly at the edge of what a function accepts.

A check written ``>`` where ``>=`` was meant moves the edge by one value;
these tests pin each edge from both sides (found by mutation testing).
"""

import math
from fractions import Fraction

import numpy as np
import pytest

from autodiff_book import functions


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
