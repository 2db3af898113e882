"""Small fixes to the pages the default Jupyter Book theme writes.

- Every page gets a ``<meta name="description">`` for search engines and
  link previews: the page's own ``html_meta`` description if it has one,
  else its first paragraph, else the book's ``description`` from
  ``_config.yml``.
- The root redirect page links the favicon too.
- Citations are list items of the citation list, for screen readers.
- An inline script that is registered twice is written once: sphinx-thebe
  adds its ``const THEBE_JS_URL = ...`` line once per reading pass, and a
  second ``const`` declaration is a SyntaxError in every page's console.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import yaml
from docutils import nodes
from sphinx.application import Sphinx

# Search engines show about this many characters of a description.
DESCRIPTION_LENGTH = 160


def shorten(text: str, limit: int = DESCRIPTION_LENGTH) -> str:
    """``text`` on one line, cut at a word boundary to at most ``limit``."""
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


def first_paragraph(doctree: nodes.document) -> str:
    """The text of the page's first paragraph of prose, or ''."""
    skip = (
        nodes.admonition, nodes.caption, nodes.legend, nodes.footnote,
        nodes.citation,
    )
    for paragraph in doctree.findall(nodes.paragraph):
        if any(isinstance(parent, skip) for parent in ancestors(paragraph)):
            continue
        text = paragraph.astext().strip()
        if len(text.split()) >= 5:
            return text
    return ""


def ancestors(node: nodes.Node):
    """The chain of parents of ``node``."""
    while node.parent is not None:
        node = node.parent
        yield node


def book_description(app: Sphinx) -> str:
    """The ``description`` of the book's ``_config.yml``, or ''."""
    config = Path(app.srcdir) / "_config.yml"
    if not config.is_file():
        return ""
    return str(yaml.safe_load(config.read_text()).get("description", ""))


def polish_page(app, pagename, templatename, context, doctree) -> None:
    """Add the description, fix citation roles, drop repeated scripts."""
    metatags = context.get("metatags", "")
    if 'name="description"' not in metatags:
        text = first_paragraph(doctree) if doctree is not None else ""
        title = context.get("title")
        if not text and title and title != context.get("docstitle"):
            text = f"{title}: {book_description(app)}"
        text = shorten(text or book_description(app))
        if text:
            tag = f'<meta name="description" content="{html.escape(text)}" />'
            context["metatags"] = f"{metatags}\n{tag}"
    if "body" in context:
        # docutils writes each citation as role="doc-biblioentry" inside a
        # role="list": ARIA 1.3 deprecates that role, and a list must hold
        # list items (axe: aria-deprecated-role, aria-required-children).
        context["body"] = context["body"].replace(
            'role="doc-biblioentry"', 'role="listitem"'
        )
    unique, seen = [], set()
    for script in context.get("script_files", []):
        # The same inline script comes back with filename None or ''.
        key = (script.filename or "", sorted(script.attributes.items()))
        if repr(key) not in seen:
            seen.add(repr(key))
            unique.append(script)
    context["script_files"] = unique


def icon_on_redirect(app: Sphinx, exception: Exception | None) -> None:
    """Give the root ``index.html`` redirect the book's favicon link.

    Without one, a browser asks for ``/favicon.ico`` (a 404) while it
    follows the redirect that sphinx-external-toc writes there.
    """
    if exception or app.builder.format != "html":
        return
    if not app.config.html_favicon:
        return
    page = Path(app.outdir) / "index.html"
    text = page.read_text() if page.is_file() else ""
    if 'http-equiv="Refresh"' in text and 'rel="icon"' not in text:
        name = Path(app.config.html_favicon).name
        page.write_text(f'<link rel="icon" href="_static/{name}" />\n{text}')


def setup(app: Sphinx) -> dict:
    """Register the hooks; they are safe for parallel builds."""
    app.connect("html-page-context", polish_page, priority=900)
    # After sphinx-external-toc has written the redirect (priority 500).
    app.connect("build-finished", icon_on_redirect, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
