"""Sphinx reads again the pages whose outputs changed under the same text.

``python -m book_tools.build`` executes a chapter again when a module or a
data file it depends on changes. Its source did not change, so Sphinx would
keep the page it wrote with the old outputs. The build lists such chapters
(``stale_pages`` in the state it keeps beside the execution cache,
``dependencies.json``), and this extension hands them to Sphinx as
outdated (the ``env-get-outdated`` event): exactly those pages are read
and written again, not every page. ``_config.yml`` loads it, so a plain
``jupyter-book build`` after an interrupted ``make site`` reads them too.
"""

from __future__ import annotations

import json
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

from book_tools.build.head_start import STATE_FILE


def stale_pages(app: Sphinx, env: BuildEnvironment, added: set[str],
                changed: set[str], removed: set[str]) -> list[str]:
    """The documents whose chapter ran again since its page was written."""
    cache = (getattr(app.config, "nb_execution_cache_path", "")
             or Path(app.outdir).parent / ".jupyter_cache")
    try:
        state = json.loads((Path(cache) / STATE_FILE).read_text())
    except (OSError, ValueError):
        return []
    pages = []
    for name in state.get("stale_pages", []):
        docname = env.path2doc(str(Path(app.srcdir) / name))
        if docname in env.found_docs and docname not in added | changed:
            pages.append(docname)
    return pages


def setup(app: Sphinx) -> dict:
    """Register the event handler."""
    app.connect("env-get-outdated", stale_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
