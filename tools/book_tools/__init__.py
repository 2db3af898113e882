"""Site tooling of the book: its project, its strict build, a browser.

``book_tools.project`` knows the repository (where it is, how to copy it,
which pages ``_toc.yml`` lists and which of them are notebooks, the strict
build of ``make site``); ``book_tools.browser`` serves a built site on
127.0.0.1 and drives Debian's Chromium. The tests, ``scripts/`` and
``benchmarks/`` import both; nothing here imports from ``tests/``.
"""
