"""What the build tests add to ``book_tools.project``: a probe page header.

Copying and building the project is site tooling (``book_tools.project``);
the tests only need the front matter that makes a probe page a notebook.
"""

from __future__ import annotations

NOTEBOOK_HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""
