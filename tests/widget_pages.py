"""Chromium on one page of the session's build, for the explorers' tests.

``tests/test_explorer.py`` (momentum) and ``tests/test_backprop_explorer.py``
open their page the same way: the session's whole-book build
(``built_book``), served on 127.0.0.1, in one headless Chromium per test
module. An explorer that loads lazily (``data-widget-scripts``, see
book/reverse-mode-engine.md) is scrolled to and waited for.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from book_tools import browser
from tests.browser_checks import require_chromium


def open_lazy_widget(driver, url: str, ready: str,
                     timeout: float = 30) -> None:
    """Open ``url``, scroll to its lazy explorer, wait until ``ready``.

    Args:
        ready: a JavaScript expression, true once the explorer is drawn.
    """
    browser.open_page(driver, url)
    driver.execute_script(
        "document.querySelector('[data-widget-scripts]')"
        ".scrollIntoView({block: 'center'})")
    end = time.monotonic() + timeout
    while not driver.execute_script(f"return Boolean({ready})"):
        if time.monotonic() > end:
            raise TimeoutError(f"the explorer of {url} never got ready")
        time.sleep(0.05)


@contextmanager
def widget_page(project: Path, page: str,
                ready: str | None = None) -> Iterator[tuple]:
    """Yield (driver, url) with ``page`` of the built ``project`` open.

    Args:
        ready: for a lazy explorer, the expression ``open_lazy_widget``
            waits for.
    """
    require_chromium()
    with (browser.serve(project / "_build" / "html") as base,
          browser.chromium() as driver):
        if ready is None:
            browser.open_page(driver, base + page)
        else:
            open_lazy_widget(driver, base + page, ready)
        yield driver, base + page
