"""Small fixes to the pages the default Jupyter Book theme writes.

- Every page gets a ``<meta name="description">`` for search engines and
  link previews: the page's own ``html_meta`` description if it has one,
  else its first paragraph, else the book's ``description`` from
  ``_config.yml``.
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
    """Add the description and drop repeated scripts."""
    metatags = context.get("metatags", "")
    if 'name="description"' not in metatags:
        text = first_paragraph(doctree) if doctree is not None else ""
        title = context.get("title")
        if not text and title and title != context.get("docstitle"):
            text = f"{title}: {book_description(app)}"
        text = shorten(text or book_description(app))
        if text:
            context["metatags"] = (
                metatags
                + f'\n<meta name="description" content="{html.escape(text)}" />'
            )
    unique, seen = [], set()
    for script in context.get("script_files", []):
        # The same inline script comes back with filename None or ''.
        key = (script.filename or "", sorted(script.attributes.items()))
        if repr(key) not in seen:
            seen.add(repr(key))
            unique.append(script)
    context["script_files"] = unique


def setup(app: Sphinx) -> dict:
    """Register the page hook; the fix is safe for parallel builds."""
    app.connect("html-page-context", polish_page, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
