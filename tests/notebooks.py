"""Run a chapter as a notebook and read back the values it glues.

The tests check every number the book reports by executing the chapter
exactly as the build does (a fresh kernel, working directory ``book/``) and
comparing each glued value with an independent oracle.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import jupytext
import nbclient

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"


@functools.cache
def executed_chapter(name: str):
    """Execute ``book/<name>.md`` once per session; return the notebook."""
    notebook = jupytext.read(BOOK / f"{name}.md")
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(BOOK)}},
    )
    client.execute()
    return notebook


class GluedValues(dict):
    """A chapter's glued values that remember which ones a test has read.

    Each chapter's test module ends with a test asserting that ``unread()``
    is empty, so a value the chapter glues but no test checks fails the
    suite instead of reaching the page unchecked.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.read: set[str] = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def unread(self) -> set[str]:
        """The glue names no test has looked up yet."""
        return set(self) - self.read


def glued_values(name: str) -> GluedValues:
    """Every value the chapter glues, keyed by glue name.

    Numbers, tuples and lists come back as Python objects (parsed from their
    repr); anything else (a figure, an object) as its text repr. A fresh
    ``GluedValues`` per call, so each test module tracks its own reads.
    """
    values = GluedValues()
    for cell in executed_chapter(name).cells:
        for output in cell.get("outputs", []):
            scrapbook = output.get("metadata", {}).get("scrapbook")
            if not scrapbook:
                continue
            # glue(..., display=False) prefixes the mime type; display=True
            # does not.
            mime = scrapbook["mime_prefix"] + "text/plain"
            text = output["data"][mime]
            try:
                values[scrapbook["name"]] = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                values[scrapbook["name"]] = text
    return values
