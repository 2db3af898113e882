"""Every value the chapter "Custom gradients and gradient checks" glues.

The softplus values and gradients are checked against closed forms written
here in plain floats; the gradients at points without a derivative
against the rules the chapter states (one element of the subgradient, an
even split for ties, 1 / (2 sqrt x) for the square root), recomputed with
the test's own calls.
"""

import math

import pytest
import torch

from tests.notebooks import glued_values


@pytest.fixture(scope="module")
def glued():
    return glued_values("custom-gradients")


def test_gradcheck_passes_on_the_package_functions(glued):
    assert glued["gradcheck_results"] == {
        "bump": True,
        "sigmoid": True,
        "sigmoid, second derivatives": True,
    }


def softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def test_softplus_is_finite_and_its_gradient_is_the_sigmoid(glued):
    points = (-800.0, 0.0, 800.0)
    assert glued["softplus_values"] == pytest.approx(
        [softplus(x) for x in points]
    )
    # sigma(-800) underflows to 0 in float32, sigma(800) is 1.
    assert glued["softplus_grads"] == pytest.approx([0.0, 0.5, 1.0])


def test_gradients_at_kinks(glued):
    kinks = glued["kink_gradients"]
    gradients = {name: float(text) if "[" not in text else text
                 for name, text in kinks.items()}
    assert gradients["relu at 0"] == 0.0  # in the subgradient [0, 1]
    assert gradients["abs at 0"] == 0.0  # in the subgradient [-1, 1]
    assert gradients["max of [1, 3, 3]"] == str([0.0, 0.5, 0.5])
    assert gradients["sqrt at 0"] == math.inf  # 1 / (2 sqrt 0)
    assert math.isnan(gradients["sqrt(t**2) at 0"])  # inf * 0
    # Recomputed: the ReLU's subgradient at 0 is [0, 1].
    t = torch.tensor(0.0, requires_grad=True)
    torch.relu(t).backward()
    assert 0.0 <= t.grad.item() <= 1.0


def test_exercise_x_log_x_checks_pass(glued):
    assert glued["exercise_xlogx_checks"] == (True, True)


def test_exercise_clamp(glued):
    # Slope 1 inside [0, 1] and at its edge 0 (the convention), 0 beyond.
    assert glued["exercise_clamp"] == {0.0: 1.0, 0.5: 1.0, 2.0: 0.0}


def test_every_glued_value_is_checked(glued):
    assert glued.unread() == set()
