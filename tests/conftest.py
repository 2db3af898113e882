"""Shared fixtures: one strict build of the whole book per session.

That build executes every chapter (a fresh copy has an empty cache), and
the chapter tests read their glued values from it: in a run that builds
the book, each chapter executes exactly once. A run that does not build
(one chapter's tests alone) executes just the chapters it reads; see
``tests/notebooks.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from book_tools.project import build, build_report, copy_project
from tests import notebooks
from tests.oracles import float64_data

# The session's build: its project folder, or the failure it ended with
# (kept, so that the chapter tests report it instead of building again).
_BUILD: dict[str, Path | Exception] = {}


def build_once(factory: pytest.TempPathFactory) -> Path:
    """A fresh copy of the project, built strictly with every chapter run."""
    if "result" not in _BUILD:
        try:
            project = copy_project(factory.mktemp("book") / "project")
            # The copy has no _build: an empty cache, so every chapter
            # executes.
            assert not (project / "_build").exists()
            process = build(project)
            assert process.returncode == 0, build_report(process, project)
            _BUILD["result"] = project
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


# The problem-set edition (make student), built once per session; the
# student-edition and PDF tests share it.


@pytest.fixture(scope="session")
def student_edition(tmp_path_factory) -> Path:
    """A fresh copy of the project with ``make student``'s build done.

    Returns:
        The copy's ``_build/student`` folder.
    """
    project = copy_project(tmp_path_factory.mktemp("student") / "project")
    process = subprocess.run(
        [sys.executable, "-m", "book_tools.student", str(project),
         "-W", "-n", "--keep-going"],
        cwd=project, capture_output=True, text=True, timeout=3600,
    )
    assert process.returncode == 0, (
        process.stdout[-6000:] + process.stderr[-6000:])
    return project / "_build" / "student"


@pytest.fixture(scope="session")
def data64():
    """The problem set's data set in float64: two (N, 1) tensors."""
    return float64_data()
