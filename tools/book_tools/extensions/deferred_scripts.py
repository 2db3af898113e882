"""Script files in a page's head load with ``defer``: text first, then code.

A plain ``<script src>`` in the head stops the browser from drawing the
page until the script has downloaded and run; on a phone on a slow
connection the theme's dozen small scripts (Sphinx's doctools, the copy,
toggle and tab buttons, the theme's own) held back the first paint by
seconds. With ``defer`` they download in parallel and run in their order,
after the page is parsed and before ``DOMContentLoaded``: every one of them
waits for that moment anyway before touching the page.

Two scripts keep their place:

- ``documentation_options.js``, because inline scripts right after it set
  ``DOCUMENTATION_OPTIONS.pagename`` as the head is parsed;
- every script of the search page, whose template loads
  ``searchtools.js`` with a plain tag: it calls ``_ready`` from
  ``doctools.js``, which must therefore run before it.

Scripts that already load ``async`` or ``defer``, and inline scripts, are
left as they are.
"""

from __future__ import annotations

from sphinx.application import Sphinx
from sphinx.builders.html._assets import _JavaScript

# Run as the head is parsed: inline scripts that follow use it.
KEEP_IN_ORDER = ("_static/documentation_options.js",)
# Pages whose own templates load scripts that need ours first.
PAGES_AS_WRITTEN = ("search",)


def deferred(script: _JavaScript) -> _JavaScript:
    """``script`` with ``defer``, if it is a file that blocks parsing."""
    attributes = dict(script.attributes)
    if (
        not script.filename
        or script.filename in KEEP_IN_ORDER
        or "async" in attributes
        or "defer" in attributes
    ):
        return script
    attributes["defer"] = "defer"
    return _JavaScript(script.filename, priority=script.priority, **attributes)


def defer_head_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree
) -> None:
    """Give the page's script files ``defer`` (see the module's docstring)."""
    if pagename in PAGES_AS_WRITTEN or "script_files" not in context:
        return
    context["script_files"] = [
        deferred(script) for script in context["script_files"]
    ]


def setup(app: Sphinx) -> dict:
    """Run after the other extensions have added their scripts."""
    app.connect("html-page-context", defer_head_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
