"""The book's formulas in Chromium, before and after a change to the math.

    python -m book_tools.benchmarks.math_font OLD/_build/html _build/html

Serves each site on 127.0.0.1 and, in headless Chromium, measures on every
page the brackets of each fenced matrix against the matrix's height, and
the height of a displayed sum against an inline one; then photographs five
kinds of formula (a fraction, a matrix in brackets, a displayed sum with
limits, a radical, primes and accents) at 1280 and 390 px, light and dark,
and puts each width and scheme's "before | after" pairs on one sheet in
``benchmarks/math/`` (``--out`` to change). Prints the measurements as a
Markdown table (``benchmarks/math-font.md`` keeps the last run's).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

from book_tools import browser

# Each formula: (kind, page, a piece of its TeX source, in alttext).
FORMULAS = [
    ("fraction", "book/derivatives", r"f'(x) = \frac{4"),
    ("matrix", "book/momentum", r"\begin{pmatrix} e_t"),
    ("sum", "book/sgd", r"\frac{\partial L}{\partial a}"),
    ("radical", "book/momentum", r"\sqrt\mu = |1 - \sqrt{\gamma"),
    ("primes", "book/higher-derivatives", r"\sigma' = e^{-x}"),
    ("accents", "book/early-stopping", r"d_i = \bigl(\hat y_i"),
]
VIEWS = [(1280, "light"), (1280, "dark"), (390, "light"), (390, "dark")]

MEASURE = """
const fences = "([{|\\u2016";
const rect = e => e.getBoundingClientRect();
const matrices = Array.from(document.querySelectorAll("math mtable"))
  .filter(t => t.previousElementSibling
    && t.previousElementSibling.localName === "mo"
    && fences.includes(t.previousElementSibling.textContent.trim()))
  .filter(t => t.getClientRects().length)
  .map(t => ({
    tex: t.closest("math").getAttribute("alttext").slice(0, 50),
    ratio: Math.min(rect(t.previousElementSibling).height,
                    rect(t.nextElementSibling).height) / rect(t).height}));
const sums = Array.from(document.querySelectorAll("math mo"))
  .filter(o => o.textContent.trim() === "\\u2211" && o.getClientRects().length)
  .map(o => ({display: o.closest("math").getAttribute("display") === "block",
              height: rect(o).height}));
const font = Array.from(document.fonts)
  .filter(f => f.family.includes("Math")).map(f => f.status);
return {matrices, sums, font,
        family: (document.querySelector("math") ?
                 getComputedStyle(document.querySelector("math")).fontFamily
                 : "")};
"""

FIND = """
const part = arguments[0];
const math = Array.from(document.querySelectorAll("math"))
  .find(m => (m.getAttribute("alttext") || "").includes(part));
if (!math) { return false; }
math.scrollIntoView({block: "center"});
math.setAttribute("data-shot", "1");
return true;
"""


def measure(html: Path, pages: list[str]) -> dict[str, dict]:
    """Matrix bracket ratios and sum heights of every page with math."""
    found = {}
    with browser.serve(html, compress=True) as base, \
            browser.chromium() as driver:
        for page in pages:
            browser.open_page(driver, f"{base}{page}.html")
            found[page] = driver.execute_script(MEASURE)
    return found


def shots(html: Path) -> dict[tuple, bytes]:
    """PNG of each formula in each view: {(kind, width, scheme): png}."""
    from selenium.webdriver.common.by import By

    out = {}
    with browser.serve(html, compress=True) as base, \
            browser.chromium() as driver:
        for width, scheme in VIEWS:
            browser.set_viewport(driver, width, 900, width < 600)
            browser.set_color_scheme(driver, scheme)
            for kind, page, part in FORMULAS:
                browser.open_page(driver, f"{base}{page}.html")
                if not driver.execute_script(FIND, part):
                    raise LookupError(f"no formula {part!r} on {page}")
                # Sections below the fold are laid out once scrolled to
                # (content-visibility): let the page settle first.
                time.sleep(0.5)
                element = driver.find_element(By.CSS_SELECTOR,
                                              "math[data-shot]")
                # The formula's block (displayed) or its own box (inline).
                box = driver.execute_script(
                    "const m = arguments[0];"
                    "return m.getAttribute('display') === 'block'"
                    " ? m.closest('div.math') : m;", element)
                out[kind, width, scheme] = box.screenshot_as_png
    return out


def sheet(pairs: list[tuple[str, bytes, bytes]], path: Path) -> None:
    """One PNG: a row per formula, before on the left, after on the right."""
    from PIL import Image, ImageDraw

    rows = []
    for kind, old, new in pairs:
        images = [Image.open(io.BytesIO(png)).convert("RGB")
                  for png in (old, new)]
        rows.append((kind, images))
    left = max(im[0].width for _, im in rows)
    right = max(im[1].width for _, im in rows)
    gap, label = 12, 16
    height = sum(max(a.height, b.height) + label + gap for _, (a, b) in rows)
    canvas = Image.new("RGB", (left + right + 3 * gap, height + gap),
                       (128, 128, 128))
    draw = ImageDraw.Draw(canvas)
    y = gap
    for kind, (old, new) in rows:
        draw.text((gap, y), f"{kind}: before", fill=(0, 0, 0))
        draw.text((left + 2 * gap, y), "after", fill=(0, 0, 0))
        y += label
        canvas.paste(old, (gap, y))
        canvas.paste(new, (left + 2 * gap, y))
        y += max(old.height, new.height) + gap
    canvas.save(path, optimize=True)


def table(before: dict, after: dict) -> str:
    """The measurements of both sites as Markdown."""
    lines = ["| page | matrix brackets / matrix height, before | after |"
             " display ∑ / inline ∑ height, before | after |",
             "| --- | --- | --- | --- | --- |"]

    def ratios(facts):
        return ", ".join(f"{m['ratio']:.0%}" for m in facts["matrices"])

    def sums(facts):
        shown = [s["height"] for s in facts["sums"] if s["display"]]
        inline = [s["height"] for s in facts["sums"] if not s["display"]]
        if not shown or not inline:
            return "–"
        return f"{min(shown) / max(inline):.2f}"

    for page in before:
        if not (before[page]["matrices"] or before[page]["sums"]):
            continue
        lines.append(f"| {page} | {ratios(before[page]) or '–'} | "
                     f"{ratios(after[page]) or '–'} | {sums(before[page])} |"
                     f" {sums(after[page])} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: math_font.py BEFORE_HTML AFTER_HTML [--out DIR]."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).parent / "math")
    args = parser.parse_args(argv)
    pages = browser.site_pages(args.after)
    pages = [p[:-5] for p in pages if p.endswith(".html")]
    before, after = measure(args.before, pages), measure(args.after, pages)
    print(table(before, after))
    for page in pages:
        print(page, "font:", after[page]["font"], after[page]["family"])
    old, new = shots(args.before), shots(args.after)
    args.out.mkdir(parents=True, exist_ok=True)
    for width, scheme in VIEWS:
        pairs = [(kind, old[kind, width, scheme], new[kind, width, scheme])
                 for kind, _, _ in FORMULAS]
        sheet(pairs, args.out / f"formulas-{width}-{scheme}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
