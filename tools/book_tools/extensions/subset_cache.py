"""Font subsets kept between builds: cut again only when their input changes.

Cutting a font is the slowest step left of a build that rereads one page
(the math font about 0.8 s, the icon fonts 0.2 s, profiled on a prose
edit), and its result depends only on the source font, the characters
kept and the code that cuts. ``cached_subset`` keys the bytes on all
three and keeps the last result of each font beside Sphinx's doctrees
(``_build/.doctrees``): a clean build, which deletes that folder, cuts
every font afresh.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path

FOLDER = "font-subsets"


def subset_key(source: bytes, unicodes: Iterable[int], code: Path) -> str:
    """SHA-256 of a source font, the characters kept and the cutting code."""
    sha = hashlib.sha256()
    sha.update(hashlib.sha256(source).digest())
    sha.update(",".join(map(str, sorted(unicodes))).encode())
    sha.update(hashlib.sha256(code.read_bytes()).digest())
    return sha.hexdigest()


def cached_subset(doctrees: Path, name: str, key: str,
                  make: Callable[[], bytes]) -> bytes:
    """The bytes ``make`` gives for ``key``, made once while ``key`` holds.

    ``name`` tells the fonts apart; only the newest subset of each is kept.
    """
    folder = Path(doctrees) / FOLDER
    path = folder / f"{name}.{key}"
    if path.is_file():
        return path.read_bytes()
    data = make()
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"{name}.*"):
        old.unlink()
    # Written under another name first: an interrupted build leaves no
    # half-written subset under the key.
    partial = folder / f"{name}.partial"
    partial.write_bytes(data)
    partial.replace(path)
    return data
