"""Shared fixtures: one strict build of the whole book per test run.

That build executes every chapter (a fresh copy has an empty cache), and
the chapter tests read their glued values from it: in a run that builds
the book, each chapter executes exactly once. A run that does not build
(one chapter's tests alone) executes just the chapters it reads; see
``tests/notebooks.py``.

``make test`` runs the tests in two processes (pytest-xdist, one test
file per process at a time): the two builds every run needs, the whole
book and the problem-set edition, are made once for both, by whichever
asks first, under a file lock (``once_per_run``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from filelock import FileLock

from book_tools.project import build, build_report, copy_project
from tests import notebooks
from tests.oracles import float64_data

# The session's build: its project folder, or the failure it ended with
# (kept, so that the chapter tests report it instead of building again).
_BUILD: dict[str, Path | Exception] = {}


def run_folder(factory: pytest.TempPathFactory) -> Path:
    """A folder of this test run, shared by all its pytest-xdist workers."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def once_per_run(factory: pytest.TempPathFactory, name: str, make) -> Path:
    """``make(folder)`` once in this test run, whichever process asks first.

    The others wait for it under a file lock and get the same result:
    the folder ``make`` returned, or its failure (raised again, with the
    first process's message).
    """
    shared = run_folder(factory)
    record = shared / f"{name}.result"
    with FileLock(shared / f"{name}.lock"):
        if not record.exists():
            folder = shared / name
            folder.mkdir()
            try:
                result = make(folder)
            except BaseException as error:
                record.write_text(f"failed\n{type(error).__name__}: {error}")
                raise
            record.write_text(f"made\n{result}")
    status, text = record.read_text().split("\n", 1)
    if status != "made":
        raise RuntimeError(f"{name}, made by another test process: {text}")
    return Path(text)


def build_whole_book(folder: Path) -> Path:
    """A fresh copy of the project, built strictly with every chapter run."""
    project = copy_project(folder / "project")
    # The copy has no _build: an empty cache, so every chapter executes.
    assert not (project / "_build").exists()
    process = build(project)
    assert process.returncode == 0, build_report(process, project)
    return project


def build_once(factory: pytest.TempPathFactory) -> Path:
    """The whole book's build of this test run (made once, then kept)."""
    if "result" not in _BUILD:
        try:
            _BUILD["result"] = once_per_run(factory, "book",
                                            build_whole_book)
        except Exception as error:  # kept, raised again below
            _BUILD["result"] = error
    result = _BUILD["result"]
    if isinstance(result, Exception):
        raise result
    return result


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """A fresh copy of the project, built with every chapter executed.

    Returns:
        The copy's root folder; the site is in ``_build/html`` below it.
    """
    return build_once(tmp_path_factory)


@pytest.fixture(scope="session", autouse=True)
def chapters_from_the_build(request, tmp_path_factory):
    """Chapter tests read the session's build, if the session builds.

    Not when ``AUTODIFF_BOOK_PROJECT`` points the chapter tests at another
    copy of the project: the build is of this one.
    """
    builds = any(
        "built_book" in item.fixturenames for item in request.session.items
    )
    if builds and not os.environ.get("AUTODIFF_BOOK_PROJECT"):
        notebooks.read_from_build(lambda: build_once(tmp_path_factory))


# The problem-set edition (make student), built once per test run; the
# student-edition and PDF tests share it.


def build_student_edition(folder: Path) -> Path:
    """A fresh copy of the project with ``make student``'s build done."""
    project = copy_project(folder / "project")
    process = subprocess.run(
        [sys.executable, "-m", "book_tools.student", str(project),
         "-W", "-n", "--keep-going"],
        cwd=project, capture_output=True, text=True, timeout=3600,
    )
    assert process.returncode == 0, (
        process.stdout[-6000:] + process.stderr[-6000:])
    return project / "_build" / "student"


@pytest.fixture(scope="session")
def student_edition(tmp_path_factory) -> Path:
    """A fresh copy of the project with ``make student``'s build done.

    Returns:
        The copy's ``_build/student`` folder.
    """
    return once_per_run(tmp_path_factory, "student", build_student_edition)


@pytest.fixture(scope="session")
def data64():
    """The problem set's data set in float64: two (N, 1) tensors."""
    return float64_data()
