"""Measurements for ``benchmarks/README.md``, not tests.

``build``: the README's build against a plain ``jupyter-book build .``;
``lighthouse``: Lighthouse on two builds of the site, side by side.
"""
