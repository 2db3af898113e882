"""Math typeset when the site is built: TeX to MathML, no script in the page.

Sphinx's default renderer leaves each formula as TeX for MathJax to typeset
in the reader's browser: a 270 KB script, seconds of a phone's main thread,
and a build that needs MathJax's files (npm) to show math offline. This
renderer converts every formula (``$…$``, ``$$…$$``, the amsmath
environments inside them, myst-nb's ``text/latex`` outputs) to MathML with
the pure-Python package ``latex2mathml`` (pinned in requirements.txt) while
Sphinx writes the page. Browsers draw MathML Core natively (Chromium 109+,
Firefox, Safari) and screen readers read it as math; the TeX source rides
along in ``alttext`` for tools that prefer it. ``mathml_core`` mends the
markup where MathML Core would draw it unlike TeX (fences, primes,
accents), and ``math_font`` serves the font that draws it.

A formula that ``latex2mathml`` cannot convert stops the build with a
warning naming the page (``-W`` makes it fatal) instead of showing raw TeX.
"""

from __future__ import annotations

import html
import re

from docutils import nodes
from latex2mathml.converter import convert
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.locale import _
from sphinx.util import logging
from sphinx.util.math import get_node_equation_number

from book_tools.extensions.mathml_core import for_mathml_core

logger = logging.getLogger(__name__)

# latex2mathml 3.81 writes amsmath's ``aligned`` as one row with literal
# "&"s; ``align*`` means the same inside a formula (right/left column
# pairs, no space inside a pair) and becomes a table.
ALIGNED = re.compile(r"\\(begin|end)\{aligned\}")


def to_mathml(tex: str, display: bool, where: nodes.Node) -> str:
    """``tex`` as a ``<math>`` element (block if ``display``)."""
    source = tex.strip()
    converted = ALIGNED.sub(r"\\\1{align*}", source)
    try:
        mathml = convert(converted, display="block" if display else "inline")
    except Exception as error:  # latex2mathml raises many kinds
        logger.warning(
            "cannot convert TeX to MathML (%s): %s", error, tex,
            location=where, type="math", subtype="mathml",
        )
        return f"<code>{html.escape(tex)}</code>"
    # Markup MathML Core draws as TeX would (fences, primes, accents).
    mathml = for_mathml_core(mathml)
    # The TeX source, for assistive tools that read it.
    alttext = html.escape(re.sub(r"\s+", " ", source), quote=True)
    return mathml.replace("<math ", f'<math alttext="{alttext}" ', 1)


def visit_math(self, node: nodes.math) -> None:
    """An inline formula: ``<span class="math">`` holding MathML."""
    self.body.append(
        self.starttag(node, "span", "", CLASS="math notranslate nohighlight")
    )
    self.body.append(to_mathml(node.astext(), display=False, where=node))
    self.body.append("</span>")
    raise nodes.SkipNode


def visit_math_block(self, node: nodes.math_block) -> None:
    """A displayed formula, with its number and permalink if it has one."""
    # Sphinx's own markup for numbered equations (sphinx.ext.mathjax).
    self.body.append(
        self.starttag(
            node, "div", CLASS="math notranslate nohighlight",
            # A wide formula scrolls on a phone; a keyboard can scroll it.
            tabindex="0",
        )
    )
    if node["number"]:
        number = get_node_equation_number(self, node)
        self.body.append(f'<span class="eqno">({number})')
        self.add_permalink_ref(node, _("Link to this equation"))
        self.body.append("</span>")
    self.body.append(to_mathml(node.astext(), display=True, where=node))
    self.body.append("</div>\n")
    raise nodes.SkipNode


def use_mathml(app: Sphinx, config) -> None:
    """Make MathML the HTML math renderer (Sphinx would pick MathJax)."""
    if config.html_math_renderer not in (None, "mathml"):
        raise ExtensionError(
            "build_time_math renders math as MathML, but html_math_renderer "
            f"is {config.html_math_renderer!r}: remove that setting."
        )
    config.html_math_renderer = "mathml"


def setup(app: Sphinx) -> dict:
    """Register the MathML renderer and make it the one HTML uses."""
    app.add_html_math_renderer(
        "mathml",
        (visit_math, None),
        (visit_math_block, None),
    )
    app.connect("config-inited", use_mathml)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
