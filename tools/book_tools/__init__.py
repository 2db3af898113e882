"""The site tooling of the book: how the site is made, checked, measured.

- ``project``: the repository (its toc pages and notebooks, its copies,
  the strict build); ``browser``: a local server and headless Chromium.
- ``build``: ``make site`` and its cache (``python -m book_tools.build``).
- ``preview``: ``make preview``; ``student``: ``make student``, the
  problem-set edition; ``pdf``: ``make pdf``.
- ``extensions``: the Sphinx extensions ``_config.yml`` names.
- ``audits``: screenshots, Lighthouse, Binder, chapter mutants, mutation
  testing; ``benchmarks``: the build and Lighthouse benchmarks.

The tests and the Makefile import or run these by module; nothing here
imports from ``tests/``.
"""
