"""training.mean_squared_error at its edges: one sample, none, each dtype.

The rest of its tests (against torch, the broadcast refusal) are in
test_training.py; these are the cases its mutants showed missing.
"""

import pytest
import torch

from autodiff_book.training import mean_squared_error


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32,
                                   torch.float64])
def test_one_sample_is_its_squared_difference(dtype):
    # One sample is the smallest set that has a mean: 3 - 1 squared.
    result = mean_squared_error(torch.tensor([[3.0]], dtype=dtype),
                                torch.tensor([[1.0]], dtype=dtype))
    assert result.dtype == dtype and result.item() == 4.0


def test_a_negative_difference_counts_like_a_positive_one():
    result = mean_squared_error(torch.tensor([1.0, -1.0]),
                                torch.tensor([3.0, 2.0]))
    assert result.item() == (4.0 + 9.0) / 2


@pytest.mark.parametrize("shape", [(0,), (0, 1), (3, 0)], ids=str)
def test_no_samples_message_in_full(shape):
    with pytest.raises(ValueError) as caught:
        mean_squared_error(torch.zeros(shape), torch.zeros(shape))
    assert str(caught.value) == (
        "predictions and targets are empty: the mean squared error of no "
        "samples is not defined"
    )


@pytest.mark.parametrize("name", ["predictions", "targets"])
def test_each_argument_is_checked_under_its_own_name(name):
    tensors = {"predictions": torch.ones(2), "targets": torch.ones(2)}
    tensors[name] = [1.0, 1.0]
    with pytest.raises(TypeError) as caught:
        mean_squared_error(**tensors)
    assert str(caught.value) == f"{name} must be a torch.Tensor, got list"
