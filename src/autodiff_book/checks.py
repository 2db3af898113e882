"""The input checks every module of the package shares, one of each kind.

Each check names the argument it looks at and says what to do instead, so
that a reader who passes a list, a class, a sparse tensor or a NaN learns
what went wrong where it went wrong, not three calls deeper.
"""

from __future__ import annotations

import decimal
import math
import numbers
import os

import numpy as np
import torch


def check_name(name) -> str:
    """The name an error message gives an argument: a str."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    return name


def shown(value) -> str:
    """``value`` for an error message: its repr, kept short.

    A huge int has thousands of digits (and Python refuses to print one of
    more than 4300), a long list fills the screen; both are cut.
    """
    huge = isinstance(value, int) and value.bit_length() > 128
    if huge:
        sign = "a negative " if value < 0 else "an "
        return f"{sign}int of {value.bit_length()} bits"
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not hide the real error
        text = f"a {type(value).__name__}"
    return text if len(text) <= 120 else text[:117] + "..."


# Dtypes that hold real numbers: bool is a truth value, complex is not real.
NOT_REAL = (torch.bool, torch.complex32, torch.complex64, torch.complex128)


def check_tensor(name: str, value, *, floating: bool = False) -> torch.Tensor:
    """Return ``value`` if it is a dense tensor with real data, else raise.

    Args:
        name: the argument's name, for the message.
        value: what the caller passed.
        floating: also require a floating-point dtype.
    """
    check_name(name)
    if not isinstance(value, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor, got {type(value).__name__}"
        )
    if value.dtype in NOT_REAL:
        raise TypeError(
            f"{name} must hold real numbers, got {value.dtype}; convert it "
            f"with {name}.double()"
        )
    # A meta tensor has a shape but no numbers; a sparse one breaks
    # indexing and batching. Neither can be computed with here.
    if value.is_meta:
        raise TypeError(
            f"{name} is a meta tensor (a shape without data): create it "
            "on the CPU"
        )
    if value.layout != torch.strided:
        raise TypeError(
            f"{name} is a sparse tensor ({value.layout}): convert it with "
            f"{name}.to_dense()"
        )
    if floating and not value.is_floating_point():
        raise TypeError(
            f"{name} must hold floating-point numbers, got {value.dtype}; "
            f"convert it with {name}.float()"
        )
    return value


def check_finite(name: str, values: torch.Tensor | np.ndarray) -> None:
    """Raise ``ValueError`` if ``values`` holds inf or nan."""
    check_name(name)
    if isinstance(values, torch.Tensor):
        check_tensor(name, values)
    elif not isinstance(values, np.ndarray) or values.dtype.kind not in "iuf":
        raise TypeError(
            f"{name} must be a tensor or numpy array of real numbers, got "
            f"{shown(values)}"
        )
    finite = (
        torch.isfinite(values).all().item()
        if isinstance(values, torch.Tensor)
        else np.isfinite(values).all()
    )
    if not finite:
        raise ValueError(
            f"{name} holds inf or nan: the input is not finite; remove or "
            "repair those entries first"
        )


def check_real(name: str, value) -> float:
    """``value`` as a float if it is a finite real number, else raise."""
    check_name(name)
    # bool is an int in Python, but True as a learning rate is a mistake.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {shown(value)}")
    try:
        number = float(value)
    except OverflowError:  # an int or a Fraction beyond float64
        number = math.inf
    if not math.isfinite(number):
        raise ValueError(
            f"{name} must be a finite number, got {shown(value)}"
        )
    return number


def check_count(
    name: str, value, minimum: int = 1, maximum: int | None = None
) -> int:
    """``value`` as an int if ``minimum <= value <= maximum``, else raise.

    numpy integers count: ``np.int64(32)`` is a fine batch size.
    ``maximum=None`` sets no upper bound.
    """
    check_name(name)
    for bound, limit in (("minimum", minimum), ("maximum", maximum)):
        if limit is None and bound == "maximum":
            continue
        if isinstance(limit, bool) or not isinstance(limit, numbers.Integral):
            raise TypeError(f"{bound} must be an int, got {shown(limit)}")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {shown(value)}")
    if value < minimum:
        raise ValueError(
            f"{name} must be at least {minimum}, got {shown(value)}"
        )
    if maximum is not None and value > maximum:
        raise ValueError(
            f"{name} must be at most {maximum}, got {shown(value)}"
        )
    return int(value)


def check_bool(name: str, value) -> bool:
    """``value`` if it is True or False, else raise.

    A string such as ``"no"`` is true to Python: a flag that guards
    someone's files must not be set by it.
    """
    check_name(name)
    if not isinstance(value, bool | np.bool_):
        raise TypeError(
            f"{name} must be True or False, got {shown(value)}"
        )
    return bool(value)


# torch.Generator.manual_seed takes any 64-bit integer, signed or not.
SEED_RANGE = (-(2**63), 2**64 - 1)


def check_seed(name: str, value) -> int:
    """``value`` as an int if torch can seed a generator with it."""
    check_name(name)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {shown(value)}")
    low, high = SEED_RANGE
    if not low <= value <= high:
        raise ValueError(
            f"{name} must lie between {low} and {high} (64 bits), "
            f"got {shown(value)}"
        )
    return int(value)


def check_array(name: str, value) -> np.ndarray:
    """``value`` as a float64 numpy array if it holds real numbers.

    Takes a tensor (checked as above), a numpy array or a (nested) list of
    numbers. Text, complex numbers, truth values, objects and ints beyond
    float64 are refused rather than converted: numpy would turn ``"1"``
    into 1.0 and drop an imaginary part with a mere warning.
    """
    check_name(name)
    if isinstance(value, torch.Tensor):
        value = check_tensor(name, value).detach().to("cpu", torch.float64)
        return value.numpy()
    if isinstance(value, str | bytes):
        raise TypeError(
            f"{name} must be numbers (a tensor, array or list), got "
            f"{type(value).__name__}"
        )
    try:
        array = np.asarray(value)
    except (TypeError, ValueError, OverflowError, RuntimeError):
        array = None
    # "iuf": signed and unsigned integers and floats; not bool, complex,
    # text or Python objects other than exact numbers (ints beyond 64
    # bits, Fraction, Decimal).
    if array is not None and array.dtype.kind == "O" and all(
        isinstance(item, numbers.Real | decimal.Decimal)
        and not isinstance(item, bool)
        for item in array.flat
    ):
        try:
            return array.astype(np.float64)
        except OverflowError:
            raise ValueError(
                f"{name} holds a number too large for float64: "
                f"{shown(value)}"
            ) from None
    if array is None or array.dtype.kind not in "iuf":
        kind = type(value).__name__ if array is None else array.dtype
        raise TypeError(
            f"{name} must hold real numbers (a tensor, array or list of "
            f"floats), got {shown(value)} ({kind})"
        )
    return array.astype(np.float64)


def check_path(name: str, value) -> str | os.PathLike:
    """``value`` if it names a file or folder: a non-empty str or a path.

    ``""`` is what an unset shell variable gives, and ``Path("")`` is the
    current folder: refuse it rather than write there.
    """
    check_name(name)
    if not isinstance(value, str | os.PathLike):
        raise TypeError(
            f"{name} must be a str or a pathlib.Path, got "
            f"{type(value).__name__}"
        )
    text = os.fspath(value)
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a text path, got bytes")
    if not text.strip():
        raise ValueError(
            f"{name} is empty ({text!r}): give a folder, e.g. data/ "
            "(is a shell variable unset?)"
        )
    if "\0" in text:
        raise ValueError(f"{name} contains a NUL character: {shown(text)}")
    return value
