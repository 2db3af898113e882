"""Small fixes to the pages the default Jupyter Book theme writes.

- Every page gets a ``<meta name="description">`` for search engines and
  link previews: the page's own ``html_meta`` description if it has one,
  else its first paragraph, else the book's ``description`` from
  ``_config.yml``.
- The root ``index.html``, which sends the reader to the landing page, is
  a whole HTML document (doctype, language, title, favicon, a link), not
  sphinx-external-toc's single ``<meta>`` line; see ``root_page``.
- The content of each exercise and solution is a ``<div>`` with a class,
  not a ``<section>`` whose id every exercise repeats; see
  ``exercise_contents``.
- Accessible markup where the HTML writers get it wrong (citations, empty
  or formula-only table headers, myst-nb's code-cell toggles); see
  ``accessible_body`` and ``visit_hidden_cell``.
- Figures load lazily, when the reader scrolls near them.
- The head declares the viewport once (with Sphinx's layout), not three
  times (docutils' metatags and pydata-sphinx-theme again).
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


# A table header cell with nothing in it, and one holding only an inline
# formula (axe-core does not count MathML's text as the header's text).
EMPTY_HEADER = re.compile(r"<th([^>]*)>(?:\s|<p>\s*</p>)*</th>")
MATH_HEADER = re.compile(
    r'(<th[^>]*><p><span class="math notranslate nohighlight">)<math '
    r"(.*?</math>)(</span></p></th>)"
)
TAG = re.compile(r"<[^>]+>")


def spoken_header(match: re.Match) -> str:
    """A formula-only header cell: its MathML shown, its symbols as text.

    The MathML is hidden from assistive technology, which reads the same
    symbols (such as "γλ") from a visually hidden copy instead, so the
    header has text and is read once.
    """
    # group 2 is the <math> element after its name: attributes, then body.
    body = match.group(2).split(">", 1)[1]
    text = html.unescape(TAG.sub("", body))
    return (
        f'{match.group(1)}<math aria-hidden="true" {match.group(2)}'
        f'<span class="visually-hidden">{html.escape(text)}</span>'
        f"{match.group(3)}"
    )


def accessible_body(body: str) -> str:
    """The page's HTML with three markup problems fixed (axe-core rules).

    - docutils writes each citation as ``role="doc-biblioentry"`` inside a
      ``role="list"``: ARIA 1.3 deprecates that role and a list must hold
      list items (aria-deprecated-role, aria-required-children).
    - An empty header cell (a table's top-left corner) is a data cell
      (empty-table-header).
    - A header cell that is only a formula gets the formula's symbols as
      text (empty-table-header), see ``spoken_header``.
    """
    body = body.replace('role="doc-biblioentry"', 'role="listitem"')
    body = EMPTY_HEADER.sub(r"<td\1></td>", body)
    return MATH_HEADER.sub(spoken_header, body)


def lazy_images(body: str) -> str:
    """The page's figures load when the reader scrolls near them.

    A phone then fetches only the text and what the first screen shows
    (the largest chapter's figures weigh more than its text and code).
    """
    return body.replace("<img ", '<img loading="lazy" ')


def visit_hidden_cell(self, node) -> None:
    """myst-nb's "Show code cell source" toggle, named by what it shows.

    myst-nb labels the ``<summary>`` "Toggle hidden content", a name that
    does not contain its visible text (axe: label-content-name-mismatch);
    without the label its name is the visible "Show code cell source".
    No myst-nb option sets that label. And its two prompts are ``<span>``,
    not ``<p>``: a ``<summary>`` holds phrasing content only (the Nu Html
    Checker's error); custom.css gives the spans the paragraphs' rules.
    A copy of this visitor with those two changes
    (tests/test_theme_overrides.py checks it is unchanged):

    Upstream: myst-nb 1.4.0 myst_nb/sphinx_.py::visit_HideCellInput
    sha256:8ab1e5d01c59b68443b202a37ae4b7a8281727b1ee2613dcbc90e5317ef1c300
    """
    classes = " ".join(node["classes"])
    self.body.append(f'<details class="admonition hide {classes}">\n')
    self.body.append("<summary>\n")
    for state, prompt in (("collapsed", "prompt_show"),
                          ("expanded", "prompt_hide")):
        self.body.append(
            f'<span class="{state} admonition-title">'
            f"{html.escape(node[prompt])}</span>\n"
        )
    self.body.append("</summary>\n")


# The id sphinx-exercise gives the content of every exercise and every
# solution (sphinx_exercise/directive.py and transforms.py, 1.2.1).
CONTENT_IDS = ("exercise-content", "solution-content")


def exercise_contents(app: Sphinx, doctree: nodes.document,
                      docname: str) -> None:
    """Each exercise's and solution's content: a div with a class.

    sphinx-exercise wraps it in a section with a fixed id, so a page with
    two exercises repeats the id (an HTML error: whatever follows the id
    finds the first one), and the Nu Html Checker warns about each
    section without a heading. Nothing links to that id (the exercise's
    own id is its label); the class keeps it as a hook for styles. A
    section of the text always starts with its title: it is left alone.
    """
    for section in list(doctree.findall(nodes.section)):
        name = next((i for i in section["ids"] if i in CONTENT_IDS), None)
        if name is None or (
            section.children and isinstance(section[0], nodes.title)
        ):
            continue
        content = nodes.container(classes=[name])
        content.extend(section.children)
        # Not replace_self: it would copy the section's id to the div.
        section.parent.replace(section, content)


# docutils' HTML5 writer puts one in every page's metatags, beside the one
# Sphinx's layout writes (and pydata-sphinx-theme's, see layout.html).
VIEWPORT = re.compile(r'<meta name="viewport"[^>]*>\n?')


def polish_page(app, pagename, templatename, context, doctree) -> None:
    """Add the description, fix the markup, drop repeated scripts and the
    repeated viewport."""
    metatags = VIEWPORT.sub("", context.get("metatags", ""))
    context["metatags"] = metatags
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
        context["body"] = lazy_images(accessible_body(context["body"]))
    unique, seen = [], set()
    for script in context.get("script_files", []):
        # The same inline script comes back with filename None or ''.
        key = (script.filename or "", sorted(script.attributes.items()))
        if repr(key) not in seen:
            seen.add(repr(key))
            unique.append(script)
    context["script_files"] = unique


# The root page: what sphinx-external-toc writes there (a redirect to the
# landing page), as a valid document that also names the book and its icon.
ROOT_PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<title>{title}</title>
<meta http-equiv="refresh" content="0; url={url}">{icon}
</head>
<body>
<p><a href="{url}">{title}</a></p>
</body>
</html>
"""


def root_page(app: Sphinx, exception: Exception | None) -> None:
    """Write the root ``index.html`` that sends the reader to the book.

    sphinx-external-toc writes it when the landing page is elsewhere
    (``book/index``), as a lone ``<meta http-equiv="Refresh">`` line: no
    doctype, title or language (Nu Html Checker errors), and no favicon,
    so a browser asks for ``/favicon.ico`` (a 404) on its way. It writes
    nothing when the file exists, so this runs first (priority 400 < 500).
    """
    if exception or app.builder.name != "html":
        return
    root = app.config.root_doc
    if root == "index":  # the landing page is the root page itself
        return
    icon = app.config.html_favicon
    if icon:
        icon = f'\n<link rel="icon" href="_static/{Path(icon).name}">'
    page = ROOT_PAGE.format(
        lang=html.escape(app.config.language or "en"),
        title=html.escape(app.config.html_title or app.config.project),
        url=html.escape(app.builder.get_target_uri(root)),
        icon=icon or "",
    )
    (Path(app.outdir) / "index.html").write_text(page, encoding="utf8")


def setup(app: Sphinx) -> dict:
    """Register the hooks; they are safe for parallel builds."""
    from myst_nb.sphinx_ import HideCodeCellNode, depart_HideCellInput

    app.add_node(
        HideCodeCellNode, override=True,
        html=(visit_hidden_cell, depart_HideCellInput),
    )
    app.connect("html-page-context", polish_page, priority=900)
    app.connect("doctree-resolved", exercise_contents)
    # Before sphinx-external-toc would write its redirect (priority 500).
    app.connect("build-finished", root_page, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
