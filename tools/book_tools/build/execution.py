"""Execute the chapters that have no cached result, in parallel.

Jupyter Book 1 executes chapters one at a time while Sphinx reads them,
and its cache (``_build/.jupyter_cache``) keys on code cells only. Here a
chapter whose dependencies changed (``book_tools.build.dependencies``)
loses its cache records; then every chapter without a cached result runs,
a kernel per chapter, one more at a time than there are cores, and its
result is stored exactly as myst-nb would store it, so that the build
finds every chapter cached. A chapter that fails is not cached: the build
executes it again and reports the failure as usual. Each run appends what
it executed to ``_build/executions.jsonl``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import hashlib
import importlib
import json
import os
import tempfile
import time
from pathlib import Path
from traceback import format_exc
from typing import Any

import nbformat
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.cache.db import NbProjectRecord
from myst_nb.ext.glue import extract_glue_data_cell

from book_tools.build import head_start
from book_tools.build.chapters import Chapter, ChapterReader, toc_sources
from book_tools.build.dependencies import chapter_dependencies
from book_tools.build.head_start import STATE_FILE
from book_tools.build.unchanged import (
    PageMemory,
    code_digest,
    settings_key,
)

LOG_FILE = "executions.jsonl"


@dataclasses.dataclass
class Progress:
    """How many of the chapters to execute have finished."""

    total: int
    done: int = 0

    def finished(self, chapter: Chapter, seconds: float,
                 failure: str | None) -> None:
        """Print that ``chapter`` finished, and how many are left."""
        self.done += 1
        print(f"[build_book] done  {chapter.path.name} in {seconds:.1f} s, "
              f"{self.done} of {self.total}, {self.total - self.done} left"
              + (f"; FAILED: {failure.strip().splitlines()[-1]}"
                 if failure else ""), flush=True)


async def execute(
    chapter: Chapter, config: dict[str, Any], slots: asyncio.Semaphore,
    why: str, progress: Progress,
) -> tuple[Chapter, float, float, str | None]:
    """Execute a chapter in place in its own kernel, as myst-nb does.

    Returns:
        The chapter, when it started (Unix time), the seconds it took, and
        the traceback text of a failure (``None`` on success).
    """
    # Imported only when a chapter runs: a prose edit needs no kernel.
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError
    from traitlets.config import Config

    # Notebook metadata may override the timeout, as in jupyter-cache.
    settings = chapter.notebook.metadata.get("execution", {})
    async with slots:
        # A kernel that exits late may still write into the folder (its
        # sockets) while it is removed: leave such leftovers in /tmp
        # rather than fail a build whose chapter ran.
        with tempfile.TemporaryDirectory(
                ignore_cleanup_errors=True) as temporary:
            in_temp = config.get("nb_execution_in_temp", False)
            cwd = temporary if in_temp else str(chapter.path.parent)
            # A kernel started for this chapter before the build's imports,
            # if there is one (book_tools.build.head_start).
            manager = head_start.take(
                chapter.path, cwd,
                chapter.notebook.metadata.get("kernelspec", {}).get("name"))
            print(f"[build_book] start {chapter.path.name} ({why}"
                  + ("; its kernel was started before the imports"
                     if manager else "") + ")", flush=True)
            client = NotebookClient(
                chapter.notebook,
                km=manager,
                timeout=settings.get(
                    "timeout", config.get("nb_execution_timeout", 30)),
                allow_errors=settings.get(
                    "allow_errors",
                    config.get("nb_execution_allow_errors", False)),
                record_timing=False,  # as jupyter-cache: keeps the hash
                # The kernel talks to the build over Unix sockets, not TCP:
                # nothing else on the machine can listen in, and ipykernel
                # does not warn "Kernel is running over TCP without
                # encryption" at every start. The sockets' absolute path
                # is private to this kernel (the kernel and the build run
                # in different folders).
                config=Config({"KernelManager": {
                    "transport": "ipc", "ip": f"{temporary}/kernel"}}),
                resources={"metadata": {"path": cwd}},
            )
            started, start = time.time(), time.perf_counter()
            try:
                # Shut down at the end, like a kernel nbclient started.
                await client.async_execute(cleanup_kc=True)
            except (CellExecutionError, CellTimeoutError):
                failure = format_exc()
            except Exception:  # e.g. a kernel that never starts
                failure = format_exc()
            else:
                failure = None
        seconds = time.perf_counter() - start
        # Still holding the slot: "done" prints before the next "start".
        progress.finished(chapter, seconds, failure)
    return chapter, started, seconds, failure


async def execute_all(chapters: list[Chapter], config: dict[str, Any],
                      jobs: int, cache: Any,
                      reasons: dict[str, str]) -> list[dict]:
    """Execute chapters, ``jobs`` kernels at a time; cache each success.

    Prints when each chapter starts (and why it runs) and when it ends
    (seconds, how many are done and left). Returns one log entry per
    executed chapter.
    """
    slots = asyncio.Semaphore(jobs)
    progress = Progress(len(chapters))
    # Tasks take the slots in the order they are created.
    tasks = [asyncio.create_task(execute(
        chapter, config, slots,
        reasons.get(str(chapter.path), "new or edited code"), progress))
        for chapter in chapters]
    log = []
    for task in asyncio.as_completed(tasks):
        chapter, started, seconds, failure = await task
        log.append({"chapter": str(chapter.path), "started": started,
                    "seconds": seconds, "succeeded": failure is None})
        if failure is not None:
            continue  # the build runs it again and reports the error
        kwargs = {}
        if chapter.reader.read_fmt is not None:
            kwargs["read_data"] = chapter.reader.read_fmt
        record = cache.add_nb_to_project(str(chapter.path), **kwargs)
        NbProjectRecord.remove_tracebacks([record.pk], cache.db)
        cache.cache_notebook_bundle(
            CacheBundleIn(chapter.notebook, record.uri,
                          data={"execution_seconds": seconds,
                                "executed_by": "build_book"}),
            check_validity=False,
            overwrite=True,
        )
    return log


def uncached(chapters: list[Chapter], cache: Any, seconds: dict[str, float],
             matched: dict[Path, int] | None = None) -> list[Chapter]:
    """The chapters with no executed copy in the cache, longest first.

    Longest by the last execution time, else by the size of the code, so
    that no long chapter starts last and runs alone at the end. The
    others' records go into ``matched`` (path -> record pk), if given.
    """
    pending = []
    for chapter in chapters:
        try:
            record = cache.match_cache_notebook(chapter.notebook)
        except KeyError:
            pending.append(chapter)
        else:
            if matched is not None:
                matched[chapter.path] = record.pk

    def cost(chapter: Chapter) -> tuple[float, int]:
        code = [c.source for c in chapter.notebook.cells
                if c.cell_type == "code"]
        return seconds.get(str(chapter.path), 0.0), len("".join(code))

    return sorted(pending, key=cost, reverse=True)


def restore_downloads(chapters: dict[Path, Chapter | None], read: Any,
                      cache: Any, root: Path, build: Path, since: float,
                      merged: dict[str, nbformat.NotebookNode]) -> None:
    """Put the outputs back into each page's downloadable notebook.

    On a cache hit myst-nb writes the notebook as it read it, without
    outputs, to ``jupyter_execute/`` (the theme copies it to ``_sources/``
    for the download button); only a chapter executed during the build
    keeps its outputs. Write the cached outputs, as a serial build would,
    into the notebooks written after ``since`` (a time stamp).
    ``chapters``: path -> the chapter, or None if the build did not read
    it (``read`` reads it, when its page was written). ``merged``: path
    -> the notebook with its outputs that myst-nb's cache already made
    (``chapters.reads_shared``), if it did.
    """
    for path, chapter in chapters.items():
        name = path.relative_to(root).with_suffix(".ipynb")
        written = build / "jupyter_execute" / name
        if not written.is_file() or written.stat().st_mtime < since:
            continue
        notebook = merged.get(os.path.abspath(path))
        if notebook is None:
            chapter = chapter or read(path)
            if chapter is None:
                continue
            try:
                _, notebook = cache.merge_match_into_notebook(
                    chapter.notebook)
            except KeyError:
                continue
            # myst-nb takes glue outputs out likewise
            for cell in notebook.cells:
                if cell.cell_type == "code":
                    extract_glue_data_cell(cell)
        text = nbformat.writes(notebook)
        for folder in (build / "jupyter_execute", build / "html/_sources"):
            if (folder / name).is_file():
                (folder / name).write_text(text, "utf8")


@dataclasses.dataclass
class FilledCache:
    """A jupyter-cache made current, and the state stored next to it."""

    cache: Any
    # Every chapter: path -> the chapter as read, or None if this build
    # did not read it (unchanged since the last one, see
    # book_tools.build.unchanged); ``read`` reads one.
    chapters: dict[Path, Chapter | None]
    read: Any
    state_path: Path
    # {"dependencies": {chapter: {file: SHA-256}} as its cache record saw
    #  them, "stale_pages": chapters (relative to the project) whose
    #  outputs changed since their pages were last written, "seconds":
    #  {chapter: its last execution time}, "read": what PageMemory keeps}
    state: dict

    def site_built(self, root: Path, build: Path, since: float,
                   merged: dict[str, nbformat.NotebookNode]) -> None:
        """Note that the pages (written after ``since``) are current.

        ``merged``: as ``restore_downloads`` takes it.
        """
        self.state["stale_pages"] = []
        self.state_path.write_text(json.dumps(self.state))
        restore_downloads(self.chapters, self.read, self.cache, root, build,
                          since, merged)


def run_while_importing(execution: Any, config: dict[str, Any]) -> Any:
    """Run the coroutine ``execution``; meanwhile import the extensions.

    While kernels execute chapters this process mostly waits for their
    messages, and jupyter-book has yet to import the Sphinx extensions
    (about a second of CPU): this thread imports them meanwhile, the
    kernels' messages are handled in another, so that the imports overlap
    the execution instead of following it. A failing import is left for
    Sphinx to report.
    """
    # The kernel clients' own modules first, in this thread: the two
    # threads then import nothing at the same time that both need.
    import nbclient  # noqa: F401
    import traitlets.config  # noqa: F401

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        running = pool.submit(asyncio.run, execution)
        for name in ["jupyter_book.cli.main", *config.get("extensions", [])]:
            with contextlib.suppress(Exception):
                importlib.import_module(name)
        return running.result()


def outputs_digest(notebook: nbformat.NotebookNode) -> str:
    """SHA-256 of the outputs of a notebook's code cells."""
    outputs = [cell.get("outputs", []) for cell in notebook.cells
               if cell.cell_type == "code"]
    return hashlib.sha256(
        json.dumps(outputs, sort_keys=True).encode()).hexdigest()


def invalidate(root: Path, chapters: list[Chapter], cache: Any, state: dict,
               dependencies: dict[str, dict[str, str]],
               previous: dict[str, str]) -> dict[str, str]:
    """Drop the cache records of chapters whose dependencies changed.

    Every record of such a chapter goes, not only the one matching its
    code now: an older version of its code must not come back with outputs
    computed from older modules. Returns chapter -> why it must run, and
    fills ``previous`` with chapter -> digest of the outputs its page
    shows now (when its code has a record), to compare after the run.
    """
    known = state.get("dependencies", {})
    reasons = {}
    for chapter in chapters:
        name = chapter.path.relative_to(root).as_posix()
        now, before = dependencies[name], known.get(name)
        if before == now:
            continue
        # A record names the path it was executed at; a copied or moved
        # project still finds its chapter's record by the code's hash.
        records = [record for record in cache.list_cache_records()
                   if record.uri == str(chapter.path)]
        with contextlib.suppress(KeyError):
            match = cache.match_cache_notebook(chapter.notebook)
            records.append(match)
            previous[str(chapter.path)] = outputs_digest(
                cache.get_cache_bundle(match.pk).nb)
        records = list({record.pk: record for record in records}.values())
        if not records:
            continue  # never executed: it runs anyway
        for record in records:
            cache.remove_cache(record.pk)
        key = str(chapter.path)
        if before is None:
            reasons[key] = "its dependencies were not recorded"
        else:
            changed = sorted(name for name in now.keys() | before.keys()
                             if now.get(name) != before.get(name))
            shown = ", ".join(changed[:3]) + (
                f" and {len(changed) - 3} more" if len(changed) > 3 else "")
            reasons[key] = f"{shown} changed"
    return reasons


def read_changed(root: Path, toc: Path, config: dict[str, Any],
                 cache: Any, memory: PageMemory, read: ChapterReader,
                 ) -> tuple[list[Chapter], dict[Path, Chapter | None]]:
    """Read the pages that changed since the last build read them.

    Returns the chapters read, and every chapter: path -> the chapter, or
    None where it was not read (it is as the last build left it).
    """
    sources = toc_sources(root, toc, config)
    records = {record.pk for record in cache.list_cache_records()}
    unchanged = memory.unchanged(sources, records)
    chapters: dict[Path, Chapter | None] = {}
    for path in sources:
        if path in unchanged:
            if unchanged[path] is not None:
                chapters[path] = None
            continue
        chapter = read(path)
        if chapter is None:  # no chapter: nothing to run, ever
            memory.remember(path, None)
        else:
            chapters[path] = chapter
    read_now = [chapter for chapter in chapters.values()
                if chapter is not None]
    return read_now, chapters


def fill_cache(root: Path, build: Path, toc: Path, config: dict[str, Any],
               jobs: int) -> FilledCache:
    """Invalidate what a changed dependency made stale, then fill the cache.

    Only the pages changed since the last build are read
    (``book_tools.build.unchanged``); the others are cached and their
    dependencies unchanged.
    """
    path = Path(config.get("nb_execution_cache_path")
                or build / ".jupyter_cache")
    cache = get_cache(path)
    path.mkdir(parents=True, exist_ok=True)  # a book without notebooks too
    state_path = path / STATE_FILE
    state = json.loads(state_path.read_text()) if state_path.is_file() else {}
    memory = PageMemory(state, root, settings_key(root / "_config.yml", toc))
    read = ChapterReader(config)
    read_now, every_chapter = read_changed(root, toc, config, cache, memory,
                                           read)
    # A chapter read again for a prose edit has the code, so the record
    # and the dependencies, it had: no need to find them again.
    codes = {chapter.path: code_digest(chapter.notebook)
             for chapter in read_now}
    matched: dict[Path, int] = {}
    chapters = []
    for chapter in read_now:
        record = memory.same_code(chapter.path, codes[chapter.path])
        if record is None:
            chapters.append(chapter)
        else:
            matched[chapter.path] = record
    dependencies = chapter_dependencies(root, chapters)
    previous: dict[str, str] = {}
    reasons = invalidate(root, chapters, cache, state, dependencies,
                         previous)
    state.setdefault("dependencies", {}).update(dependencies)
    # Pages Sphinx must read again although their text did not change
    # (book_tools.build.stale_pages), named relative to the project.
    # Written before the run: should it fail half-way, the next build
    # still knows.
    stale = set(state.get("stale_pages", []))
    stale |= {Path(key).relative_to(root).as_posix() for key in reasons}
    state["stale_pages"] = sorted(stale)
    state_path.write_text(json.dumps(state))
    entry: dict[str, Any] = {"time": time.time(), "invalidated": reasons}
    seconds = state.setdefault("seconds", {})
    pending = uncached(chapters, cache, seconds, matched)
    print(f"[build_book] {len(every_chapter)} chapters: {len(pending)} to "
          f"execute, {len(every_chapter) - len(pending)} from the cache"
          + (f" ({len(every_chapter) - len(read_now)} unchanged since the "
             "last build, not read)" if len(read_now) < len(every_chapter)
             else "")
          + (f", {jobs} kernels at a time" if pending else ""), flush=True)
    entry["executed"] = run_while_importing(
        execute_all(pending, config, jobs, cache, reasons),
        config) if pending else []
    seconds.update({e["chapter"]: e["seconds"] for e in entry["executed"]})
    # A chapter run again with the same outputs (a comment added to a
    # module it imports) leaves its page as it is.
    unchanged = [
        chapter for chapter in pending
        if str(chapter.path) in previous
        and previous[str(chapter.path)] == outputs_digest(chapter.notebook)
    ]
    for chapter in unchanged:
        stale.discard(chapter.path.relative_to(root).as_posix())
    state["stale_pages"] = sorted(stale)
    entry["same_outputs"] = [str(chapter.path) for chapter in unchanged]
    # What the next build need not read again: each chapter read now
    # whose code has a record (a failed run has none: read it again).
    ran = {chapter.path for chapter in pending}
    for chapter in read_now:
        if chapter.path in ran:
            with contextlib.suppress(KeyError):
                matched[chapter.path] = cache.match_cache_notebook(
                    chapter.notebook).pk
        if chapter.path in matched:
            memory.remember(chapter.path, matched[chapter.path],
                            codes[chapter.path])
        else:
            memory.forget(chapter.path)
    state_path.write_text(json.dumps(state))
    with (build / LOG_FILE).open("a") as log:
        log.write(json.dumps(entry) + "\n")
    return FilledCache(cache, every_chapter, read, state_path, state)
