"""Build the book with its chapters executed in parallel and never stale.

Jupyter Book 1 executes chapters one at a time while Sphinx reads them, and
its cache (``_build/.jupyter_cache``) keys on code cells only. This script
wraps ``jupyter-book build`` in three steps:

1. If ``src/autodiff_book`` or ``data/`` changed since the cache was filled
   (a digest stored next to the cache says so), drop every cached chapter:
   any chapter may import the package or read the data.
2. Execute the chapters that have no cached result in parallel (a kernel
   per chapter, one more at a time than there are cores) and store each
   result exactly as myst-nb would, so the build finds every chapter cached.
3. Run ``jupyter-book build`` with the given flags (``--all`` once after an
   invalidation, so Sphinx re-reads chapters whose text did not change),
   then delete the files of the site that no reader ever loads.

A chapter that fails in step 2 is not cached: the build executes it again
and reports the failure as usual, so ``-W`` still fails the command. Each
run appends what it executed to ``_build/executions.jsonl``.

Usage: ``python scripts/build_book.py [PATH] [-j JOBS] [jupyter-book flags]``,
for example ``python scripts/build_book.py . -W -n --keep-going``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path, PurePosixPath
from traceback import format_exc
from typing import Any

import nbformat
from jupyter_book.config import get_final_config
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.cache.db import NbProjectRecord
from myst_nb.core.read import NbReader
from myst_nb.ext.glue import extract_glue_data_cell
from myst_parser.config.main import MdParserConfig
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

from book_tools.project import notebook_reader, page_source, toc_pages

# What the chapters may depend on besides their own code cells.
DEPENDENCIES = ("src/autodiff_book", "data")
STATE_FILE = "sources-digest.json"
LOG_FILE = "executions.jsonl"
# Files Sphinx and the themes copy into the site that no page ever loads:
# source maps (only opened by a browser's developer tools), the theme's
# message catalogues and Jinja templates, and TrueType fonts (the theme's CSS
# offers WOFF2 first, which every current browser takes).
NEVER_LOADED = (
    "**/*.map",
    "_static/locales/**/*",
    "_static/*webpack-macros.html",
    "_static/vendor/fontawesome/webfonts/*.ttf",
)


@dataclasses.dataclass(frozen=True)
class Chapter:
    """A notebook of the table of contents, read as myst-nb reads it."""

    path: Path
    notebook: nbformat.NotebookNode
    reader: NbReader


def sphinx_config(root: Path) -> dict[str, Any]:
    """The Sphinx configuration jupyter-book derives from ``_config.yml``."""
    config, _ = get_final_config(
        user_yaml=root / "_config.yml",
        cli_config={"latex_individualpages": False},
        sourcedir=root,
    )
    return config


def digest(root: Path) -> str:
    """SHA-256 of every file (name and bytes) the chapters may depend on."""
    sha = hashlib.sha256()
    for folder in DEPENDENCIES:
        for path in sorted((root / folder).rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            sha.update(path.relative_to(root).as_posix().encode() + b"\0")
            sha.update(path.read_bytes())
    return sha.hexdigest()


def toc_chapters(root: Path, toc: Path,
                 config: dict[str, Any]) -> list[Chapter]:
    """Every notebook in the toc that myst-nb would execute, in toc order."""
    fields = {field.name for field in dataclasses.fields(MdParserConfig)}
    md_config = MdParserConfig(**{
        key[5:]: value for key, value in config.items()
        if key.startswith("myst_") and key[5:] in fields
    })
    excluded = config.get("nb_execution_excludepatterns", [])
    aliases = config.get("nb_kernel_rgx_aliases", {})
    chapters = []
    for docname in toc_pages(root, toc):
        path = page_source(root, docname)
        if path is None or any(
            PurePosixPath(path.absolute().as_posix()).match(p)
            for p in excluded
        ):
            continue
        path = path.absolute()
        # The same question as everywhere else ("is it a notebook?"), asked
        # with the build's own MyST settings.
        reader = notebook_reader(path, md_config)
        if reader is None:  # plain Markdown, nothing to execute
            continue
        notebook = reader.read(path.read_text(encoding="utf8"))
        if "mystnb" in notebook.metadata:  # per-file settings: leave to Sphinx
            continue
        kernel = notebook.metadata.get("kernelspec", {})
        for pattern, alias in aliases.items():  # as myst-nb renames kernels
            if re.fullmatch(pattern, kernel.get("name", "")):
                kernel["name"] = alias
                break
        chapters.append(Chapter(path, notebook, reader))
    return chapters


async def execute(
    chapter: Chapter, config: dict[str, Any], slots: asyncio.Semaphore
) -> tuple[Chapter, float, float, str | None]:
    """Execute a chapter in place in its own kernel, as myst-nb does.

    Returns:
        The chapter, when it started (Unix time), the seconds it took, and
        the traceback text of a failure (``None`` on success).
    """
    # Notebook metadata may override the timeout, as in jupyter-cache.
    settings = chapter.notebook.metadata.get("execution", {})
    async with slots:
        with tempfile.TemporaryDirectory() as temporary:
            in_temp = config.get("nb_execution_in_temp", False)
            client = NotebookClient(
                chapter.notebook,
                timeout=settings.get(
                    "timeout", config.get("nb_execution_timeout", 30)),
                allow_errors=settings.get(
                    "allow_errors",
                    config.get("nb_execution_allow_errors", False)),
                record_timing=False,  # as jupyter-cache: keeps the hash
                resources={"metadata": {
                    "path": temporary if in_temp else str(chapter.path.parent)
                }},
            )
            started, start = time.time(), time.perf_counter()
            try:
                await client.async_execute()
            except (CellExecutionError, CellTimeoutError):
                failure = format_exc()
            else:
                failure = None
    return chapter, started, time.perf_counter() - start, failure


async def execute_all(chapters: list[Chapter], config: dict[str, Any],
                      jobs: int, cache: Any) -> list[dict]:
    """Execute chapters, ``jobs`` kernels at a time; cache each success.

    Returns:
        One log entry per executed chapter.
    """
    slots = asyncio.Semaphore(jobs)
    # Tasks take the slots in the order they are created.
    tasks = [asyncio.create_task(execute(chapter, config, slots))
             for chapter in chapters]
    log = []
    for task in asyncio.as_completed(tasks):
        chapter, started, seconds, failure = await task
        log.append({"chapter": str(chapter.path), "started": started,
                    "seconds": seconds, "succeeded": failure is None})
        print(f"[build_book] executed {chapter.path.name} in {seconds:.1f} s"
              + (f", FAILED: {failure.strip().splitlines()[-1]}"
                 if failure else ""), flush=True)
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


def uncached(chapters: list[Chapter], cache: Any,
             seconds: dict[str, float]) -> list[Chapter]:
    """The chapters with no executed copy in the cache, longest first.

    Longest by the last execution time, else by the size of the code, so
    that no long chapter starts last and runs alone at the end.
    """
    pending = []
    for chapter in chapters:
        try:
            cache.match_cache_notebook(chapter.notebook)
        except KeyError:
            pending.append(chapter)

    def cost(chapter: Chapter) -> tuple[float, int]:
        code = [c.source for c in chapter.notebook.cells
                if c.cell_type == "code"]
        return seconds.get(str(chapter.path), 0.0), len("".join(code))

    return sorted(pending, key=cost, reverse=True)


def restore_downloads(chapters: list[Chapter], cache: Any, root: Path,
                      build: Path, since: float) -> None:
    """Put the outputs back into each page's downloadable notebook.

    On a cache hit myst-nb writes the notebook as it read it, without
    outputs, to ``jupyter_execute/`` (the theme copies it to ``_sources/``
    for the download button); only a chapter executed during the build
    keeps its outputs. Write the cached outputs, as a serial build would,
    into the notebooks written after ``since`` (a time stamp).
    """
    for chapter in chapters:
        name = chapter.path.relative_to(root).with_suffix(".ipynb")
        written = build / "jupyter_execute" / name
        if not written.is_file() or written.stat().st_mtime < since:
            continue
        try:
            _, merged = cache.merge_match_into_notebook(chapter.notebook)
        except KeyError:
            continue
        for cell in merged.cells:  # myst-nb takes glue outputs out likewise
            if cell.cell_type == "code":
                extract_glue_data_cell(cell)
        for folder in (build / "jupyter_execute", build / "html/_sources"):
            if (folder / name).is_file():
                (folder / name).write_text(nbformat.writes(merged), "utf8")


def prune(html: Path) -> int:
    """Delete the files no reader loads; return the bytes removed."""
    removed = 0
    for pattern in NEVER_LOADED:
        for path in html.glob(pattern):
            if path.is_file():
                removed += path.stat().st_size
                path.unlink()
    for folder in sorted(html.glob("_static/**/"), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return removed


@dataclasses.dataclass
class FilledCache:
    """A jupyter-cache made current, and the digests stored next to it."""

    cache: Any
    chapters: list[Chapter]
    state_path: Path
    # {"cache": digest the records use, "site": digest the pages use,
    #  "seconds": {chapter: its last execution time}}
    state: dict
    digest: str  # of the dependencies now

    @property
    def site_is_stale(self) -> bool:
        """Whether the pages were built before the last invalidation."""
        return self.state.get("site") != self.digest

    def site_built(self, root: Path, build: Path, since: float) -> None:
        """Note that the pages (written after ``since``) are current."""
        self.state["site"] = self.digest
        self.state_path.write_text(json.dumps(self.state))
        restore_downloads(self.chapters, self.cache, root, build, since)


def fill_cache(root: Path, build: Path, toc: Path, config: dict[str, Any],
               jobs: int) -> FilledCache:
    """Invalidate the cache if a dependency changed, then fill it."""
    path = Path(config.get("nb_execution_cache_path")
                or build / ".jupyter_cache")
    cache = get_cache(path)
    state_path = path / STATE_FILE
    state = json.loads(state_path.read_text()) if state_path.is_file() else {}
    entry: dict[str, Any] = {"time": time.time(), "invalidated": False}
    current = digest(root)
    if state.get("cache") != current:
        for record in cache.list_cache_records():
            cache.remove_cache(record.pk)
        entry["invalidated"] = True
        state["cache"] = current
        state_path.write_text(json.dumps(state))
    chapters = toc_chapters(root, toc, config)
    seconds = state.setdefault("seconds", {})
    entry["executed"] = asyncio.run(execute_all(
        uncached(chapters, cache, seconds), config, jobs, cache))
    seconds.update({e["chapter"]: e["seconds"] for e in entry["executed"]})
    state_path.write_text(json.dumps(state))
    with (build / LOG_FILE).open("a") as log:
        log.write(json.dumps(entry) + "\n")
    return FilledCache(cache, chapters, state_path, state, current)


def main(argv: list[str] | None = None) -> int:
    """Fill the cache, build, prune; return jupyter-book's exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", nargs="?", default=".", type=Path)
    # One kernel more than cores: kernels wait while they start and while
    # messages travel, and the spare one fills those gaps (measured: 2 cores,
    # 7 chapters, 3 kernels beat 2 and 4).
    parser.add_argument("-j", "--jobs", type=int,
                        default=len(os.sched_getaffinity(0)) + 1)
    parser.add_argument("--toc", type=Path)
    parser.add_argument("--path-output", type=Path)
    args, flags = parser.parse_known_args(argv)
    root = args.path.absolute()
    build = (args.path_output or root).absolute() / "_build"
    build.mkdir(parents=True, exist_ok=True)
    config = sphinx_config(root)
    filled = None
    if config.get("nb_execution_mode") == "cache":  # else Sphinx executes
        filled = fill_cache(root, build, args.toc or root / "_toc.yml",
                            config, args.jobs)

    command = [str(Path(sys.executable).with_name("jupyter-book")), "build",
               str(root), *flags]
    # Sphinx re-reads only changed sources: after an invalidation every page
    # must be rebuilt from the new outputs, once.
    if filled is not None and filled.site_is_stale:
        command.append("--all")
    if args.toc:
        command += ["--toc", str(args.toc)]
    if args.path_output:
        command += ["--path-output", str(args.path_output)]
    start = time.time()
    status = subprocess.run(command, check=False).returncode
    if status == 0 and filled is not None:
        filled.site_built(root, build, start)
    if (build / "html").is_dir():
        print(f"[build_book] pruned {prune(build / 'html')} bytes of files "
              "no reader loads", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
