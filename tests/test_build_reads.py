"""The build hands Sphinx the notebook it read for a chapter.

``book_tools.build.chapters.reads_shared``: within it, myst-nb's reader of
MyST Markdown returns a copy of what ``ChapterReader`` read for the same
path, text and configuration, and parses anything else as before.
"""

from __future__ import annotations

import myst_nb.core.config
import myst_nb.core.read
import pytest

from book_tools.build import chapters
from book_tools.build.chapters import ChapterReader, reads_shared
from tests.book_build import NOTEBOOK_HEADER

PAGE = (NOTEBOOK_HEADER + "# Probe\n\nProse.\n\n"
        "```{code-cell} ipython3\n1 + 1\n```\n")


def read_as_sphinx(path, text, md_config):
    """What myst-nb's parser in Sphinx does: make its reader, then read."""
    reader = myst_nb.core.read.create_nb_reader(
        str(path), md_config, myst_nb.core.config.NbParserConfig(), text)
    return reader.read(text)


@pytest.fixture
def page(tmp_path):
    path = tmp_path / "probe.md"
    path.write_text(PAGE)
    return path


@pytest.fixture
def parsed(monkeypatch) -> list:
    """The paths myst-nb's MyST reader really parses (from now on)."""
    calls = []
    original = myst_nb.core.read.read_myst_markdown_notebook

    def counting(*args, **kwargs):
        calls.append(kwargs.get("path"))
        return original(*args, **kwargs)

    monkeypatch.setattr(myst_nb.core.read, "read_myst_markdown_notebook",
                        counting)
    return calls


def test_sphinx_gets_a_copy_of_the_chapter_read(page, parsed):
    read = ChapterReader({})
    chapter = read(page)
    assert parsed == [str(page)]
    with reads_shared():
        shared = read_as_sphinx(page, PAGE, read.md_config)
        # Another text of the same page (saved since) is parsed afresh.
        edited = read_as_sphinx(page, PAGE + "\nMore.\n", read.md_config)
    assert parsed == [str(page), str(page)]
    assert shared == chapter.notebook and shared is not chapter.notebook
    assert edited.cells[-1].source == "More."
    # Outside, the reader is the one before and nothing is remembered.
    assert myst_nb.core.read.read_myst_markdown_notebook.__name__ == "counting"
    assert chapters.READ == {}


def test_execution_does_not_reach_the_copy_sphinx_gets(page, parsed):
    # Execution adds outputs to the chapter read; Sphinx must see the
    # notebook as the file has it.
    read = ChapterReader({})
    chapter = read(page)
    chapter.notebook.cells[-1].outputs = ["an output"]
    with reads_shared():
        shared = read_as_sphinx(page, PAGE, read.md_config)
    assert len(parsed) == 1
    assert shared.cells[-1].outputs == []


def test_another_configuration_is_parsed_afresh(page, parsed):
    read = ChapterReader({})
    read(page)
    other = ChapterReader({"myst_heading_anchors": 3}).md_config
    assert other != read.md_config
    with reads_shared():
        read_as_sphinx(page, PAGE, other)
    assert len(parsed) == 2
