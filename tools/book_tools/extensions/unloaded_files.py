"""The themes' files that no page loads are never copied into the site.

Sphinx copies each theme's ``static`` folder into ``_static`` at every
build that writes a page. Some of those files no reader's browser ever
asks for: source maps (only a browser's developer tools open them),
sphinx-book-theme's message catalogues (``locales``: 93 folders, read by
Sphinx from the installed theme, never from the site), the themes' Jinja
macros (``*webpack-macros.html``) and FontAwesome's TrueType fonts (the
CSS offers WOFF2 first, which every current browser takes). Left out of
the copy, they cost neither the build (Sphinx compared or copied them at
every build, and ``make site`` deleted them again: removing the
catalogues' folders alone took a third of a second) nor the reader, and
a plain ``jupyter-book build .`` leaves them out as well.
"""

from __future__ import annotations

import fnmatch
import functools
import os
from typing import Any

from sphinx.application import Sphinx
from sphinx.builders.html import StandaloneHTMLBuilder
from sphinx.locale import __
from sphinx.util import logging
from sphinx.util.fileutil import copy_asset
from sphinx.util.matching import DOTFILES

# Paths inside a theme's static folder (fnmatch: "*" matches "/" too).
NEVER_LOADED = (
    "*.map",
    "locales",
    "locales/*",
    "*webpack-macros.html",
    "vendor/fontawesome/webfonts/*.ttf",
)

logger = logging.getLogger(__name__)


def never_loaded(path: str) -> bool:
    """Whether no page loads ``path`` (relative to a static folder)."""
    return any(fnmatch.fnmatchcase(path, pattern)
               for pattern in NEVER_LOADED)


def copy_theme_static_files(builder: StandaloneHTMLBuilder,
                            context: dict[str, Any]) -> None:
    """Sphinx 7.4's ``copy_theme_static_files``, skipping ``NEVER_LOADED``.

    The same copy, in the same order (a theme's files override those of
    the theme it extends), with the same rendering of templates; only
    the ``excluded`` test is wider.
    """
    def onerror(filename: str, error: Exception) -> None:
        logger.warning(__("Failed to copy a file in the theme's 'static' "
                          "directory: %s: %r"), filename, error)

    def excluded(path: str) -> bool:
        return DOTFILES(path) or never_loaded(path)

    if builder.theme:
        for entry in reversed(builder.theme.get_theme_dirs()):
            copy_asset(os.path.join(entry, "static"),
                       os.path.join(builder.outdir, "_static"),
                       excluded=excluded, context=context,
                       renderer=builder.templates, onerror=onerror)


def replace_copy(app: Sphinx) -> None:
    """Give an HTML builder the narrower copy of the themes' files."""
    if isinstance(app.builder, StandaloneHTMLBuilder):
        app.builder.copy_theme_static_files = functools.partial(
            copy_theme_static_files, app.builder)


def setup(app: Sphinx) -> dict[str, Any]:
    """Register with Sphinx."""
    app.connect("builder-inited", replace_copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
