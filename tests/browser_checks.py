"""The browser tests' preflight, in one place.

Tests that drive Debian's Chromium (pages, the explorer, the student
site, the PDFs) first ask whether it is there, and those that run
axe-core whether ``npm ci`` installed it. Without them a test skips on a
contributor's machine and fails under CI (``CI=true``), which must run
every test.
"""

from __future__ import annotations

import os

import pytest

from book_tools import browser


def fail_or_skip(reason: str) -> None:
    """Skip on a contributor's machine; fail under CI, which must run."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


def require_chromium(axe: bool = True) -> None:
    """Skip (fail under CI) without Chromium, or without axe-core."""
    if browser.find_browser() is None:
        fail_or_skip(f"no Chromium and chromedriver: {browser.INSTALL_HINT}")
    if axe and not browser.AXE_JS.is_file():
        fail_or_skip("no axe-core in node_modules: run `make test` (npm ci)")
