"""Build the site: fill the cache, run jupyter-book, prune.

``build_site`` is the slow path of ``python -m book_tools.build``: it makes
the execution cache current (``book_tools.build.execution``), runs
``jupyter-book build`` with the given flags in this process (``--all``
only after an edit of the pages' assets), then deletes the files of the
site that no reader ever loads. Sphinx reads again the pages whose text
changed, and those whose outputs changed under the same text
(``book_tools.build.stale_pages``); no other page.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

from book_tools.build.chapters import reads_shared, sphinx_config
from book_tools.build.dependencies import file_hash
from book_tools.build.execution import fill_cache
from book_tools.extensions.unloaded_files import never_loaded

# What the pages are dressed in: static files, templates, extensions, widgets
# and the math font. Sphinx copies static files only when it writes a page, and
# re-reads no page when an extension changes, so an edit here alone would never
# reach the site; ASSETS_FILE keeps their digest at the last build.
ASSET_FOLDERS = ("book/_static", "_templates",
                 "tools/book_tools/extensions", "_widgets", "fonts")
ASSETS_FILE = "assets.json"


def assets_digest(root: Path) -> str:
    """SHA-256 of every file in ``ASSET_FOLDERS``, names and bytes."""
    sha = hashlib.sha256()
    for folder in ASSET_FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                sha.update(path.relative_to(root).as_posix().encode() + b"\0")
                sha.update(file_hash(path).encode())
    return sha.hexdigest()


def prune(html: Path) -> int:
    """Delete the files no reader loads; return the bytes removed.

    ``book_tools.extensions.unloaded_files`` keeps Sphinx from copying
    them; a site built before it, or by a build without it, still has
    them. One walk of ``_static``, where Sphinx copies the themes' files:
    the pages themselves (hundreds of files) need no look.
    """
    removed = 0
    static = html / "_static"
    for directory, _, names in os.walk(static, topdown=False):
        folder = Path(directory)
        relative = folder.relative_to(static).as_posix()
        for name in names:
            if never_loaded(name if relative == "." else f"{relative}/{name}"):
                removed += (folder / name).stat().st_size
                (folder / name).unlink()
        if relative != "." and not any(folder.iterdir()):
            folder.rmdir()
    return removed


def run_jupyter_book(arguments: list[str]) -> int:
    """``jupyter-book ARGUMENTS`` in this process; its exit status.

    Not in a new process: this one has imported most of what jupyter-book
    imports already (nbformat, jsonschema, myst-nb, jupyter-cache), and a
    second interpreter would start and import it all again.
    """
    import click
    from jupyter_book.cli.main import main

    try:
        main.main(arguments, prog_name="jupyter-book",
                  standalone_mode=False)
    except SystemExit as stop:  # jupyter-book's exit on a failed build
        code = stop.code
        return code if isinstance(code, int) else int(code is not None)
    except click.ClickException as error:  # a bad flag or path
        error.show()
        return error.exit_code
    except RuntimeError as error:  # Sphinx stopped; it said why above
        print(error, file=sys.stderr, flush=True)
        return 1
    return 0


def build_site(root: Path, build: Path, args: argparse.Namespace,
               flags: list[str]) -> int:
    """Fill the cache, build, prune; return jupyter-book's exit status."""
    build.mkdir(parents=True, exist_ok=True)
    config = sphinx_config(root)
    filled = None
    if config.get("nb_execution_mode") == "cache":  # else Sphinx executes
        filled = fill_cache(root, build, args.toc or root / "_toc.yml",
                            config, args.jobs)

    command = ["build", str(root), *flags]
    # Sphinx copies static files only when it writes a page, and reads no
    # page again when an extension changes: after an edit of the pages'
    # assets every page is written again with them.
    assets_path = build / ASSETS_FILE
    assets = assets_digest(root)
    try:
        assets_changed = json.loads(assets_path.read_text()) != assets
    except (OSError, ValueError):
        assets_changed = True
    if assets_changed:
        command.append("--all")
    if args.toc:
        command += ["--toc", str(args.toc)]
    if args.path_output:
        command += ["--path-output", str(args.path_output)]
    start, clock = time.time(), time.perf_counter()
    stale = filled.state.get("stale_pages", []) if filled else []
    print("[build_book] jupyter-book build" + (
        " --all (static files, templates or extensions changed)"
        if "--all" in command else "") + (
        f"; pages whose outputs changed: {', '.join(stale)}"
        if stale else ""), flush=True)
    with reads_shared() as merged:
        status = run_jupyter_book(command)
    print(f"[build_book] jupyter-book build took "
          f"{time.perf_counter() - clock:.1f} s", flush=True)
    if status == 0:
        assets_path.write_text(json.dumps(assets))
    if status == 0 and filled is not None:
        filled.site_built(root, build, start, merged)
    if (build / "html").is_dir() and (removed := prune(build / "html")):
        print(f"[build_book] pruned {removed} bytes of files no reader "
              "loads", flush=True)
    return status
