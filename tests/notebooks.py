"""Each chapter, executed once per test run, and the values it glues.

The tests check every number the book reports by reading the chapter as
the build executed it (a fresh kernel, working directory ``book/``) and
comparing each glued value with an independent oracle. Where the executed
notebook comes from:

- When the run includes the strict build of the whole book (the
  ``built_book`` fixture of ``tests/conftest.py``: ``make test``, or any
  selection with a build or browser test), ``conftest.py`` calls
  ``read_from_build`` and every chapter is read from that build's
  jupyter-cache: the build executed it, nobody executes it again.
- Otherwise (one chapter's test file run alone, say), the chapter alone is
  executed here, once per session.

``AUTODIFF_BOOK_PROJECT`` (a folder) makes ``ROOT`` and ``BOOK`` point at
another copy of the project: ``book_tools.audits.chapter_mutants`` runs a
chapter's tests against a mutated copy that way.
"""

from __future__ import annotations

import ast
import functools
import os
from collections.abc import Callable
from pathlib import Path

import jupytext
import nbclient
import nbformat
from jupyter_cache import get_cache

ROOT = Path(
    os.environ.get("AUTODIFF_BOOK_PROJECT")
    or Path(__file__).resolve().parents[1]
).resolve()
BOOK = ROOT / "book"

# Returns the root of a built copy of the project, building it on first use.
_built_project: Callable[[], Path] | None = None


def read_from_build(built_project: Callable[[], Path]) -> None:
    """Read every chapter from the build that ``built_project()`` returns.

    Called by ``conftest.py`` before the first test when the session builds
    the book anyway; ``built_project`` builds it lazily (once).
    """
    global _built_project
    _built_project = built_project
    executed_chapter.cache_clear()


def chapter_from_cache(project: Path, name: str) -> nbformat.NotebookNode:
    """``book/<name>.md`` as the build of ``project`` executed it.

    ``python -m book_tools.build`` (or myst-nb) keeps each executed notebook,
    outputs and glue data included, in the copy's jupyter-cache; the
    notebook written to ``_build/jupyter_execute`` has its glue outputs
    taken out, so the cache is the place to read.
    """
    cache = get_cache(project / "_build" / ".jupyter_cache")
    # The build names the chapter by its absolute path as it saw it:
    # compare resolved paths, in case a symbolic link is on the way.
    source = (project / "book" / f"{name}.md").resolve()
    uris = [record.uri for record in cache.list_project_records()
            if Path(record.uri).resolve() == source]
    record = cache.get_cached_project_nb(uris[0]) if uris else None
    if record is None:
        raise LookupError(
            f"the build of {project} has no executed copy of {name}.md "
            "(did the chapter fail? see the build test's report)"
        )
    return cache.get_cache_bundle(record.pk).nb


def execute(name: str) -> nbformat.NotebookNode:
    """Execute ``book/<name>.md`` in a fresh kernel, as the build does."""
    notebook = jupytext.read(BOOK / f"{name}.md")
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(BOOK)}},
    )
    client.execute()
    return notebook


@functools.cache
def executed_chapter(name: str) -> nbformat.NotebookNode:
    """``book/<name>.md`` executed, with its outputs; once per session."""
    if _built_project is not None:
        return chapter_from_cache(_built_project(), name)
    return execute(name)


class GluedValues(dict):
    """A chapter's glued values that remember which ones a test has read.

    Each chapter's test module ends with a test asserting that ``unread()``
    is empty, so a value the chapter glues but no test checks fails the
    suite instead of reaching the page unchecked.
    """

    def __init__(self, chapter: str = "") -> None:
        super().__init__()
        self.chapter = chapter  # whose values these are
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
    values = GluedValues(name)
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


def glued_markdown(glued: GluedValues, name: str) -> str:
    """The text of a value the chapter glues as Markdown."""
    # Its plain-text form only names the type; the Markdown is the text.
    assert "Markdown" in glued[name]
    (text,) = [
        output["data"]["application/papermill.record/text/markdown"]
        for cell in executed_chapter(glued.chapter).cells
        for output in cell.get("outputs", [])
        if output.get("metadata", {}).get("scrapbook", {}).get("name")
        == name
    ]
    return text


def page_checks(name: str, markers: tuple[str, ...]) -> list[tuple[str, str]]:
    """(source, printed text) of each code cell of chapter ``name`` that
    compares tensors: its source holds one of ``markers`` (such as
    ``"allclose"``). The chapter prints each comparison's verdict."""
    checks = []
    for cell in executed_chapter(name).cells:
        source = cell.get("source", "")
        if cell.cell_type != "code" or not any(m in source for m in markers):
            continue
        checks.append((source, "".join(
            output.get("data", {}).get("text/plain", "")
            for output in cell.get("outputs", []))))
    return checks
