/* Helpers shared by the book's explorers (_widgets/<name>/explorer.js).
 *
 * Loaded before an explorer's own script (both `defer`, so in order), it
 * defines window.bookWidgets:
 * - fmt(value, digits): a number for the page, with a real minus sign;
 * - svg(name, attributes, parent) and svgText(parent, x, y, content,
 *   attributes): SVG elements;
 * - reveal(root, fallbackSelector): show the explorer and hide the
 *   static stand-in that the page shows without JavaScript.
 *
 * An explorer far down a page can load lazily: book/reverse-mode-engine.md
 * shows the few inline lines that fetch its styles, then this file and
 * its script, once its place nears the window.
 */
(function () {
  "use strict";

  const SVG = "http://www.w3.org/2000/svg";

  /** `value` to `digits` significant digits; exponents when far from 1. */
  function fmt(value, digits = 3) {
    if (!Number.isFinite(value)) { return String(value); }
    if (value !== 0 && (Math.abs(value) < 1e-3 || Math.abs(value) >= 1e5)) {
      return value.toExponential(digits - 1).replace(/-/g, "−");
    }
    return Number(value.toPrecision(digits)).toString().replace("-", "−");
  }

  function svg(name, attributes, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) {
      node.setAttribute(key, value);
    }
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function svgText(parent, x, y, content, attributes = {}) {
    const node = svg("text", {x, y, ...attributes}, parent);
    node.textContent = content;
    return node;
  }

  /** Show the explorer; hide what stands in for it without JavaScript. */
  function reveal(root, fallbackSelector) {
    root.hidden = false;
    document.querySelectorAll(fallbackSelector).forEach(
      (node) => { node.hidden = true; });
  }

  window.bookWidgets = {fmt, svg, svgText, reveal};
})();
