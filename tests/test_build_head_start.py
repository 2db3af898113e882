"""Kernels started early for chapters whose code changed.

``book_tools.build.head_start``: a rough, standard-library look at the
code cells decides which chapters get a kernel before the build's
imports; ``take`` hands it to the chapter's execution only if it is the
kernel the build would start, and ``shut_down`` stops the rest.
"""

from __future__ import annotations

import asyncio
import hashlib
import json

import nbformat
import psutil
import pytest
from nbclient import NotebookClient

from book_tools.build import dependencies, head_start, stale_pages
from tests.book_build import NOTEBOOK_HEADER

CHAPTER = (NOTEBOOK_HEADER + "# Probe\n\nProse.\n\n"
           "```{code-cell} ipython3\nimport os\nprint(os.getcwd())\n```\n\n"
           "More prose.\n\n````{code-cell} ipython3\n:tags: [hide-input]\n"
           "x = 1\n````\n")


@pytest.fixture
def project(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "probe.md").write_text(CHAPTER)
    (tmp_path / "book" / "prose.md").write_text("# Only prose\n")
    (tmp_path / "book" / "notes.txt").write_text("```{code-cell}\nx\n```\n")
    (tmp_path / "_build").mkdir()
    return tmp_path


def digests(project):
    return head_start.code_digests(sorted(project.glob("book/*")), project)


@pytest.fixture
def no_kernel_left():
    """Every kernel a test started early is gone when it ends."""
    yield
    assert head_start.shut_down() == []


def test_only_chapters_with_code_cells_have_a_digest(project):
    assert list(digests(project)) == ["book/probe.md"]


def test_a_prose_edit_leaves_the_digest_a_code_edit_changes_it(project):
    chapter = project / "book" / "probe.md"
    before = digests(project)
    chapter.write_text(CHAPTER.replace("More prose.", "Other prose."))
    assert digests(project) == before
    chapter.write_text(CHAPTER.replace("x = 1", "x = 2"))  # 4-tick fence
    assert digests(project) != before
    chapter.write_text(CHAPTER.replace("[hide-input]", "[hide-output]"))
    assert digests(project) != before


def test_changed_code_compares_with_the_last_successful_build(project):
    build = project / "_build"
    now = digests(project)
    # Nothing recorded (a first build): no chapter is taken as changed.
    assert head_start.changed_code(now, build) == []
    (build / head_start.CODE_FILE).write_text("not json")
    assert head_start.changed_code(now, build) == []
    (build / head_start.CODE_FILE).write_text("[1, 2]")
    assert head_start.changed_code(now, build) == []
    head_start.record(now, build)
    assert json.loads((build / head_start.CODE_FILE).read_text()) == now
    assert head_start.changed_code(now, build) == []
    edited = {**now, "book/probe.md": "0" * 64, "book/new.md": "1" * 64}
    assert head_start.changed_code(edited, build) == [
        "book/new.md", "book/probe.md"]


@pytest.mark.parametrize(("header", "name"), [
    (NOTEBOOK_HEADER, "python3"),
    ("---\nkernelspec:\n  display_name: Other\n  name: 'other-kernel'\n"
     "  language: python\n---\n", "other-kernel"),
    # No kernel named: jupyter_client's default, as nbclient starts it.
    ("---\njupytext:\n  formats: md:myst\n---\n", "python3"),
    ("# No front matter\n\nkernelspec:\n  name: body\n", "python3"),
])
def test_the_kernel_named_in_the_front_matter(header, name):
    assert head_start.kernel_name(header + "# Title\n") == name


def kernels_in(folder) -> list[psutil.Process]:
    """The running ipykernel processes whose working folder is ``folder``."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        command = " ".join(process.info["cmdline"] or [])
        try:
            if ("ipykernel_launcher" in command
                    and process.cwd() == str(folder)):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def test_a_kernel_that_fits_runs_the_chapter(project, no_kernel_left):
    chapter = project / "book" / "probe.md"
    head_start.start(project, ["book/probe.md"], limit=3)
    assert len(kernels_in(chapter.parent)) == 1
    # Another folder or another kernel: not this one.
    assert head_start.take(chapter, str(project), "python3") is None
    assert head_start.take(chapter, str(chapter.parent), "other") is None
    manager = head_start.take(chapter, str(chapter.parent), None)
    assert manager is not None and manager.has_kernel
    assert head_start.take(chapter, str(chapter.parent), None) is None
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import os\nprint(os.getcwd())")])
    client = NotebookClient(notebook, km=manager, timeout=60)
    asyncio.run(client.async_execute(cleanup_kc=True))
    assert notebook.cells[0].outputs[0]["text"] == f"{chapter.parent}\n"
    assert not manager.has_kernel
    assert kernels_in(chapter.parent) == []


def test_kernels_nobody_took_are_stopped(project):
    head_start.start(project, ["book/probe.md", "book/prose.md"], limit=1)
    assert len(kernels_in(project / "book")) == 1  # the limit
    assert head_start.shut_down() == [str(project / "book" / "probe.md")]
    psutil.wait_procs(kernels_in(project / "book"), timeout=10)
    assert kernels_in(project / "book") == []
    assert head_start.WAITING == {} and head_start.TAKEN == []


def test_a_kernel_that_cannot_start_is_not_waited_for(project,
                                                      no_kernel_left):
    (project / "book" / "probe.md").write_text(CHAPTER.replace(
        "name: python3", "name: no-such-kernel"))
    head_start.start(project, ["book/probe.md"], limit=3)
    assert head_start.WAITING == {}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_changed_dependencies_from_the_last_build_s_record(tmp_path):
    cache = tmp_path / "_build" / ".jupyter_cache"
    cache.mkdir(parents=True)
    module = tmp_path / "src" / "pkg" / "module.py"
    module.parent.mkdir(parents=True)
    module.write_text("X = 1\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.txt").write_text("data\n")
    # Nothing recorded, or no record to read: no chapter.
    assert head_start.changed_dependencies(tmp_path, cache) == []
    for broken in ("not json", "[]", '{"dependencies": 3}', "{}"):
        (cache / head_start.STATE_FILE).write_text(broken)
        assert head_start.changed_dependencies(tmp_path, cache) == []
    state = {
        "dependencies": {
            "book/a.md": {"src/pkg/module.py": sha256("X = 1\n")},
            "book/b.md": {"src/pkg/module.py": sha256("X = 1\n"),
                          "data/x.txt": sha256("data\n")},
            "book/c.md": {"data/x.txt": sha256("data\n")},
            "book/d.md": {},
        },
        "seconds": {str(tmp_path / "book/a.md"): 2.0,
                    str(tmp_path / "book/b.md"): 9.0},
    }
    (cache / head_start.STATE_FILE).write_text(json.dumps(state))
    assert head_start.changed_dependencies(tmp_path, cache) == []
    module.write_text("X = 2\n")
    # Longest first, as the build starts them.
    assert head_start.changed_dependencies(tmp_path, cache) == [
        "book/b.md", "book/a.md"]
    module.write_text("X = 1\n")
    # A file added to data/: the chapters that load the data.
    (tmp_path / "data" / "new.txt").write_text("new\n")
    assert head_start.changed_dependencies(tmp_path, cache) == [
        "book/b.md", "book/c.md"]
    (tmp_path / "data" / "new.txt").unlink()
    assert head_start.changed_dependencies(tmp_path, cache) == []
    (tmp_path / "data" / "x.txt").unlink()  # a file gone counts too
    assert head_start.changed_dependencies(tmp_path, cache) == [
        "book/b.md", "book/c.md"]
    # An altered record stops nothing: a guess, or none.
    for altered, guess in [
        ({"seconds": {str(tmp_path / "book/b.md"): "slow"}}, []),
        ({"dependencies": {"book/a.md": {"src": 3, 4: "x"}}}, ["book/a.md"]),
        ({"dependencies": {"book/a.md": {"/": "x"}}}, ["book/a.md"]),
    ]:
        (cache / head_start.STATE_FILE).write_text(json.dumps(
            {**state, **altered}))
        assert head_start.changed_dependencies(tmp_path, cache) == guess


def test_the_names_head_start_shares_with_the_build():
    assert stale_pages.STATE_FILE == head_start.STATE_FILE
    assert dependencies.DATA == "data"  # the folder changed_dependencies lists
