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


def assert_shown(driver, scheme: str, root_id: str, fallback: str):
    """The page is in ``scheme``, the explorer ``root_id`` shows and its
    no-JavaScript ``fallback`` (a CSS selector) does not; the root."""
    assert driver.execute_script(
        "return document.documentElement.dataset.theme") == scheme
    root = driver.find_element("id", root_id)
    assert root.is_displayed()
    assert not driver.find_element("css selector", fallback).is_displayed()
    return root


def assert_no_error_and_no_violation(driver) -> None:
    """No console error since the last read, no axe-core violation."""
    assert browser.console_errors(driver) == []
    driver.set_script_timeout(180)  # axe-core is slow on a busy machine
    assert browser.run_axe(driver) == []
