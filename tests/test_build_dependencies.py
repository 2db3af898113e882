"""What each chapter depends on, as ``book_tools.build.dependencies`` reads
it.

A fake package and data folder in a temporary project, and chapters made of
code cells: which files each chapter's cache record depends on. The builds
themselves (which chapters re-execute) are tested in ``test_cache.py``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from book_tools.build import dependencies
from book_tools.build.chapters import Chapter

MODULES = {
    "__init__.py": '"""The package."""\n',
    "data.py": "from pathlib import Path\n",
    "regression.py": "import numpy\n",
    # Absolute and relative imports of sibling modules.
    "plotting.py": "from autodiff_book.regression import fit\n",
    "training.py": "from . import data\nfrom .plotting import plot\n",
    "sub/__init__.py": "",
    "sub/deep.py": "from ..regression import fit\n",
    "lonely.py": "import autodiff_book\n",
    "style.mplstyle": "lines.linewidth: 2\n",
}


@pytest.fixture
def project(tmp_path) -> Path:
    """A project with the fake package and a data file."""
    for name, text in MODULES.items():
        path = tmp_path / "src" / "autodiff_book" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "points.csv").write_text("1,2\n")
    return tmp_path


def depends(project: Path, *cells: str) -> set[str]:
    """The files a chapter made of ``cells`` depends on."""
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(cell) for cell in cells])
    chapter = Chapter(project / "book" / "c.md", notebook, None)
    result = dependencies.chapter_dependencies(project, [chapter])
    return set(result["book/c.md"])


PACKAGE = "src/autodiff_book/"
ROOT_FILES = {PACKAGE + "__init__.py", PACKAGE + "style.mplstyle"}


def test_a_chapter_without_the_package_depends_on_nothing(project):
    assert depends(project, "import torch\nprint(1)") == set()


@pytest.mark.parametrize(
    "code",
    [
        "from autodiff_book.regression import fit",
        "from autodiff_book import regression",
        "import autodiff_book.regression",
        "import autodiff_book.regression as r",
        "%matplotlib inline\nfrom autodiff_book.regression import fit",
    ],
)
def test_every_spelling_of_an_import_is_found(project, code):
    assert depends(project, code) == ROOT_FILES | {
        PACKAGE + "regression.py"}


def test_imports_are_closed_over_the_package(project):
    assert depends(project, "from autodiff_book.plotting import plot") == (
        ROOT_FILES | {PACKAGE + "plotting.py", PACKAGE + "regression.py"})
    assert depends(project, "from autodiff_book.sub import deep") == (
        ROOT_FILES | {PACKAGE + "sub/__init__.py", PACKAGE + "sub/deep.py",
                      PACKAGE + "regression.py"})


def test_the_data_come_with_the_data_module(project):
    # training imports data (relative import): so the data folder counts.
    assert depends(project, "from autodiff_book import training") == (
        ROOT_FILES | {PACKAGE + name for name in (
            "training.py", "data.py", "plotting.py", "regression.py")}
        | {"data/points.csv"})


def test_a_chapter_naming_the_data_folder_depends_on_it(project):
    assert depends(project, "import os\nos.listdir('../data')") == {
        "data/points.csv"}


def test_code_that_does_not_parse_depends_on_everything(project):
    everything = depends(project, "from autodiff_book import (")
    assert "data/points.csv" in everything
    assert {PACKAGE + name for name in MODULES
            if name.endswith(".py")} <= everything
