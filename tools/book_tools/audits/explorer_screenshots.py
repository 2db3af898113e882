"""Screenshots of one explorer in a given state: desktop/phone, light/dark.

For the explorers under ``_widgets/`` (the notes in ``benchmarks/``):
serves the built site on 127.0.0.1, opens the page in headless Chromium at
each width (desktop 1280 px, phone 390 px) and colour scheme, runs a line
of JavaScript that puts the explorer in the state to show, and saves a PNG
of the explorer's element alone, named ``<desktop|phone>-<scheme>.png``
(an explorer that loads lazily is scrolled to and waited for first).
``--colours N`` keeps N colours (a third of the bytes at 64, which is
plenty for flat widget graphics), with Pillow, which matplotlib installs
as its own dependency.

Usage (after ``make site``)::

    .venv/bin/python -m book_tools.audits.explorer_screenshots \\
        --page book/reverse-mode-engine.html --element bx-explorer \\
        --state "window.backpropExplorer.set({position: 7})" \\
        --out benchmarks/backprop-explorer --colours 64
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from book_tools import browser
from book_tools.project import ROOT

SCHEMES = ("light", "dark")
# Tall enough for a whole explorer: an element screenshot stops at the
# bottom of the window.
WINDOW_HEIGHT = 2200


def wait_until_shown(element, timeout: float = 30) -> None:
    """Wait until the explorer's script has revealed ``element``."""
    end = time.monotonic() + timeout
    while not element.is_displayed():
        if time.monotonic() > end:
            raise TimeoutError("the explorer never showed")
        time.sleep(0.05)


def quantise(path: Path, colours: int) -> None:
    """Rewrite the PNG at ``path`` with a palette of ``colours``."""
    from PIL import Image

    with Image.open(path) as image:
        flat = image.convert("RGB").quantize(colors=colours,
                                             dither=Image.Dither.NONE)
    flat.save(path, optimize=True)


def main() -> int:
    """Save the four screenshots; print each file's size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--site", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--page", required=True)
    parser.add_argument("--element", required=True,
                        help="id of the explorer's root element")
    parser.add_argument("--state", default="",
                        help="JavaScript run before each screenshot")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--colours", type=int, default=0,
                        help="quantise to this many colours (0: keep all)")
    args = parser.parse_args()
    if not (args.site / args.page).is_file():
        parser.error(f"--page: no {args.page} in {args.site}")
    if not 0 <= args.colours <= 256:
        parser.error(f"--colours must be 0 to 256, got {args.colours}")
    args.out.mkdir(parents=True, exist_ok=True)
    with (browser.serve(args.site) as base,
          browser.chromium() as driver):
        for device, (width, _, phone) in browser.DEVICES.items():
            for scheme in SCHEMES:
                browser.set_color_scheme(driver, scheme)
                browser.set_viewport(driver, width, WINDOW_HEIGHT, phone)
                browser.open_page(driver, base + args.page)
                root = driver.find_element("id", args.element)
                # A lazy explorer loads when its place nears the window.
                driver.execute_script(
                    "arguments[0].parentNode.scrollIntoView()", root)
                wait_until_shown(root)
                if args.state:
                    driver.execute_script(args.state)
                driver.execute_script(
                    "arguments[0].scrollIntoView({block: 'start'})", root)
                path = args.out / f"{device}-{scheme}.png"
                root.screenshot(str(path))
                if args.colours:
                    quantise(path, args.colours)
                errors = browser.console_errors(driver)
                print(f"{path}: {path.stat().st_size:,} bytes"
                      + (f"; console errors: {errors}" if errors else ""))
                if errors:
                    return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
