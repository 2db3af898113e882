"""Build a copy of the book the way the README does, for the build tests.

The tests never build in the working tree: they copy the project into a
temporary folder (so a stale ``_build`` or cache cannot hide a failure) and
run the same strict command as ``make site`` there.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from sphinx_external_toc.parsing import parse_toc_yaml

ROOT = Path(__file__).resolve().parents[1]
JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")
STRICT_FLAGS = ("-W", "-n", "--keep-going")
NOT_COPIED = shutil.ignore_patterns(
    ".venv", "_build", ".git", "__pycache__", ".pytest_cache",
    ".ruff_cache", "*.egg-info", "node_modules", ".ipynb_checkpoints",
)


NOTEBOOK_HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


def toc_pages(project: Path = ROOT) -> list[str]:
    """Every page ``_toc.yml`` lists, root first, without suffix.

    Read with jupyter-book's own parser (sphinx-external-toc), so parts,
    chapters and sections are found exactly as the build finds them.
    """
    return list(parse_toc_yaml(project / "_toc.yml"))


def copy_project(destination: Path) -> Path:
    """Copy the project's sources (no venv, build, git) to ``destination``."""
    shutil.copytree(ROOT, destination, ignore=NOT_COPIED)
    return destination


def force_execution(project: Path) -> None:
    """Make the copy execute every chapter instead of reading a cache."""
    config = project / "_config.yml"
    text, count = re.subn(
        r"execute_notebooks:\s*\w+", "execute_notebooks: force",
        config.read_text(),
    )
    if count != 1:
        raise AssertionError("_config.yml has no execute_notebooks setting")
    config.write_text(text)


def build(
    project: Path, *flags: str, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run the README's strict build in ``project``; return the process.

    That is ``make site``'s command: ``scripts/build_book.py`` (the copy's
    own), which executes the chapters in parallel, then runs jupyter-book.
    ``env``, if given, replaces the environment variables.
    """
    script = project / "scripts" / "build_book.py"
    return subprocess.run(
        [sys.executable, str(script), ".", *STRICT_FLAGS, *flags],
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
