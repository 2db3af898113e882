"""The problem-set edition's banner: which edition this is, and the other.

``book_tools.student`` (``make student``) sets ``book_edition: student``
(and where the full book lives, ``book_edition_other_url``) in the
student copy's ``_config.yml``; the full book leaves the default,
``full``, and gets no
banner. The banner is a ``role="note"`` block at the top of every page's
article, styled by ``_static/edition.css`` with the theme's own colours, so
both light and dark mode keep their contrast.
"""

from __future__ import annotations

import html
import posixpath

from sphinx.application import Sphinx

BANNER = (
    '<div class="edition-banner" role="note">'
    "<p><strong>Problem-set edition.</strong> The problems are posed here "
    "without their solutions; each chapter downloads as a starter notebook "
    "whose self-checks tell you whether your answer is right. "
    '<a href="{url}">Read the full book, with the solutions</a>.</p>'
    "</div>"
)

CSS = """\
.edition-banner {
  border-left: 4px solid var(--pst-color-primary);
  background: var(--pst-color-surface);
  color: var(--pst-color-text-base);
  padding: 0.5rem 1rem;
  margin-bottom: 1.5rem;
  border-radius: 0.25rem;
}
.edition-banner p { margin: 0; }
/* The theme's link colour is made for the page background; on the
   banner's surface colour the text colour keeps the contrast (WCAG AA). */
.edition-banner a {
  color: var(--pst-color-text-base);
  text-decoration: underline;
}
"""


def add_banner(app: Sphinx, pagename: str, templatename: str,
               context: dict, doctree) -> None:
    """Put the banner first in the body of every page of the student site."""
    if app.config.book_edition != "student" or "body" not in context:
        return
    other = app.config.book_edition_other_url.rstrip("/")
    # A relative address climbs out of this page's folder first.
    if "://" not in other:
        depth = pagename.count("/")
        other = posixpath.join(*([".."] * depth), other) if depth else other
    url = f"{other}/{pagename}.html"
    context["body"] = BANNER.format(url=html.escape(url)) + context["body"]


def write_css(app: Sphinx, exception) -> None:
    """Write the banner's stylesheet into the student site."""
    if exception is None and app.config.book_edition == "student" and (
        app.builder.format == "html"
    ):
        path = app.outdir / "_static" / "edition.css"
        path.write_text(CSS, encoding="utf8")


def builder_inited(app: Sphinx) -> None:
    if app.config.book_edition == "student":
        app.add_css_file("edition.css")


def setup(app: Sphinx) -> dict:
    app.add_config_value("book_edition", "full", "html")
    # From the student site's root to the full site's root: side by side
    # in _build/ (student/html next to html) unless set otherwise.
    app.add_config_value("book_edition_other_url", "../../html", "html")
    app.connect("builder-inited", builder_inited)
    app.connect("html-page-context", add_banner)
    app.connect("build-finished", write_css)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
