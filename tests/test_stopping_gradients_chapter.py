"""Every number the chapter "Stopping gradients and saving memory" glues.

Gradients are checked against derivatives written out here; the bytes a
graph saves against an independent count: which tensors each operation's
derivative needs (a derivation, not a measurement), times the number of
elements and the size of one float32 as NumPy reports it.
"""

import numpy as np
import pytest
import torch

from tests.notebooks import glued_values

FLOAT32_BYTES = np.dtype(np.float32).itemsize


@pytest.fixture(scope="module")
def glued():
    return glued_values("stopping-gradients")


def test_detach_makes_a_constant(glued):
    x = glued["detach_x"]
    # z = x * y with y = x^2: 3 x^2 through y, y = x^2 with y constant.
    assert glued["detach_through"] == pytest.approx(3 * x**2, rel=1e-6)
    assert glued["detach_stopped"] == pytest.approx(x**2, rel=1e-6)
    assert glued["detach_shares_memory"] is True


def test_no_grad_result_is_plain(glued):
    assert glued["no_grad_requires_grad"] is False


def test_frozen_slope_and_learning_bias(glued):
    inputs = np.array(glued["frozen_inputs"])
    targets = np.array(glued["frozen_targets"])
    w, b0 = glued["frozen_w"], 0.0
    # d/db mean((w x + b - t)^2) = 2 mean(w x + b - t).
    b_grad = 2 * np.mean(w * inputs + b0 - targets)
    assert glued["frozen_w_grad_is_none"] is True
    assert glued["frozen_b_grad"] == pytest.approx(b_grad, abs=1e-6)
    lr = glued["frozen_lr"]
    assert 0 < lr < 1
    assert glued["frozen_b_after"] == pytest.approx(b0 - lr * b_grad, 1e-6)


# Tensors of n elements that each operation's derivative needs:
# sin u -> cos u needs u; exp u -> its own output; a * b -> both factors;
# a + b and sum -> constant derivatives, nothing.
SAVED_VECTORS = {"sin(a)": 1, "exp(a)": 1, "a * b": 2, "a + b": 0, "sum(a)": 0}


def test_bytes_saved_per_operation(glued):
    n = glued["memory_n"]
    assert glued["memory_element_size"] == FLOAT32_BYTES
    expected = {
        text: count * n * FLOAT32_BYTES
        for text, count in SAVED_VECTORS.items()
    }
    assert glued["memory_per_operation"] == expected
    assert glued["memory_sin_bytes"] == expected["sin(a)"]
    assert glued["memory_mul_bytes"] == expected["a * b"]


def test_bytes_grow_with_depth(glued):
    n = glued["memory_n"]
    by_depth = glued["memory_by_depth"]
    # One saved input vector per sine.
    assert by_depth == {d: d * n * FLOAT32_BYTES for d in by_depth}
    deepest = max(by_depth)
    assert glued["memory_deepest"] == deepest
    assert glued["memory_deepest_bytes"] == deepest * n * FLOAT32_BYTES


def test_backward_frees_what_the_graph_saved(glued):
    n, depth = glued["memory_n"], glued["memory_chain_depth"]
    assert depth > 1
    assert glued["memory_before"] == depth * n * FLOAT32_BYTES
    assert glued["memory_retained"] == glued["memory_before"]
    assert glued["memory_after"] == 0
    assert glued["memory_no_grad"] == 0


def test_checkpoint_keeps_the_input_and_runs_twice(glued):
    n, depth = glued["memory_n"], glued["memory_chain_depth"]
    assert glued["checkpoint_plain_bytes"] == depth * n * FLOAT32_BYTES
    assert glued["checkpoint_checkpointed_bytes"] == n * FLOAT32_BYTES
    assert glued["checkpoint_plain_runs"] == 1
    assert glued["checkpoint_checkpointed_runs"] == 2
    assert glued["checkpoint_same_gradient"] is True


def test_exercise_tanh_of_product(glued):
    # a * b keeps a and b; tanh keeps its output.
    n = glued["memory_n"]
    assert glued["exercise_tanh_bytes"] == 3 * n * FLOAT32_BYTES


def test_exercise_evaluate(glued):
    n, depth = glued["memory_n"], glued["memory_chain_depth"]
    assert glued["exercise_detach_bytes"] == depth * n * FLOAT32_BYTES
    assert glued["exercise_no_grad_bytes"] == 0
    assert glued["exercise_same_value"] is True


def test_in_place_change_of_an_unsaved_tensor(glued):
    # z = 3 (x + 1), changed once in place: d/dx_i = 3.
    assert glued["in_place_version"] == 1
    assert glued["in_place_grad"] == [3.0, 3.0]


def test_detach_shares_the_version_counter(glued):
    assert glued["detach_version_before"] == 0
    assert glued["detach_version_after"] == 1
    # Recomputed: the change through the detached view breaks backward.
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y.detach().zero_()
    with pytest.raises(RuntimeError, match="modified by an inplace"):
        y.sum().backward()


def test_no_grad_allows_the_update(glued):
    # w = 1.5, d(w^2)/dw = 2 w, one step of size lr.
    w, lr = glued["no_grad_start"], glued["no_grad_lr"]
    assert glued["no_grad_gradient"] == 2 * w
    assert glued["no_grad_step"] == pytest.approx(w - lr * 2 * w, 1e-6)


def test_frozen_tensor_is_saved_as_a_constant(glued):
    assert glued["frozen_saved"] == glued["frozen_w"]


def test_stale_gradient_moves_a_frozen_tensor(glued):
    # v = 2, d(3 v)/dv = 3, one SGD step of size lr, then none.
    v, lr = glued["stale_before"], glued["stale_lr"]
    assert glued["stale_grad"] == 3.0
    assert glued["stale_after"] == pytest.approx(v - lr * 3.0, 1e-6)
    assert glued["stale_final"] == glued["stale_after"]
    # Recomputed with torch's own optimiser: the 2.0 -> 1.7.
    w = torch.tensor(2.0, requires_grad=True)
    (3 * w).backward()
    w.requires_grad_(False)
    optimizer = torch.optim.SGD([w], lr=0.1)
    optimizer.step()
    assert w.item() == pytest.approx(1.7)
    optimizer.zero_grad()
    assert w.grad is None


def test_inference_tensor_rules(glued):
    # b + p summed over the predictions: db = number of predictions.
    assert glued["inference_b_grad"] == glued["inference_count"]
    refusals = glued["inference_refusals"]
    assert refusals["saved for backward"].startswith(
        "Inference tensors cannot be saved for backward"
    )
    assert refusals["changed in place"].startswith(
        "Inplace update to inference tensor outside InferenceMode"
    )
    assert refusals["given requires_grad"].startswith(
        "Setting requires_grad=True on inference tensor"
    )


def test_eval_is_not_no_grad(glued):
    # 3 * ones: eval() passes it through, recorded; no_grad() in training
    # mode zeroes entries or scales them by 1 / (1 - p) = 2.
    assert glued["eval_output"] == [3.0] * 6
    assert glued["eval_recorded"] is True
    assert glued["no_grad_recorded"] is False
    values = set(glued["no_grad_dropout"])
    assert values <= {0.0, 6.0}
    assert values == {0.0, 6.0}  # this seed drops some and keeps some


def test_exercise_in_place_lines(glued):
    # Only the sigmoid saves its output, and only line 3 changes it.
    assert glued["exercise_in_place_raised"] == {
        1: False, 2: False, 3: True, 4: False
    }
    x = torch.tensor([0.5, 1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="inplace"):
        x.sigmoid().mul_(2).sum().backward()


def test_every_glued_value_is_checked(glued):
    assert glued.unread() == set()
