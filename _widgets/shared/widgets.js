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
 * It also loads explorers lazily: an element with data-widget-script
 * (and data-widget-styles, space-separated) gets those styles, then that
 * script, once it comes within a few screens of the window. A page
 * thus pays for an explorer far down only when the reader heads there,
 * and its first paint waits for none of it.
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

  function element(name, attributes) {
    const node = document.createElement(name);
    Object.assign(node, attributes);
    return node;
  }

  /** The styles (all loaded), then the script of one lazy explorer. */
  function load(slot) {
    const styles = (slot.dataset.widgetStyles || "").split(/\s+/)
      .filter(Boolean).map((href) => new Promise((done) => {
        const link = element("link", {rel: "stylesheet", href});
        link.addEventListener("load", done);
        link.addEventListener("error", done);
        document.head.appendChild(link);
      }));
    Promise.all(styles).then(() => {
      document.body.appendChild(
        element("script", {src: slot.dataset.widgetScript}));
    });
  }

  document.querySelectorAll("[data-widget-script]").forEach((slot) => {
    if (!("IntersectionObserver" in window)) { load(slot); return; }
    const watch = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) {
        watch.disconnect();
        load(slot);
      }
    }, {rootMargin: "200% 0px"});
    watch.observe(slot);
  });

  window.bookWidgets = {fmt, svg, svgText, reveal};
})();
