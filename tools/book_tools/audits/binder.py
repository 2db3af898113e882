"""Do what Binder (repo2docker) will do with this repository, here.

1. A fresh virtual environment from ``requirements.txt`` alone, installed
   from the repository's root (``requirements.txt`` ends with ``-e .`` and
   ``-e ./tools``).
2. Every chapter of ``_toc.yml`` that is a notebook (as myst-nb reads it),
   opened through jupytext as Jupyter opens it and executed with its own
   folder as the working directory, as a Jupyter server started by Binder
   runs it.

Prints one line per chapter with its time; exits non-zero if the install
or any chapter fails.

Usage: ``python -m book_tools.audits.binder [--python PYTHON]`` (default:
``python3``), from the project's folder.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Run by the fresh environment's Python: open the chapter through jupytext
# as Jupyter does, then run it with the kernel started in its folder.
RUN_CHAPTER = """
import sys

import jupytext
from nbclient import NotebookClient

folder, name = sys.argv[1], sys.argv[2]
notebook = jupytext.read(f"{folder}/{name}")
NotebookClient(
    notebook, timeout=600, kernel_name="python3",
    resources={"metadata": {"path": folder}},
).execute()
"""


def fresh_environment(root: Path, work: Path, python: str) -> Path:
    """A virtual environment with ``requirements.txt``; its Python."""
    subprocess.run([python, "-m", "venv", str(work / "venv")], check=True)
    venv_python = work / "venv" / "bin" / "python"
    subprocess.run([str(venv_python), "-m", "pip", "install", "--quiet",
                    "--upgrade", "pip"], check=True)
    subprocess.run([str(venv_python), "-m", "pip", "install", "--quiet",
                    "-r", "requirements.txt"], cwd=root, check=True)
    return venv_python


def notebook_chapters(venv_python: Path, root: Path) -> list[str]:
    """The notebook chapters, as the fresh environment's tooling lists them.

    The one answer of the site tooling (myst-nb's own reader), as the
    build and the tests use it, from the installed copy of the tooling.
    """
    listed = subprocess.run(
        [str(venv_python), "-m", "book_tools.project", "notebooks",
         str(root)], check=True, capture_output=True, text=True)
    return listed.stdout.split()


def main(argv: list[str] | None = None) -> int:
    """Install, run every chapter; return 1 if anything failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--python", default="python3",
                        help="the Python that makes the environment")
    args = parser.parse_args(argv)
    root = Path.cwd()
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="binder-check.") as temporary:
        work = Path(temporary)
        print("== fresh virtual environment from requirements.txt alone",
              flush=True)
        venv_python = fresh_environment(root, work, args.python)
        print(f"   installed in {time.monotonic() - start:.0f} s",
              flush=True)
        chapters = notebook_chapters(venv_python, root)
        print(f"== {len(chapters)} notebook chapters", flush=True)
        failed = 0
        for chapter in chapters:
            path = root / chapter
            began = time.monotonic()
            process = subprocess.run(
                [str(venv_python), "-c", RUN_CHAPTER, str(path.parent),
                 path.name], capture_output=True, text=True, check=False)
            status = "ok" if process.returncode == 0 else "FAILED"
            if process.returncode:
                failed = 1
                log = (process.stdout + process.stderr).splitlines()
                print("\n".join(log[-30:]))
            print(f"   {chapter:<40} {status:>6}  "
                  f"{time.monotonic() - began:5.1f} s", flush=True)
    print(f"== total {time.monotonic() - start:.0f} s", flush=True)
    return failed


if __name__ == "__main__":
    sys.exit(main())
