"""Shared fixtures: one strict, forced build of the whole book per session."""

from __future__ import annotations

import pytest

from tests.book_build import build, build_report, copy_project


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """A fresh copy of the project, built with every chapter executed.

    Returns:
        The copy's root folder; the site is in ``_build/html`` below it.
    """
    project = copy_project(tmp_path_factory.mktemp("book") / "project")
    # The copy has no _build: an empty cache, so every chapter executes.
    assert not (project / "_build").exists()
    process = build(project)
    assert process.returncode == 0, build_report(process, project)
    return project
