"""The chapters of the toc, read as myst-nb reads them, and the config.

A chapter is a notebook of ``_toc.yml`` that myst-nb would execute: the
same reader (``book_tools.project.notebook_reader``) with the build's own
MyST settings, the same exclusions and kernel aliases.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path, PurePosixPath
from typing import Any

import nbformat
from jupyter_book.config import get_final_config
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
    )
    return config


def toc_chapters(root: Path, toc: Path,
                 config: dict[str, Any]) -> list[Chapter]:
    """Every notebook in the toc that myst-nb would execute, in toc order."""
    fields = {field.name for field in dataclasses.fields(MdParserConfig)}
    md_config = MdParserConfig(**{
        key[5:]: value for key, value in config.items()
        if key.startswith("myst_") and key[5:] in fields
    })
    excluded = config.get("nb_execution_excludepatterns", [])
    aliases = config.get("nb_kernel_rgx_aliases", {})
    chapters = []
    for docname in toc_pages(root, toc):
        path = page_source(root, docname)
        if path is None or any(
            PurePosixPath(path.absolute().as_posix()).match(p)
            for p in excluded
        ):
            continue
        path = path.absolute()
        # The same question as everywhere else ("is it a notebook?"), asked
        # with the build's own MyST settings.
        reader = notebook_reader(path, md_config)
        if reader is None:  # plain Markdown, nothing to execute
            continue
        notebook = reader.read(path.read_text(encoding="utf8"))
        if "mystnb" in notebook.metadata:  # per-file settings: leave to Sphinx
            continue
        kernel = notebook.metadata.get("kernelspec", {})
        for pattern, alias in aliases.items():  # as myst-nb renames kernels
            if re.fullmatch(pattern, kernel.get("name", "")):
                kernel["name"] = alias
                break
        chapters.append(Chapter(path, notebook, reader))
    return chapters
