/* The explorer of learning rate and momentum, book/momentum.md.
 *
 * What it computes: full-batch gradient descent with momentum on the mean
 * squared error of the linear model slope * x + bias. The chapter computes
 * at build time, in Python, the five averages <x²>, <x>, <xy>, <y>, <y²>
 * that fix this quadratic loss, its minimum and the eigen-decomposition of
 * its Hessian, and writes them into the page as JSON
 * (#momentum-explorer-data). From them:
 *
 * - the path, with the problem set's rule in the order of the package's
 *   Momentum.step (src/autodiff_book/training.py), so that the numbers
 *   equal Python's in float64 (tests/test_explorer.py checks it):
 *     g_t   = gradient of the loss at theta_{t-1}
 *     b_0   = g_0,   b_t = mu * b_{t-1} + g_t
 *     theta_t = theta_{t-1} - gamma * b_t
 *   with dL/dslope = 2 (slope <x²> + bias <x> - <xy>) and
 *        dL/dbias  = 2 (slope <x> + bias - <y>);
 * - the loss above its minimum, L - L* = e' (H / 2) e with e = theta -
 *   theta*, which has no cancellation near the minimum;
 * - the verdict, from the theory of the chapter: along an eigenvector of
 *   curvature lambda the error obeys e_t = (1 + mu - gamma lambda) e_{t-1}
 *   - mu e_{t-2}, and the roots of z² - (1 + mu - gamma lambda) z + mu
 *   decide convergence, the regime and the rate per step (the larger
 *   modulus), as quadratic.regime and quadratic.convergence_rate do.
 *
 * Drawing is plain SVG: the contour lines of a quadratic are ellipses
 * around the minimum with axes along the eigenvectors, drawn exactly.
 * window.momentumExplorer.result holds the last computed run (the tests
 * read it); window.momentumExplorer.set({rate, momentum, start, steps})
 * sets the controls. Formatting and SVG helpers come from
 * _widgets/shared/widgets.js, loaded first.
 */
(function () {
  "use strict";

  // Shared with the other explorers: _widgets/shared/widgets.js.
  const {fmt, svg: el, svgText: text, reveal} = window.bookWidgets;
  // A rate within this of 1 is "on the edge" (the chapter's bound itself).
  const EDGE = 1e-9;
  // Same tolerance as quadratic.regime for a double root.
  const DOUBLE_ROOT = 1e-9;
  // Plot size in SVG units (the SVG scales to the width of the page).
  const W = 340, H = 300;
  const M = {left: 62, right: 18, top: 12, bottom: 40};

  const root = document.getElementById("mx-explorer");
  const source = document.getElementById("momentum-explorer-data");
  if (!root || !source) { return; }
  const data = JSON.parse(source.textContent);
  const s = data.stats;
  const [lamSmall, lamLarge] = data.curvatures;
  const [qSmall, qLarge] = data.directions;
  const star = data.star;

  // ---- The arithmetic -------------------------------------------------

  /** Gradient descent with momentum from `start`: rows [slope, bias]. */
  function run(rate, momentum, start, steps) {
    const path = [[start[0], start[1]]];
    let slope = start[0], bias = start[1];
    let b0 = 0, b1 = 0;  // the running sum b_t, one entry per parameter
    let overflow = null;
    for (let t = 0; t < steps; t++) {
      const g0 = 2 * (slope * s.mean_xx + bias * s.mean_x - s.mean_xy);
      const g1 = 2 * (slope * s.mean_x + bias - s.mean_y);
      if (t === 0) {
        b0 = g0; b1 = g1;
      } else {
        b0 = momentum * b0 + g0; b1 = momentum * b1 + g1;
      }
      slope = slope - rate * b0;
      bias = bias - rate * b1;
      if (!Number.isFinite(slope) || !Number.isFinite(bias)) {
        overflow = t + 1;  // this update overflowed: the path ends before
        break;
      }
      path.push([slope, bias]);
    }
    return {path, overflow};
  }

  /** L(theta) - L(theta*) = e' (H/2) e, with H/2 = [[<x²>, <x>], [<x>, 1]]. */
  function excessLoss(point) {
    const ea = point[0] - star[0], eb = point[1] - star[1];
    return ea * ea * s.mean_xx + 2 * ea * eb * s.mean_x + eb * eb;
  }

  /** log10 of the same, also where the square overflows but e does not. */
  function logExcessLoss(point) {
    const ea = point[0] - star[0], eb = point[1] - star[1];
    const m = Math.max(Math.abs(ea), Math.abs(eb));
    if (m === 0) { return -300; }
    const a = ea / m, b = eb / m;
    const q = a * a * s.mean_xx + 2 * a * b * s.mean_x + b * b;
    return 2 * Math.log10(m) + Math.log10(Math.max(q, 1e-300));
  }

  /** Regime and rate of one eigen-direction, as quadratic.regime names it. */
  function direction(rate, momentum, lam) {
    const tau = 1 + momentum - rate * lam;
    const disc = tau * tau - 4 * momentum;
    let factor, dominant;
    if (disc >= 0) {
      const r = Math.sqrt(disc);
      const z1 = (tau + r) / 2, z2 = (tau - r) / 2;
      dominant = Math.abs(z1) >= Math.abs(z2) ? z1 : z2;
      factor = Math.abs(dominant);
    } else {
      // Complex conjugate roots: |z|² = z1 z2 = mu.
      factor = Math.hypot(tau, Math.sqrt(-disc)) / 2;
      dominant = null;
    }
    let regime;
    if (Math.abs(factor - 1) <= EDGE) {
      regime = "on the edge";
    } else if (factor > 1) {
      regime = "divergent";
    } else if (Math.abs(disc) <= DOUBLE_ROOT) {
      regime = "critically damped";
    } else if (disc < 0) {
      regime = "oscillating";
    } else {
      regime = dominant > 0 ? "monotone" : "zig-zag";
    }
    return {regime, factor};
  }

  /** The one-line verdict for both directions together. */
  function verdict(rate, momentum) {
    const floor = direction(rate, momentum, lamSmall);
    const across = direction(rate, momentum, lamLarge);
    const regimes = [floor.regime, across.regime];
    const factor = Math.max(floor.factor, across.factor);
    let kind;
    if (regimes.includes("divergent")) {
      kind = "diverges";
    } else if (regimes.includes("on the edge")) {
      kind = "on the edge";
    } else if (regimes.includes("oscillating")) {
      // Complex roots: the error swings round the minimum.
      kind = "oscillates";
    } else if (regimes.includes("zig-zag")) {
      // A negative real root: the sign flips every step, a regime of
      // its own in the chapter's table, not an oscillation.
      kind = "zig-zags";
    } else {
      kind = "converges";
    }
    return {kind, factor, floor, across};
  }

  /** 2 (1 + mu) / lambda_max, or null when no learning rate converges. */
  function bound(momentum) {
    return Math.abs(momentum) < 1 ? 2 * (1 + momentum) / lamLarge : null;
  }

  // ---- Formatting -----------------------------------------------------

  function stepsPerDecade(factor) {
    return Math.log(10) / Math.abs(Math.log(factor));
  }

  // ---- The page -------------------------------------------------------

  const logMin = Math.log10(data.rate_range[0]);
  const logMax = Math.log10(data.rate_range[1]);
  const [muMin, muMax, muStep] = data.momentum_range;

  root.innerHTML = `
    <div class="mx-controls">
      <div class="mx-slider">
        <div class="mx-label">
          <label for="mx-rate">Learning rate γ</label>
          <output id="mx-rate-value" for="mx-rate"></output>
        </div>
        <div class="mx-track" id="mx-rate-track">
          <input type="range" id="mx-rate" min="${logMin}" max="${logMax}"
                 step="0.01" aria-describedby="mx-rate-note">
          <span class="mx-bound" aria-hidden="true"></span>
        </div>
        <p class="mx-note" id="mx-rate-note"></p>
      </div>
      <div class="mx-slider">
        <div class="mx-label">
          <label for="mx-momentum">Momentum μ</label>
          <output id="mx-momentum-value" for="mx-momentum"></output>
        </div>
        <div class="mx-track" id="mx-momentum-track">
          <input type="range" id="mx-momentum" min="${muMin}" max="${muMax}"
                 step="${muStep}" aria-describedby="mx-momentum-note">
          <span class="mx-bound" aria-hidden="true"></span>
        </div>
        <p class="mx-note" id="mx-momentum-note">μ = 0 is plain gradient
          descent; no learning rate converges for |μ| ≥ 1 (right of the
          mark).</p>
      </div>
      <div class="mx-choices">
        <label>Start
          <select id="mx-start"></select></label>
        <label>Steps
          <select id="mx-steps"></select></label>
      </div>
      <div class="mx-presets"></div>
    </div>
    <p class="mx-verdict" id="mx-verdict" aria-live="polite"></p>
    <div class="mx-plots">
      <figure class="mx-figure">
        <svg id="mx-surface" viewBox="0 0 ${W} ${H}" role="img"
             aria-labelledby="mx-surface-name mx-surface-text"></svg>
        <figcaption id="mx-surface-name">The path over the contour lines
          of the loss; click the plot to start from there.</figcaption>
        <p class="visually-hidden" id="mx-surface-text"></p>
      </figure>
      <figure class="mx-figure">
        <svg id="mx-loss" viewBox="0 0 ${W} ${H}" role="img"
             aria-labelledby="mx-loss-name mx-loss-text"></svg>
        <figcaption id="mx-loss-name">The loss above its minimum,
          L − L*, at each step (log scale).</figcaption>
        <p class="visually-hidden" id="mx-loss-text"></p>
      </figure>
    </div>`;

  const $ = (id) => document.getElementById(id);
  const rateInput = $("mx-rate"), momentumInput = $("mx-momentum");
  const startSelect = $("mx-start"), stepsSelect = $("mx-steps");

  data.starts.forEach((start, index) => {
    startSelect.add(new Option(start.label, String(index)));
  });
  const clicked = new Option("the point you clicked", "clicked");
  clicked.hidden = true;
  startSelect.add(clicked);
  data.step_choices.forEach((steps) => {
    stepsSelect.add(new Option(String(steps), String(steps)));
  });
  // Presets in groups, each a labelled group of buttons.
  const groups = new Map();
  data.presets.forEach((preset, index) => {
    if (!groups.has(preset.group)) {
      const group = document.createElement("div");
      group.setAttribute("role", "group");
      group.setAttribute("aria-labelledby", `mx-group-${groups.size}`);
      const name = document.createElement("span");
      name.id = `mx-group-${groups.size}`;
      name.textContent = `${preset.group}:`;
      group.appendChild(name);
      root.querySelector(".mx-presets").appendChild(group);
      groups.set(preset.group, group);
    }
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = preset.label;
    button.addEventListener("click", () => set(preset));
    groups.get(preset.group).appendChild(button);
  });
  // The momentum slider's mark: |mu| < 1 is needed for convergence.
  $("mx-momentum-track").style.setProperty(
    "--mx-p", String((1 - muMin) / (muMax - muMin)));

  const initial = data.presets[data.initial];
  const state = {
    rate: initial.rate,
    momentum: initial.momentum,
    start: data.starts[0].point,
    steps: initial.steps,
  };

  /** Set any of rate, momentum, start, steps; then recompute and draw. */
  function set(changes) {
    for (const key of ["rate", "momentum", "start", "steps"]) {
      if (changes[key] !== undefined) { state[key] = changes[key]; }
    }
    rateInput.value = String(Math.log10(state.rate));
    momentumInput.value = String(state.momentum);
    const startIndex = data.starts.findIndex(
      (start) => start.point[0] === state.start[0]
        && start.point[1] === state.start[1]);
    if (startIndex >= 0) {
      startSelect.value = String(startIndex);
    } else {
      clicked.hidden = false;
      clicked.text = `the point you clicked, (${fmt(state.start[0])}, `
        + `${fmt(state.start[1])})`;
      startSelect.value = "clicked";
    }
    if (!data.step_choices.includes(state.steps)) {
      stepsSelect.add(new Option(String(state.steps), String(state.steps)));
    }
    stepsSelect.value = String(state.steps);
    update();
  }

  rateInput.addEventListener("input", () => {
    state.rate = 10 ** Number(rateInput.value);
    update();
  });
  momentumInput.addEventListener("input", () => {
    state.momentum = Number(momentumInput.value);
    update();
  });
  startSelect.addEventListener("change", () => {
    if (startSelect.value !== "clicked") {
      state.start = data.starts[Number(startSelect.value)].point;
      update();
    }
  });
  stepsSelect.addEventListener("change", () => {
    state.steps = Number(stepsSelect.value);
    update();
  });

  // ---- Drawing --------------------------------------------------------

  /** About `count` round numbers between lo and hi. */
  function ticks(lo, hi, count) {
    const raw = (hi - lo) / count;
    const power = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((k) => k * power)
      .find((candidate) => candidate >= raw);
    const values = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) {
      values.push(Math.abs(v) < step / 1e6 ? 0 : v);
    }
    return values;
  }

  const [slopeLo, slopeHi] = data.view.slope;
  const [biasLo, biasHi] = data.view.bias;
  const plotW = W - M.left - M.right, plotH = H - M.top - M.bottom;
  const sx = plotW / (slopeHi - slopeLo), sy = plotH / (biasHi - biasLo);
  const toX = (slope) => M.left + (slope - slopeLo) * sx;
  const toY = (bias) => M.top + (biasHi - bias) * sy;

  function frame(svg, id, xTicks, yTicks, xLabel, yLabel, xOf, yOf,
                 yFormat) {
    svg.textContent = "";
    const clip = el("clipPath", {id}, el("defs", {}, svg));
    el("rect", {x: M.left, y: M.top, width: plotW, height: plotH}, clip);
    const axes = el("g", {class: "mx-axes"}, svg);
    el("rect", {x: M.left, y: M.top, width: plotW, height: plotH,
                class: "mx-box"}, axes);
    for (const v of xTicks) {
      el("line", {x1: xOf(v), x2: xOf(v), y1: M.top + plotH,
                  y2: M.top + plotH + 4}, axes);
      text(axes, xOf(v), M.top + plotH + 16, fmt(v),
           {"text-anchor": "middle"});
    }
    for (const v of yTicks) {
      el("line", {x1: M.left - 4, x2: M.left, y1: yOf(v), y2: yOf(v)},
         axes);
      yFormat(axes, M.left - 7, yOf(v) + 4, v);
    }
    text(axes, M.left + plotW / 2, H - 4, xLabel, {"text-anchor": "middle"});
    text(axes, 12, M.top + plotH / 2, yLabel, {
      "text-anchor": "middle",
      transform: `rotate(-90 12 ${M.top + plotH / 2})`,
    });
    return el("g", {"clip-path": `url(#${id})`}, svg);
  }

  // The contour lines never change: the largest passes through the
  // farthest corner of the view, each next one has half its loss.
  const corners = [[slopeLo, biasLo], [slopeLo, biasHi], [slopeHi, biasLo],
                   [slopeHi, biasHi]];
  const topLevel = Math.max(...corners.map(excessLoss));
  const levels = Array.from({length: 14}, (_, k) => topLevel / 2 ** k);

  function drawSurface(result) {
    const svg = $("mx-surface");
    const inside = frame(
      svg, "mx-clip-surface",
      ticks(slopeLo, slopeHi, 5), ticks(biasLo, biasHi, 5), "slope",
      "bias", toX, toY,
      (g, x, y, v) => text(g, x, y, fmt(v), {"text-anchor": "end"}));
    // An ellipse in eigen-coordinates (u along q_small, v along q_large),
    // carried to the screen by one affine map.
    const matrix = [sx * qSmall[0], -sy * qSmall[1], sx * qLarge[0],
                    -sy * qLarge[1], toX(star[0]), toY(star[1])];
    const contours = el("g", {class: "mx-contours",
                              transform: `matrix(${matrix.join(" ")})`},
                        inside);
    for (const level of levels) {
      // (lam_small / 2) u² + (lam_large / 2) v² = level
      el("ellipse", {cx: 0, cy: 0, rx: Math.sqrt(2 * level / lamSmall),
                     ry: Math.sqrt(2 * level / lamLarge),
                     "vector-effect": "non-scaling-stroke"}, contours);
    }
    // The path, cut where it leaves a generous box around the view (the
    // clip hides the rest; huge coordinates would upset the renderer).
    const limit = 10 * (W + H);
    const points = [];
    for (const [a, b] of result.path) {
      const p = [toX(a), toY(b)];
      if (Math.abs(p[0]) > limit || Math.abs(p[1]) > limit) {
        const q = points[points.length - 1];
        const reach = Math.max(Math.abs(p[0] - q[0]), Math.abs(p[1] - q[1]));
        const t = limit / reach;
        points.push([q[0] + t * (p[0] - q[0]), q[1] + t * (p[1] - q[1])]);
        break;
      }
      points.push(p);
    }
    el("polyline", {class: "mx-path",
                    points: points.map((p) => p.join(",")).join(" ")},
       inside);
    if (points.length <= 201) {
      // A dot after every step (zero-length strokes with round caps, one
      // element for all): their spacing shows the speed.
      el("path", {class: "mx-dots", d: points.slice(1).map(
        ([x, y]) => `M${x} ${y}h0`).join("")}, inside);
    }
    el("circle", {class: "mx-start", cx: points[0][0], cy: points[0][1],
                  r: 5}, inside);
    const [x0, y0] = [toX(star[0]), toY(star[1])];
    el("path", {class: "mx-star", d: starPath(x0, y0, 8)}, inside);
  }

  function starPath(x, y, r) {
    const corners = [];
    for (let k = 0; k < 10; k++) {
      const angle = -Math.PI / 2 + k * Math.PI / 5;
      const radius = k % 2 ? r * 0.42 : r;
      corners.push(`${x + radius * Math.cos(angle)},`
        + `${y + radius * Math.sin(angle)}`);
    }
    return `M${corners.join("L")}Z`;
  }

  function drawLoss(result) {
    const svg = $("mx-loss");
    const losses = result.path.map(excessLoss);
    const logs = result.path.map(logExcessLoss);
    let lo = Math.floor(Math.min(...logs)), hi = Math.ceil(Math.max(...logs));
    if (hi - lo < 2) { lo -= 1; hi += 1; }
    const steps = Math.max(result.steps, 1);
    const xOf = (t) => M.left + (t / steps) * plotW;
    const yOf = (v) => M.top + (hi - v) / (hi - lo) * plotH;
    const every = [1, 2, 5, 10, 20, 50, 100, 200]
      .find((k) => k >= (hi - lo) / 5);
    const yTicks = [];
    for (let v = Math.ceil(lo / every) * every; v <= hi; v += every) {
      yTicks.push(v);
    }
    const inside = frame(
      svg, "mx-clip-loss", ticks(0, steps, 4), yTicks, "step",
      "L − L*", xOf, yOf,
      (g, x, y, v) => {
        const label = text(g, x - 2, y, "10", {"text-anchor": "end"});
        const power = el("tspan", {dy: -6, "font-size": "0.75em"}, label);
        power.textContent = String(v).replace("-", "−");
      });
    el("polyline", {
      class: "mx-path",
      points: logs.map((v, t) => `${xOf(t)},${yOf(v)}`).join(" "),
    }, inside);
    if (result.overflow !== null) {
      text(inside, M.left + plotW - 6, M.top + 16,
           `overflow at step ${result.overflow}`,
           {"text-anchor": "end", class: "mx-warning"});
    }
    return losses;
  }

  // ---- Putting it together ------------------------------------------

  function describeDirection(name, d) {
    return `${name}: ${d.regime}, factor ${fmt(d.factor, 4)} per step`;
  }

  function update() {
    const {rate, momentum, start, steps} = state;
    const {path, overflow} = run(rate, momentum, start, steps);
    const result = {rate, momentum, start, steps, path, overflow};
    const v = verdict(rate, momentum);
    Object.assign(result, {verdict: v.kind, factor: v.factor,
                           floor: v.floor, across: v.across});

    $("mx-rate-value").textContent = fmt(rate, 3);
    rateInput.setAttribute("aria-valuetext", `γ = ${fmt(rate, 3)}`);
    $("mx-momentum-value").textContent = fmt(momentum, 3);
    momentumInput.setAttribute("aria-valuetext", `μ = ${fmt(momentum, 3)}`);

    const limit = bound(momentum);
    const track = $("mx-rate-track");
    if (limit === null || limit <= data.rate_range[0]
        || limit >= data.rate_range[1]) {
      track.style.setProperty("--mx-p", limit === null ? "0" : "1");
      track.classList.add("mx-no-bound");
      $("mx-rate-note").textContent = limit === null
        ? "No learning rate converges when |μ| ≥ 1."
        : `Stable below 2(1 + μ)/λmax = ${fmt(limit)}.`;
    } else {
      const p = (Math.log10(limit) - logMin) / (logMax - logMin);
      track.style.setProperty("--mx-p", p.toFixed(5));
      track.classList.remove("mx-no-bound");
      $("mx-rate-note").textContent = "Stable below 2(1 + μ)/λmax = "
        + `${fmt(limit)} (the mark on the slider).`;
    }

    let line;
    const perStep = `${fmt(v.factor, 4)} per step`;
    if (v.kind === "diverges") {
      line = `<strong>Diverges</strong>: the error grows by a factor `
        + `${perStep}` + (overflow !== null
          ? `, and overflows at step ${overflow}.` : ".");
    } else if (v.kind === "on the edge") {
      line = "<strong>On the edge</strong>: the error neither grows nor "
        + `shrinks (factor ${perStep}); it never converges.`;
    } else {
      const decade = Math.round(stepsPerDecade(v.factor));
      const swing = {
        "oscillates": "<strong>Oscillates</strong> (swings round the "
          + "minimum) and converges",
        "zig-zags": "<strong>Zig-zags</strong> (flips sign every step) "
          + "and converges",
      }[v.kind] || "<strong>Converges</strong>";
      line = `${swing}: the error shrinks by a factor ${perStep}, `
        + `about ${decade} steps per factor 10.`;
    }
    $("mx-verdict").innerHTML = `${line} <span class="mx-detail">`
      + `${describeDirection("Along the floor", v.floor)}; `
      + `${describeDirection("across the valley", v.across)}.</span>`;
    root.dataset.verdict = v.kind;

    drawSurface(result);
    const losses = drawLoss(result);
    const last = path[path.length - 1];
    $("mx-surface-text").textContent = `${path.length - 1} steps from `
      + `(${fmt(start[0])}, ${fmt(start[1])}); the last point drawn is `
      + `(${fmt(last[0])}, ${fmt(last[1])}), and the minimum is at `
      + `(${fmt(star[0])}, ${fmt(star[1])}).`;
    const lastLoss = losses[losses.length - 1];
    $("mx-loss-text").textContent = `L − L* is ${fmt(losses[0])} at the `
      + "start and " + (Number.isFinite(lastLoss) ? fmt(lastLoss)
        : "too large for a number") + ` after step ${path.length - 1}.`;
    window.momentumExplorer.result = result;
  }

  // A click on the surface picks the start.
  $("mx-surface").addEventListener("click", (event) => {
    const svg = $("mx-surface");
    const point = svg.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    const local = point.matrixTransform(svg.getScreenCTM().inverse());
    if (local.x < M.left || local.x > M.left + plotW || local.y < M.top
        || local.y > M.top + plotH) { return; }
    set({start: [slopeLo + (local.x - M.left) / sx,
                 biasHi - (local.y - M.top) / sy]});
  });

  window.momentumExplorer = {set, result: null};
  set({});
  // Shown only now: without JavaScript the chapter's figures stand in.
  reveal(root, ".momentum-explorer-fallback");
})();
