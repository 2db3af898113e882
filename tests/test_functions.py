"""Tests of autodiff_book.functions against torch in float64 and by hand."""

from __future__ import annotations

import math

import pytest
import torch

from autodiff_book.functions import (
    bump,
    bump_derivative,
    sigmoid,
    sigmoid_derivative,
    sigmoid_second_derivative,
    trace_of_square,
    vector_function,
)
from tests import oracles

POINTS = [-30.0, -5.0, -1.0, 0.0, 0.173, 1.0, 2.0, 5.0, 30.0]


@pytest.mark.parametrize("shape", [(), (7,), (3, 4), (2, 3, 5)])
def test_sigmoid_matches_torch_on_any_shape(shape):
    generator = torch.Generator().manual_seed(0)
    x = 4 * torch.randn(shape, generator=generator, dtype=torch.float64)
    result = sigmoid(x)
    assert result.shape == x.shape
    assert result.dtype == torch.float64
    torch.testing.assert_close(result, torch.sigmoid(x), rtol=0, atol=1e-15)


@pytest.mark.parametrize("x", POINTS)
def test_sigmoid_gradient_matches_torch(x):
    mine = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    theirs = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    sigmoid(mine).backward()
    torch.sigmoid(theirs).backward()
    assert mine.grad.item() == pytest.approx(theirs.grad.item(), abs=1e-12)


@pytest.mark.parametrize("x", POINTS)
def test_sigmoid_derivative_matches_finite_difference(x):
    closed = sigmoid_derivative(torch.tensor(x, dtype=torch.float64))
    assert closed.item() == pytest.approx(
        oracles.central_difference(oracles.sigmoid, x), abs=1e-9
    )


@pytest.mark.parametrize("x", POINTS)
def test_sigmoid_second_derivative_matches_torch_double_backward(x):
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (first,) = torch.autograd.grad(torch.sigmoid(t), t, create_graph=True)
    (second,) = torch.autograd.grad(first, t)
    closed = sigmoid_second_derivative(torch.tensor(x, dtype=torch.float64))
    assert closed.item() == pytest.approx(second.item(), abs=1e-12)


@pytest.mark.parametrize("x", POINTS)
def test_sigmoid_second_derivative_matches_finite_difference(x):
    closed = sigmoid_second_derivative(torch.tensor(x, dtype=torch.float64))
    assert closed.item() == pytest.approx(
        oracles.central_difference(oracles.sigmoid_derivative, x),
        abs=1e-9
    )


@pytest.mark.parametrize("x", [-3.0, 0.0, 2.0, 4.5, 5.0, 7.25])
def test_bump_value_and_gradient_match_hand_and_torch(x):
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    value = bump(t)
    value.backward()
    assert value.item() == pytest.approx(2 / ((5 - x) ** 2 + 4), rel=1e-14)
    # The closed form must agree with autograd and with a finite difference.
    closed = bump_derivative(torch.tensor(x, dtype=torch.float64)).item()
    assert closed == pytest.approx(t.grad.item(), abs=1e-14)
    assert closed == pytest.approx(
        oracles.central_difference(oracles.bump, x), abs=1e-9
    )


@pytest.mark.parametrize(
    ("x", "y"), [(1.376, 2.123), (0.0, 0.0), (-1.5, 3.0), (2.0, -0.5)]
)
def test_vector_function_value_and_jacobian(x, y):
    tx = torch.tensor(x, dtype=torch.float64)
    ty = torch.tensor(y, dtype=torch.float64)
    value = vector_function(tx, ty)
    assert value.shape == (2,)
    assert value.tolist() == pytest.approx(
        [x * x + y * y, 2 * x * x * y * y], rel=1e-14
    )
    jacobian = torch.autograd.functional.jacobian(vector_function, (tx, ty))
    # jacobian[j][i] is d f_i / d (j-th input); closed forms by hand.
    by_x = [2 * x, 4 * x * y * y]
    by_y = [2 * y, 4 * x * x * y]
    assert jacobian[0].tolist() == pytest.approx(by_x, rel=1e-14)
    assert jacobian[1].tolist() == pytest.approx(by_y, rel=1e-14)


def trace_of_square_by_loop(a: list[list[float]]) -> float:
    """trace(A A) = sum over i, j of A[i][j] A[j][i], as a plain loop."""
    n = len(a)
    return sum(a[i][j] * a[j][i] for i in range(n) for j in range(n))


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_trace_of_square_value_and_gradient(n):
    generator = torch.Generator().manual_seed(n)
    a = torch.randn(n, n, generator=generator, dtype=torch.float64)
    a.requires_grad_(True)
    value = trace_of_square(a)
    value.backward()
    assert value.item() == pytest.approx(
        trace_of_square_by_loop(a.tolist()), rel=1e-12
    )
    torch.testing.assert_close(a.grad, 2 * a.detach().T)


@pytest.mark.parametrize(
    "function",
    [sigmoid, sigmoid_derivative, sigmoid_second_derivative, trace_of_square],
)
@pytest.mark.parametrize("bad", [0.5, [1.0, 2.0], "x"])
def test_functions_reject_non_tensors(function, bad):
    with pytest.raises(TypeError, match=r"must be a torch\.Tensor, got"):
        function(bad)


@pytest.mark.parametrize(
    ("x", "y"),
    [(1.0, torch.tensor(2.0)), (torch.tensor(1.0), [2.0])],
)
def test_vector_function_rejects_non_tensors(x, y):
    with pytest.raises(TypeError, match=r"must be a torch\.Tensor, got"):
        vector_function(x, y)


@pytest.mark.parametrize(
    ("x", "y"),
    [
        (torch.tensor([1.0]), torch.tensor(2.0)),
        (torch.tensor(1.0), torch.ones(2, 2)),
    ],
)
def test_vector_function_rejects_non_scalars(x, y):
    with pytest.raises(ValueError, match="takes two scalar tensors"):
        vector_function(x, y)


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 2, 2)])
def test_trace_of_square_rejects_non_square(shape):
    with pytest.raises(ValueError, match="needs a square matrix"):
        trace_of_square(torch.ones(shape))


EXTREMES = [-1000.0, -100.0, -88.8, -20.0, 20.0, 88.8, 100.0, 1000.0]


def sigmoid_derivatives_by_hand(x: float) -> tuple[float, float, float]:
    """sigma, sigma' and sigma'' in floats, from e = exp(-|x|) <= 1."""
    e = math.exp(-abs(x))
    value = 1 / (1 + e) if x >= 0 else e / (1 + e)
    first = e / (1 + e) ** 2
    # sigma'' = sigma' (1 - 2 sigma): (e - 1) / (1 + e) for x >= 0.
    second = first * ((e - 1) if x >= 0 else (1 - e)) / (1 + e)
    return value, first, second


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sigmoid_value_and_gradients_stay_finite_at_extreme_inputs(dtype):
    # 1 / (1 + exp(-x)) overflows exp(-x) below x = -88.7 in float32 (and
    # -709.8 in float64); its gradient is then inf / inf = nan. (torch's own
    # sigmoid is no reference here: its gradient s (1 - s) rounds to 0 for
    # x >= 17 in float32.)
    x = torch.tensor(EXTREMES, dtype=dtype)
    value = sigmoid(x)
    first = torch.func.vmap(torch.func.grad(sigmoid))(x)
    second = torch.func.vmap(torch.func.grad(torch.func.grad(sigmoid)))(x)
    expected = torch.tensor(
        [sigmoid_derivatives_by_hand(point) for point in EXTREMES],
        dtype=torch.float64,
    ).T.to(dtype)
    # Below finfo.tiny the results are subnormal and carry few digits.
    close = {"rtol": 4 * torch.finfo(dtype).eps,
             "atol": 8 * torch.finfo(dtype).smallest_normal
             * torch.finfo(dtype).eps}
    for result, wanted in zip((value, first, second), expected, strict=True):
        assert result.shape == x.shape
        torch.testing.assert_close(result, wanted, **close)


def test_sigmoid_gradient_at_minus_100_is_the_tiny_true_value():
    x = torch.tensor(-100.0, requires_grad=True)
    sigmoid(x).backward()
    # sigma'(-100) = e^-100 / (1 + e^-100)^2, about 3.7e-44: a float32
    # subnormal, not nan.
    assert x.grad.item() == pytest.approx(math.exp(-100.0), rel=0.05)


def test_sigmoid_keeps_nan_and_infinities():
    x = torch.tensor([math.nan, math.inf, -math.inf, 0.0])
    result = sigmoid(x)
    assert math.isnan(result[0].item())
    torch.testing.assert_close(result[1:], torch.tensor([1.0, 0.0, 0.5]))


@pytest.mark.parametrize(
    ("tensor", "message"),
    [
        (torch.zeros(2, 2, device="meta"), "A is a meta tensor"),
        (torch.eye(2).to_sparse(), r"A is a sparse tensor .*to_dense\(\)"),
    ],
)
def test_meta_and_sparse_matrices_are_refused_by_name(tensor, message):
    with pytest.raises(TypeError, match=message):
        trace_of_square(tensor)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: vector_function(1.0, torch.tensor(1.0)),
         "x must be a torch.Tensor, got float"),
        (lambda: vector_function(torch.tensor(1.0), [1.0]),
         "y must be a torch.Tensor, got list"),
        (lambda: trace_of_square("A"), "A must be a torch.Tensor, got str"),
        (lambda: sigmoid(1), "x must be a torch.Tensor, got int"),
    ],
)
def test_type_errors_name_the_argument_in_full(call, message):
    with pytest.raises(TypeError) as caught:
        call()
    assert str(caught.value) == message


def test_shape_errors_in_full():
    with pytest.raises(ValueError) as caught:
        vector_function(torch.ones(2), torch.tensor(1.0))
    assert str(caught.value) == (
        "vector_function takes two scalar tensors, got shapes (2,) and ()"
    )
    with pytest.raises(ValueError) as caught:
        trace_of_square(torch.ones(2, 3))
    assert str(caught.value) == (
        "trace_of_square needs a square matrix, got shape (2, 3)"
    )


# Hostile input, round 2 (issue 24).


@pytest.mark.parametrize("function", [bump, bump_derivative])
@pytest.mark.parametrize(
    ("x", "error", "match"),
    [
        ("2.0", TypeError, "x must be a number, got '2.0'"),
        (10**400, ValueError, "x must be a finite number, got an int"),
        ([2.0], TypeError, "x must be a number"),
        (torch.tensor(True), TypeError, "x must hold real numbers"),
        (torch.zeros((), device="meta"), TypeError, "x is a meta tensor"),
    ],
)
def test_bump_refuses_what_is_not_a_number(function, x, error, match):
    with pytest.raises(error, match=match):
        function(x)


@pytest.mark.parametrize("dtype", [torch.bool, torch.complex64])
def test_sigmoid_refuses_truth_values_and_complex_numbers(dtype):
    with pytest.raises(TypeError, match="x must hold real numbers"):
        sigmoid(torch.zeros(3, dtype=dtype))
