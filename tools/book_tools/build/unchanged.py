"""Which pages the build need not read again: untouched since it last did.

To know what to execute, the build reads every chapter as myst-nb reads
it, hashes its code to find its cache record, and parses its imports. On
an author's edit of one page, the other pages have not changed since the
last build read them: their file has the same modification time and size
as then, no file of ``src/`` or ``data/`` changed (so their dependencies
did not either), the configuration and the toc are the same bytes, and
the cache record their code matched is still there. Such a page is not
read again: what the build learnt of it last time still holds.

As git does with its index, a file modified within ``RACY_NS`` before the
build looked at it is read again all the same: a second edit in the same
tick of the clock, of the same size, would leave its time and size as
they were.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

# Folders whose files a chapter may depend on besides its own code
# (book_tools.build.dependencies); any change there reads every page.
TREES = ("src", "data")
RACY_NS = 2_000_000_000


def file_stat(path: Path) -> list[int]:
    """Modification time (ns) and size of a file."""
    stat = path.stat()
    return [stat.st_mtime_ns, stat.st_size]


def tree_stats(root: Path) -> dict[str, list[int]]:
    """Relative name -> ``file_stat`` of every file under ``TREES``."""
    stats = {}
    for folder in TREES:
        for directory, subfolders, names in os.walk(root / folder):
            subfolders[:] = [name for name in subfolders
                             if name != "__pycache__"]
            for name in names:
                path = Path(directory, name)
                stats[path.relative_to(root).as_posix()] = file_stat(path)
    return stats


def settings_key(*files: Path) -> str:
    """SHA-256 of the bytes of the files that say how pages are read."""
    sha = hashlib.sha256()
    for path in files:
        sha.update(path.read_bytes() if path.is_file() else b"(missing)")
        sha.update(b"\0")
    return sha.hexdigest()


class PageMemory:
    """What the build learnt of each page source when it last read it.

    Kept in the build's state (``state["read"]``): the settings key, the
    stats of ``TREES``, and per page (relative name) its stat, when that
    was taken, and the pk of the cache record its code matched (None for
    a page that is no chapter).
    """

    def __init__(self, state: dict, root: Path, key: str) -> None:
        self.root = root
        self.checked = time.time_ns()  # before any stat is taken
        self.tree = tree_stats(root)
        memory = state.get("read", {})
        trusted = (memory.get("key") == key
                   and memory.get("tree") == self.tree)
        self.pages: dict = memory.get("pages", {}) if trusted else {}
        self.records: set[int] = set()
        # A file of src/ or data/ changed just before it was looked at:
        # its stat is not trusted next time (see the module's docstring).
        racy = any(mtime >= self.checked - RACY_NS
                   for mtime, _ in self.tree.values())
        state["read"] = {"key": key, "tree": None if racy else self.tree,
                         "pages": self.pages}

    def name(self, path: Path) -> str:
        """A page's name relative to the project."""
        return path.relative_to(self.root).as_posix()

    def unchanged(self, sources: list[Path],
                  records: set[int]) -> dict[Path, int | None]:
        """The sources not to read again -> their record (None: no chapter).

        Forgets the pages no longer among ``sources``.
        """
        self.records = records
        names = {self.name(path): path for path in sources}
        # Taken before any page is read: an edit made while the build
        # reads leaves a newer stat than the one remembered.
        self.stats = {path: file_stat(path) for path in sources}
        for name in set(self.pages) - set(names):
            del self.pages[name]
        result = {}
        for name, path in names.items():
            known = self.pages.get(name)
            if known is None:
                continue
            (mtime, size), record = known["stat"], known["record"]
            if (self.stats[path] == [mtime, size]
                    and mtime < known["checked"] - RACY_NS
                    and (record is None or record in records)):
                result[path] = record
        return result

    def same_code(self, path: Path, code: str) -> int | None:
        """The record of a page read again whose code is as it was then.

        ``code``: the page's ``code_digest``. A prose edit changes the
        file, not the code: its record and its dependencies still hold.
        None if the code changed or the record is gone.
        """
        known = self.pages.get(self.name(path))
        if (known is not None and known.get("code") == code
                and known["record"] in self.records):
            return known["record"]
        return None

    def remember(self, path: Path, record: int | None,
                 code: str | None = None) -> None:
        """``path`` was read by this build; its code (``code_digest``)
        matched ``record``."""
        self.pages[self.name(path)] = {
            "stat": self.stats[path], "checked": self.checked,
            "record": record, "code": code}

    def forget(self, path: Path) -> None:
        """``path`` must be read again next time (its run failed)."""
        self.pages.pop(self.name(path), None)


def code_digest(notebook: Any) -> str:
    """SHA-256 of what a chapter's cache key depends on, and more.

    jupyter-cache hashes the notebook format, its kernelspec and each code
    cell's source and metadata; this digest takes all of the notebook's
    metadata, so equal digests mean equal keys (and equal imports).
    """
    code = [[cell.source, cell.metadata] for cell in notebook.cells
            if cell.cell_type == "code"]
    return hashlib.sha256(json.dumps(
        [notebook.nbformat, notebook.nbformat_minor, notebook.metadata,
         code], sort_keys=True, default=str).encode()).hexdigest()
