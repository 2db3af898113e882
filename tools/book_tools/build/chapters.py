"""The chapters of the toc, read as myst-nb reads them, and the config.

A chapter is a notebook of ``_toc.yml`` that myst-nb would execute: the
same reader (``book_tools.project.notebook_reader``) with the build's own
MyST settings, the same exclusions and kernel aliases.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import os
import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import myst_nb.core.read
import nbformat
from jupyter_book.config import get_final_config
from jupyter_cache.cache.main import JupyterCacheBase
from myst_nb.core.read import NbReader
from myst_parser.config.main import MdParserConfig

from book_tools.project import notebook_reader, page_source, toc_pages


@dataclasses.dataclass(frozen=True)
class Chapter:
    """A notebook of the table of contents, read as myst-nb reads it."""

    path: Path
    notebook: nbformat.NotebookNode
    reader: NbReader


def sphinx_config(root: Path) -> dict[str, Any]:
    """The Sphinx configuration jupyter-book derives from ``_config.yml``."""
    config, _ = get_final_config(
        user_yaml=root / "_config.yml",
        cli_config={"latex_individualpages": False},
        sourcedir=root,
        # jupyter-book validates _config.yml in its own call, and warns
        # there: here the check would cost its schema's compilation twice.
        validate=False,
    )
    return config


def toc_sources(root: Path, toc: Path,
                config: dict[str, Any]) -> list[Path]:
    """The source of every toc page myst-nb may execute, in toc order.

    Every page with a source that no ``nb_execution_excludepatterns``
    pattern excludes; whether it is a notebook at all is
    ``ChapterReader``'s question, which needs the file's text.
    """
    excluded = config.get("nb_execution_excludepatterns", [])
    sources = []
    for docname in toc_pages(root, toc):
        path = page_source(root, docname)
        if path is None or any(
            PurePosixPath(path.absolute().as_posix()).match(p)
            for p in excluded
        ):
            continue
        sources.append(path.absolute())
    return sources


# What ChapterReader read: absolute path -> (text, MyST config, notebook).
READ: dict[str, tuple[str, MdParserConfig, nbformat.NotebookNode]] = {}


@contextlib.contextmanager
def reads_shared() -> Iterator[dict[str, nbformat.NotebookNode]]:
    """Within: myst-nb in Sphinx gets the notebooks ChapterReader read.

    The build reads an edited chapter to see whether its code changed,
    and Sphinx, in this same process, would parse the same text again
    with the same settings (a tenth of a second a chapter, the larger part
    of what a prose edit costs the build above a plain one). A copy of
    the notebook read is handed over instead, only for the same path,
    text and MyST configuration, and only with the arguments myst-nb's
    reader of MyST Markdown uses; anything else is read as before.

    Yields, filled when the block ends: path -> the notebook myst-nb's
    cache made of each copy handed over (its cached outputs merged in,
    glue data taken out), which is what the page's download notebook
    should hold (``execution.restore_downloads``): no second merge.
    """
    original = myst_nb.core.read.read_myst_markdown_notebook
    original_merge = JupyterCacheBase.merge_match_into_notebook
    handed: dict[str, nbformat.NotebookNode] = {}
    merges: dict[int, nbformat.NotebookNode] = {}  # by id of the input
    merged: dict[str, nbformat.NotebookNode] = {}

    def read_myst_markdown_notebook(text, config=None, *args,
                                    add_source_map=False, path=None,
                                    **kwargs):
        known = READ.get(os.path.abspath(path)) if path else None
        if (known is not None and add_source_map and not args
                and not kwargs and known[0] == text and known[1] == config):
            # Kept alive in ``handed``: no other notebook can take its id.
            notebook = handed[os.path.abspath(path)] = copy.deepcopy(
                known[2])
            return notebook
        return original(text, config, *args, add_source_map=add_source_map,
                        path=path, **kwargs)

    def merge_match_into_notebook(self, nb, *args, **kwargs):
        pk, result = original_merge(self, nb, *args, **kwargs)
        merges[id(nb)] = result
        return pk, result

    myst_nb.core.read.read_myst_markdown_notebook = read_myst_markdown_notebook
    JupyterCacheBase.merge_match_into_notebook = merge_match_into_notebook
    try:
        yield merged
    finally:
        myst_nb.core.read.read_myst_markdown_notebook = original
        JupyterCacheBase.merge_match_into_notebook = original_merge
        READ.clear()
        merged.update({path: merges[id(notebook)]
                       for path, notebook in handed.items()
                       if id(notebook) in merges})


class ChapterReader:
    """Reads a page source as myst-nb reads it, with the build's config."""

    def __init__(self, config: dict[str, Any]) -> None:
        fields = {field.name for field in dataclasses.fields(MdParserConfig)}
        self.md_config = MdParserConfig(**{
            key[5:]: value for key, value in config.items()
            if key.startswith("myst_") and key[5:] in fields
        })
        self.aliases = config.get("nb_kernel_rgx_aliases", {})

    def __call__(self, path: Path) -> Chapter | None:
        """The chapter at ``path``, or None if myst-nb would not run it."""
        # The same question as everywhere else ("is it a notebook?"), asked
        # with the build's own MyST settings.
        reader = notebook_reader(path, self.md_config)
        if reader is None:  # plain Markdown, nothing to execute
            return None
        text = path.read_text(encoding="utf8")
        notebook = reader.read(text)
        # Before execution adds outputs: as Sphinx would read it.
        READ[os.path.abspath(path)] = (text, self.md_config,
                                       copy.deepcopy(notebook))
        if "mystnb" in notebook.metadata:  # per-file settings: leave to Sphinx
            return None
        kernel = notebook.metadata.get("kernelspec", {})
        for pattern, alias in self.aliases.items():  # as myst-nb renames
            if re.fullmatch(pattern, kernel.get("name", "")):
                kernel["name"] = alias
                break
        return Chapter(path, notebook, reader)


def toc_chapters(root: Path, toc: Path,
                 config: dict[str, Any]) -> list[Chapter]:
    """Every notebook in the toc that myst-nb would execute, in toc order."""
    read = ChapterReader(config)
    chapters = (read(path) for path in toc_sources(root, toc, config))
    return [chapter for chapter in chapters if chapter is not None]
