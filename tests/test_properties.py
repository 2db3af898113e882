"""Property tests: random programs, random hyper-parameters, random shapes.

Hypothesis draws the cases; each is computed by the package and by torch in
float64, the way the unit tests do it for hand-picked cases. The settings
keep the whole file to a few seconds and derandomise it, so that a run in CI
draws the same cases every time.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from autodiff_book.engine import Value
from autodiff_book.functions import trace_of_square, vector_function
from autodiff_book.training import (
    SGD,
    Momentum,
    linear_model,
    mean_squared_error,
)

FAST = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

# Each operation works on a Value and on a float64 tensor alike. Division
# and negative powers use 1 + b * b, which never vanishes.
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (1 + b * b),
    "radd": lambda a, b: 0.5 + a,
    "rsub": lambda a, b: 1.5 - b,
    "rmul": lambda a, b: -2.0 * a,
    "rdiv": lambda a, b: 3.0 / (1 + a * a),
}
UNARY = {
    "neg": lambda a: -a,
    "square": lambda a: a**2,
    "cube": lambda a: a**3,
    "inverse": lambda a: (1 + a * a) ** -1.5,
    "exp": lambda a: (a * 0.1).exp(),
    "sigmoid": lambda a: a.sigmoid(),
}


@st.composite
def programs(draw):
    """Leaves, then steps that each combine earlier nodes, reuse included."""
    leaves = draw(
        st.lists(
            st.floats(-2, 2, allow_nan=False, allow_subnormal=False),
            min_size=1,
            max_size=3,
        )
    )
    steps = []
    for position in range(draw(st.integers(1, 12))):
        available = len(leaves) + position
        if draw(st.booleans()):
            name = draw(st.sampled_from(sorted(BINARY)))
            operands = (
                draw(st.integers(0, available - 1)),
                draw(st.integers(0, available - 1)),
            )
        else:
            name = draw(st.sampled_from(sorted(UNARY)))
            operands = (draw(st.integers(0, available - 1)),)
        steps.append((name, operands))
    # The output uses the last node and, often, an earlier one again.
    reuse = draw(st.integers(0, len(leaves) + len(steps) - 1))
    return leaves, steps, reuse


def run(program, leaves):
    """Apply the program's steps to ``leaves``; the output node."""
    _, steps, reuse = program
    nodes = list(leaves)
    for name, operands in steps:
        operation = BINARY.get(name) or UNARY[name]
        nodes.append(operation(*(nodes[i] for i in operands)))
    return nodes[-1] + nodes[reuse] * nodes[-1]


def leaves_and_torch_output(program):
    """The program's leaves as engine Values and as float64 tensors, and
    torch's output, skipping programs whose output is not a modest number."""
    points = program[0]
    values = [Value(p) for p in points]
    tensors = [
        torch.tensor(p, dtype=torch.float64, requires_grad=True)
        for p in points
    ]
    out_torch = run(program, tensors)
    assume(torch.isfinite(out_torch) and abs(out_torch.item()) < 1e8)
    return values, tensors, out_torch


@FAST
@given(programs())
def test_random_expressions_match_torch_in_value_and_gradient(program):
    values, tensors, out_torch = leaves_and_torch_output(program)
    out_torch.backward()
    out = run(program, values)
    out.backward()
    scale = max(1.0, abs(out_torch.item()))
    assert out.data == pytest.approx(out_torch.item(), rel=1e-9, abs=1e-12)
    for value, tensor in zip(values, tensors, strict=True):
        expected = tensor.grad.item() if tensor.grad is not None else 0.0
        assert math.isfinite(value.grad)
        assert value.grad == pytest.approx(
            expected, rel=1e-8, abs=1e-10 * scale
        )


@FAST
@given(programs())
def test_a_second_backward_doubles_leaf_gradients_like_torch(program):
    values, tensors, out_torch = leaves_and_torch_output(program)
    out_torch.backward(retain_graph=True)
    out_torch.backward()
    out = run(program, values)
    out.backward()
    out.backward()
    for value, tensor in zip(values, tensors, strict=True):
        expected = tensor.grad.item() if tensor.grad is not None else 0.0
        assert value.grad == pytest.approx(expected, rel=1e-8, abs=1e-9)


def one_batch(seed: int):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(8, 1, generator=generator, dtype=torch.float64)
    return x, 1.5 * x - 0.5 + torch.randn(8, 1, generator=generator,
                                          dtype=torch.float64)


@FAST
@given(
    learning_rate=st.floats(1e-4, 2.0),
    # torch.optim.SGD refuses a negative momentum.
    momentum=st.one_of(st.none(), st.floats(0.0, 1.5)),
    start=st.tuples(st.floats(-3, 3), st.floats(-3, 3)),
    seed=st.integers(0, 2**16),
)
def test_three_steps_of_a_rule_match_torch_optim_sgd(
    learning_rate, momentum, start, seed
):
    x, y = one_batch(seed)
    if momentum is None:
        rule, options = SGD(learning_rate), {}
    else:
        rule = Momentum(learning_rate, momentum)
        options = {"momentum": momentum}
    ours = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    theirs = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([theirs], lr=learning_rate, **options)
    rule.reset()
    for _ in range(3):
        if ours.grad is not None:
            ours.grad.zero_()  # in place, as the training loop does
        mean_squared_error(linear_model(x, ours), y).backward()
        rule.step(ours)
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(linear_model(x, theirs), y).backward()
        optimizer.step()
    assert ours.shape == theirs.shape == (2,)
    torch.testing.assert_close(
        ours.detach(), theirs.detach(), rtol=1e-9, atol=1e-9
    )


shapes = st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple)


@FAST
@given(first=shapes, second=shapes)
def test_mean_squared_error_accepts_equal_shapes_only(first, second):
    predictions = torch.ones(first, dtype=torch.float64)
    targets = torch.zeros(second, dtype=torch.float64)
    if first != second:
        with pytest.raises(ValueError, match="must have the same shape"):
            mean_squared_error(predictions, targets)
    elif predictions.numel() == 0:
        # torch's mean of nothing is nan; the package refuses instead.
        with pytest.raises(ValueError, match="are empty"):
            mean_squared_error(predictions, targets)
    else:
        result = mean_squared_error(predictions, targets)
        expected = torch.nn.functional.mse_loss(predictions, targets)
        assert result.shape == expected.shape == ()
        torch.testing.assert_close(result, expected)


@FAST
@given(shape=shapes)
def test_trace_of_square_accepts_square_matrices_only(shape):
    a = torch.arange(math.prod(shape), dtype=torch.float64).reshape(shape)
    if len(shape) == 2 and shape[0] == shape[1]:
        assert trace_of_square(a).item() == pytest.approx(
            sum(
                a[i, j].item() * a[j, i].item()
                for i in range(shape[0])
                for j in range(shape[0])
            )
        )
    else:
        with pytest.raises(ValueError, match="needs a square matrix"):
            trace_of_square(a)


@FAST
@given(first=shapes, second=shapes)
def test_vector_function_accepts_two_scalars_only(first, second):
    x, y = torch.ones(first), torch.ones(second)
    if first == second == ():
        assert vector_function(x, y).shape == (2,)
    else:
        with pytest.raises(ValueError, match="takes two scalar tensors"):
            vector_function(x, y)
