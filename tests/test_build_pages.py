"""Which pages the build reads, and which Sphinx reads, without a build.

``book_tools.build.stale_pages`` turns the build's list of chapters whose
outputs changed into Sphinx documents; ``outputs_digest`` decides whether
a chapter run again changed its outputs at all; ``book_tools.build
.unchanged`` decides which pages the build need not read again. The
builds themselves are tested in ``test_cache.py``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat

from book_tools.build import stale_pages, unchanged
from book_tools.build.execution import outputs_digest


def fake_sphinx(tmp_path: Path, state: dict | None) -> tuple:
    """A Sphinx app and environment with what ``stale_pages`` reads."""
    cache = tmp_path / "_build" / ".jupyter_cache"
    cache.mkdir(parents=True)
    if state is not None:
        (cache / stale_pages.STATE_FILE).write_text(json.dumps(state))
    app = SimpleNamespace(
        srcdir=str(tmp_path), outdir=str(tmp_path / "_build" / "html"),
        config=SimpleNamespace(nb_execution_cache_path=""))

    def path2doc(path: str) -> str:
        return Path(path).relative_to(tmp_path).with_suffix("").as_posix()

    env = SimpleNamespace(found_docs={"book/a", "book/b", "book/c"},
                          path2doc=path2doc)
    return app, env


def test_the_listed_chapters_are_read_again(tmp_path):
    app, env = fake_sphinx(
        tmp_path, {"stale_pages": ["book/a.md", "book/c.md"]})
    assert stale_pages.stale_pages(app, env, set(), set(), set()) == [
        "book/a", "book/c"]


def test_pages_sphinx_reads_anyway_or_no_longer_has_are_left_out(tmp_path):
    app, env = fake_sphinx(
        tmp_path, {"stale_pages": ["book/a.md", "book/b.md", "book/gone.md"]})
    assert stale_pages.stale_pages(app, env, set(), {"book/a"}, set()) == [
        "book/b"]


def test_no_state_reads_nothing_again(tmp_path):
    app, env = fake_sphinx(tmp_path, None)
    assert stale_pages.stale_pages(app, env, set(), set(), set()) == []


def notebook(*outputs: str) -> nbformat.NotebookNode:
    """A notebook of code cells, each with one stream output."""
    cells = []
    for text in outputs:
        cell = nbformat.v4.new_code_cell("print(1)")
        cell.outputs = [nbformat.v4.new_output(
            "stream", name="stdout", text=text)]
        cells.append(cell)
    return nbformat.v4.new_notebook(cells=cells)


def test_the_outputs_digest_sees_outputs_only():
    same = notebook("1\n", "2\n")
    prose = notebook("1\n", "2\n")
    prose.cells.insert(0, nbformat.v4.new_markdown_cell("New words."))
    assert outputs_digest(same) == outputs_digest(prose)
    assert outputs_digest(same) != outputs_digest(notebook("1\n", "3\n"))


# Which pages the build reads again (book_tools.build.unchanged).


def memory_project(tmp_path: Path) -> tuple[Path, list[Path]]:
    """A project with two pages and a module, all written a minute ago."""
    pages = [tmp_path / "book" / "a.md", tmp_path / "book" / "b.md"]
    files = [*pages, tmp_path / "src" / "m.py", tmp_path / "_config.yml"]
    for path in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{path.name}\n")
        old = time.time() - 60
        os.utime(path, (old, old))
    return tmp_path, pages


def remembered(root: Path, state: dict, pages: list[Path],
               record: int | None = 1) -> dict:
    """``state`` after a build that read ``pages`` (all cached as
    ``record``)."""
    memory = unchanged.PageMemory(state, root, "key")
    memory.unchanged(pages, set())
    for page in pages:
        memory.remember(page, record)
    return json.loads(json.dumps(state))  # as stored between builds


def not_read(root: Path, state: dict, pages: list[Path],
             key: str = "key", records: frozenset = frozenset({1})) -> set:
    """The names of the pages the next build would not read."""
    memory = unchanged.PageMemory(state, root, key)
    return {page.name for page in memory.unchanged(pages, set(records))}


def test_untouched_pages_are_not_read_again(tmp_path):
    root, pages = memory_project(tmp_path)
    state = remembered(root, {}, pages)
    assert not_read(root, state, pages) == {"a.md", "b.md"}


def test_an_edited_page_is_read_again(tmp_path):
    root, pages = memory_project(tmp_path)
    state = remembered(root, {}, pages)
    with pages[0].open("a") as page:
        page.write("One more sentence.\n")
    assert not_read(root, state, pages) == {"b.md"}


def test_a_page_edited_just_before_its_reading_is_read_again(tmp_path):
    # Its time and size could hide a second edit in the same clock tick.
    root, pages = memory_project(tmp_path)
    pages[0].write_text("a.md\n")  # same size, modified now
    state = remembered(root, {}, pages)
    assert not_read(root, state, pages) == {"b.md"}


def test_a_change_in_src_or_the_settings_reads_every_page(tmp_path):
    root, pages = memory_project(tmp_path)
    state = remembered(root, {}, pages)
    assert not_read(root, json.loads(json.dumps(state)), pages,
                    key="other") == set()
    (root / "src" / "m.py").write_text("changed\n")
    assert not_read(root, state, pages) == set()


def test_a_page_whose_cache_record_is_gone_is_read_again(tmp_path):
    root, pages = memory_project(tmp_path)
    state = remembered(root, {}, pages)
    assert not_read(root, state, pages, records=frozenset()) == set()
    # A page that is no chapter needs no record.
    state = remembered(root, {}, pages, record=None)
    assert not_read(root, state, pages, records=frozenset()) == {
        "a.md", "b.md"}
