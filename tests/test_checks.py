"""Tests of the input checks that every module of the package shares."""

from __future__ import annotations

import math
from pathlib import Path

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


@pytest.mark.parametrize(
    ("seed", "shown"),
    [(2.0, "2.0"), (True, "True"), ("42", "'42'"), (None, "None")],
)
def test_check_seed_message_names_what_it_was_given(seed, shown):
    with pytest.raises(TypeError) as caught:
        check_seed("seed", seed)
    assert str(caught.value) == f"seed must be an int, got {shown}"


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


# check_name, check_real, check_count, check_path: what each accepts, at
# its boundaries, and each refusal's message in full (issue 24's mutants).


def test_check_name_returns_the_name_and_refuses_anything_else():
    assert checks.check_name("learning_rate") == "learning_rate"
    with pytest.raises(TypeError) as caught:
        checks.check_name(3)
    assert str(caught.value) == "name must be a str, got int"


@pytest.mark.parametrize(
    "check",
    [checks.check_real, checks.check_count, checks.check_path,
     checks.check_bool, checks.check_seed, checks.check_array,
     checks.check_tensor, checks.check_finite],
    ids=lambda check: check.__name__,
)
def test_every_check_checks_the_name_it_is_given(check):
    # A good value, so that only the name can be at fault.
    good = {"check_path": "data", "check_bool": True,
            "check_tensor": torch.zeros(1), "check_finite": torch.zeros(1)}
    with pytest.raises(TypeError) as caught:
        check(None, good.get(check.__name__, 1))
    assert str(caught.value) == "name must be a str, got NoneType"


@pytest.mark.parametrize(
    ("value", "number"),
    [(0.5, 0.5), (3, 3.0), (-0.0, -0.0), (np.float32(0.25), 0.25),
     (np.int64(-2), -2.0), (2**1023, 2.0**1023), (5e-324, 5e-324)],
)
def test_check_real_returns_a_python_float(value, number):
    result = checks.check_real("x", value)
    assert type(result) is float and result == number


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (True, TypeError, "lr must be a number, got True"),
        (np.bool_(False), TypeError,
         "lr must be a number, got np.False_"),
        ("0.1", TypeError, "lr must be a number, got '0.1'"),
        (1j, TypeError, "lr must be a number, got 1j"),
        (None, TypeError, "lr must be a number, got None"),
        (math.nan, ValueError, "lr must be a finite number, got nan"),
        (-math.inf, ValueError, "lr must be a finite number, got -inf"),
        # Beyond float64: float() overflows, and the value is cut short.
        (10**400, ValueError,
         "lr must be a finite number, got an int of 1329 bits"),
        (-(2**1024), ValueError,
         "lr must be a finite number, got a negative int of 1025 bits"),
    ],
)
def test_check_real_messages_in_full(value, error, message):
    with pytest.raises(error) as caught:
        checks.check_real("lr", value)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("arguments", "number"),
    [
        ((1,), 1),  # the default minimum is 1, inclusive
        ((0, 0), 0),
        ((-3, -3, -3), -3),  # both bounds inclusive
        ((9, 1, 9), 9),
        ((10**30, 1, None), 10**30),  # no upper bound
        ((np.int64(32),), 32),
    ],
)
def test_check_count_accepts_its_bounds_and_returns_an_int(arguments,
                                                         number):
    result = checks.check_count("n", *arguments)
    assert type(result) is int and result == number


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ((0,), ValueError, "n must be at least 1, got 0"),
        ((-1, 0), ValueError, "n must be at least 0, got -1"),
        ((10, 1, 9), ValueError, "n must be at most 9, got 10"),
        ((2**200, 1, 2**63), ValueError,
         f"n must be at most {2**63}, got an int of 201 bits"),
        ((True,), TypeError, "n must be an int, got True"),
        ((np.bool_(True),), TypeError, "n must be an int, got np.True_"),
        ((2.0,), TypeError, "n must be an int, got 2.0"),
        (("3",), TypeError, "n must be an int, got '3'"),
        ((3, None), TypeError, "minimum must be an int, got None"),
        ((3, 1.0), TypeError, "minimum must be an int, got 1.0"),
        ((3, False), TypeError, "minimum must be an int, got False"),
        ((3, 1, 9.5), TypeError, "maximum must be an int, got 9.5"),
        ((3, 1, True), TypeError, "maximum must be an int, got True"),
        ((3, 1, "9"), TypeError, "maximum must be an int, got '9'"),
    ],
)
def test_check_count_messages_in_full(arguments, error, message):
    with pytest.raises(error) as caught:
        checks.check_count("n", *arguments)
    assert str(caught.value) == message


class BytesPath:
    """A path-like object whose path is bytes."""

    def __fspath__(self):
        return b"data"


@pytest.mark.parametrize(
    "value", ["data", "a b", Path("data"), Path("/")],
)
def test_check_path_returns_what_it_was_given(value):
    assert checks.check_path("folder", value) is value


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (3, TypeError, "folder must be a str or a pathlib.Path, got int"),
        (b"data", TypeError,
         "folder must be a str or a pathlib.Path, got bytes"),
        (BytesPath(), TypeError, "folder must be a text path, got bytes"),
        ("", ValueError,
         "folder is empty (''): give a folder, e.g. data/ (is a shell "
         "variable unset?)"),
        (" \t", ValueError,
         "folder is empty (' \\t'): give a folder, e.g. data/ (is a shell "
         "variable unset?)"),
        ("a\0b", ValueError,
         "folder contains a NUL character: 'a\\x00b'"),
        (Path("a\0"), ValueError,
         "folder contains a NUL character: 'a\\x00'"),
    ],
)
def test_check_path_messages_in_full(value, error, message):
    with pytest.raises(error) as caught:
        checks.check_path("folder", value)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("values", "shown"),
    [([1.0], "[1.0]"), (np.array([True]), "array([ True])"),
     (np.array([1j]), "array([0.+1.j])"), ("1", "'1'")],
)
def test_check_finite_type_message_shows_the_value(values, shown):
    with pytest.raises(TypeError) as caught:
        checks.check_finite("values", values)
    assert str(caught.value) == (
        "values must be a tensor or numpy array of real numbers, got "
        + shown
    )


@pytest.mark.parametrize(
    "values",
    [np.array([1.0, np.inf]), np.array([np.nan]), torch.tensor([-np.inf])],
    ids=["array inf", "array nan", "tensor -inf"],
)
def test_check_finite_refuses_inf_and_nan_in_full(values):
    with pytest.raises(ValueError) as caught:
        checks.check_finite("values", values)
    assert str(caught.value) == (
        "values holds inf or nan: the input is not finite; remove or "
        "repair those entries first"
    )


@pytest.mark.parametrize(
    "values",
    [np.array([1, 2]), np.array([3], dtype=np.uint8), np.zeros((2, 0)),
     torch.tensor([1.0, -2.0])],
    ids=["int64", "uint8", "empty", "tensor"],
)
def test_check_finite_accepts_finite_real_numbers(values):
    assert checks.check_finite("values", values) is None
