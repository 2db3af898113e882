"""The README's build executes what changed, and only that.

A small copy of the project whose table of contents holds two tiny probe
chapters: ``probe_a`` prints and glues values from ``autodiff_book.probe``
(which imports ``autodiff_book.probe_base``), ``probe_b`` imports the
package and lists the copy's ``data/`` folder. Its kernels import the
copy's package (``PYTHONPATH``), so a change made in the copy is one the
pages can show. Which chapters executed is read from the jupyter-cache:
every execution, by ``python -m book_tools.build`` or by Sphinx itself,
writes a new cache record.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import websockets
from jupyter_cache import get_cache

from book_tools.extensions.edition_banner import OTHER_URL_ENV, SIDE_BY_SIDE
from book_tools.project import (
    STRICT_FLAGS,
    build,
    build_report,
    copy_project,
)
from tests.book_build import NOTEBOOK_HEADER

JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")

PROBES = {
    "probe_a": NOTEBOOK_HEADER + "# Probe A\n\nFirst words of A.\n\n"
    "```{code-cell} ipython3\nfrom myst_nb import glue\n\n"
    "from autodiff_book import probe\n\n"
    "print('value', probe.VALUE, probe.BASE)\n"
    "glue('glued', probe.VALUE, display=False)"
    "\n```\n\nGlued: {glue:text}`glued`.\n",
    "probe_b": NOTEBOOK_HEADER + "# Probe B\n\nFirst words of B.\n\n"
    "```{code-cell} ipython3\nfrom pathlib import Path\n\n"
    "import autodiff_book\n\n"
    "print(sorted(p.name for p in Path('../data').iterdir()))\n```\n",
}
TOC = (
    "format: jb-book\nroot: book/index\nchapters:\n"
    "  - file: book/probe_a\n  - file: book/probe_b\n"
    "  - file: book/bibliography\n"
)


def cache_records(project: Path) -> set[tuple]:
    """(chapter file name, hash, creation time) of every cache record."""
    cache = get_cache(project / "_build" / ".jupyter_cache")
    return {
        (Path(record.uri).name, record.hashkey, record.created)
        for record in cache.list_cache_records()
    }


def kernel_environment(project: Path) -> dict:
    """Environment variables under which kernels import the copy's package."""
    return {**os.environ, "PYTHONPATH": str(project / "src")}


def plain_build(project: Path, *flags: str) -> subprocess.CompletedProcess:
    """A plain strict ``jupyter-book build .`` of ``project``."""
    return subprocess.run(
        [str(JUPYTER_BOOK), "build", ".", *STRICT_FLAGS, *flags],
        cwd=project, env=kernel_environment(project), capture_output=True,
        text=True, timeout=900,
    )


NOTHING_CHANGED = "[build_book] no input of the site changed"


def rebuild(project: Path) -> set[str]:
    """Build with the README's command; return the chapters it executed."""
    before = cache_records(project)
    process = build(project, env=kernel_environment(project))
    assert process.returncode == 0, build_report(process, project)
    return {name for name, *_ in cache_records(project) - before}


def sphinx_traces(project: Path) -> dict[str, int]:
    """Modification times of what a Sphinx run writes, by file."""
    build_folder = project / "_build"
    paths = [build_folder / ".doctrees" / "environment.pickle",
             build_folder / "html" / "index.html",
             build_folder / "html" / "book" / "probe_a.html",
             build_folder / "executions.jsonl"]
    return {path.name: path.stat().st_mtime_ns for path in paths}


def page(project: Path, name: str) -> str:
    """The built HTML of ``book/<name>``."""
    return (project / "_build" / "html" / "book" / f"{name}.html").read_text()


@pytest.fixture(scope="module")
def cold_book(tmp_path_factory) -> tuple[Path, set[str]]:
    """The probe book built once from an empty cache.

    Returns:
        The project and the chapters that build executed.
    """
    project = copy_project(tmp_path_factory.mktemp("cold") / "project")
    for name, text in PROBES.items():
        (project / "book" / f"{name}.md").write_text(text)
    package = project / "src" / "autodiff_book"
    (package / "probe.py").write_text(
        'from autodiff_book.probe_base import BASE\n\nVALUE = "first"\n'
    )
    (package / "probe_base.py").write_text('BASE = "base-one"\n')
    (project / "_toc.yml").write_text(TOC)
    # The real index links to sections of chapters this toc leaves out.
    (project / "book" / "index.md").write_text("# Probe book\n")
    # As if written a minute ago: a file modified just before a build
    # reads it is read again by the next build all the same
    # (book_tools.build.unchanged), and the tests' edits come at once.
    minute_ago = time.time() - 60
    for path in [*project.glob("book/*.md"), *package.glob("probe*.py"),
                 project / "_toc.yml"]:
        os.utime(path, (minute_ago, minute_ago))
    return project, rebuild(project)


@pytest.fixture
def book(cold_book, tmp_path) -> Path:
    """A private copy of the built probe book, cache and all."""
    return Path(shutil.copytree(cold_book[0], tmp_path / "project"))


def test_a_cold_build_executes_each_chapter_once_in_parallel(cold_book):
    project, executed = cold_book
    assert executed == {"probe_a.md", "probe_b.md"}
    # The script's log: both kernels ran at the same time.
    log = (project / "_build" / "executions.jsonl").read_text()
    first, second = json.loads(log.splitlines()[-1])["executed"]
    assert first["started"] < second["started"] + second["seconds"]
    assert second["started"] < first["started"] + first["seconds"]
    # Every record came from the parallel step: Sphinx executed nothing.
    cache = get_cache(project / "_build" / ".jupyter_cache")
    for record in cache.list_cache_records():
        assert record.data["executed_by"] == "build_book", record.uri
    assert "value first" in page(project, "probe_a")


def test_a_rebuild_without_changes_stops_before_sphinx(book):
    before = sphinx_traces(book)
    process = build(book, env=kernel_environment(book))
    assert process.returncode == 0, build_report(process, book)
    assert NOTHING_CHANGED in process.stdout
    assert "jupyter-book build" not in process.stdout
    assert sphinx_traces(book) == before


@pytest.mark.parametrize(
    ("changed", "edit"),
    [
        ("requirements.txt", "# one more comment\n"),
        ("tools/book_tools/extensions/site_fixes.py", "# one more comment\n"),
        ("book/references.bib", "\n"),
    ],
)
def test_a_change_in_any_input_builds_the_site_again(book, changed, edit):
    with (book / changed).open("a") as file:
        file.write(edit)
    before = cache_records(book)
    process = build(book, env=kernel_environment(book))
    assert process.returncode == 0, build_report(process, book)
    assert NOTHING_CHANGED not in process.stdout
    assert "[build_book] jupyter-book build" in process.stdout
    assert cache_records(book) == before


def test_a_prose_edit_executes_nothing_and_shows(book):
    chapter = book / "book" / "probe_a.md"
    chapter.write_text(chapter.read_text().replace(
        "First words of A.", "Second words of A."))
    before = cache_records(book)
    process = build(book, env=kernel_environment(book))
    assert process.returncode == 0, build_report(process, book)
    assert cache_records(book) == before
    assert "Second words of A." in page(book, "probe_a")
    # The build read the edited chapter only, not the other one.
    assert "0 to execute, 2 from the cache (1 unchanged since the last " \
        "build, not read)" in process.stdout
    # Its code cells are as they were: no kernel was started early.
    assert "started early" not in process.stdout
    assert "started before the imports" not in process.stdout


def test_a_style_sheet_edit_alone_reaches_the_site(book):
    """Sphinx copies static files only when it writes a page; the build
    notices that an asset changed and writes every page (``--all``)."""
    rule = "/* probe: a style sheet edit */\n"
    with (book / "book" / "_static" / "custom.css").open("a") as file:
        file.write(rule)
    process = build(book, env=kernel_environment(book))
    assert process.returncode == 0, build_report(process, book)
    assert "--all (static files, templates or extensions changed)" in (
        process.stdout)
    published = book / "_build" / "html" / "_static" / "custom.css"
    assert published.read_text().endswith(rule)
    # The next build finds the site current.
    process = build(book, env=kernel_environment(book))
    assert NOTHING_CHANGED in process.stdout


def test_a_new_address_of_the_other_edition_reaches_every_page(book):
    """``BOOK_EDITION_OTHER_URL`` alone changed: the build runs, and
    Sphinx writes every page's banner again."""
    env = kernel_environment(book)
    for address in ("https://example.org/first", "https://example.org/2nd"):
        env[OTHER_URL_ENV] = address
        process = build(book, env=env)
        assert process.returncode == 0, build_report(process, book)
        assert NOTHING_CHANGED not in process.stdout
        for name in ("probe_a", "probe_b"):
            assert f'href="{address}/book/{name}.html"' in page(book, name)
    assert NOTHING_CHANGED in build(book, env=env).stdout


def test_a_code_edit_executes_that_chapter_only(book):
    chapter = book / "book" / "probe_b.md"
    chapter.write_text(chapter.read_text().replace(
        "import autodiff_book\n", "import autodiff_book  # edited\n"))
    before = cache_records(book)
    process = build(book, env=kernel_environment(book))
    assert process.returncode == 0, build_report(process, book)
    assert {name for name, *_ in cache_records(book) - before} == {
        "probe_b.md"}
    # In the kernel started before the build's imports
    # (book_tools.build.head_start).
    assert "start probe_b.md (new or edited code; its kernel was started " \
        "before the imports)" in process.stdout


def test_a_kernel_started_early_for_nothing_is_stopped(book):
    """Code edited, then put back as it was: the cache has its outputs."""
    chapter = book / "book" / "probe_b.md"
    text = chapter.read_text()
    chapter.write_text(text.replace("print(", "print('edited', "))
    assert rebuild(book) == {"probe_b.md"}
    chapter.write_text(text)
    before = cache_records(book)
    process = build(book, env=kernel_environment(book))
    assert process.returncode == 0, build_report(process, book)
    assert cache_records(book) == before
    assert "[build_book] stopped the kernel started early for " \
        "book/probe_b.md: no execution took it" in process.stdout


@pytest.mark.parametrize(
    ("changed", "text", "executed", "shown"),
    [
        # A module only probe_a imports.
        ("src/autodiff_book/probe.py",
         'from autodiff_book.probe_base import BASE\n\nVALUE = "second"\n',
         "probe_a", "value second base-one"),
        # A module only probe_a's module imports.
        ("src/autodiff_book/probe_base.py", 'BASE = "base-two"\n',
         "probe_a", "value first base-two"),
        # The data folder, which probe_b lists.
        ("data/new-file.txt", "extra\n", "probe_b", "new-file.txt"),
    ],
)
def test_a_dependency_change_executes_the_chapters_that_use_it(
    book, changed, text, executed, shown
):
    (book / changed).write_text(text)
    before = cache_records(book)
    process = build(book, env=kernel_environment(book))
    assert process.returncode == 0, build_report(process, book)
    assert {name for name, *_ in cache_records(book) - before} == {
        f"{executed}.md"}
    # Its kernel was started before the build's imports (head_start).
    assert re.search(rf"start {executed}\.md \(.*changed; its kernel was "
                     r"started before the imports\)", process.stdout)
    # Sphinx re-read the unchanged page, so the site is not stale either.
    assert shown in page(book, executed)
    # And the next build stops early again.
    process = build(book, env=kernel_environment(book))
    assert NOTHING_CHANGED in process.stdout


def settled(book: Path) -> Path:
    """``book`` after one build in its own folder.

    The copy's first Sphinx run reads and writes every page (Sphinx made
    its environment at another path); a prose edit takes that run here.
    """
    chapter = book / "book" / "probe_b.md"
    chapter.write_text(chapter.read_text().replace(
        "First words of B.", "Other words of B."))
    assert rebuild(book) == set()
    return book


def test_a_dependency_change_writes_only_the_page_it_changed(book):
    """Not every page (``--all``): the page of the chapter run again."""
    book = settled(book)
    other = book / "_build" / "html" / "book" / "probe_b.html"
    before = other.stat().st_mtime_ns
    (book / "src" / "autodiff_book" / "probe_base.py").write_text(
        'BASE = "base-two"\n')
    process = build(book, env=kernel_environment(book))
    assert process.returncode == 0, build_report(process, book)
    assert "--all" not in process.stdout
    assert "pages whose outputs changed: book/probe_a.md\n" in (
        process.stdout)
    assert "value first base-two" in page(book, "probe_a")
    assert other.stat().st_mtime_ns == before


def test_a_chapter_run_again_with_the_same_outputs_keeps_its_page(book):
    """A comment added to a module: the chapter runs, its page stays."""
    book = settled(book)
    shown = book / "_build" / "html" / "book" / "probe_a.html"
    before = shown.stat().st_mtime_ns
    with (book / "src" / "autodiff_book" / "probe_base.py").open("a") as f:
        f.write("# a comment changes no output\n")
    assert rebuild(book) == {"probe_a.md"}
    assert shown.stat().st_mtime_ns == before


def test_a_module_no_chapter_imports_executes_nothing(book):
    (book / "src" / "autodiff_book" / "unused_probe.py").write_text("X = 1\n")
    process = build(book, env=kernel_environment(book))
    assert process.returncode == 0, build_report(process, book)
    assert "0 to execute" in process.stdout
    assert "started early" not in process.stdout


def test_a_plain_jupyter_book_build_reads_the_same_cache(book):
    before = cache_records(book)
    process = plain_build(book, "--all")
    assert process.returncode == 0, build_report(process, book)
    assert cache_records(book) == before
    assert "value first" in page(book, "probe_a")


def without_cell_ids(text: str) -> str:
    """A notebook's JSON without its cell ids (random at every read)."""
    return re.sub(r'"id": "[0-9a-f]+"', '"id": ""', text)


def site_files(project: Path) -> dict[str, Path]:
    """Relative path -> file, for every file of the built site."""
    html = project / "_build" / "html"
    return {p.relative_to(html).as_posix(): p
            for p in html.rglob("*") if p.is_file()}


def test_the_site_is_the_site_of_a_plain_serial_build(cold_book, tmp_path):
    project, _ = cold_book
    plain = Path(shutil.copytree(project, tmp_path / "plain",
                                 ignore=shutil.ignore_patterns("_build")))
    process = plain_build(plain)
    assert process.returncode == 0, build_report(process, plain)
    ours, theirs = site_files(project), site_files(plain)
    # The plain build leaves out the files no page loads too
    # (book_tools.extensions.unloaded_files): nothing is left to prune.
    assert set(ours) == set(theirs)
    for name in sorted(ours):
        if name.endswith(".ipynb"):
            assert without_cell_ids(ours[name].read_text()) == (
                without_cell_ids(theirs[name].read_text())), name
        else:
            assert ours[name].read_bytes() == theirs[name].read_bytes(), (
                name)


LOCAL_ASSET = re.compile(r'(?:href|src)="(?!https?:|#|mailto:)([^"#?]+)')


def test_the_site_has_no_file_a_reader_never_loads(cold_book):
    project, _ = cold_book
    html = project / "_build" / "html"
    names = site_files(project)
    assert not [n for n in names if n.endswith((".map", ".po", ".mo"))]
    assert not [n for n in names if n.endswith((".ttf", "macros.html"))]
    assert not (html / "_static" / "locales").exists()
    # Pruning broke nothing: every local file a page links to exists, but
    # for the edition banner's link to the other edition, a site of its
    # own (tests/test_student_edition.py follows those links).
    other_edition = (html / SIDE_BY_SIDE["full"]).resolve()
    for name in names:
        if not name.endswith(".html") or name.startswith("_static/"):
            continue
        folder = (html / name).parent
        for target in LOCAL_ASSET.findall((html / name).read_text()):
            path = (folder / target).resolve()
            assert path.exists() or path.is_relative_to(other_edition), (
                name, target)


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_preview_serves_and_reloads_after_a_save(book):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "book_tools.preview",
         "--port", str(port), *STRICT_FLAGS],
        cwd=book, env=kernel_environment(book), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )
    try:
        output = []
        for line in server.stdout:  # the first build, then the server
            output.append(line)
            if line.startswith("[preview] serving"):
                break
        assert NOTHING_CHANGED in "".join(output), "".join(output)
        url = f"127.0.0.1:{port}"

        async def save_and_wait() -> str:
            for _ in range(50):  # until the server accepts connections
                try:
                    socket_ = await websockets.connect(
                        f"ws://{url}/websocket-reload")
                    break
                except OSError:
                    await asyncio.sleep(0.2)
            async with socket_:
                # A save of a file the site is not built from: the build
                # says nothing changed, and the page reloads all the same.
                readme = book / "README.md"
                readme.write_text(readme.read_text() + "\n")
                return await asyncio.wait_for(socket_.recv(), 120)

        assert asyncio.run(save_and_wait()) == "refresh"
        address = f"http://{url}/book/probe_a.html"
        with urllib.request.urlopen(address) as response:
            html = response.read().decode()
        assert "value first" in html
        assert f'new WebSocket("ws://{url}/websocket-reload")' in html
    finally:
        server.terminate()
        server.wait(timeout=30)
