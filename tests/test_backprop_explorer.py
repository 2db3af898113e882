"""The engine chapter's backpropagation explorer in a real browser (#22).

The explorer (``_widgets/backprop-explorer/explorer.js``) runs the forward
and backward passes of the graphs that the chapter records with the
engine, in the reader's browser. Here:

- the graph on the page is the engine's: matched node by node from the
  output down (operation, exponent, constants), for every expression;
- every value and gradient the page shows (the table's exact numbers,
  after a full pass) equals, to 1e-12 relative, the engine's
  (``autodiff_book.engine.Value``) and ``torch.autograd``'s in float64,
  on 12 input sets per expression, reused nodes and values far from 1
  included; the nudge's difference quotient is the engine's;
- the steps: forward values appear in topological order, the backward
  pass narrates each gradient, with the sum where two paths meet; the
  table follows; a keyboard alone walks a full forward and backward pass
  and changes an input;
- no console error, no axe-core violation, no horizontal overflow at
  390 px, light and dark; without JavaScript the static figure shows;
- the explorer adds less than 25 KB gzipped to its page.
"""

from __future__ import annotations

import gzip
import json
import math
import re

import pytest
import torch

from autodiff_book.engine import Value
from autodiff_book.functions import bump
from book_tools import browser
from book_tools.project import ROOT
from tests.widget_pages import (
    assert_no_error_and_no_violation,
    assert_shown,
    open_lazy_widget,
    widget_page,
)

PAGE = "book/reverse-mode-engine.html"
WIDGETS = ROOT / "_widgets"
RELATIVE = 1e-12
READY = "window.backpropExplorer && window.backpropExplorer.state"


def sum_times_successor(a, b):
    c = a + b
    d = b + 1
    return {"c": c, "d": d, "e": c * d}


def path_lengths(a):
    b = 2 * a
    c = 3 * b
    return {"b": b, "c": c, "d": c + b}


def problem_bump(x):
    return {"f": bump(x)}


# Each expression with 12 input sets: the page's start, values far from 1
# (large, tiny, negative) and the special points (c = 0, x = 5).
EXPRESSIONS = {
    "two-paths": (sum_times_successor, [
        (2.0, 1.0), (-3.0, 0.5), (1e6, -2e-3), (-7.25, 3.5),
        (1e-3, 1e-7), (123.456, -78.9), (-1e-4, 250.0), (5.0, -5.0),
        (3.3, 1e8), (-0.6, -0.4), (42.0, 17.0), (-2.5e-9, 6.02e23),
    ]),
    "path-lengths": (path_lengths, [
        (1.0,), (-1.0,), (0.0,), (1e6,), (-3.5e-7,), (2.75,), (1e300,),
        (-123.25,), (7e-300,), (0.1,), (-42.0,), (6.02e23,),
    ]),
    "bump": (problem_bump, [
        (2.0,), (5.0,), (-1e6,), (1e3,), (0.173,), (-3.5,), (4.999,),
        (7.25,), (1e-8,), (12345.678,), (5.0 + 1e-9,), (-0.5,),
    ]),
}


@pytest.fixture(scope="module")
def page(built_book):
    """Chromium on the engine chapter of the session's build."""
    with widget_page(built_book, PAGE, READY) as opened:
        yield opened


def page_data(driver) -> dict:
    return json.loads(driver.execute_script(
        "return document.getElementById('backprop-explorer-data')"
        ".textContent"))


def explorer_set(driver, **changes) -> dict:
    """Set the explorer; return its state (names, values, gradients)."""
    driver.execute_script("window.backpropExplorer.set(arguments[0])",
                          changes)
    return json.loads(driver.execute_script(
        "return JSON.stringify(window.backpropExplorer.state)"))


def shown_table(driver) -> dict:
    """The table's rows: node name -> (exact value, exact gradient)."""
    rows = json.loads(driver.execute_script("""
        return JSON.stringify(Array.from(
          document.querySelectorAll('#bx-table tbody tr'), (row) => [
            row.dataset.node,
            row.querySelector('td.value').dataset.exact ?? null,
            row.querySelector('td.grad').dataset.exact ?? null]));"""))
    return {name: (None if value is None else float(value),
                   None if grad is None else float(grad))
            for name, value, grad in rows}


def close(x: float, y: float) -> bool:
    return math.isclose(x, y, rel_tol=RELATIVE, abs_tol=1e-300)


def expression_index(driver, key: str) -> int:
    keys = [expr["key"] for expr in page_data(driver)["expressions"]]
    return keys.index(key)


def engine_run(function, inputs: dict):
    """The engine on ``function``: leaves, named nodes and the output."""
    leaves = {name: Value(value) for name, value in inputs.items()}
    named = {**leaves, **function(**leaves)}
    output = list(named.values())[-1]
    output.backward()
    return leaves, named, output


def match_nodes(graph: dict, output: Value) -> list[Value]:
    """The engine's node for each page node, matched from the output down.

    Fails unless both graphs have the same operations, exponents,
    constants and wiring.
    """
    nodes = graph["nodes"]
    matched: list[Value | None] = [None] * len(nodes)
    stack = [(graph["output"], output)]
    while stack:
        index, value = stack.pop()
        if matched[index] is not None:
            assert matched[index] is value, "one page node, two engine nodes"
            continue
        matched[index] = value
        node = nodes[index]
        if node["op"] in ("input", "const"):
            assert value._prev == ()
            continue
        expected_op = ("**" + format(node["k"], "g") if node["op"] == "**"
                       else node["op"])
        assert value._op == expected_op
        assert len(node["args"]) == len(value._prev)
        stack.extend(zip(node["args"], value._prev, strict=True))
    assert None not in matched, "a page node the engine does not have"
    return matched


def torch_on_page_graph(graph: dict, inputs: dict) -> tuple[list, list]:
    """torch.autograd on the page's graph, node by node, in float64."""
    tensors = []
    for node in graph["nodes"]:
        args = [tensors[j] for j in node.get("args", [])]
        op = node["op"]
        if op == "input":
            t = torch.tensor(inputs[node["name"]], dtype=torch.float64,
                             requires_grad=True)
        elif op == "const":
            t = torch.tensor(node["value"], dtype=torch.float64)
        elif op == "+":
            t = args[0] + args[1]
        elif op == "*":
            t = args[0] * args[1]
        elif op == "**":
            t = args[0] ** node["k"]
        else:
            t = torch.exp(args[0])
        if t.requires_grad and not t.is_leaf:
            t.retain_grad()
        tensors.append(t)
    tensors[graph["output"]].backward()
    values = [t.item() for t in tensors]
    grads = [None if t.grad is None else t.grad.item() for t in tensors]
    return values, grads


def test_the_page_holds_three_engine_graphs(page):
    driver, _ = page
    data = page_data(driver)
    assert [e["key"] for e in data["expressions"]] == list(EXPRESSIONS)
    for expr in data["expressions"]:
        function, cases = EXPRESSIONS[expr["key"]]
        names = [n["name"] for n in expr["nodes"] if n["op"] == "input"]
        _, _, output = engine_run(function, dict(zip(names, cases[0],
                                                     strict=True)))
        match_nodes(expr, output)
        # The engine's order: every node after its inputs.
        for i, node in enumerate(expr["nodes"]):
            assert all(j < i for j in node.get("args", []))
    # b feeds two nodes in the first graph; in the second, b reaches d by
    # paths of one and of two steps.
    first = data["expressions"][0]["nodes"]
    b = next(i for i, n in enumerate(first) if n.get("name") == "b")
    assert sum(n.get("args", []).count(b) for n in first) == 2


@pytest.mark.parametrize("key", list(EXPRESSIONS))
def test_every_number_is_the_engine_and_torch(page, key):
    driver, _ = page
    function, cases = EXPRESSIONS[key]
    index = expression_index(driver, key)
    graph = page_data(driver)["expressions"][index]
    names = [n["name"] for n in graph["nodes"] if n["op"] == "input"]
    assert len(cases) >= 10
    for case in cases:
        inputs = dict(zip(names, case, strict=True))
        state = explorer_set(driver, expression=index, inputs=inputs,
                             position=10_000)
        assert state["position"] == state["steps"]
        assert state["inputs"] == inputs
        leaves, named, output = engine_run(function, inputs)
        engine_nodes = match_nodes(graph, output)
        torch_values, torch_grads = torch_on_page_graph(graph, inputs)
        table = shown_table(driver)
        shown_names = [n["name"] for n in graph["nodes"]
                       if n["op"] != "const"]
        assert sorted(table) == sorted(shown_names)
        for i, node in enumerate(graph["nodes"]):
            engine = engine_nodes[i]
            value, grad = state["values"][i], state["grads"][i]
            assert close(value, engine.data), (key, case, node)
            assert close(grad, engine.grad), (key, case, node)
            if node["op"] == "const":
                continue
            assert close(value, torch_values[i]), (key, case, node)
            assert close(grad, torch_grads[i]), (key, case, node)
            assert table[node["name"]] == (value, grad)
        # And torch on the expression as the book writes it.
        tensors = {name: torch.tensor(v, dtype=torch.float64,
                                      requires_grad=True)
                   for name, v in inputs.items()}
        out = list(function(**tensors).values())[-1]
        out.backward()
        out_index = graph["output"]
        assert close(state["values"][out_index], out.item())
        for i, node in enumerate(graph["nodes"]):
            if node["op"] == "input":
                assert close(state["grads"][i],
                             tensors[node["name"]].grad.item()), (key, case)


def test_the_nudge_is_the_engine_difference_quotient(page):
    driver, _ = page
    for h_power in (-1, -4, -8, -12):
        h = 10.0 ** h_power
        state = explorer_set(driver, expression=0,
                             inputs={"a": 2.0, "b": 1.0}, nudged="b", h=h)
        nudge = state["nudge"]
        assert nudge["name"] == "b"
        assert nudge["h"] == h
        _, _, base = engine_run(sum_times_successor, {"a": 2.0, "b": 1.0})
        _, _, moved = engine_run(sum_times_successor,
                                 {"a": 2.0, "b": 1.0 + h})
        assert nudge["slope"] == (moved.data - base.data) / h
        assert nudge["exact"] == 5.0  # de/db = a + 2b + 1
    text = driver.find_element("id", "bx-nudge-result").text
    assert "∂e/∂b = 5.00000000000;" in text
    # On a new expression the nudge starts on the input of most paths.
    explorer_set(driver, expression=1)
    state = explorer_set(driver, expression=0)
    assert state["nudge"]["name"] == "b"


def narration(driver) -> str:
    return driver.find_element("id", "bx-narration").text


def test_the_steps_narrate_forward_then_backward(page):
    driver, _ = page
    state = explorer_set(driver, expression=0, inputs={"a": 2.0, "b": 1.0},
                         position=0)
    assert narration(driver).startswith("Start: ")
    graph = page_data(driver)["expressions"][0]
    operations = [i for i, n in enumerate(graph["nodes"]) if "args" in n]
    lines = []
    for position in range(1, state["steps"] + 1):
        explorer_set(driver, position=position)
        lines.append(narration(driver))
        table = shown_table(driver)
        # The forward pass fills the values in the engine's order.
        if position <= len(operations):
            done = {graph["nodes"][i]["name"]
                    for i in operations[:position]}
            for i in operations:
                name = graph["nodes"][i]["name"]
                assert (table[name][0] is not None) == (name in done)
            assert all(grad is None for _, grad in table.values())
    assert "Forward: c = a + b = 2 + 1 = 3." in lines
    assert "Forward: d = b + 1 = 1 + 1 = 2." in lines
    assert "Forward: e = c · d = 3 · 2 = 6." in lines
    backward = lines[len(operations):]
    assert backward[0].startswith("Backward: ∂e/∂e = 1")
    b_line = next(line for line in backward
                  if line.startswith("Backward: ∂e/∂b"))
    assert b_line.startswith("Backward: ∂e/∂b = 5, the sum of two paths: ")
    assert sorted(re.findall(r"(\d) through (\w)", b_line)) == [
        ("2", "c"), ("3", "d")]
    assert lines[-1].endswith("Done.")
    assert driver.find_element("id", "bx-narration").get_attribute(
        "aria-live") == "polite"


def test_backward_waits_for_both_paths_of_different_lengths(page):
    driver, _ = page
    index = expression_index(driver, "path-lengths")
    state = explorer_set(driver, expression=index, inputs={"a": 1.0},
                         position=0)
    seen = []
    for position in range(1, state["steps"] + 1):
        explorer_set(driver, position=position)
        line = narration(driver)
        if line.startswith("Backward: "):
            seen.append(line.split(" ")[1])
    # Topological order: b only after c, which sends b its second share.
    assert seen == ["∂d/∂d", "∂d/∂c", "∂d/∂b", "∂d/∂a"]
    assert shown_table(driver)["a"][1] == 8.0


def test_a_keyboard_walks_a_full_pass(page):
    from selenium.webdriver.common.keys import Keys

    driver, url = page
    open_lazy_widget(driver, url, READY)
    field = driver.find_element("id", "bx-input-b")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys("4", Keys.TAB)
    state = json.loads(driver.execute_script(
        "return JSON.stringify(window.backpropExplorer.state)"))
    assert state["inputs"]["b"] == 4.0
    # Tab from the fields reaches the buttons: Reset, Back, Next.
    active = driver.switch_to.active_element
    names = []
    for _ in range(4):
        names.append(active.text)
        if active.text == "Next":
            break
        active.send_keys(Keys.TAB)
        active = driver.switch_to.active_element
    assert names[-1] == "Next", names
    heard = []
    for _ in range(state["steps"]):
        active.send_keys(Keys.ENTER)
        heard.append(narration(driver))
    assert driver.switch_to.active_element == active  # focus stays
    assert heard[-1].endswith("Done.")
    assert len(set(heard)) == len(heard)
    # ∂e/∂b = a + 2b + 1 at a = 2, b = 4.
    assert shown_table(driver)["b"][1] == 11.0
    active.send_keys(Keys.SHIFT, Keys.TAB)
    back = driver.switch_to.active_element
    assert back.text == "Back"
    back.send_keys(Keys.SPACE)
    assert not narration(driver).endswith("Done.")
    # The expression select works from the keyboard too.
    choice = driver.find_element("id", "bx-expression")
    choice.send_keys(Keys.ARROW_DOWN)
    state = json.loads(driver.execute_script(
        "return JSON.stringify(window.backpropExplorer.state)"))
    assert state["expression"] == "path-lengths"
    for control in ("bx-expression", "bx-input-a", "bx-nudged", "bx-h"):
        assert driver.execute_script(
            "return document.getElementById(arguments[0]).labels.length",
            control) == 1, control


@pytest.mark.parametrize(("scheme", "device"),
                         [("light", "desktop"), ("dark", "phone")])
def test_the_page_is_clean_light_and_dark(page, scheme, device):
    driver, url = page
    browser.set_color_scheme(driver, scheme)
    browser.set_device(driver, device)
    browser.console_errors(driver)
    open_lazy_widget(driver, url, READY)
    explorer_set(driver, expression=0, position=5)  # mid-backward
    root = assert_shown(driver, scheme, "bx-explorer",
                        ".backprop-explorer-fallback")
    assert len(root.find_elements("css selector", ".bx-node")) == 6
    overflow = driver.execute_script("""
        const root = document.getElementById('bx-explorer');
        return [document.documentElement.scrollWidth
                - document.documentElement.clientWidth,
                root.scrollWidth - root.clientWidth];""")
    assert overflow == [0, 0]
    # Drawn upright on the phone (the output above everything else),
    # sideways on the desktop (the output rightmost), near full size.
    width, space, tops, lefts = driver.execute_script("""
        const svg = document.getElementById('bx-graph');
        const rects = Array.from(svg.querySelectorAll('.bx-node rect'));
        return [svg.viewBox.baseVal.width, svg.parentNode.clientWidth,
                rects.map((r) => r.y.baseVal.value),
                rects.map((r) => r.x.baseVal.value)];""")
    output = page_data(driver)["expressions"][0]["output"]
    if device == "phone":
        assert tops[output] == min(tops) < sorted(tops)[1]
        assert width <= 1.1 * space  # nearly full size
    else:
        assert lefts[output] == max(lefts) > sorted(lefts)[-2]
        assert width <= space
    assert_no_error_and_no_violation(driver)
    # No expression makes the page wider than the screen.
    for index in range(len(EXPRESSIONS)):
        explorer_set(driver, expression=index, position=3)
        assert driver.execute_script(
            "return document.documentElement.scrollWidth"
            " - document.documentElement.clientWidth") == 0, index
    browser.set_device(driver, "desktop")
    browser.set_color_scheme(driver, "light")


def test_without_javascript_the_figure_stands_in(page):
    driver, url = page
    driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled",
                           {"value": True})
    try:
        driver.get(url)
        assert not driver.find_element("id", "bx-explorer").is_displayed()
        fallback = driver.find_element(
            "css selector", ".backprop-explorer-fallback")
        assert fallback.is_displayed()
        assert "needs JavaScript" in fallback.text
        assert fallback.find_element("css selector", "img").is_displayed()
        links = {a.get_attribute("href").rsplit("#", 1)[-1] for a in
                 fallback.find_elements("css selector", "a")}
        assert "fig-engine-explorer-graph" in links
    finally:
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled",
                               {"value": False})
        open_lazy_widget(driver, url, READY)


def test_the_explorer_loads_only_near_the_screen(page):
    driver, url = page
    browser.open_page(driver, url)  # at the top, far from the explorer
    assert driver.execute_script("""
        return window.backpropExplorer === undefined
          && window.bookWidgets === undefined
          && !document.querySelector('script[src*="backprop-explorer"]')
          && !document.querySelector('script[src*="widgets.js"]')
          && !document.querySelector('link[href*="backprop-explorer"]')""")
    open_lazy_widget(driver, url, READY)
    assert driver.find_element("id", "bx-explorer").is_displayed()


def test_the_explorer_adds_less_than_25_kb_gzipped(built_book):
    html = built_book / "_build" / "html"
    files = [html / "shared" / "widgets.js", html / "shared" / "widgets.css",
             html / "backprop-explorer" / "explorer.js",
             html / "backprop-explorer" / "explorer.css"]
    page_text = (html / PAGE).read_text()
    data = re.search(r'<script type="application/json" '
                     r'id="backprop-explorer-data">(.*?)</script>',
                     page_text, re.S).group(1)
    sizes = [len(gzip.compress(path.read_bytes(), 9)) for path in files]
    total = sum(sizes) + len(gzip.compress(data.encode(), 9))
    assert 5_000 < total < 25_000
    # Only this page loads the explorer.
    for other in html.glob("book/*.html"):
        if other.name != "reverse-mode-engine.html":
            assert "backprop-explorer/explorer.js" not in other.read_text()
    # Nothing under _widgets but the two explorers and their helpers.
    assert sorted(p.name for p in WIDGETS.iterdir()) == [
        "backprop-explorer", "momentum-explorer", "shared"]
