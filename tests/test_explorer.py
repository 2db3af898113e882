"""The momentum chapter's explorer in a real browser (issue 14).

The explorer (``_widgets/momentum-explorer/explorer.js``) runs gradient
descent with momentum in the reader's browser, from the five averages and
the eigen-decomposition that the chapter writes into the page. Here:

- its paths equal, to 1e-9 relative, the package's ``Momentum`` rule
  driven by autograd on the real data in float64 (so the five averages
  suffice), for converging, oscillating and diverging settings, up to the
  step where the numbers overflow;
- its verdict and rate agree with the roots of the recurrence
  (``quadratic.regime``, ``quadratic.convergence_rate``, with curvatures
  from ``torch.linalg.eigvalsh`` of the autograd Hessian) on both sides of
  the bound ``2 (1 + mu) / lambda_max``, and the slider's mark sits there;
- the sliders work from the keyboard alone, the presets by Enter;
- the page with the explorer shows no console error and no axe-core
  violation in light and dark mode at desktop and phone width; without
  JavaScript the explorer stays hidden and the pointer to the static
  figures shows;
- the widget's files stay small.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from autodiff_book import quadratic
from autodiff_book.training import Momentum, linear_model, mean_squared_error
from book_tools import browser
from book_tools.project import ROOT
from tests.widget_pages import (
    assert_no_error_and_no_violation,
    assert_shown,
    widget_page,
)

PAGE = "book/momentum-theory.html"
WIDGET = ROOT / "_widgets" / "momentum-explorer"
RELATIVE = 1e-9


@pytest.fixture(scope="module")
def curvatures(data64):
    """Eigenvalues of the autograd Hessian, smallest first."""
    x, y = data64

    def loss(parameters):
        return mean_squared_error(linear_model(x, parameters), y)

    at_zero = torch.zeros(2, dtype=torch.float64)
    hessian = torch.autograd.functional.hessian(loss, at_zero)
    return [value.item() for value in torch.linalg.eigvalsh(hessian)]


@pytest.fixture(scope="module")
def page(built_book):
    """Chromium on the momentum page of the session's build."""
    with widget_page(built_book, PAGE) as opened:
        yield opened


def explorer_run(driver, **state) -> dict:
    """Set the explorer's controls; return the run it computed."""
    driver.execute_script("window.momentumExplorer.set(arguments[0])", state)
    return json.loads(driver.execute_script(
        "return JSON.stringify(window.momentumExplorer.result)"))


def page_data(driver) -> dict:
    return json.loads(driver.execute_script(
        "return document.getElementById('momentum-explorer-data')"
        ".textContent"))


def reference_path(data64, rate, momentum, start, steps) -> np.ndarray:
    """The package's Momentum rule, autograd on all samples, float64."""
    x, y = data64
    parameters = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    rule = Momentum(rate, momentum)
    path = [parameters.detach().clone()]
    for _ in range(steps):
        parameters.grad = None
        mean_squared_error(linear_model(x, parameters), y).backward()
        rule.step(parameters)
        path.append(parameters.detach().clone())
    return torch.stack(path).numpy()


def expected_verdict(rate, momentum, curvatures) -> tuple[str, float]:
    """The verdict the chapter's theory gives, and the rate per step."""
    rates = [quadratic.convergence_rate(rate, momentum, lam)
             for lam in curvatures]
    regimes = [quadratic.regime(rate, momentum, lam) for lam in curvatures]
    factor = max(rates)
    if abs(factor - 1) <= 1e-9:
        kind = "on the edge"
    elif factor > 1:
        kind = "diverges"
    elif "oscillating" in regimes:
        kind = "oscillates"
    elif "zig-zag" in regimes:
        kind = "zig-zags"
    else:
        kind = "converges"
    return kind, factor


def test_the_page_data_is_the_chapter_quadratic(page, data64):
    driver, _ = page
    data = page_data(driver)
    x, y = data64
    summary = quadratic.quadratic_summary(x, y)
    stats = data["stats"]
    assert sorted(stats) == ["mean_x", "mean_xx", "mean_xy", "mean_y",
                             "mean_yy"]
    # Recomputed with torch in float64, a second way to average.
    assert stats["mean_xx"] == pytest.approx((x * x).mean().item(), rel=1e-12)
    assert stats["mean_xy"] == pytest.approx((x * y).mean().item(), rel=1e-12)
    assert stats["mean_y"] == pytest.approx(y.mean().item(), rel=1e-12)
    assert data["star"] == pytest.approx(
        [summary["slope_star"], summary["bias_star"]], rel=1e-12)
    # A few numbers, not a data set.
    assert len(driver.execute_script(
        "return document.getElementById('momentum-explorer-data')"
        ".textContent")) < 4000


# (rate: a number or (factor, momentum of the bound)), momentum, start,
# steps: converging, oscillating, on the edge, diverging, overflowing.
CASES = [
    pytest.param(0.001, 0.0, 0, 1600, id="problem-set-plain"),
    pytest.param(0.001, 0.9, 0, 1600, id="problem-set-mu-0.9"),
    pytest.param(0.001, 1.0, 1, 1600, id="edge-mu-1"),
    pytest.param((0.9, 0.0), 0.0, 0, 200, id="zig-zag"),
    pytest.param((0.9, 0.0), 0.9, 2, 300, id="circling"),
    pytest.param((0.99, -0.5), -0.5, 1, 400, id="negative-momentum"),
    pytest.param((1.05, 0.5), 0.5, 2, 500, id="just-diverging"),
    pytest.param(0.05, 1.3, 0, 400, id="mu-above-1"),
    # From zeros: a start on the floor (start 1) would leave the diverging
    # direction to rounding noise, which the two sides round differently.
    pytest.param((2.0, 0.0), 0.0, 0, 1000, id="overflowing"),
]


@pytest.mark.parametrize(("rate", "momentum", "start", "steps"), CASES)
def test_the_path_is_the_package_rule(page, data64, curvatures, rate,
                                      momentum, start, steps):
    driver, _ = page
    if isinstance(rate, tuple):
        factor, of_momentum = rate
        rate = factor * 2 * (1 + of_momentum) / curvatures[1]
    point = page_data(driver)["starts"][start]["point"]
    run = explorer_run(driver, rate=rate, momentum=momentum, start=point,
                       steps=steps)
    assert (run["rate"], run["momentum"], run["steps"]) == (
        rate, momentum, steps)
    expected = reference_path(data64, rate, momentum, point, steps)
    finite = np.isfinite(expected).all(axis=1)
    overflowed = not finite.all()
    reached = int(np.argmin(finite)) if overflowed else len(expected)
    path = np.array(run["path"], dtype=float)
    if overflowed:
        # Both overflow within a few updates of each other: autograd sums
        # a thousand terms of the size of the loss, so it overflows a
        # little earlier than the five averages do.
        assert run["overflow"] is not None
        assert 0 <= run["overflow"] - reached <= 5
        assert path.shape == (run["overflow"], 2)
    else:
        assert run["overflow"] is None
        assert path.shape == expected.shape == (steps + 1, 2)
    rows = min(len(path), reached)
    # Largest entry of each row (a Euclidean norm would overflow first).
    gap = np.abs(path[:rows] - expected[:rows]).max(axis=1)
    scale = np.abs(expected[:rows]).max(axis=1)
    assert rows > 100
    assert np.all(gap <= RELATIVE * scale), (
        f"largest relative gap {np.max(gap / scale):.2e} at step "
        f"{int(np.argmax(gap / scale))}"
    )
    # The verdict of the same run.
    kind, factor = expected_verdict(rate, momentum, curvatures)
    assert run["verdict"] == kind
    assert run["factor"] == pytest.approx(factor, rel=1e-12)
    if kind == "diverges":
        # The theory's growth shows in the path: the distance to the
        # minimum after the last finite step is far beyond the start's.
        star = np.array(page_data(driver)["star"])
        assert np.abs(path[-1] - star).max() > 10 * np.abs(
            path[0] - star).max()


@pytest.mark.parametrize("momentum", [-0.5, 0.0, 0.5, 0.9])
def test_the_verdict_turns_at_the_bound(page, curvatures, momentum):
    driver, _ = page
    bound = 2 * (1 + momentum) / curvatures[1]
    assert bound == pytest.approx(
        quadratic.largest_stable_learning_rate(curvatures[1], momentum),
        rel=1e-12)
    kinds = {}
    for factor in (0.99, 1.01):
        run = explorer_run(driver, rate=factor * bound, momentum=momentum,
                           steps=100)
        kind, rate = expected_verdict(factor * bound, momentum, curvatures)
        assert run["verdict"] == kind
        assert run["factor"] == pytest.approx(rate, rel=1e-12)
        assert run["floor"]["regime"] == quadratic.regime(
            factor * bound, momentum, curvatures[0])
        assert run["across"]["regime"] == quadratic.regime(
            factor * bound, momentum, curvatures[1])
        kinds[factor] = kind
    assert kinds[0.99] in ("converges", "oscillates", "zig-zags")
    assert kinds[1.01] == "diverges"
    # The mark on the learning-rate slider sits at the bound.
    data = page_data(driver)
    low, high = (math.log10(v) for v in data["rate_range"])
    place = float(driver.execute_script(
        "return document.getElementById('mx-rate-track').style"
        ".getPropertyValue('--mx-p')"))
    assert place == pytest.approx(
        (math.log10(bound) - low) / (high - low), abs=1e-5)
    # And the verdict a reader hears says the same.
    verdict = driver.find_element("id", "mx-verdict")
    assert verdict.get_attribute("aria-live") == "polite"
    assert verdict.text.startswith("Diverges")


@pytest.mark.parametrize("momentum", [1.0, 1.2, -1.0])
def test_no_rate_converges_for_momentum_of_size_one(page, momentum):
    driver, _ = page
    for rate in (0.001, 0.05):
        run = explorer_run(driver, rate=rate, momentum=momentum, steps=20)
        expected = "on the edge" if momentum == 1.0 else "diverges"
        assert run["verdict"] == expected
    note = driver.find_element("id", "mx-rate-note").text
    assert "No learning rate converges" in note


def test_the_sliders_work_from_the_keyboard(page):
    from selenium.webdriver.common.keys import Keys

    driver, _ = page
    presets = driver.find_elements("css selector", ".mx-presets button")
    assert len(presets) >= 8
    presets[0].send_keys(Keys.ENTER)
    first = json.loads(driver.execute_script(
        "return JSON.stringify(window.momentumExplorer.result)"))
    rate_slider = driver.find_element("id", "mx-rate")
    rate_slider.send_keys(Keys.ARROW_RIGHT * 3)
    run = json.loads(driver.execute_script(
        "return JSON.stringify(window.momentumExplorer.result)"))
    value = float(rate_slider.get_attribute("value"))
    assert run["rate"] == pytest.approx(10 ** value, rel=1e-15)
    assert run["rate"] > first["rate"]
    assert driver.find_element("id", "mx-rate-value").text != ""
    assert rate_slider.get_attribute("aria-valuetext").startswith("γ = ")
    momentum_slider = driver.find_element("id", "mx-momentum")
    before = float(momentum_slider.get_attribute("value"))
    momentum_slider.send_keys(Keys.ARROW_LEFT * 2)
    run = json.loads(driver.execute_script(
        "return JSON.stringify(window.momentumExplorer.result)"))
    assert run["momentum"] == pytest.approx(before - 0.02, abs=1e-12)
    # Labels name every control.
    for control in ("mx-rate", "mx-momentum", "mx-start", "mx-steps"):
        labels = driver.execute_script(
            "return document.getElementById(arguments[0]).labels.length",
            control)
        assert labels == 1, control


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_the_page_with_the_explorer_is_clean(page, scheme, device):
    driver, url = page
    browser.set_color_scheme(driver, scheme)
    browser.set_device(driver, device)
    browser.console_errors(driver)
    browser.open_page(driver, url)
    root = assert_shown(driver, scheme, "mx-explorer",
                        ".momentum-explorer-fallback")
    # Drawn: ellipses for the contours, a path with one point per step.
    assert len(root.find_elements("css selector", "ellipse")) > 5
    assert_no_error_and_no_violation(driver)


def test_without_javascript_the_figures_stand_in(page):
    driver, url = page
    driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled",
                           {"value": True})
    try:
        driver.get(url)
        assert not driver.find_element("id", "mx-explorer")\
            .is_displayed()
        fallback = driver.find_element(
            "css selector", ".momentum-explorer-fallback")
        assert fallback.is_displayed()
        links = {a.get_attribute("href").rsplit("#", 1)[-1] for a in
                 fallback.find_elements("css selector", "a")}
        assert links == {"fig-momentum-zigzag", "fig-momentum-circling",
                         "fig-momentum-paths"}
    finally:
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled",
                               {"value": False})
        browser.open_page(driver, url)


def test_the_widget_is_small():
    sizes = {path.name: path.stat().st_size for path in WIDGET.iterdir()}
    assert sorted(sizes) == ["explorer.css", "explorer.js"]
    assert sum(sizes.values()) < 30_000
