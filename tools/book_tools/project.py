"""The project on disk: its pages, its notebooks, its copies, its build.

One answer to "which pages does ``_toc.yml`` list?" (jupyter-book's own
parser, sphinx-external-toc) and one to "is this page a notebook?"
(myst-nb's own reader: a page is a notebook exactly when myst-nb would read
and execute it as one). The strict build is ``make site``'s command, run in
a copy of the project so that no stale ``_build`` can hide a failure.

Run as ``python -m book_tools.project notebooks [PROJECT]`` it prints the
source file of every notebook chapter, in toc order (for shell scripts).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from myst_nb.core.config import NbParserConfig
from myst_nb.core.read import NbReader, create_nb_reader
from myst_parser.config.main import MdParserConfig
from sphinx_external_toc.parsing import parse_toc_yaml

# tools/book_tools/project.py: the repository is three levels up (the
# package is installed in editable mode, so this is the working tree).
ROOT = Path(__file__).resolve().parents[2]
SOURCE_SUFFIXES = (".ipynb", ".md")
STRICT_FLAGS = ("-W", "-n", "--keep-going")
NOT_COPIED = shutil.ignore_patterns(
    ".venv", "_build", ".git", "__pycache__", ".pytest_cache",
    ".ruff_cache", "*.egg-info", "node_modules", ".ipynb_checkpoints",
)


def toc_pages(project: Path = ROOT, toc: Path | None = None) -> list[str]:
    """Every page the toc lists, root first, without suffix.

    Read with jupyter-book's own parser (sphinx-external-toc), so parts,
    chapters and sections are found exactly as the build finds them.
    ``toc`` defaults to the project's ``_toc.yml``.
    """
    return list(parse_toc_yaml(toc or project / "_toc.yml"))


def page_source(project: Path, page: str) -> Path | None:
    """The source file of a toc page (``.ipynb`` or ``.md``), if any."""
    paths = [project / f"{page}{suffix}" for suffix in SOURCE_SUFFIXES]
    return next((path for path in paths if path.is_file()), None)


def notebook_reader(
    path: Path,
    md_config: MdParserConfig | None = None,
    nb_config: NbParserConfig | None = None,
) -> NbReader | None:
    """myst-nb's reader for ``path``, or None if it is plain Markdown.

    The configurations default to myst-nb's own; the build passes the ones
    jupyter-book derives from ``_config.yml``.
    """
    text = path.read_text(encoding="utf8")
    return create_nb_reader(
        str(path), md_config or MdParserConfig(),
        nb_config or NbParserConfig(), text,
    )


def notebook_pages(project: Path = ROOT) -> list[str]:
    """The toc pages that myst-nb reads (and executes) as notebooks."""
    pages = []
    for page in toc_pages(project):
        path = page_source(project, page)
        if path is not None and notebook_reader(path) is not None:
            pages.append(page)
    return pages


def copy_project(destination: Path, source: Path = ROOT) -> Path:
    """Copy the project's sources (no venv, build, git) to ``destination``."""
    shutil.copytree(source, destination, ignore=NOT_COPIED)
    return destination


def build(
    project: Path, *flags: str, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run the README's strict build in ``project``; return the process.

    That is ``make site``'s command: ``python -m book_tools.build`` in the
    copy, which executes the chapters in parallel, then runs jupyter-book.
    ``env``, if given, replaces the environment variables.
    """
    return subprocess.run(
        [sys.executable, "-m", "book_tools.build", ".", *STRICT_FLAGS,
         *flags],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )


def build_report(process: subprocess.CompletedProcess, project: Path) -> str:
    """The build's output plus every execution error log, for a failure."""
    logs = sorted((project / "_build" / "html" / "reports").glob("*.log"))
    parts = [process.stdout[-6000:], process.stderr[-6000:]]
    parts += [f"--- {log.name}\n{log.read_text()[-3000:]}" for log in logs]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    """``notebooks [PROJECT]``: print each notebook chapter's source file."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] != "notebooks" or len(args) > 2:
        print("usage: python -m book_tools.project notebooks [PROJECT]",
              file=sys.stderr)
        return 2
    project = Path(args[1]) if len(args) > 1 else Path.cwd()
    for page in notebook_pages(project):
        path = page_source(project, page)
        print(path.relative_to(project).as_posix())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
