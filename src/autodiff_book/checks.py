"""The input checks every module of the package shares, one of each kind.

Each check names the argument it looks at and says what to do instead, so
that a reader who passes a list, a class, a sparse tensor or a NaN learns
what went wrong where it went wrong, not three calls deeper.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch


def check_tensor(name: str, value, *, floating: bool = False) -> torch.Tensor:
    """Return ``value`` if it is a dense tensor with real data, else raise.

    Args:
        name: the argument's name, for the message.
        value: what the caller passed.
        floating: also require a floating-point dtype.
    """
    if not isinstance(value, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor, got {type(value).__name__}"
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
    # bool is an int in Python, but True as a learning rate is a mistake.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def check_count(name: str, value, minimum: int = 1) -> int:
    """``value`` as an int if it is an integer >= ``minimum``, else raise.

    numpy integers count: ``np.int64(32)`` is a fine batch size.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


# torch.Generator.manual_seed takes any 64-bit integer, signed or not.
SEED_RANGE = (-(2**63), 2**64 - 1)


def check_seed(name: str, value) -> int:
    """``value`` as an int if torch can seed a generator with it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    low, high = SEED_RANGE
    if not low <= value <= high:
        raise ValueError(
            f"{name} must lie between {low} and {high} (64 bits), "
            f"got {value}"
        )
    return int(value)
