"""The notebooks of both editions, in a folder meant for publishing.

A launch button (Binder, Colab) needs a notebook at an address: Colab
opens ``.ipynb`` files only, and the problem-set edition must open the
starter notebook, not the chapter with its solutions. As d2l and QuantEcon
do, the build writes the notebooks into a folder of their own,
``_build/publish``, which the workflow ``.github/workflows/publish.yml``
pushes to a branch of the book's repository (``book_notebooks_branch``
under ``sphinx: config:`` in ``_config.yml``; the repository is
``repository.url``). Its layout::

    book/<chapter>.ipynb          the full book's chapters
    problem-set/<chapter>.ipynb   the problem-set edition's starter notebooks
    packages/autodiff_book-<version>-py3-none-any.whl
                                  the helper package, its data set inside
    binder/                       Binder's environment for this branch
    README.md

``book_tools.extensions.launch_targets`` points each page's launch buttons
at ``published_path(edition, page)`` on that branch.

Every notebook starts with a cell that installs the helper package, pinned
to the version of the page, when it is missing (Colab has torch, numpy,
matplotlib and scikit-learn, but no checkout of the repository): from the
published wheel, or from ``$AUTODIFF_BOOK_WHEEL`` when that is set (the
tests, which have no network). On Binder (``binder/postBuild`` installs the
wheel) and with ``make lab`` (an editable install) the package is there,
and the cell does nothing. Chapters import myst-nb's ``glue``, which only
the build needs: in the notebooks that import falls back to a function that
shows the value (Colab has no myst-nb).

``python -m book_tools.student`` (``make student``) writes this folder
after building the problem-set edition; ``python -m book_tools.publish
[ROOT]`` writes it alone (both editions come from the sources; no build).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import jupytext
import nbformat
import yaml

from book_tools.project import notebook_pages, page_source

PUBLISH = Path("_build") / "publish"
# The folder of each edition's notebooks in the published tree.
FOLDERS = {"full": "book", "student": "problem-set"}
PACKAGES = "packages"
PACKAGE = "autodiff_book"
# Where the install cell takes the package from instead of the published
# wheel (a path or a file URL): the tests set it, having no network.
WHEEL_ENV = "AUTODIFF_BOOK_WHEEL"
INSTALL_TAG = "install-package"
RAW_GITHUB = "https://raw.githubusercontent.com"
DEFAULT_BRANCH = "notebooks"
# What Binder installs on the notebooks branch besides the wheel: the
# book's pins of these (requirements.txt), torch as binder/'s CPU wheel.
BINDER_PACKAGES = ("numpy", "matplotlib", "scikit-learn", "ipykernel")

GLUE_IMPORT = re.compile(r"^from myst_nb import glue[ \t]*$", re.MULTILINE)
GLUE_FALLBACK = '''\
try:
    from myst_nb import glue
except ModuleNotFoundError:  # no myst-nb (Colab): glue shows the value
    from IPython.display import display as _display

    def glue(name, variable, display=True):
        if display:
            _display(variable)'''

INSTALL_SOURCE = '''\
# The book's helper package autodiff_book {version} and its data set: on
# Colab (no checkout of the book), pip installs them; where they are
# installed already (Binder, make lab) this cell does nothing.
from importlib import metadata

try:
    _installed = metadata.version("{package}")
except metadata.PackageNotFoundError:
    _installed = None
if _installed != "{version}":
    import importlib
    import os
    import subprocess
    import sys

    _wheel = os.environ.get(
        "{env}",
        "{url}",
    )
    _pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", _wheel],
        capture_output=True, text=True,
    )
    if _pip.returncode != 0:
        raise RuntimeError("pip could not install " + _wheel + ":\\n"
                           + _pip.stderr)
    importlib.invalidate_caches()'''


class PublishError(ValueError):
    """A publishing setting of ``_config.yml`` that cannot work."""


def github_parts(repository_url: str) -> tuple[str, str]:
    """``(org, repo)`` of a ``https://github.com/ORG/REPO`` address."""
    parts = urlsplit(repository_url)
    path = [p for p in parts.path.split("/") if p]
    if parts.netloc != "github.com" or len(path) < 2:
        raise PublishError(
            f"repository.url must be https://github.com/ORG/REPO (Colab "
            f"and the published notebooks need GitHub), got "
            f"{repository_url!r}")
    return path[0], path[1].removesuffix(".git")


def settings(project: Path) -> tuple[str, str]:
    """``(repository url, notebooks branch)`` from ``_config.yml``."""
    config = yaml.safe_load((project / "_config.yml").read_text("utf8"))
    url = (config.get("repository") or {}).get("url", "")
    sphinx = (config.get("sphinx") or {}).get("config") or {}
    branch = sphinx.get("book_notebooks_branch", DEFAULT_BRANCH)
    github_parts(url)
    return url, branch


def published_path(edition: str, page: str) -> str:
    """Where a page's notebook is in the published tree, e.g.
    ``problem-set/sgd.ipynb`` for page ``book/sgd`` of the student edition.
    """
    if edition not in FOLDERS:
        raise PublishError(f"edition must be one of {sorted(FOLDERS)}, "
                           f"got {edition!r}")
    return f"{FOLDERS[edition]}/{PurePosixPath(page).name}.ipynb"


def binder_url(binderhub: str, repository_url: str, branch: str,
               path: str) -> str:
    """The Binder launch of ``path`` on ``branch`` (the classic tree/)."""
    org, repo = github_parts(repository_url)
    return (f"{binderhub.rstrip('/')}/v2/gh/{org}/{repo}/{branch}"
            f"?urlpath=tree/{path}")


def colab_url(colab: str, repository_url: str, branch: str,
              path: str) -> str:
    """Colab's address of the ``.ipynb`` at ``path`` on ``branch``."""
    org, repo = github_parts(repository_url)
    return f"{colab.rstrip('/')}/github/{org}/{repo}/blob/{branch}/{path}"


def package_version(project: Path) -> str:
    """The helper package's version, from ``pyproject.toml``."""
    data = tomllib.loads((project / "pyproject.toml").read_text("utf8"))
    return data["project"]["version"]


def wheel_name(version: str) -> str:
    """The file name pip gives the helper package's wheel."""
    return f"{PACKAGE}-{version}-py3-none-any.whl"


def wheel_url(repository_url: str, branch: str, version: str) -> str:
    """Where the published wheel is downloaded from (GitHub's raw files)."""
    org, repo = github_parts(repository_url)
    return (f"{RAW_GITHUB}/{org}/{repo}/{branch}/{PACKAGES}/"
            f"{wheel_name(version)}")


def install_cell(url: str, version: str) -> nbformat.NotebookNode:
    """The first cell of every published notebook (see the docstring)."""
    source = INSTALL_SOURCE.format(version=version, package=PACKAGE,
                                   env=WHEEL_ENV, url=url)
    return nbformat.v4.new_code_cell(source, metadata={"tags": [INSTALL_TAG]})


def chapter_notebook(text: str, edition: str, url: str,
                     version: str) -> nbformat.NotebookNode:
    """A MyST chapter (already in ``edition``'s form) as a notebook.

    No outputs; the install cell first; the glue import with its fallback;
    the full book leaves out the starter cells, which it neither shows nor
    runs.
    """
    if edition not in FOLDERS:
        raise PublishError(f"edition must be one of {sorted(FOLDERS)}, "
                           f"got {edition!r}")
    notebook = jupytext.reads(text, fmt="md:myst")
    cells = []
    for cell in notebook.cells:
        tags = cell.metadata.get("tags", [])
        if edition == "full" and "starter" in tags:
            continue
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.source = GLUE_IMPORT.sub(GLUE_FALLBACK, cell.source)
        cells.append(cell)
    notebook.cells = [install_cell(url, version), *cells]
    # jupytext's pairing with the .md file means nothing without it.
    notebook.metadata.pop("jupytext", None)
    nbformat.validate(notebook)
    return notebook


def write_edition(chapters: dict[str, str], folder: Path, edition: str,
                  project: Path) -> list[Path]:
    """Each chapter (name: MyST text) as a notebook in ``folder``, emptied
    first; ``project`` gives the repository, branch and version."""
    repository, branch = settings(project)
    version = package_version(project)
    url = wheel_url(repository, branch, version)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    written = []
    for name, text in chapters.items():
        notebook = chapter_notebook(text, edition, url, version)
        path = folder / f"{name}.ipynb"
        nbformat.write(notebook, path)
        written.append(path)
    return written


def chapter_texts(project: Path) -> dict[str, str]:
    """The notebook chapters' MyST sources, by name, in toc order."""
    paths = [page_source(project, page) for page in notebook_pages(project)]
    return {path.stem: path.read_text("utf8") for path in paths}


def requirement_pins(path: Path) -> dict[str, str]:
    """``{package: version}`` of the ``name==version`` lines of a file."""
    pins = {}
    for line in path.read_text("utf8").splitlines():
        line = line.split("#", 1)[0].strip()
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", line)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def write_binder(project: Path, folder: Path, version: str) -> None:
    """Binder's environment for the published branch: pins and the wheel."""
    book = requirement_pins(project / "requirements.txt")
    torch = requirement_pins(project / "binder" / "requirements.txt")["torch"]
    binder = folder / "binder"
    binder.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Written by book_tools.publish: the book's pins "
        "(requirements.txt),",
        "# torch as the CPU wheel, as binder/requirements.txt has it.",
        "--extra-index-url https://download.pytorch.org/whl/cpu",
        f"torch=={torch}",
        *(f"{name}=={book[name]}" for name in BINDER_PACKAGES),
    ]
    (binder / "requirements.txt").write_text("\n".join(lines) + "\n")
    shutil.copy(project / "binder" / "runtime.txt", binder / "runtime.txt")
    post_build = binder / "postBuild"
    post_build.write_text(
        "#!/usr/bin/env bash\n"
        "# Written by book_tools.publish: the book's helper package and its\n"
        "# data set, from the wheel published beside the notebooks.\n"
        "set -euo pipefail\n"
        'here="$(cd "$(dirname "$0")" && pwd)"\n'
        'prefix="${NB_PYTHON_PREFIX:?NB_PYTHON_PREFIX must name the '
        'Jupyter environment}"\n'
        '"$prefix/bin/python" -m pip install --no-deps --no-cache-dir '
        f'"$here/../{PACKAGES}/{wheel_name(version)}"\n')
    post_build.chmod(0o755)


# What the helper package's wheel is built from (pyproject.toml names
# README.md as its long description).
WHEEL_SOURCES = ("pyproject.toml", "README.md", "src", "data")


def build_wheel(project: Path, folder: Path) -> Path:
    """The helper package's wheel (data set inside) into ``folder``.

    Built from a copy of its sources, so that setuptools' ``build/`` lands
    in no working tree, with the environment's own setuptools (pinned in
    requirements.txt): no build environment to fetch, no network.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "package"
        source.mkdir()
        for name in WHEEL_SOURCES:
            if (project / name).is_dir():
                shutil.copytree(project / name, source / name,
                                ignore=shutil.ignore_patterns(
                                    "__pycache__", "*.egg-info"))
            else:
                shutil.copy(project / name, source / name)
        process = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
             "--no-build-isolation", "--wheel-dir", str(folder),
             str(source)],
            capture_output=True, text=True)
    if process.returncode != 0:
        raise PublishError(f"pip could not build the wheel:\n"
                           f"{process.stderr[-3000:]}")
    path = folder / wheel_name(package_version(project))
    if not path.is_file():
        raise PublishError(f"pip wheel wrote no {path.name} in {folder}")
    return path


README = """\
# The notebooks of *{title}*

Written by `book_tools.publish` and pushed here by the book's workflow
(`.github/workflows/publish.yml`); do not edit. The sources are on the
`{source_branch}` branch of {repository}.

- `book/`: the full book's chapters, solutions included.
- `problem-set/`: the problem-set edition's starter notebooks.
- `{packages}/`: the helper package `autodiff_book` {version}, with its data
  set; each notebook's first cell installs it where it is missing (Colab).
- `binder/`: Binder's environment for this branch.
"""


def publish(project: Path, student_notebooks: Path | None = None) -> Path:
    """Write ``project``'s publishing folder; return it.

    ``student_notebooks`` is the folder of starter notebooks the
    problem-set build wrote (``book_tools.student``); without it they are
    made here from the sources.
    """
    folder = project / PUBLISH
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    chapters = chapter_texts(project)
    write_edition(chapters, folder / FOLDERS["full"], "full", project)
    target = folder / FOLDERS["student"]
    if student_notebooks is None:
        # The student edition's transformation, applied to the sources.
        from book_tools.student import student_source
        write_edition({name: student_source(text, name)
                       for name, text in chapters.items()},
                      target, "student", project)
    else:
        shutil.copytree(student_notebooks, target,
                        ignore=shutil.ignore_patterns("*.zip"))
    version = package_version(project)
    build_wheel(project, folder / PACKAGES)
    write_binder(project, folder, version)
    repository, _ = settings(project)
    config = yaml.safe_load((project / "_config.yml").read_text("utf8"))
    (folder / "README.md").write_text(README.format(
        title=config["title"], repository=repository,
        source_branch=(config.get("repository") or {}).get("branch", "main"),
        packages=PACKAGES, version=version))
    return folder


def main(argv: list[str] | None = None) -> int:
    """``python -m book_tools.publish [ROOT]``: write the folder."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or (args and args[0].startswith("-")):
        print("usage: python -m book_tools.publish [ROOT]", file=sys.stderr)
        return 2
    root = Path(args[0]).absolute() if args else Path.cwd()
    folder = publish(root)
    print(f"[publish] {folder.relative_to(root)}: the notebooks of both "
          "editions, the wheel and Binder's environment", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
