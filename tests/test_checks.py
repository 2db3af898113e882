"""Tests of the input checks that every module of the package shares."""

from __future__ import annotations

import pytest
import torch

from autodiff_book.checks import SEED_RANGE, check_seed, check_tensor


@pytest.mark.parametrize(
    "value",
    [torch.tensor([1, 2]), torch.tensor([True]), torch.zeros(2, 3)],
    ids=["int64", "bool", "float32"],
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
