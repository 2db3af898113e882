"""The scalar engine against torch in float64, the micrograd way.

Every expression is written once, as a function of its inputs, and run
twice: on the engine's ``Value`` and on float64 tensors. The value and
every input's gradient must agree within 1e-6.
"""

import math
import sys
import warnings

import pytest
import torch

from autodiff_book.engine import Value
from autodiff_book.functions import bump, bump_derivative, vector_function
from tests import oracles

TOLERANCE = 1e-6


def engine_result(f, *point):
    """Value and input gradients of f at point, computed by the engine."""
    inputs = [Value(p) for p in point]
    out = f(*inputs)
    out.backward()
    return out.data, [v.grad for v in inputs]


def torch_result(f, *point):
    """Value and input gradients of f at point, computed by torch."""
    inputs = [
        torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in point
    ]
    out = f(*inputs)
    out.backward()
    return out.item(), [t.grad.item() for t in inputs]


# Each works on a Value and on a tensor alike: operators, .exp(),
# .sigmoid().
EXPRESSIONS = {
    "add": (lambda a, b: a + b, (1.5, -2.0)),
    "sub": (lambda a, b: a - b, (1.5, -2.0)),
    "mul": (lambda a, b: a * b, (1.5, -2.0)),
    "div": (lambda a, b: a / b, (1.5, -2.0)),
    "pow": (lambda a: a**3, (1.3,)),
    "negative power": (lambda a: a**-2.5, (1.3,)),
    "neg": (lambda a: -a, (0.7,)),
    "exp": (lambda a: a.exp(), (0.7,)),
    "sigmoid": (lambda a: a.sigmoid(), (-1.2,)),
    "radd rmul": (lambda a: 2.0 + 3 * a, (0.4,)),
    "rsub rtruediv": (lambda a: 5.0 - 1 / a, (0.4,)),
    "micrograd mix": (
        lambda a, b: (a * b + b**3).exp() / (1 + a * a) - (-b) * a,
        (-0.4, 0.6),
    ),
    "bump (problem 1.1)": (bump, (2.0,)),
    "problem 1.3 first component": (lambda x, y: x**2 + y**2, (1.376, 2.123)),
    "problem 1.3 second component": (
        lambda x, y: 2 * x**2 * y**2,
        (1.376, 2.123),
    ),
}


@pytest.mark.parametrize(
    ("f", "point"), EXPRESSIONS.values(), ids=EXPRESSIONS.keys()
)
def test_engine_matches_torch(f, point):
    value, grads = engine_result(f, *point)
    torch_value, torch_grads = torch_result(f, *point)
    assert value == pytest.approx(torch_value, abs=TOLERANCE)
    assert grads == pytest.approx(torch_grads, abs=TOLERANCE)


@pytest.mark.parametrize("x", [-4.0, -0.5, 0.0, 0.173, 3.0])
def test_sigmoid_gradient_matches_torch_and_closed_form(x):
    value, (grad,) = engine_result(Value.sigmoid, x)
    _, (torch_grad,) = torch_result(torch.sigmoid, x)
    assert value == pytest.approx(oracles.sigmoid(x), abs=TOLERANCE)
    assert grad == pytest.approx(torch_grad, abs=TOLERANCE)
    assert grad == pytest.approx(oracles.sigmoid_derivative(x),
                                 abs=TOLERANCE)


@pytest.mark.parametrize("x", [-1.0, 2.0, 5.0, 7.5])
def test_bump_gradient_matches_closed_form(x):
    _, (grad,) = engine_result(bump, x)
    assert grad == pytest.approx(bump_derivative(x), abs=TOLERANCE)


@pytest.mark.parametrize("component", [0, 1])
def test_vector_function_components_match_torch(component):
    def engine_f(x, y):
        return (x**2 + y**2, 2 * x**2 * y**2)[component]

    def torch_f(x, y):
        return vector_function(x, y)[component]

    point = (1.376, 2.123)
    value, grads = engine_result(engine_f, *point)
    torch_value, torch_grads = torch_result(torch_f, *point)
    assert value == pytest.approx(torch_value, abs=TOLERANCE)
    assert grads == pytest.approx(torch_grads, abs=TOLERANCE)


def test_node_used_twice_gets_both_contributions():
    def f(a):
        b = a + a
        return b + b

    _, (grad,) = engine_result(f, -4.0)
    _, (torch_grad,) = torch_result(f, -4.0)
    assert grad == pytest.approx(torch_grad, abs=TOLERANCE)
    assert grad == pytest.approx(4.0)


def test_shared_intermediate_node():
    # micrograd's own case: an intermediate value reused by two branches.
    def f(a, b):
        c = a * b
        d = c + c * c
        return d / (c + 1) + c.exp()

    value, grads = engine_result(f, 0.3, -0.8)
    torch_value, torch_grads = torch_result(f, 0.3, -0.8)
    assert value == pytest.approx(torch_value, abs=TOLERANCE)
    assert grads == pytest.approx(torch_grads, abs=TOLERANCE)


def test_chain_deeper_than_recursion_limit():
    depth = 3 * sys.getrecursionlimit() + 20_000

    def chain(x):
        out = x
        for _ in range(depth):
            out = out * (1 + 1 / depth)
        return out

    value, (grad,) = engine_result(chain, 1.0)
    torch_value, (torch_grad,) = torch_result(chain, 1.0)
    assert depth > 10_000
    assert grad == pytest.approx(torch_grad, abs=TOLERANCE)
    assert grad == pytest.approx((1 + 1 / depth) ** depth, rel=1e-9)
    assert value == pytest.approx(torch_value, abs=TOLERANCE)


def test_gradients_accumulate_like_torch():
    x = Value(3.0)
    (x * x).backward()
    (x * x).backward()
    assert x.grad == pytest.approx(2 * 2 * 3.0)


@pytest.mark.parametrize("bad", ["1.0", None, [1.0], True])
def test_value_rejects_non_numbers(bad):
    with pytest.raises(TypeError, match="data must be a real number"):
        Value(bad)


@pytest.mark.parametrize("bad", ["1.0", None, [1.0], True])
@pytest.mark.parametrize(
    "operation",
    [
        lambda v, o: v + o,
        lambda v, o: o + v,
        lambda v, o: v * o,
        lambda v, o: o * v,
        lambda v, o: v - o,
        lambda v, o: v / o,
    ],
)
def test_operations_reject_non_numbers(operation, bad):
    with pytest.raises(TypeError, match="can only be combined with a Value"):
        operation(Value(2.0), bad)


@pytest.mark.parametrize("bad", [Value(2.0), "2", True])
def test_power_needs_a_constant_exponent(bad):
    with pytest.raises(TypeError, match="exponent must be a real number"):
        Value(2.0) ** bad


def test_backward_twice_accumulates_on_leaves_only_like_torch():
    # Intermediate gradients are recomputed by each pass; only leaves add
    # up, as in torch (which frees the intermediates' gradients).
    x = Value(2.0)
    h = x * 3
    y = h * 1
    y.backward()
    y.backward()
    x_torch = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    y_torch = (x_torch * 3) * 1
    y_torch.backward(retain_graph=True)
    y_torch.backward()
    assert x.grad == pytest.approx(x_torch.grad.item(), abs=TOLERANCE)
    assert x.grad == pytest.approx(6.0)
    # After a pass, an intermediate node holds d(output)/d(node) of that
    # pass alone.
    assert h.grad == pytest.approx(1.0)
    assert y.grad == pytest.approx(1.0)


def test_two_outputs_sharing_an_intermediate_like_torch():
    x = Value(2.0)
    h = x * 3
    first, second = h * 1, h * 2
    first.backward()
    second.backward()
    x_torch = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    h_torch = x_torch * 3
    (h_torch * 1).backward(retain_graph=True)
    (h_torch * 2).backward()
    assert x.grad == pytest.approx(x_torch.grad.item(), abs=TOLERANCE)
    assert x.grad == pytest.approx(9.0)
    assert h.grad == pytest.approx(2.0)


def test_backward_of_a_leaf_adds_one_like_torch():
    x = Value(5.0)
    x.backward()
    x.backward()
    x_torch = torch.tensor(5.0, dtype=torch.float64, requires_grad=True)
    x_torch.backward()
    x_torch.backward()
    assert x.grad == pytest.approx(x_torch.grad.item())
    assert x.grad == pytest.approx(2.0)


def test_each_node_records_its_operation_and_inputs():
    a, b = Value(2.0), Value(-3.0)
    cases = [
        (a + b, "+", (a, b)),
        (a * b, "*", (a, b)),
        (a**2.5, "**2.5", (a,)),
        (a.exp(), "exp", (a,)),
    ]
    for node, op, inputs in cases:
        assert node._op == op
        assert node._prev == inputs
    assert Value(1.0)._op == ""
    assert Value(1.0)._prev == ()
    assert repr(Value(0.5)) == "Value(data=0.5, grad=0)"


def test_error_messages_in_full():
    with pytest.raises(TypeError) as caught:
        Value(2.0) ** "2"
    assert str(caught.value) == (
        "the exponent must be a real number (a constant), got str"
    )
    with pytest.raises(TypeError) as caught:
        Value(2.0) + "2"
    assert str(caught.value) == (
        "a Value can only be combined with a Value or a real number, got str"
    )
    with pytest.raises(TypeError) as caught:
        Value(None)
    assert str(caught.value) == "data must be a real number, got NoneType"


def test_value_type_error_names_the_type_given():
    with pytest.raises(TypeError) as caught:
        Value("1.0")
    assert str(caught.value) == "data must be a real number, got str"


def test_negation_records_one_product_with_the_constant_minus_one():
    # The recorded graph is what the book's engine section shows a reader
    # (_prev, _op): -a is one multiplication of a by a leaf holding -1,
    # and a - b adds that product to a.
    a, b = Value(2.0), Value(-3.0)
    negated = -a
    assert negated._op == "*"
    assert negated.data == -2.0
    first, constant = negated._prev
    assert first is a
    assert (constant.data, constant._op, constant._prev) == (-1.0, "", ())
    difference = a - b
    assert difference._op == "+"
    assert difference._prev[0] is a
    product = difference._prev[1]
    assert product._op == "*" and product._prev[0] is b
    assert (product._prev[1].data, product._prev[1]._prev) == (-1.0, ())


# Hostile input, round 2 (issue 24): the engine computes as torch does.


def value_and_grad(function, x, leaf):
    """``function(x)`` and d/dx by backward(), as two floats."""
    out = function(x)
    out.backward()
    value = out.data if isinstance(out, Value) else out.item()
    return value, float(leaf.grad)


@pytest.mark.parametrize(
    ("engine", "reference", "point"),
    [
        (lambda x: x / 0, lambda t: t / 0, 1.0),  # Python raises
        (lambda x: x / 0, lambda t: t / 0, 0.0),  # nan
        (lambda x: x**0.5, lambda t: t**0.5, 0.0),  # gradient inf
        (lambda x: x**-1, lambda t: t**-1, 0.0),
        (lambda x: x**0.5, lambda t: t**0.5, -4.0),  # Python: complex
        (Value.exp, torch.exp, 1000.0),  # math.exp raises
        (Value.sigmoid, torch.sigmoid, -1000.0),  # gradient 0, not nan
        (Value.sigmoid, torch.sigmoid, 800.0),
        (Value.sigmoid, torch.sigmoid, -3.0),
    ],
)
def test_the_engine_gives_inf_and_nan_where_torch_does(engine, reference,
                                                       point):
    leaf = Value(point)
    tensor = torch.tensor(point, dtype=torch.float64, requires_grad=True)
    got = value_and_grad(engine, leaf, leaf)
    want = value_and_grad(reference, tensor, tensor)
    assert got == pytest.approx(want, nan_ok=True)


def test_a_value_of_zero_is_false_like_a_tensor():
    assert [bool(Value(v)) for v in (0.0, -0.0, 2.0, math.nan)] == [
        bool(torch.tensor(v)) for v in (0.0, -0.0, 2.0, math.nan)
    ]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: Value(10**400), ValueError,
         "data must fit in a float, got an int of 1329 bits"),
        (lambda: Value(1.0) + 10**400, ValueError,
         "a Value can only be combined with a number that fits in a "
         "float, got an int of 1329 bits"),
        (lambda: Value(2.0) ** 10**400, ValueError,
         "the exponent must be a finite number, got an int of 1329 bits"),
        (lambda: Value(2.0) ** math.nan, ValueError,
         "the exponent must be a finite number, got nan"),
    ],
)
def test_numbers_beyond_a_float_are_refused_by_name(call, error, message):
    with pytest.raises(error) as caught:
        call()
    assert str(caught.value) == message


def test_inf_and_nan_come_without_numpy_warnings():
    # torch says nothing when 1/0 gives inf; neither does the engine.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quotient = Value(1.0) / 0
        root = Value(-4.0) ** 0.5
        big = Value(1000.0).exp()
    assert (quotient.data, big.data) == (math.inf, math.inf)
    assert math.isnan(root.data)
