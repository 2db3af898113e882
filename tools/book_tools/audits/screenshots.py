"""Screenshots of every page of the built site: desktop and phone, light/dark.

Serves the site on 127.0.0.1, opens each page in headless Chromium (Debian's
``chromium`` and ``chromedriver``) and saves a full-page PNG per page, per
width (desktop 1280 px, phone 390 px) and per colour scheme, named
``<page>--<desktop|phone>--<light|dark>.png``.

Usage (after ``make site``)::

    .venv/bin/python -m book_tools.audits.screenshots [SITE] [--out FOLDER]

SITE defaults to ``_build/html`` and FOLDER to ``_build/screenshots``.
"""

from __future__ import annotations

import argparse
import base64
import time
from pathlib import Path

from book_tools import browser
from book_tools.project import ROOT

SCHEMES = ("light", "dark")
# Chromium refuses captures taller than this many pixels.
MAX_HEIGHT = 16_000


def capture(driver, path: Path, width: int, height: int, phone: bool):
    """Save the whole page (up to ``MAX_HEIGHT`` px tall) as a PNG.

    The viewport is made as tall as the page for the shot, so the theme's
    sticky header and sidebars are laid out once, as on a tall screen.
    """
    full = driver.execute_script(
        "return Math.max(document.documentElement.scrollHeight,"
        " document.body.scrollHeight);"
    )
    browser.set_viewport(driver, width, min(full, MAX_HEIGHT), phone)
    time.sleep(0.3)
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    path.write_bytes(base64.b64decode(shot["data"]))
    browser.set_viewport(driver, width, height, phone)


def main() -> int:
    """Take every screenshot; print one line per file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("site", nargs="?", default=ROOT / "_build" / "html",
                        type=Path)
    parser.add_argument("--out", default=ROOT / "_build" / "screenshots",
                        type=Path)
    args = parser.parse_args()
    if not (args.site / "index.html").is_file():
        parser.error(f"no built site in {args.site}: run `make site` first")
    if browser.find_browser() is None:
        parser.error(f"no Chromium: {browser.INSTALL_HINT}")
    args.out.mkdir(parents=True, exist_ok=True)
    # The root index.html only redirects to the home page: not shot.
    pages = [p for p in browser.site_pages(args.site) if p != "index.html"]
    start = time.monotonic()
    with browser.serve(args.site) as base, browser.chromium() as driver:
        for device, (width, height, phone) in browser.DEVICES.items():
            browser.set_viewport(driver, width, height, phone)
            for scheme in SCHEMES:
                browser.set_color_scheme(driver, scheme)
                for page in pages:
                    browser.open_page(driver, base + page)
                    name = page.removesuffix(".html").replace("/", "__")
                    path = args.out / f"{name}--{device}--{scheme}.png"
                    capture(driver, path, width, height, phone)
                    print(path.relative_to(args.out.parent), flush=True)
    shots = len(pages) * len(browser.DEVICES) * len(SCHEMES)
    print(f"{shots} screenshots in {time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
