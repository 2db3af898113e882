/* The backpropagation explorer, book/reverse-mode-engine.md.
 *
 * The chapter records, at build time, the graphs that the book's engine
 * (src/autodiff_book/engine.py) builds for a few expressions and writes
 * them into the page as JSON (#backprop-explorer-data): every node in the
 * order the engine's `backward` sorts them (inputs before users), with
 * its operation (+, *, ** k, exp), its inputs, its place in the drawing.
 * From them, in float64, with the engine's rules in the engine's order:
 *
 * - the forward pass: each node's value from its inputs';
 * - the backward pass: the output's gradient starts at 1; then, from the
 *   output back to the leaves, each node's closure adds its gradient
 *   times the local derivative to each input, as Value's closures do
 *     +     : grad[x] += g,  grad[y] += g
 *     *     : grad[x] += y g,  grad[y] += x g
 *     ** k  : grad[x] += k x^(k-1) g
 *     exp   : grad[x] += e^x g
 *   (tests/test_backprop_explorer.py compares every value and gradient
 *   with the engine's and torch.autograd's);
 * - a nudge: (f(x + h) - f(x)) / h beside the gradient.
 *
 * The reader steps through both passes; window.backpropExplorer exposes
 * set({expression, inputs, position, h, nudged}) and the current `state`
 * for the tests.
 */
(function () {
  "use strict";

  const {fmt, svg, svgText, reveal} = window.bookWidgets;
  const root = document.getElementById("bx-explorer");
  const source = document.getElementById("backprop-explorer-data");
  if (!root || !source) { return; }
  const data = JSON.parse(source.textContent);
  // Node boxes and spacing, in SVG units (about CSS pixels at full size).
  const BOX = {w: 104, h: 52, cw: 40, ch: 24, dx: 136, dy: 84};
  const WORDS = ["no", "one", "two", "three", "four", "five", "six"];

  // ---- The arithmetic -------------------------------------------------

  /** Every node's value, in the engine's order. */
  function forward(expr, inputs) {
    const v = [];
    for (const node of expr.nodes) {
      const [x, y] = (node.args || []).map((i) => v[i]);
      switch (node.op) {
        case "input": v.push(inputs[node.name]); break;
        case "const": v.push(node.value); break;
        case "+": v.push(x + y); break;
        case "*": v.push(x * y); break;
        case "**": v.push(Math.pow(x, node.k)); break;
        case "exp": v.push(Math.exp(x)); break;
        default: throw new Error(`unknown operation ${node.op}`);
      }
    }
    return v;
  }

  /** The local derivative of a node with respect to each of its inputs. */
  function local(expr, v, i) {
    const node = expr.nodes[i];
    const [x, y] = node.args.map((j) => v[j]);
    switch (node.op) {
      case "+": return [1, 1];
      case "*": return [y, x];
      case "**": return [node.k * Math.pow(x, node.k - 1)];
      default: return [v[i]];  // exp: d(e^x)/dx = e^x
    }
  }

  /** The backward pass: every contribution, in the order it is added. */
  function backward(expr, v) {
    const n = expr.nodes.length;
    const grad = new Array(n).fill(0);
    const sends = [];  // per node: [{to, local, amount}]
    grad[expr.output] = 1;
    for (let i = n - 1; i >= 0; i--) {
      const node = expr.nodes[i];
      sends[i] = [];
      if (!node.args) { continue; }
      const slopes = local(expr, v, i);
      node.args.forEach((j, a) => {
        // The engine's association: (local derivative) * out.grad.
        const amount = node.op === "+" ? grad[i] : slopes[a] * grad[i];
        grad[j] += amount;
        sends[i].push({to: j, local: slopes[a], amount});
      });
    }
    return {grad, sends};
  }

  /** How many paths lead from each node to the output. */
  function pathCounts(expr) {
    const paths = new Array(expr.nodes.length).fill(0);
    paths[expr.output] = 1;
    for (let i = expr.nodes.length - 1; i >= 0; i--) {
      for (const j of expr.nodes[i].args || []) { paths[j] += paths[i]; }
    }
    return paths;
  }

  // ---- Words for nodes --------------------------------------------------

  /** A node in a formula: its name, or a constant's value. */
  function nameOf(expr, i) {
    const node = expr.nodes[i];
    if (node.op !== "const") { return node.name; }
    const value = fmt(node.value, 6);
    return node.value < 0 ? `(${value})` : value;
  }

  /** A node as the receiver of a gradient. */
  function receiver(expr, i) {
    const node = expr.nodes[i];
    return node.op === "const" ? `the constant ${fmt(node.value, 6)}`
      : node.name;
  }

  /** "a + b", "c · d", "u²", "exp(x)". */
  function formula(expr, i) {
    const node = expr.nodes[i];
    const [x, y] = (node.args || []).map((j) => nameOf(expr, j));
    switch (node.op) {
      case "+": return `${x} + ${y}`;
      case "*": return `${x} · ${y}`;
      case "**": return `${x}${power(node.k)}`;
      case "exp": return `exp(${x})`;
      default: return "";
    }
  }

  function power(k) {
    if (k === 2) { return "²"; }
    if (k === -1) { return "⁻¹"; }
    return `^${fmt(k, 6)}`;
  }

  function partial(expr, i) {
    return `∂${expr.nodes[expr.output].name}/∂${expr.nodes[i].name}`;
  }

  // ---- State ------------------------------------------------------------

  const state = {expression: data.initial, inputs: {}, position: 0,
                 h: 1e-4, nudged: null};
  let run = null;  // the current expression's full forward and backward

  /** Steps: one per operation forward, one per non-constant backward. */
  function plan(expr) {
    const steps = [];
    expr.nodes.forEach((node, i) => {
      if (node.args) { steps.push({phase: "forward", node: i}); }
    });
    for (let i = expr.nodes.length - 1; i >= 0; i--) {
      if (expr.nodes[i].op !== "const") {
        steps.push({phase: "backward", node: i});
      }
    }
    return steps;
  }

  function compute() {
    const expr = data.expressions[state.expression];
    const values = forward(expr, state.inputs);
    const {grad, sends} = backward(expr, values);
    run = {expr, values, grad, sends, steps: plan(expr),
           paths: pathCounts(expr)};
  }

  /** What the page shows after `position` steps. */
  function snapshot() {
    const {expr, values, sends, steps} = run;
    const n = expr.nodes.length;
    const known = expr.nodes.map((node) => !node.args);
    const grad = new Array(n).fill(null);
    const done = new Array(n).fill(false);
    const received = expr.nodes.map(() => []);
    const localShown = new Set();
    for (const step of steps.slice(0, state.position)) {
      const i = step.node;
      if (step.phase === "forward") {
        known[i] = true;
        continue;
      }
      if (i === expr.output) { grad[i] = 1; }
      done[i] = true;
      for (const send of sends[i]) {
        grad[send.to] = (grad[send.to] === null ? 0 : grad[send.to])
          + send.amount;
        received[send.to].push({from: i, amount: send.amount});
        localShown.add(`${send.to}-${i}`);
      }
    }
    return {values: values.map((value, i) => (known[i] ? value : null)),
            grad, done, received, localShown,
            current: state.position > 0 ? steps[state.position - 1] : null};
  }

  // ---- Narration --------------------------------------------------------

  function narrate(view) {
    const {expr, values, sends, steps} = run;
    const step = view.current;
    if (step === null) {
      const given = inputNodes().map(
        (node) => `${node.name} = ${fmt(state.inputs[node.name], 6)}`);
      return `Start: ${given.join(", ")}. Press Next for the forward pass.`;
    }
    const i = step.node;
    const name = expr.nodes[i].name;
    if (step.phase === "forward") {
      const args = expr.nodes[i].args.map((j) => fmt(values[j], 6));
      return `Forward: ${name} = ${formula(expr, i)} = `
        + `${withValues(expr, i, args)} = ${fmt(values[i], 6)}.`;
    }
    let line;
    if (i === expr.output) {
      line = `Backward: ${partial(expr, i)} = 1, where it starts.`;
    } else {
      const parts = view.received[i];
      line = `Backward: ${partial(expr, i)} = ${fmt(view.grad[i], 6)}`;
      if (parts.length > 1) {
        const total = parts.length === run.paths[i] ? "paths" : "uses";
        line += `, the sum of ${WORDS[parts.length] || parts.length} `
          + `${total}: ` + parts.map((part) => `${fmt(part.amount, 6)} `
            + `through ${expr.nodes[part.from].name}`).join(" + ");
      }
      line += ".";
    }
    if (sends[i].length) {
      line += ` Its vector-Jacobian product sends `
        + sends[i].map((send) => `${fmt(view.grad[i], 6)} × `
          + `${fmt(send.local, 6)} = ${fmt(send.amount, 6)} to `
          + `${receiver(expr, send.to)}`).join(" and ") + ".";
    } else {
      line += ` ${name} is an input: its gradient is complete.`;
    }
    const last = state.position === steps.length;
    return last ? `${line} Done.` : line;
  }

  function withValues(expr, i, args) {
    const node = expr.nodes[i];
    const [x, y] = args.map((a) => (a.startsWith("−") ? `(${a})` : a));
    switch (node.op) {
      case "+": return `${x} + ${y}`;
      case "*": return `${x} · ${y}`;
      case "**": return `${x}${power(node.k)}`;
      default: return `exp(${x})`;
    }
  }

  // ---- The page -------------------------------------------------------

  root.innerHTML = `
    <div class="bx-controls">
      <label>Expression <select id="bx-expression"></select></label>
      <div class="bx-inputs" id="bx-inputs"></div>
    </div>
    <div class="bx-steps" role="group" aria-label="Step through">
      <button type="button" id="bx-reset">Reset</button>
      <button type="button" id="bx-back">Back</button>
      <button type="button" id="bx-next">Next</button>
      <button type="button" id="bx-play" aria-pressed="false">Play</button>
      <span id="bx-counter"></span>
    </div>
    <p class="bx-narration" id="bx-narration" aria-live="polite"></p>
    <figure class="bx-figure">
      <svg id="bx-graph" role="img" aria-labelledby="bx-graph-name"></svg>
      <figcaption id="bx-graph-name">The graph the engine records: arrows
        run forward; the backward pass goes against them, and “…” marks a
        gradient still being summed. The table below holds the same
        numbers.</figcaption>
    </figure>
    <div class="bx-table-wrap">
      <table class="bx-table" id="bx-table">
        <caption>Nodes in topological order, with value and gradient
          </caption>
        <thead><tr><th scope="col">node</th><th scope="col">value</th>
          <th scope="col" id="bx-grad-head"></th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
    <div class="bx-nudge" role="group" aria-labelledby="bx-nudge-name">
      <p id="bx-nudge-name"><strong>Nudge an input</strong> by h and
        compare the output's change with the gradient.</p>
      <label>Input <select id="bx-nudged"></select></label>
      <label><span>h = 10<sup id="bx-h-power"></sup></span>
        <input type="range" id="bx-h" min="-12" max="-1" step="1"></label>
      <p id="bx-nudge-result"></p>
    </div>`;

  const $ = (id) => document.getElementById(id);
  const select = $("bx-expression"), nudged = $("bx-nudged");
  const hInput = $("bx-h");
  data.expressions.forEach((expr, index) => {
    select.add(new Option(expr.title, String(index)));
  });

  /** The input nodes, in the order of the expression's arguments. */
  function inputNodes() {
    return run.expr.inputs.map(
      (name) => run.expr.nodes.find((node) => node.name === name));
  }

  /** Number fields for the current expression's inputs. */
  function buildInputs() {
    const box = $("bx-inputs");
    box.textContent = "";
    nudged.textContent = "";
    for (const node of inputNodes()) {
      const label = document.createElement("label");
      label.textContent = `${node.name} = `;
      const field = document.createElement("input");
      field.type = "number";
      field.step = "any";
      field.id = `bx-input-${node.name}`;
      field.value = String(state.inputs[node.name]);
      field.addEventListener("change", () => {
        const value = Number(field.value);
        if (field.value.trim() !== "" && Number.isFinite(value)) {
          set({inputs: {...state.inputs, [node.name]: value}});
        }
      });
      label.appendChild(field);
      box.appendChild(label);
      nudged.add(new Option(node.name, node.name));
    }
  }

  /** Set any of expression, inputs, position, h, nudged; then draw. */
  function set(changes) {
    if (changes.expression !== undefined
        && changes.expression !== state.expression) {
      state.expression = changes.expression;
      state.position = 0;
      state.inputs = {};
      state.nudged = null;
    }
    const expr = data.expressions[state.expression];
    for (const node of expr.nodes) {
      if (node.op === "input" && state.inputs[node.name] === undefined) {
        state.inputs[node.name] = node.value;
      }
    }
    if (changes.inputs) { Object.assign(state.inputs, changes.inputs); }
    if (changes.h !== undefined) { state.h = changes.h; }
    if (changes.nudged !== undefined) { state.nudged = changes.nudged; }
    const rebuild = run === null || run.expr !== expr;
    compute();
    if (state.nudged === null) {
      // The input with the most paths to the output: the one to watch.
      const inputs = inputNodes();
      const paths = inputs.map((node) => run.paths[
        run.expr.nodes.indexOf(node)]);
      state.nudged = inputs[paths.indexOf(Math.max(...paths))].name;
    }
    if (changes.position !== undefined) {
      state.position = Math.max(0, Math.min(changes.position,
                                            run.steps.length));
    }
    if (rebuild) {
      buildInputs();
      select.value = String(state.expression);
    }
    for (const node of inputNodes()) {
      const field = $(`bx-input-${node.name}`);
      if (Number(field.value) !== state.inputs[node.name]) {
        field.value = String(state.inputs[node.name]);
      }
    }
    nudged.value = state.nudged;
    hInput.value = String(Math.round(Math.log10(state.h)));
    draw();
  }

  select.addEventListener("change",
                          () => set({expression: Number(select.value)}));
  nudged.addEventListener("change", () => set({nudged: nudged.value}));
  hInput.addEventListener("input",
                          () => set({h: 10 ** Number(hInput.value)}));
  $("bx-reset").addEventListener("click", () => {
    stop();
    set({position: 0});
  });
  $("bx-back").addEventListener("click", () => {
    stop();
    set({position: state.position - 1});
  });
  $("bx-next").addEventListener("click", () => {
    stop();
    set({position: state.position + 1});
  });
  let timer = null;
  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    $("bx-play").textContent = "Play";
    $("bx-play").setAttribute("aria-pressed", "false");
  }
  $("bx-play").addEventListener("click", () => {
    if (timer !== null) { stop(); return; }
    if (state.position >= run.steps.length) { set({position: 0}); }
    $("bx-play").textContent = "Pause";
    $("bx-play").setAttribute("aria-pressed", "true");
    timer = setInterval(() => {
      set({position: state.position + 1});
      if (state.position >= run.steps.length) { stop(); }
    }, 900);
  });

  // ---- Drawing --------------------------------------------------------

  /** Box centres: leaves left and the output right, or upright. */
  function layout(expr, upright) {
    const layers = Math.max(...expr.nodes.map((node) => node.layer)) + 1;
    const rows = Math.max(...expr.nodes.map((node) => node.row)) + 1;
    const span = (upright ? BOX.dx * 0.82 : BOX.dy);
    const along = (upright ? BOX.dy : BOX.dx);
    const places = expr.nodes.map((node) => {
      const count = expr.nodes.filter((m) => m.layer === node.layer).length;
      const across = (node.row + (rows - count) / 2) * span + span / 2;
      const step = node.layer * along + along / 2;
      return upright ? [across, (layers - 1) * along - step + along]
        : [step, across];
    });
    const width = upright ? rows * span : layers * along;
    const height = upright ? layers * along : rows * span;
    return {places, width, height};
  }

  function boxOf(node) {
    return node.op === "const" ? [BOX.cw, BOX.ch] : [BOX.w, BOX.h];
  }

  /** Where the segment from p towards q leaves the box around p. */
  function edgePoint(p, q, size) {
    const dx = q[0] - p[0], dy = q[1] - p[1];
    const t = Math.min(size[0] / 2 / Math.abs(dx || 1e-9),
                       size[1] / 2 / Math.abs(dy || 1e-9));
    return [p[0] + t * dx, p[1] + t * dy];
  }

  /** Upright when the graph drawn sideways would not fit at full size. */
  function isUpright(expr) {
    const layers = Math.max(...expr.nodes.map((node) => node.layer)) + 1;
    return $("bx-graph").parentNode.clientWidth < layers * BOX.dx;
  }

  function drawGraph(view) {
    const {expr} = run;
    const graph = $("bx-graph");
    const upright = isUpright(expr);
    const {places, width, height} = layout(expr, upright);
    graph.textContent = "";
    graph.setAttribute("viewBox", `0 0 ${width} ${height}`);
    graph.style.maxWidth = `${width}px`;
    const defs = svg("defs", {}, graph);
    for (const [id, cls] of [["bx-arrow", ""], ["bx-arrow-on", "on"]]) {
      const marker = svg("marker", {id, viewBox: "0 0 10 10", refX: 9,
                                    refY: 5, markerWidth: 7,
                                    markerHeight: 7, orient: "auto"},
                         defs);
      svg("path", {d: "M0,0L10,5L0,10z", class: `bx-head ${cls}`}, marker);
    }
    const current = view.current;
    const edges = svg("g", {class: "bx-edges"}, graph);
    const labels = svg("g", {class: "bx-edge-labels"}, graph);
    expr.nodes.forEach((node, i) => {
      (node.args || []).forEach((j, a) => {
        // An edge that skips a layer bows out, round the boxes between.
        const p = places[j], q = places[i];
        const skip = Math.abs(node.layer - expr.nodes[j].layer) > 1;
        const bow = upright ? [-0.5 * BOX.dx, 0] : [0, -0.5 * BOX.dy];
        const control = skip ? [(p[0] + q[0]) / 2 + bow[0],
                                (p[1] + q[1]) / 2 + bow[1]]
          : [(p[0] + q[0]) / 2, (p[1] + q[1]) / 2];
        const from = edgePoint(p, control, boxOf(expr.nodes[j]));
        const to = edgePoint(q, control, boxOf(node));
        const on = current !== null && current.node === i;
        svg("path", {d: `M${from}Q${control} ${to}`,
                     class: on ? "bx-edge on" : "bx-edge",
                     "marker-end": `url(#${on ? "bx-arrow-on"
                       : "bx-arrow"})`}, edges);
        if (view.localShown.has(`${j}-${i}`)) {
          const send = run.sends[i][a];
          // Beside the middle of the edge: right of it when upright.
          const mid = [0, 1].map(
            (k) => (from[k] + 2 * control[k] + to[k]) / 4);
          const label = svgText(labels, mid[0] + (upright ? 5 : 0),
                                mid[1] + (upright ? 4 : -5),
                                `×${fmt(send.local, 3)}`,
                                {class: on ? "bx-local on" : "bx-local",
                                 "text-anchor": upright ? "start"
                                   : "middle"});
          label.setAttribute("paint-order", "stroke");
        }
      });
    });
    const boxes = svg("g", {class: "bx-nodes"}, graph);
    expr.nodes.forEach((node, i) => {
      const [w, h] = boxOf(node);
      const [x, y] = places[i];
      const g = svg("g", {class: "bx-node"}, boxes);
      if (current !== null && current.node === i) {
        g.classList.add("on");
      }
      if (node.op === "input") { g.classList.add("input"); }
      svg("rect", {x: x - w / 2, y: y - h / 2, width: w, height: h,
                   rx: node.op === "const" ? 12 : 6}, g);
      if (node.op === "const") {
        svgText(g, x, y + 4, fmt(node.value, 4), {"text-anchor": "middle"});
        return;
      }
      const title = node.args ? `${node.name} = ${formula(expr, i)}`
        : node.name;
      svgText(g, x, y - 10, title, {"text-anchor": "middle",
                                    class: "bx-title"});
      const value = view.values[i];
      svgText(g, x, y + 6, value === null ? "?" : fmt(value, 4),
              {"text-anchor": "middle", class: "bx-value"});
      const grad = view.grad[i];
      if (grad !== null) {
        svgText(g, x, y + 21, `grad ${fmt(grad, 3)}`
                + (view.done[i] ? "" : " …"),
                {"text-anchor": "middle", class: "bx-grad"});
      }
    });
  }

  /** The text alternative: one row per node, as far as the steps got. */
  function drawTable(view) {
    const {expr} = run;
    const body = $("bx-table").tBodies[0];
    body.textContent = "";
    $("bx-grad-head").textContent = `gradient ${partial(expr, expr.output)
      .replace(/∂[^/]*$/, "∂node")}`;
    expr.nodes.forEach((node, i) => {
      if (node.op === "const") { return; }
      const row = body.insertRow();
      row.dataset.node = node.name;
      if (view.current !== null && view.current.node === i) {
        row.className = "on";
        row.setAttribute("aria-current", "step");
      }
      const head = document.createElement("th");
      head.scope = "row";
      head.textContent = node.args ? `${node.name} = ${formula(expr, i)}`
        : `${node.name} (input)`;
      row.appendChild(head);
      for (const [key, number] of [["value", view.values[i]],
                                   ["grad", view.grad[i]]]) {
        const cell = row.insertCell();
        cell.className = key;
        if (number === null) {
          cell.textContent = "not yet";
        } else {
          cell.textContent = fmt(number, 6) + (key === "grad"
            && !view.done[i] ? " so far" : "");
          cell.dataset.exact = String(number);
        }
      }
    });
  }

  function drawNudge() {
    const {expr, values, grad} = run;
    const name = state.nudged;
    const h = state.h;
    const shifted = forward(expr, {...state.inputs,
                                   [name]: state.inputs[name] + h});
    const out = expr.output;
    const slope = (shifted[out] - values[out]) / h;
    const index = expr.nodes.findIndex((node) => node.name === name);
    const exact = grad[index];
    const gap = Math.abs(slope - exact);
    $("bx-h-power").textContent = fmt(Math.log10(h), 2);
    hInput.setAttribute("aria-valuetext", `h = ${fmt(h, 2)}`);
    const outName = expr.nodes[out].name;
    // Twelve digits, trailing zeros kept: the quotient's error shows.
    const long = (v) => (Number.isFinite(v)
      ? v.toPrecision(12).replace(/-/g, "−") : String(v));
    $("bx-nudge-result").textContent = `(${outName}(${name} + h) − `
      + `${outName}) / h = ${long(slope)}; the backward pass gives `
      + `${partial(expr, index)} = ${long(exact)}; they differ by `
      + `${fmt(gap, 2)}.`;
    return {name, h, slope, exact};
  }

  function draw() {
    const view = snapshot();
    drawGraph(view);
    drawTable(view);
    const nudge = drawNudge();
    $("bx-narration").textContent = narrate(view);
    const total = run.steps.length;
    const phase = view.current === null ? "start"
      : `${view.current.phase} pass`;
    $("bx-counter").textContent = `Step ${state.position} of ${total} `
      + `(${phase})`;
    // aria-disabled, not disabled: a disabled button would drop the
    // keyboard focus at the end of the walk.
    $("bx-back").setAttribute("aria-disabled", String(state.position === 0));
    $("bx-next").setAttribute("aria-disabled",
                              String(state.position === total));
    root.dataset.phase = phase;
    window.backpropExplorer.state = {
      expression: run.expr.key, inputs: {...state.inputs},
      position: state.position, steps: total,
      names: run.expr.nodes.map((node) => node.name),
      values: run.values, grads: run.grad, nudge,
    };
  }

  // Redraw upright or sideways when the width asks for the other.
  let wasUpright = null;
  new ResizeObserver(() => {
    const upright = run !== null && isUpright(run.expr);
    if (run !== null && upright !== wasUpright) {
      wasUpright = upright;
      draw();
    }
  }).observe(root);

  window.backpropExplorer = {set, state: null};
  reveal(root, ".backprop-explorer-fallback");
  set({});
})();
