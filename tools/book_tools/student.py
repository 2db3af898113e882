"""Build the problem-set edition: the book without its solutions.

One source, two editions. The chapters mark what solves a problem with one
mechanism, the pair ``solution-start`` / ``solution-end``:

- sphinx-exercise's gated solutions (``{solution-start}`` ...
  ``{solution-end}`` directives, which may hold code cells) are the
  exercise solutions;
- the same words as MyST comment lines, ``% solution-start`` ...
  ``% solution-end``, mark the chapter text (paragraphs, code cells,
  figures) that solves a problem or gives its answer away.

This script drops every such region from a copy of the project. Code cells
tagged ``starter`` (the skeleton a student completes, the self-check that
follows it, and the few lines of set-up a removed solution used to
provide) are also tagged ``remove-cell`` and ``skip-execution`` in the
chapters, so the full book neither shows nor runs them; here they lose
both tags, so the student site shows and runs them (a self-check then
shows its "not done" verdict; a skeleton that stops at a ``todo(...)``
placeholder is tagged ``raises-exception`` and shows the ``NotDone``
error).

Steps: copy the project to ``_build/student/src`` (keeping that copy's
execution cache), transform the chapters, set ``book_edition: student`` in
the copy's ``_config.yml``, build it strictly with
``python -m book_tools.build`` (the same command and theme as
``make site``), copy the site to
``_build/student/html``, write the chapters as starter notebooks without
outputs to ``_build/student/notebooks/`` (``starter_notebooks(root)``)
plus one zip of them all, and write the publishing folder of both
editions' notebooks, ``_build/publish`` (``book_tools.publish``), where the
launch buttons of both sites point.

Usage: ``python -m book_tools.student [ROOT] [jupyter-book flags]``;
``make student`` runs it with ``-W -n --keep-going``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import yaml

from book_tools import publish
from book_tools.project import NOT_COPIED, notebook_pages, page_source

STUDENT = Path("_build") / "student"
# Where the starter notebooks of the problem-set edition are written (and
# their zip); book_tools.publish copies them to problem-set/ of the
# publishing folder. Read it through ``starter_notebooks(root)``.
STARTER_NOTEBOOKS = STUDENT / "notebooks"
ZIP_NAME = "autodiff-book-problem-set.zip"

# A gated solution, as sphinx-exercise writes it with either fence.
DIRECTIVE_START = re.compile(r"^(:{3,}|`{3,})\{solution-start\}")
DIRECTIVE_END = re.compile(r"^(:{3,}|`{3,})\{solution-end\}")
COMMENT_START = re.compile(r"^%\s*solution-start\b")
COMMENT_END = re.compile(r"^%\s*solution-end\b")
FULL_EDITION_ONLY = ("remove-cell", "skip-execution")
STARTER_TAGS = re.compile(r"^:tags: \[(?=[^\]]*\bstarter\b)([^\]]*)\]\s*$")


class MarkerError(ValueError):
    """A solution region that does not close, or closes twice."""


def drop_solutions(text: str, name: str = "<text>") -> str:
    """``text`` without its solution regions (directives and comments)."""
    lines = text.splitlines(keepends=True)
    kept: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if COMMENT_END.match(line) or DIRECTIVE_END.match(line):
            raise MarkerError(f"{name}:{index + 1}: solution-end without "
                              "a solution-start")
        if COMMENT_START.match(line):
            end = next((k for k in range(index + 1, len(lines))
                        if COMMENT_END.match(lines[k])), None)
            if end is None:
                raise MarkerError(f"{name}:{index + 1}: % solution-start "
                                  "never ends")
            index = end + 1
            continue
        start = DIRECTIVE_START.match(line)
        if start:
            end = next((k for k in range(index + 1, len(lines))
                        if DIRECTIVE_END.match(lines[k])), None)
            if end is None:
                raise MarkerError(f"{name}:{index + 1}: {{solution-start}} "
                                  "never ends")
            # The end directive is closed by its own fence on a later line.
            fence = DIRECTIVE_END.match(lines[end]).group(1)
            close = next((k for k in range(end + 1, len(lines))
                          if lines[k].strip() == fence), end)
            index = close + 1
            continue
        kept.append(line)
        index += 1
    return "".join(kept)


def show_starters(text: str) -> str:
    """Starter cells lose ``remove-cell`` and ``skip-execution``."""
    def retag(match: re.Match) -> str:
        tags = [t.strip() for t in match.group(1).split(",")]
        return ":tags: [" + ", ".join(
            t for t in tags if t not in FULL_EDITION_ONLY) + "]\n"
    return "".join(STARTER_TAGS.sub(retag, line)
                   for line in text.splitlines(keepends=True))


def student_source(text: str, name: str = "<text>") -> str:
    """A chapter's source as the problem-set edition has it."""
    return show_starters(drop_solutions(text, name))


def sync_copy(root: Path, destination: Path) -> None:
    """Make ``destination`` a fresh copy of ``root``, keeping its _build."""
    destination.mkdir(parents=True, exist_ok=True)
    for path in destination.iterdir():
        if path.name == "_build":
            continue
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    shutil.copytree(root, destination, ignore=NOT_COPIED, dirs_exist_ok=True)


def set_edition(project: Path) -> None:
    """The copy's _config.yml: the student edition, titled as such."""
    path = project / "_config.yml"
    config = yaml.safe_load(path.read_text(encoding="utf8"))
    config["title"] = config["title"] + " (problem-set edition)"
    sphinx = config.setdefault("sphinx", {}).setdefault("config", {})
    sphinx["book_edition"] = "student"
    # A guard: should a solution directive ever escape the markers, it is
    # still not rendered.
    sphinx["hide_solutions"] = True
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf8")


def transform(project: Path) -> list[Path]:
    """Rewrite every chapter of the copy; return the notebook chapters."""
    for source in sorted((project / "book").glob("*.md")):
        text = source.read_text(encoding="utf8")
        source.write_text(student_source(text, source.name), encoding="utf8")
    return [page_source(project, page) for page in notebook_pages(project)]


def starter_notebooks(root: Path) -> Path:
    """The folder of the problem-set edition's starter notebooks."""
    return Path(root) / STARTER_NOTEBOOKS


def write_notebooks(chapters: list[Path], folder: Path,
                    project: Path) -> list[Path]:
    """Each transformed chapter as a starter notebook, and one zip.

    The notebooks are the published ones (``book_tools.publish``): no
    outputs, and a first cell that installs the helper package where it is
    missing.
    """
    written = publish.write_edition(
        {chapter.stem: chapter.read_text("utf8") for chapter in chapters},
        folder, "student", project)
    with zipfile.ZipFile(folder / ZIP_NAME, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in written:
            zf.write(path, path.name)
    return written


def main(argv: list[str] | None = None) -> int:
    """Copy, transform, build, publish; return the build's exit status."""
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]).absolute() if args and not args[0].startswith(
        "-") else Path.cwd()
    flags = [a for a in args if a.startswith("-")]
    start = time.perf_counter()
    student = root / STUDENT
    project = student / "src"
    sync_copy(root, project)
    chapters = transform(project)
    set_edition(project)
    status = subprocess.run(
        [sys.executable, "-m", "book_tools.build", ".", *flags],
        cwd=project, check=False).returncode
    if status != 0:
        print("[build_student] the student edition's build failed",
              file=sys.stderr)
        return status
    html = student / "html"
    if html.exists():
        shutil.rmtree(html)
    shutil.copytree(project / "_build" / "html", html)
    folder = starter_notebooks(root)
    notebooks = write_notebooks(chapters, folder, project)
    published = publish.publish(root, folder)
    print(f"[build_student] {html.relative_to(root)}: the site; "
          f"{len(notebooks)} starter notebooks and {ZIP_NAME} in "
          f"{folder.relative_to(root)}; both editions' notebooks in "
          f"{published.relative_to(root)}; "
          f"{time.perf_counter() - start:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
