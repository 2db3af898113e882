"""The slow path of ``scripts/build_book.py``: execute, build, prune.

Jupyter Book 1 executes chapters one at a time while Sphinx reads them, and
its cache (``_build/.jupyter_cache``) keys on code cells only. ``build_site``
wraps ``jupyter-book build`` in three steps:

1. Find what each chapter depends on besides its code cells: the modules of
   ``src/autodiff_book`` its code cells import, closed over the package's
   own imports (both read with ``ast``), the package's data files, and
   ``data/`` if the chapter imports ``autodiff_book.data`` (directly or
   through another module) or names the ``data`` folder in a string. A
   chapter whose dependencies changed since its cached run loses its cache
   records; no other chapter does.
2. Execute the chapters that have no cached result in parallel (a kernel
   per chapter, one more at a time than there are cores), printing each
   start and finish, and store each result exactly as myst-nb would, so the
   build finds every chapter cached.
3. Run ``jupyter-book build`` with the given flags (``--all`` once after an
   invalidation, so Sphinx re-reads chapters whose text did not change),
   then delete the files of the site that no reader ever loads.

A chapter that fails in step 2 is not cached: the build executes it again
and reports the failure as usual, so ``-W`` still fails the command. Each
run appends what it executed to ``_build/executions.jsonl``.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import contextlib
import dataclasses
import hashlib
import json
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
from traitlets.config import Config

from book_tools.project import notebook_reader, page_source, toc_pages

# What the chapters may depend on besides their own code cells.
PACKAGE = "autodiff_book"
DATA = "data"
# A string in a chapter's code that names the data folder ("../data").
DATA_PATH = re.compile(r"(^|[/\\])data([/\\]|$)")
STATE_FILE = "dependencies.json"
# What the pages are dressed in: static files, templates, extensions,
# widgets and the math font. Sphinx copies static files only when it
# writes a page, and re-reads no page when an extension changes, so an
# edit here alone would never reach the site; ASSETS_FILE keeps their
# digest at the last build.
ASSET_FOLDERS = ("book/_static", "_templates", "_ext", "_widgets", "fonts")
ASSETS_FILE = "assets.json"
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


def file_hash(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assets_digest(root: Path) -> str:
    """SHA-256 of every file in ``ASSET_FOLDERS``, names and bytes."""
    sha = hashlib.sha256()
    for folder in ASSET_FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                sha.update(path.relative_to(root).as_posix().encode() + b"\0")
                sha.update(file_hash(path).encode())
    return sha.hexdigest()


def package_modules(src: Path) -> dict[str, Path]:
    """Dotted name -> file, for every module of the package in ``src``."""
    modules = {}
    for path in sorted((src / PACKAGE).rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def imported_names(tree: ast.AST, module: str = "",
                   is_package: bool = False) -> set[str]:
    """Dotted names under the package that a parsed source imports.

    A name may be a module or a name inside one (``from m import f`` gives
    ``m`` and ``m.f``); ``module`` resolves relative imports.
    """
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")
                if not is_package:
                    parts.pop()
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in names
            if name == PACKAGE or name.startswith(PACKAGE + ".")}


def import_closure(names: set[str],
                   graph: dict[str, set[str]]) -> set[str]:
    """The modules ``names`` load, with their parents and their imports."""
    seen: set[str] = set()
    stack = list(names)
    while stack:
        name = stack.pop()
        while name not in graph and "." in name:  # a function: its module
            name = name.rsplit(".", 1)[0]
        if name not in graph or name in seen:
            continue
        seen.add(name)
        stack.extend(graph[name])
        if "." in name:  # importing a.b runs a/__init__.py first
            stack.append(name.rsplit(".", 1)[0])
    return seen


def cell_trees(notebook: nbformat.NotebookNode) -> list[ast.AST] | None:
    """The parsed code cells (magics blanked), or None if one won't parse."""
    trees = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        lines = [
            line[:len(line) - len(line.lstrip())] + "pass"
            if line.lstrip().startswith(("%", "!")) else line
            for line in cell.source.splitlines()
        ]
        try:
            trees.append(ast.parse("\n".join(lines)))
        except SyntaxError:
            return None
    return trees


def chapter_dependencies(root: Path, chapters: list[Chapter]
                         ) -> dict[str, dict[str, str]]:
    """Chapter -> {file it depends on: SHA-256}, besides its code cells.

    Chapters and files are named relative to ``root``, so that a copy of
    the project (cache included) keeps its records.

    A chapter depends on the modules of the package it imports, directly
    or through other modules, on the package's other files (data files a
    module may open) once it imports the package at all, and on every file
    of ``data/`` if it loads the data (imports ``autodiff_book.data``, or
    names the ``data`` folder in a string). Code that cannot be parsed
    depends on everything.
    """
    src = root / "src"
    modules = package_modules(src)
    graph = {}
    for name, path in modules.items():
        try:
            tree = ast.parse(path.read_text(encoding="utf8"))
        except SyntaxError:
            graph[name] = set(modules)
        else:
            graph[name] = imported_names(tree, name,
                                         path.name == "__init__.py")
    package_files = [
        path for path in sorted((src / PACKAGE).rglob("*"))
        if path.is_file() and path.suffix not in (".py", ".pyc")
        and "__pycache__" not in path.parts
    ]
    data_files = [path for path in sorted((root / DATA).rglob("*"))
                  if path.is_file()]
    hashes: dict[Path, str] = {}

    def hashed(paths: list[Path]) -> dict[str, str]:
        for path in paths:
            if path not in hashes:
                hashes[path] = file_hash(path)
        return {path.relative_to(root).as_posix(): hashes[path]
                for path in paths}

    result = {}
    for chapter in chapters:
        trees = cell_trees(chapter.notebook)
        if trees is None:
            used, uses_data = set(modules), True
        else:
            used = import_closure(
                set().union(*(imported_names(t) for t in trees)), graph)
            uses_data = f"{PACKAGE}.{DATA}" in used or any(
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and DATA_PATH.search(node.value)
                for tree in trees for node in ast.walk(tree)
            )
        files = [modules[name] for name in sorted(used)]
        if used:
            files += package_files
        if uses_data:
            files += data_files
        result[chapter.path.relative_to(root).as_posix()] = hashed(files)
    return result


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
    # Notebook metadata may override the timeout, as in jupyter-cache.
    settings = chapter.notebook.metadata.get("execution", {})
    async with slots:
        print(f"[build_book] start {chapter.path.name} ({why})", flush=True)
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
                # The kernel talks to the build over Unix sockets, not TCP:
                # nothing else on the machine can listen in, and ipykernel
                # does not warn "Kernel is running over TCP without
                # encryption" at every start. The sockets' absolute path
                # is private to this kernel (the kernel and the build run
                # in different folders).
                config=Config({"KernelManager": {
                    "transport": "ipc", "ip": f"{temporary}/kernel"}}),
                resources={"metadata": {
                    "path": temporary if in_temp else str(chapter.path.parent)
                }},
            )
            started, start = time.time(), time.perf_counter()
            try:
                await client.async_execute()
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
    """A jupyter-cache made current, and the state stored next to it."""

    cache: Any
    chapters: list[Chapter]
    state_path: Path
    # {"dependencies": {chapter: {file: SHA-256}} as its cache record saw
    #  them, "stale_pages": chapters re-executed since the pages were last
    #  written, "seconds": {chapter: its last execution time}}
    state: dict

    @property
    def site_is_stale(self) -> bool:
        """Whether a page shows outputs older than its chapter's cache."""
        return bool(self.state.get("stale_pages"))

    def site_built(self, root: Path, build: Path, since: float) -> None:
        """Note that the pages (written after ``since``) are current."""
        self.state["stale_pages"] = []
        self.state_path.write_text(json.dumps(self.state))
        restore_downloads(self.chapters, self.cache, root, build, since)


def invalidate(root: Path, chapters: list[Chapter], cache: Any, state: dict,
               dependencies: dict[str, dict[str, str]]) -> dict[str, str]:
    """Drop the cache records of chapters whose dependencies changed.

    Every record of such a chapter goes, not only the one matching its
    code now: an older version of its code must not come back with outputs
    computed from older modules. Returns chapter -> why it must run.
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
            records.append(cache.match_cache_notebook(chapter.notebook))
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


def fill_cache(root: Path, build: Path, toc: Path, config: dict[str, Any],
               jobs: int) -> FilledCache:
    """Invalidate what a changed dependency made stale, then fill the cache."""
    path = Path(config.get("nb_execution_cache_path")
                or build / ".jupyter_cache")
    cache = get_cache(path)
    path.mkdir(parents=True, exist_ok=True)  # a book without notebooks too
    state_path = path / STATE_FILE
    state = json.loads(state_path.read_text()) if state_path.is_file() else {}
    chapters = toc_chapters(root, toc, config)
    dependencies = chapter_dependencies(root, chapters)
    reasons = invalidate(root, chapters, cache, state, dependencies)
    state.setdefault("dependencies", {}).update(dependencies)
    state["stale_pages"] = sorted(set(state.get("stale_pages", []))
                                  | set(reasons))
    state_path.write_text(json.dumps(state))
    entry: dict[str, Any] = {"time": time.time(), "invalidated": reasons}
    seconds = state.setdefault("seconds", {})
    pending = uncached(chapters, cache, seconds)
    print(f"[build_book] {len(chapters)} chapters: {len(pending)} to "
          f"execute, {len(chapters) - len(pending)} from the cache"
          + (f", {jobs} kernels at a time" if pending else ""), flush=True)
    entry["executed"] = asyncio.run(execute_all(
        pending, config, jobs, cache, reasons))
    seconds.update({e["chapter"]: e["seconds"] for e in entry["executed"]})
    state_path.write_text(json.dumps(state))
    with (build / LOG_FILE).open("a") as log:
        log.write(json.dumps(entry) + "\n")
    return FilledCache(cache, chapters, state_path, state)


def build_site(root: Path, build: Path, args: argparse.Namespace,
               flags: list[str]) -> int:
    """Fill the cache, build, prune; return jupyter-book's exit status."""
    build.mkdir(parents=True, exist_ok=True)
    config = sphinx_config(root)
    filled = None
    if config.get("nb_execution_mode") == "cache":  # else Sphinx executes
        filled = fill_cache(root, build, args.toc or root / "_toc.yml",
                            config, args.jobs)

    command = [str(Path(sys.executable).with_name("jupyter-book")), "build",
               str(root), *flags]
    # Sphinx re-reads only changed sources: after an invalidation every page
    # must be rebuilt from the new outputs, once; after an edit of the
    # pages' assets every page is written again with them.
    assets_path = build / ASSETS_FILE
    assets = assets_digest(root)
    try:
        assets_changed = json.loads(assets_path.read_text()) != assets
    except (OSError, ValueError):
        assets_changed = True
    if (filled is not None and filled.site_is_stale) or assets_changed:
        command.append("--all")
    if args.toc:
        command += ["--toc", str(args.toc)]
    if args.path_output:
        command += ["--path-output", str(args.path_output)]
    start, clock = time.time(), time.perf_counter()
    reason = ("outputs changed under unchanged pages"
              if filled is not None and filled.site_is_stale
              else "static files, templates or extensions changed")
    print("[build_book] jupyter-book build" + (
        f" --all ({reason})" if "--all" in command else ""), flush=True)
    status = subprocess.run(command, check=False).returncode
    print(f"[build_book] jupyter-book build took "
          f"{time.perf_counter() - clock:.1f} s", flush=True)
    if status == 0:
        assets_path.write_text(json.dumps(assets))
    if status == 0 and filled is not None:
        filled.site_built(root, build, start)
    if (build / "html").is_dir():
        print(f"[build_book] pruned {prune(build / 'html')} bytes of files "
              "no reader loads", flush=True)
    return status
