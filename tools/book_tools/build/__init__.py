"""The build of ``make site`` and its cache: ``python -m book_tools.build``.

``__main__`` stops at once when no input of the site changed (standard
library only); ``steps`` does the work otherwise: it re-executes only what
changed, in parallel, runs jupyter-book, and prunes the site.
"""
