"""Each edition's banner: which edition this is, and a link to the other.

``book_tools.student`` (``make student``) sets ``book_edition: student``
in the student copy's ``_config.yml``; the full book leaves the default,
``full``. Every page of either edition opens with a ``role="note"`` banner
that names its edition and links the same page of the other one, styled
in ``_static/custom.css`` with the theme's own colours, so both light and
dark mode keep their contrast.

Where the other edition lives, from this site's root:
``book_edition_other_url`` in the Sphinx config, else the environment
variable ``BOOK_EDITION_OTHER_URL`` (the publishing workflow sets it: the
problem set is published in ``problem-set/`` of the full site), else the
two sites side by side in ``_build/`` (``html`` and ``student/html``).
The variable is read once, into the config value, when the config is
read: Sphinx then writes every page again when it changes, and ``make
site`` counts it among the inputs of the site.
"""

from __future__ import annotations

import html
import os
import posixpath

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

BANNERS = {
    "student": (
        '<div class="edition-banner" role="note">'
        "<p><strong>Problem-set edition.</strong> The problems are posed "
        "here without their solutions; each chapter downloads as a starter "
        "notebook whose self-checks tell you whether your answer is right. "
        '<a href="{url}">Read the full book, with the solutions</a>.</p>'
        "</div>"
    ),
    "full": (
        '<div class="edition-banner" role="note">'
        "<p><strong>Full edition,</strong> with the solutions. "
        '<a href="{url}">The problem-set edition</a> poses the same '
        "problems without them, with starter notebooks that check your "
        "answers.</p>"
        "</div>"
    ),
}
OTHER_URL_ENV = "BOOK_EDITION_OTHER_URL"
# The other edition's root from this one's, both built into _build/.
SIDE_BY_SIDE = {"student": "../../html", "full": "../student/html"}


def other_edition_url(edition: str, configured: str) -> str:
    """The other edition's root, relative to this site's root or absolute."""
    return configured or SIDE_BY_SIDE[edition]


def banner(edition: str, other: str, pagename: str) -> str:
    """The banner of ``pagename``, linking that page in the other edition."""
    other = other.rstrip("/")
    # A relative address climbs out of this page's folder first.
    if "://" not in other:
        depth = pagename.count("/")
        other = posixpath.join(*([".."] * depth), other) if depth else other
    return BANNERS[edition].format(url=html.escape(f"{other}/{pagename}.html"))


def check_edition(app: Sphinx, config) -> None:
    """Refuse an edition this extension has no banner for (a typo would
    otherwise build a site that says nothing of its edition); take the
    other edition's address from the environment if the config has none.
    """
    if config.book_edition not in BANNERS:
        raise ExtensionError(
            f"book_edition must be one of {', '.join(sorted(BANNERS))}, "
            f"got {config.book_edition!r}")
    if not config.book_edition_other_url:
        config.book_edition_other_url = os.environ.get(OTHER_URL_ENV, "")


def add_banner(app: Sphinx, pagename: str, templatename: str,
               context: dict, doctree) -> None:
    """Put the edition's banner first in the body of every page."""
    edition = app.config.book_edition
    if "body" not in context:
        return
    other = other_edition_url(edition, app.config.book_edition_other_url)
    context["body"] = banner(edition, other, pagename) + context["body"]


def setup(app: Sphinx) -> dict:
    app.add_config_value("book_edition", "full", "html")
    # Empty: from the environment (check_edition), else side by side.
    app.add_config_value("book_edition_other_url", "", "html")
    app.connect("config-inited", check_edition)
    app.connect("html-page-context", add_banner)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
