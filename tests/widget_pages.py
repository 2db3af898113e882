"""Chromium on one page of the session's build, for the explorers' tests.

``tests/test_explorer.py`` (momentum) and ``tests/test_backprop_explorer.py``
open their page the same way: the session's whole-book build
(``built_book``), served on 127.0.0.1, in one headless Chromium per test
module.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from book_tools import browser


def fail_or_skip(reason: str) -> None:
    """Skip on a contributor's machine; fail under CI, which must run."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


@contextmanager
def widget_page(project: Path, page: str) -> Iterator[tuple]:
    """Yield (driver, url) with ``page`` of the built ``project`` open."""
    if browser.find_browser() is None:
        fail_or_skip(f"no Chromium and chromedriver: {browser.INSTALL_HINT}")
    if not browser.AXE_JS.is_file():
        fail_or_skip("no axe-core in node_modules: run `make test` (npm ci)")
    with (browser.serve(project / "_build" / "html") as base,
          browser.chromium() as driver):
        browser.open_page(driver, base + page)
        yield driver, base + page
