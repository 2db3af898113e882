"""The build hands Sphinx the notebook it read for a chapter.

``book_tools.build.chapters.reads_shared``: within it, myst-nb's reader of
MyST Markdown returns a copy of what ``ChapterReader`` read for the same
path, text and configuration, and parses anything else as before.
"""

from __future__ import annotations

import copy

import myst_nb.core.config
import myst_nb.core.read
import nbformat
import pytest
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.cache.main import JupyterCacheBase

from book_tools.build import chapters
from book_tools.build.chapters import ChapterReader, reads_shared
from book_tools.build.execution import restore_downloads
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


def test_the_notebook_the_cache_merged_is_kept_for_the_download(page,
                                                                tmp_path):
    read = ChapterReader({})
    chapter = read(page)
    cache = get_cache(tmp_path / "cache")
    executed = copy.deepcopy(chapter.notebook)
    executed.cells[-1].outputs = [nbformat.v4.new_output(
        "execute_result", data={"text/plain": "2"}, execution_count=1)]
    cache.cache_notebook_bundle(CacheBundleIn(executed, str(page)),
                                check_validity=False)
    with reads_shared() as merged:
        shared = read_as_sphinx(page, PAGE, read.md_config)
        _, result = cache.merge_match_into_notebook(shared)
        # A notebook the build did not hand over is merged, not kept.
        cache.merge_match_into_notebook(copy.deepcopy(shared))
        assert merged == {}  # filled when the build ends
    assert merged == {str(page): result}
    assert result.cells[-1].outputs[0]["data"] == {"text/plain": "2"}
    assert JupyterCacheBase.merge_match_into_notebook.__qualname__ == (
        "JupyterCacheBase.merge_match_into_notebook")


def test_the_download_gets_the_merged_notebook_without_a_second_merge(
        tmp_path):
    chapter = tmp_path / "book" / "probe.md"
    build = tmp_path / "_build"
    written = [build / "jupyter_execute" / "book" / "probe.ipynb",
               build / "html" / "_sources" / "book" / "probe.ipynb"]
    for path in written:
        path.parent.mkdir(parents=True)
        path.write_text("as myst-nb wrote it, without outputs")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "1 + 1", outputs=[nbformat.v4.new_output(
            "execute_result", data={"text/plain": "2"}, execution_count=1)])])

    class NoSecondMerge:
        def merge_match_into_notebook(self, nb):
            raise AssertionError("merged a second time")

    restore_downloads({chapter: None}, lambda path: pytest.fail("read"),
                      NoSecondMerge(), tmp_path, build, 0.0,
                      {str(chapter): notebook})
    for path in written:
        assert path.read_text() == nbformat.writes(notebook)
