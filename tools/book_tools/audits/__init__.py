"""Checks beyond the tests, run by hand after ``make site``.

``screenshots`` and ``lighthouse`` (every page in headless Chromium),
``binder`` (what Binder does: a fresh environment, every chapter run),
``chapter_mutants`` (do the chapter tests catch a wrong glued number?) and
``mutation`` (``make mutation``: the package's mutation score).
"""
