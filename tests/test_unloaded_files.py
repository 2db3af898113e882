"""The themes' files no page loads stay out of the site.

``book_tools.extensions.unloaded_files`` keeps Sphinx from copying them;
``book_tools.build.site.prune`` removes them from a site built before
(tests/test_cache.py checks both on real builds).
"""

from __future__ import annotations

import pytest

from book_tools.build.site import prune
from book_tools.extensions.unloaded_files import never_loaded

NEVER = ["scripts/bootstrap.js.map", "locales", "locales/de",
         "locales/de/LC_MESSAGES/booktheme.mo", "webpack-macros.html",
         "sbt-webpack-macros.html", "vendor/fontawesome/webfonts/fa.ttf"]
LOADED = ["scripts/bootstrap.js", "styles/theme.css", "images/logo.svg",
          "vendor/fontawesome/webfonts/fa.woff2", "custom.css",
          "fonts/locales.woff2", "mapping.js"]


@pytest.mark.parametrize("path", NEVER)
def test_what_no_page_loads(path):
    assert never_loaded(path)


@pytest.mark.parametrize("path", LOADED)
def test_what_pages_load(path):
    assert not never_loaded(path)


def test_prune_removes_them_and_their_empty_folders(tmp_path):
    static = tmp_path / "_static"
    for name in NEVER[3:] + LOADED + ["empty-on-purpose.js.map"]:
        if name == "locales":
            continue
        (static / name).parent.mkdir(parents=True, exist_ok=True)
        (static / name).write_text("12345")
    (tmp_path / "page.js.map").write_text("outside _static: left")
    assert prune(tmp_path) == 5 * 5
    left = sorted(p.relative_to(static).as_posix()
                  for p in static.rglob("*") if p.is_file())
    assert left == sorted(LOADED)
    assert not (static / "locales").exists()
    assert (static / "vendor" / "fontawesome" / "webfonts").is_dir()
    assert (tmp_path / "page.js.map").is_file()
    assert prune(tmp_path) == 0
