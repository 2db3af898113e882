"""Kernels started before the build's imports, for chapters that will run.

After an edit of a code cell the build has to import Sphinx, myst-nb and
jupyter-cache and read the chapter before it knows that the chapter must
run, and only then starts its kernel: about a second in which the second
core idles, followed by the kernel's own start. ``changed_code`` answers
the same question early and roughly, with the standard library (the code
cells of every MyST chapter, compared with the last successful build's),
and ``changed_dependencies`` likewise for an edited module or data file
(the files each chapter depended on at the last build), so that
``start`` can launch a kernel for each such chapter before those
imports; the kernel boots while the build imports.

The rough answer decides nothing: the build still reads each chapter as
myst-nb does and executes what that says. ``take`` hands a waiting kernel
to the chapter it was started for, if its folder and kernel name are the
ones the build would use; ``shut_down`` stops every kernel nobody took (a
revert to code already in the cache, a prose edit inside a code fence).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

CODE_FILE = "build_book-code.json"  # in _build/, after a successful build
# The build's state beside the execution cache: book_tools.build.execution
# writes it, the Sphinx extension stale_pages reads it.
STATE_FILE = "dependencies.json"
# A MyST code cell: its fence (three or more backticks) and what it holds.
CODE_CELL = re.compile(r"^(`{3,})\{code-cell\}[^\n]*\n(.*?)^\1[ \t]*$",
                       re.M | re.S)
# The kernel named in a chapter's front matter (``kernelspec: name: ...``).
KERNEL_NAME = re.compile(r"^kernelspec:\s*\n(?:[ \t]+.*\n)*?[ \t]+name:"
                         r"[ \t]*['\"]?([\w.-]+)", re.M)


def code_digests(files: Iterable[Path], root: Path) -> dict[str, str]:
    """SHA-256 of the code cells of each MyST chapter, by relative name.

    Only files that hold a code cell: a page without one never runs.
    """
    digests = {}
    for path in files:
        if path.suffix != ".md":
            continue
        text = path.read_text(encoding="utf8", errors="replace")
        cells = [match.group(0) for match in CODE_CELL.finditer(text)]
        if cells:
            digests[path.relative_to(root).as_posix()] = hashlib.sha256(
                "\0".join(cells).encode()).hexdigest()
    return digests


def changed_code(digests: dict[str, str], build: Path) -> list[str]:
    """The chapters whose code differs from the last successful build's.

    None on the first build (nothing recorded): every chapter would look
    changed, and most are in no need of a kernel then either (a copied
    cache, a first build after ``make clean`` of the site only).
    """
    try:
        before = json.loads((build / CODE_FILE).read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(before, dict):
        return []
    return sorted(name for name, digest in digests.items()
                  if before.get(name) != digest)


def changed_dependencies(root: Path, cache: Path) -> list[str]:
    """The chapters an edited module or data file makes run, longest first.

    The last build recorded, for each chapter, the SHA-256 of every file
    it depends on besides its code (``book_tools.build.dependencies``, in
    the cache's ``STATE_FILE``); a chapter with one of them changed or
    gone runs again, and so does one that depends on ``data/`` when a
    file was added there (such a chapter depends on all of it). Longest
    first, by the last execution times, as the build starts them.
    """
    try:
        state = json.loads((cache / STATE_FILE).read_text())
        known = dict(state["dependencies"])
        seconds = dict(state.get("seconds", {}))
    except (OSError, ValueError, TypeError, KeyError):
        return []
    now: dict[str, str | None] = {}

    # dependencies.file_hash's hash; that module imports myst-nb, which
    # the head start must not wait for.
    def current(name: str) -> str | None:
        if name not in now:
            path = root / name
            now[name] = (hashlib.sha256(path.read_bytes()).hexdigest()
                         if path.is_file() else None)
        return now[name]

    # The data folder, as book_tools.build.dependencies.DATA names it.
    data = {path.relative_to(root).as_posix()
            for path in (root / "data").rglob("*") if path.is_file()}

    def stale(files: dict[str, str]) -> bool:
        loaded = {name for name in files if name.startswith("data/")}
        return (bool(loaded) and loaded != data) or any(
            current(name) != digest for name, digest in files.items())

    # The record is the build's own, but an altered one must not stop the
    # build: the guess is then that no chapter needs an early kernel.
    try:
        changed = [chapter for chapter, files in known.items()
                   if isinstance(files, dict) and stale(files)]
        return sorted(changed, key=lambda chapter: -float(
            seconds.get(str(root / chapter), 0.0)))
    except (OSError, ValueError, TypeError):
        return []


def record(digests: dict[str, str], build: Path) -> None:
    """Keep ``digests`` for the next build (after a successful one)."""
    (build / CODE_FILE).write_text(json.dumps(digests))


@dataclasses.dataclass
class Waiting:
    """A kernel started for a chapter, waiting for its execution."""

    manager: Any  # jupyter_client's AsyncKernelManager
    cwd: str
    folder: tempfile.TemporaryDirectory


WAITING: dict[str, Waiting] = {}  # chapter's absolute path -> its kernel
TAKEN: list[Waiting] = []  # their sockets' folders, removed at the end
# jupyter_client's kernel when a notebook names none, as nbclient starts it.
DEFAULT_KERNEL = "python3"


def kernel_name(text: str) -> str:
    """The kernel a chapter names in its front matter."""
    if not text.startswith("---\n"):
        return DEFAULT_KERNEL
    match = KERNEL_NAME.search(text[4:].split("\n---", 1)[0])
    return match.group(1) if match else DEFAULT_KERNEL


def start(root: Path, chapters: list[str], limit: int) -> None:
    """Start a kernel for each chapter (at most ``limit``), in its folder.

    The same kernel the build would start: the chapter's kernel, Unix
    sockets in a folder of its own, the chapter's folder as the working
    directory. A kernel that fails to start is simply not there: the
    build starts its own and reports any failure.
    """
    from jupyter_client.manager import AsyncKernelManager

    for name in chapters[:limit]:
        path = root / name
        folder = tempfile.TemporaryDirectory(ignore_cleanup_errors=True)
        manager = AsyncKernelManager(
            kernel_name=kernel_name(path.read_text(encoding="utf8")),
            transport="ipc", ip=f"{folder.name}/kernel")
        try:
            asyncio.run(manager.start_kernel(cwd=str(path.parent)))
        except Exception:  # noqa: BLE001 - the build starts its own
            folder.cleanup()
            continue
        WAITING[str(path.absolute())] = Waiting(manager, str(path.parent),
                                                folder)


def take(path: Path, cwd: str, name: str | None) -> Any | None:
    """The kernel manager waiting for ``path``, if it fits, else None.

    It fits if it runs, in ``cwd``, the kernel ``name`` (None: the
    default). The caller shuts it down. One that does not fit waits on
    for ``shut_down``: this runs inside the execution's event loop, where
    a kernel cannot be stopped with a loop of its own.
    """
    waiting = WAITING.get(str(path.absolute()))
    if (waiting is None or waiting.cwd != cwd
            or waiting.manager.kernel_name != (name or DEFAULT_KERNEL)
            or not waiting.manager.has_kernel):
        return None
    TAKEN.append(WAITING.pop(str(path.absolute())))
    return waiting.manager


def stop(waiting: Waiting) -> None:
    """Stop one waiting kernel and remove its sockets' folder."""
    with contextlib.suppress(Exception):  # already gone
        asyncio.run(waiting.manager.shutdown_kernel(now=True))
    waiting.folder.cleanup()


def shut_down() -> list[str]:
    """Stop every kernel no chapter took; return their chapters.

    Also removes the sockets' folders of those taken (their chapters'
    executions have stopped them).
    """
    names = list(WAITING)
    while WAITING:
        stop(WAITING.popitem()[1])
    while TAKEN:
        TAKEN.pop().folder.cleanup()
    return names
