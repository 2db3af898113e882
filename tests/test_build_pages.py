"""Which pages the build asks Sphinx to read again, without a build.

``book_tools.build.stale_pages`` turns the build's list of chapters whose
outputs changed into Sphinx documents; ``outputs_digest`` decides whether
a chapter run again changed its outputs at all. The builds themselves are
tested in ``test_cache.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import nbformat

from book_tools.build import stale_pages
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
