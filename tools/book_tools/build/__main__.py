"""Build the book: nothing when nothing changed, else only what changed.

``make site`` runs this script. It first hashes every input of the site
(the chapters and the rest of ``book/``, ``_config.yml``, the toc,
``_templates/``, ``_widgets/``, ``src/``, ``data/``, the site tooling
(this build, the Sphinx extensions), the requirements, the Python that
runs it, the packages installed beside it, the flags, the other
edition's address in ``BOOK_EDITION_OTHER_URL``) with the standard
library only.
When the digest equals the one stamped in ``_build/`` by the last
successful build, it says so and stops, in a small fraction of a second:
Sphinx, jupyter-book and torch are never imported.

Otherwise a kernel starts at once for each chapter whose code cells or
recorded dependencies changed (``book_tools.build.head_start``), and
``book_tools.build.site.build_site`` does the work (see that
module): it re-executes, in parallel, only the chapters whose code
changed or that import a changed module of ``src/autodiff_book``
(directly or through
another module) or load a changed ``data/``, runs ``jupyter-book build``,
prunes the files no reader loads, and the stamp is written only if all of
that succeeded.

Usage: ``python -m book_tools.build [PATH] [-j JOBS] [jupyter-book
flags]``, for example ``python -m book_tools.build . -W -n --keep-going``.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import sys
import sysconfig
from pathlib import Path

STAMP = "build_book-stamp.json"  # in _build/, after a successful build
# Files and folders of the project the site is built from. Whatever is not
# here (tests/, benchmarks/, the README, .git) cannot change a page.
INPUT_FILES = ("_config.yml", "_toc.yml", "requirements.txt",
               "pyproject.toml", "tools/pyproject.toml",
               "tools/book_tools/__init__.py",
               "tools/book_tools/project.py")
# This build and the Sphinx extensions; not the rest of the tooling (the
# PDF, the audits), which no page depends on.
INPUT_FOLDERS = ("book", "_templates", "_widgets", "src", "data",
                 "tools/book_tools/build", "tools/book_tools/extensions")
# Written by Python, Jupyter and setuptools while the book builds or is
# edited; never read by the build.
SKIPPED = ("__pycache__", ".ipynb_checkpoints", "_build")
# Environment variables the pages read when they are built: the other
# edition's address (book_tools.extensions.edition_banner.OTHER_URL_ENV).
ENVIRONMENT = ("BOOK_EDITION_OTHER_URL",)
SKIPPED_SUFFIXES = (".egg-info", ".pyc")


def parse_arguments(
    argv: list[str] | None,
) -> tuple[argparse.Namespace, list[str]]:
    """This script's options, and the flags it passes to jupyter-book."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", nargs="?", default=".", type=Path)
    # One kernel more than cores: kernels wait while they start and while
    # messages travel, and the spare one fills those gaps (measured: 2 cores,
    # 7 chapters, 3 kernels beat 2 and 4).
    parser.add_argument("-j", "--jobs", type=int,
                        default=len(os.sched_getaffinity(0)) + 1)
    parser.add_argument("--toc", type=Path)
    parser.add_argument("--path-output", type=Path)
    return parser.parse_known_args(argv)


def input_files(root: Path, toc: Path) -> list[Path]:
    """Every file the site is built from, sorted."""
    files = [root / name for name in INPUT_FILES] + [toc]
    for folder in INPUT_FOLDERS:
        for directory, subfolders, names in os.walk(root / folder):
            subfolders[:] = [name for name in subfolders
                             if name not in SKIPPED
                             and not name.endswith(SKIPPED_SUFFIXES)]
            files += [Path(directory, name) for name in names
                      if not name.endswith(SKIPPED_SUFFIXES)]
    return sorted(set(files))


def inputs_digest(root: Path, files: list[Path], argv: list[str]) -> str:
    """SHA-256 of every input of the site (``files``), names and bytes."""
    sha = hashlib.sha256()
    # The interpreter, the packages installed beside it (installing or
    # removing one changes its site-packages folder), the package path the
    # kernels import from, and the command line.
    site_packages = Path(sysconfig.get_paths()["purelib"])
    mtime = site_packages.stat().st_mtime_ns if site_packages.is_dir() else 0
    # A folder of the project on PYTHONPATH counts by its relative name.
    python_path = os.environ.get("PYTHONPATH", "").replace(
        str(root), "<project>")
    sha.update(json.dumps([
        sys.executable, sys.version, mtime, python_path, argv,
        *(os.environ.get(name) for name in ENVIRONMENT),
    ]).encode())
    for path in files:
        # Names relative to the project: a copy of a built project (as the
        # tests and the benchmark make) is current too.
        name = (path.relative_to(root) if path.is_relative_to(root)
                else path)
        sha.update(b"\0" + name.as_posix().encode() + b"\0")
        sha.update(path.read_bytes() if path.is_file() else b"(missing)")
    return sha.hexdigest()


def main(argv: list[str] | None = None) -> int:
    """Build the site unless it is current; return the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    args, flags = parse_arguments(argv)
    root = args.path.absolute()
    build = (args.path_output or root).absolute() / "_build"
    stamp = build / STAMP
    files = input_files(root, args.toc or root / "_toc.yml")
    digest = inputs_digest(root, files, argv)
    try:
        stamped = json.loads(stamp.read_text())["digest"]
    except (OSError, ValueError, KeyError):
        stamped = None
    if stamped == digest and (build / "html" / "index.html").is_file():
        print("[build_book] no input of the site changed since the last "
              f"build: {build / 'html'} is current", flush=True)
        return 0
    # From here on the old stamp is wrong even if this build fails half-way
    # (Sphinx may have written some pages already).
    stamp.unlink(missing_ok=True)
    # Sphinx and docutils make millions of small objects, and Python's
    # cycle collector, at its default of a pass per 700 new ones, walks
    # the young ones over and over: with a pass per 50,000 a prose edit's
    # build took 2.2 s instead of 2.45 s (benchmarks/README.md), and its
    # peak memory stayed at 153 MB.
    gc.set_threshold(50_000, 20, 20)
    # jsonschema (which nbformat and jupyter-book import) compiles 39
    # grammars of rfc3987-syntax when that is installed (the Jupyter
    # server of make lab and make test brings it): 1.3 s of CPU at every
    # build, for its IRI format checks, which nothing in the build uses.
    # Without the module jsonschema leaves those two formats unchecked.
    sys.modules.setdefault("rfc3987_syntax", None)
    # A kernel for each chapter whose code cells or dependencies changed
    # starts now, and boots on another core while Sphinx and the rest are
    # imported.
    from book_tools.build import head_start

    codes = head_start.code_digests(
        [path for path in files if path.is_relative_to(root / "book")], root)
    changed = head_start.changed_code(codes, build)
    changed += [name for name in head_start.changed_dependencies(
        root, build / ".jupyter_cache") if name not in changed]
    if changed:
        head_start.start(root, changed, args.jobs)
    try:
        # Sphinx, jupyter-book, nbclient: imported only when there is work.
        from book_tools.build.site import build_site

        status = build_site(root, build, args, flags)
    finally:
        for path in head_start.shut_down():
            print("[build_book] stopped the kernel started early for "
                  f"{Path(path).relative_to(root).as_posix()}: no execution "
                  "took it", flush=True)
    if status == 0:
        # The digest from before the build: a file saved during the build
        # leaves a stamp that no longer matches, so the next run rebuilds.
        stamp.write_text(json.dumps({"digest": digest}))
        head_start.record(codes, build)
    return status


if __name__ == "__main__":
    sys.exit(main())
