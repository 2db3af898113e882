"""The scalar engine computes with Python's float operations, exactly.

Each operation of ``Value`` is one rounded float operation (a division
a / b is a * b ** -1), so a formula built from them gives the same bits
as the same formula on floats. The sigmoid promises (its docstring)
1 / (1 + e^(-x)) for x >= 0 and e^x / (1 + e^x) below; the two differ in
the last bit at about a third of the inputs in [0, 1), so each side is
checked bit for bit (found by mutation testing: a branch moved from 0 to 1
went unseen).
"""

import numpy as np
import pytest

from autodiff_book.engine import Value


@pytest.mark.parametrize("x", [0.0, 0.007, 0.5, 0.999, 3.0, 40.0])
def test_sigmoid_from_zero_up_is_one_over_one_plus_exp_minus_x(x):
    assert Value(x).sigmoid().data == 1 * (1 + np.exp(-x)) ** -1


@pytest.mark.parametrize("x", [-0.007, -0.5, -3.0, -800.0])
def test_sigmoid_below_zero_is_exp_x_over_one_plus_exp_x(x):
    e = np.exp(x)
    assert Value(x).sigmoid().data == e * (1 + e) ** -1


def test_the_two_forms_differ_where_the_tests_look():
    # Otherwise the tests above could not tell the branches apart.
    e = np.exp(0.007)
    assert (1 + np.exp(-0.007)) ** -1 != e * (1 + e) ** -1
