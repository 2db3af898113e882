"""Launch buttons that open the published notebook of the page's edition.

sphinx-book-theme builds its Binder and Colab links from the page's source
path on the source branch: ``book/<chapter>.md`` on ``main``. Colab cannot
open a MyST ``.md`` file, and in the problem-set edition that file is the
full chapter, solutions included. The build publishes both editions'
notebooks to a branch of their own (``book_tools.publish``,
``book_notebooks_branch`` in ``_config.yml``); this extension runs after
the theme's own ``html-page-context`` handler and points each launch link
at ``book/<chapter>.ipynb`` (the full book) or
``problem-set/<chapter>.ipynb`` (the problem-set edition) on that branch.
"""

from __future__ import annotations

from sphinx.application import Sphinx

from book_tools import publish

# After sphinx-book-theme's add_launch_buttons (priority 501).
PRIORITY = 600
LINKS = {"Binder": "binderhub_url", "Colab": "colab_url"}


def retarget(app: Sphinx, pagename: str, templatename: str,
             context: dict, doctree) -> None:
    """Rewrite the Binder and Colab links of the page's launch group."""
    groups = [button for button in context.get("header_buttons", [])
              if button.get("label") == "launch-buttons"]
    if not groups:
        return
    options = app.config.html_theme_options
    launch = options.get("launch_buttons", {})
    repository = options.get("repository_url", "")
    edition = getattr(app.config, "book_edition", "full")
    branch = app.config.book_notebooks_branch
    path = publish.published_path(edition, pagename)
    for group in groups:
        for button in group["buttons"]:
            if button.get("text") == "Binder":
                button["url"] = publish.binder_url(
                    launch["binderhub_url"], repository, branch, path)
            elif button.get("text") == "Colab":
                button["url"] = publish.colab_url(
                    launch["colab_url"], repository, branch, path)


def setup(app: Sphinx) -> dict:
    app.add_config_value("book_notebooks_branch", publish.DEFAULT_BRANCH,
                         "html")
    app.connect("html-page-context", retarget, priority=PRIORITY)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
