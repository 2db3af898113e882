"""Tests of the input checks that every module of the package shares."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autodiff_book import checks
from autodiff_book.checks import SEED_RANGE, check_seed, check_tensor


@pytest.mark.parametrize(
    "value",
    [torch.tensor([1, 2]), torch.zeros(2, 3, dtype=torch.bfloat16),
     torch.zeros(2, 3)],
    ids=["int64", "bfloat16", "float32"],
)
def test_check_tensor_requires_floating_point_only_when_asked(value):
    # The docstring: ``floating`` *also* requires a floating-point dtype,
    # so without it any dense tensor passes, unchanged.
    assert check_tensor("x", value) is value


def test_check_tensor_floating_message_in_full():
    with pytest.raises(TypeError) as caught:
        check_tensor("x", torch.tensor([1, 2]), floating=True)
    assert str(caught.value) == (
        "x must hold floating-point numbers, got torch.int64; convert it "
        "with x.float()"
    )


def torch_accepts_seed(seed: int) -> bool:
    """Whether torch.Generator.manual_seed takes ``seed``: the promise."""
    try:
        torch.Generator().manual_seed(seed)
    except (RuntimeError, ValueError, OverflowError):
        return False
    return True


@pytest.mark.parametrize(
    "seed", [-(2**63) - 1, -(2**63), 0, 2**64 - 1, 2**64]
)
def test_check_seed_accepts_exactly_what_torch_can_seed(seed):
    # Both ends of the range and one step beyond each.
    if torch_accepts_seed(seed):
        assert check_seed("seed", seed) == seed
    else:
        low, high = SEED_RANGE
        with pytest.raises(ValueError) as caught:
            check_seed("seed", seed)
        assert str(caught.value) == (
            f"seed must lie between {low} and {high} (64 bits), got {seed}"
        )


def test_the_seed_range_ends_are_torch_limits():
    low, high = SEED_RANGE
    assert [torch_accepts_seed(s) for s in (low - 1, low, high, high + 1)] == [
        False, True, True, False,
    ]


@pytest.mark.parametrize(
    "dtype", [torch.bool, torch.complex64, torch.complex128],
)
def test_check_tensor_refuses_truth_values_and_complex_numbers(dtype):
    # Neither is a real number: sigmoid(-x) of a bool tensor fails inside
    # torch, and a complex one has no order for x >= 0.
    with pytest.raises(TypeError) as caught:
        check_tensor("x", torch.zeros(2, dtype=dtype))
    assert str(caught.value) == (
        f"x must hold real numbers, got {dtype}; convert it with x.double()"
    )


# shown(): what an error message prints of a value.


class BrokenRepr:
    def __repr__(self):
        raise RuntimeError("no repr")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (2**127, repr(2**127)),  # 128 bits: still printed
        (2**128, "an int of 129 bits"),
        (-(2**200), "a negative int of 201 bits"),
        (BrokenRepr(), "a BrokenRepr"),
        ("x" * 118, repr("x" * 118)),  # a repr of 120 characters
        ("x" * 119, repr("x" * 119)[:117] + "..."),  # 121: cut to 120
    ],
)
def test_shown_keeps_a_message_short(value, text):
    assert checks.shown(value) == text
    assert len(checks.shown(value)) <= 120


def test_check_bool_message_in_full():
    with pytest.raises(TypeError) as caught:
        checks.check_bool("force", "no")
    assert str(caught.value) == "force must be True or False, got 'no'"


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        ("12", TypeError,
         "x must be numbers (a tensor, array or list), got str"),
        # Ragged: numpy refuses to make an array of it at all.
        ([1.0, [2.0, 3.0]], TypeError,
         "x must hold real numbers (a tensor, array or list of floats), "
         "got [1.0, [2.0, 3.0]] (list)"),
        (np.array(["a", 1], dtype=object), TypeError,
         "x must hold real numbers (a tensor, array or list of floats), "
         "got array(['a', 1], dtype=object) (object)"),
        ([1 + 2j], TypeError,
         "x must hold real numbers (a tensor, array or list of floats), "
         "got [(1+2j)] (complex128)"),
        ([10**400], ValueError,
         "x holds a number too large for float64: "
         + repr([10**400])[:117] + "..."),
    ],
)
def test_check_array_messages_in_full(value, error, message):
    with pytest.raises(error) as caught:
        checks.check_array("x", value)
    assert str(caught.value) == message


def test_check_array_reads_exact_numbers_and_tensors_as_float64():
    from fractions import Fraction

    exact = checks.check_array("x", [Fraction(1, 4), 2**70, 3])
    assert exact.dtype == np.float64
    assert exact.tolist() == [0.25, 2.0**70, 3.0]
    half = checks.check_array("x", torch.tensor([0.5], dtype=torch.bfloat16))
    assert half.dtype == np.float64 and half.tolist() == [0.5]
