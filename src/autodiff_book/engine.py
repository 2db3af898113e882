"""A scalar reverse-mode autodiff engine in plain Python, after micrograd.

``Value`` wraps one number. Every arithmetic operation returns a new
``Value`` that remembers its inputs (``_prev``), the operation (``_op``)
and a closure ``_backward`` that applies the local derivative (the chain
rule for that one step). ``backward`` visits the recorded graph once, in
reverse topological order, so a node used twice receives both
contributions before it passes its own gradient on.
"""

from __future__ import annotations

from numbers import Real

import numpy as np

from autodiff_book.checks import check_real, shown


def _as_value(other) -> Value:
    """Wrap a plain number; reject anything that is not a real number."""
    if isinstance(other, Value):
        return other
    if isinstance(other, Real) and not isinstance(other, bool):
        try:
            return Value(other)
        except ValueError:
            raise ValueError(
                "a Value can only be combined with a number that fits in a "
                f"float, got {shown(other)}"
            ) from None
    raise TypeError(
        f"a Value can only be combined with a Value or a real number, "
        f"got {type(other).__name__}"
    )


def _float(operation, *operands: float) -> float:
    """``operation`` in IEEE arithmetic, as torch computes: 1/0 is inf.

    Python's own ``**`` and ``math.exp`` raise instead (or return a
    complex number for a negative base), where torch gives inf or nan.
    """
    with np.errstate(all="ignore"):
        return float(operation(*map(np.float64, operands)))


class Value:
    """A scalar that records how it was computed, for reverse mode."""

    def __init__(self, data: float, _prev: tuple = (), _op: str = ""):
        if not isinstance(data, Real) or isinstance(data, bool):
            raise TypeError(
                f"data must be a real number, got {type(data).__name__}"
            )
        try:
            self.data = float(data)
        except OverflowError:
            raise ValueError(
                f"data must fit in a float, got {shown(data)}"
            ) from None
        self.grad = 0.0
        self._prev = _prev
        self._op = _op
        self._backward = lambda: None

    def __add__(self, other) -> Value:
        other = _as_value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other) -> Value:
        other = _as_value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, exponent: float) -> Value:
        # A constant exponent keeps the rule simple: d(x^k)/dx = k x^(k-1).
        if not isinstance(exponent, Real) or isinstance(exponent, bool):
            raise TypeError(
                "the exponent must be a real number (a constant), got "
                f"{type(exponent).__name__}"
            )
        exponent = check_real("the exponent", exponent)
        out = Value(
            _float(np.power, self.data, exponent), (self,), f"**{exponent:g}"
        )

        def _backward():
            slope = _float(np.power, self.data, exponent - 1)
            self.grad += exponent * slope * out.grad

        out._backward = _backward
        return out

    def exp(self) -> Value:
        """e to the power of this value."""
        out = Value(_float(np.exp, self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad  # d(e^x)/dx = e^x

        out._backward = _backward
        return out

    def sigmoid(self) -> Value:
        """1 / (1 + e^(-x)), composed of the operations above.

        For x < 0 the same value is written e^x / (1 + e^x): e^(-x) would
        overflow to inf far left, and its gradient turn 0 * inf = nan.
        """
        if self.data >= 0:
            return 1 / (1 + (-self).exp())
        e = self.exp()
        return e / (1 + e)

    # Everything below is built from +, *, ** and exp: no new derivatives.
    def __neg__(self) -> Value:
        return self * -1

    def __sub__(self, other) -> Value:
        return self + (-_as_value(other))

    def __truediv__(self, other) -> Value:
        return self * _as_value(other) ** -1

    def __radd__(self, other) -> Value:
        return _as_value(other) + self

    def __rmul__(self, other) -> Value:
        return _as_value(other) * self

    def __rsub__(self, other) -> Value:
        return _as_value(other) - self

    def __rtruediv__(self, other) -> Value:
        return _as_value(other) / self

    def backward(self) -> None:
        """Add d(self)/d(leaf) to ``grad`` of every leaf self depends on.

        Like torch, gradients accumulate on leaves (values built from no
        other value): set their ``grad`` back to zero before a second call
        if you want fresh ones. An intermediate node's ``grad`` holds
        d(self)/d(node) of this call alone: each call starts it from zero,
        where torch frees it instead.
        """
        # Iterative depth-first search: a node goes into `order` only after
        # all its inputs, and no Python recursion limits the graph's depth.
        order, visited = [], set()
        stack = [(self, False)]
        while stack:
            node, inputs_done = stack.pop()
            if inputs_done:
                order.append(node)
            elif node not in visited:
                visited.add(node)
                stack.append((node, True))
                stack.extend((child, False) for child in node._prev)
        # A previous pass's gradient left in an intermediate node would be
        # passed on again to the leaves below it.
        for node in order:
            if node._prev:
                node.grad = 0.0
        self.grad += 1.0
        for node in reversed(order):
            node._backward()

    def __bool__(self) -> bool:
        # Like a tensor of one element: Value(0.0) is false.
        return bool(self.data)

    def __repr__(self) -> str:
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"
