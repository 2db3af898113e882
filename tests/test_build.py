"""The whole book builds strictly, and the strictness really bites."""

from __future__ import annotations

import concurrent.futures
import re
import shutil
import subprocess
import sys

import pytest

from book_tools.project import ROOT, build, copy_project, toc_pages
from tests.book_build import NOTEBOOK_HEADER

pytestmark = pytest.mark.build


def test_every_page_of_the_toc_is_built(built_book):
    html = built_book / "_build" / "html"
    for page in toc_pages():
        assert (html / f"{page}.html").is_file(), page
    assert (html / "index.html").is_file()


def test_no_cell_failed(built_book):
    reports = built_book / "_build" / "html" / "reports"
    failures = sorted(reports.glob("*.log")) if reports.exists() else []
    assert not failures, [log.read_text()[-2000:] for log in failures]


def test_the_toc_lists_only_pages_that_exist():
    for page in toc_pages():
        assert (ROOT / f"{page}.md").is_file(), f"{page}.md is in _toc.yml"


def small_book(tmp_path, page: str) -> tuple:
    """A copy of the project whose toc holds an index and one new page.

    The index is a stub: the real one links to sections of chapters this
    toc leaves out, which would be broken references here.
    """
    project = copy_project(tmp_path / "project")
    (project / "book" / "index.md").write_text("# Probe book\n")
    (project / "book" / "probe.md").write_text(page)
    (project / "_toc.yml").write_text(
        "format: jb-book\nroot: book/index\n"
        "chapters:\n  - file: book/probe\n  - file: book/bibliography\n"
    )
    return project


PROBE_PAGES = {
    "failing cell": NOTEBOOK_HEADER + "# Probe\n"
    + "```{code-cell} ipython3\nraise RuntimeError('probe')\n```\n",
    "broken reference": "# Probe\n\nSee {ref}`no-such-label-anywhere`.\n",
    "healthy": NOTEBOOK_HEADER
    + "# Probe\n```{code-cell} ipython3\n1 + 1\n```\n",
}


@pytest.fixture(scope="module")
def probe_builds(tmp_path_factory) -> dict:
    """Each probe page built strictly in its own small book.

    The three builds are independent (own copy, own cache) and each is
    one Python process with a kernel or Sphinx waiting much of the time:
    they run side by side. Returns probe name -> the finished process.
    """
    projects = {name: small_book(tmp_path_factory.mktemp("probe"), page)
                for name, page in PROBE_PAGES.items()}
    with concurrent.futures.ThreadPoolExecutor(len(projects)) as pool:
        running = {name: pool.submit(build, project)
                   for name, project in projects.items()}
        return {name: job.result() for name, job in running.items()}


def test_a_failing_cell_fails_the_build(probe_builds):
    process = probe_builds["failing cell"]
    assert process.returncode != 0
    # The build names the chapter and its error, then lets Sphinx report
    # it: it does not stop on an error of its own (a missing
    # PageMemory.forget once ended it here with an AttributeError).
    assert re.search(r"done +probe\.md .*FAILED: .*RuntimeError.*: probe",
                     process.stdout), process.stdout[-3000:]
    assert "[build_book] jupyter-book build took" in process.stdout
    assert "Traceback" not in process.stdout + process.stderr


def test_a_broken_cross_reference_fails_the_build(probe_builds):
    process = probe_builds["broken reference"]
    assert process.returncode != 0
    assert re.search(
        r"no-such-label-anywhere", process.stdout + process.stderr
    )


def test_a_healthy_probe_page_builds(probe_builds):
    """The two failures above come from the probes, not from the setup."""
    process = probe_builds["healthy"]
    assert process.returncode == 0, process.stdout[-3000:]


def test_the_site_builds_with_pip_alone(tmp_path, built_book):
    """A clean copy, a venv from requirements.txt only, a plain build.

    No npm and no node_modules: the design's ``jupyter-book build .``
    must give the complete site, math included (MathML, written by the
    build, with the extensions ``_config.yml`` names by module), with zero
    warnings. The chapters' outputs come from the session's build (the
    same code and pins): its execution cache is shared, so this test costs
    an install and a Sphinx run, not every chapter executed once more.
    """
    project = copy_project(tmp_path / "project")
    assert not (project / "node_modules").exists()
    shutil.copytree(built_book / "_build" / ".jupyter_cache",
                    project / "_build" / ".jupyter_cache")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    install = subprocess.run(
        # No byte-compiling of every installed module (torch alone has
        # thousands): the build compiles the few it imports.
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
         "--no-compile", "-r", "requirements.txt"],
        cwd=project, capture_output=True, text=True, timeout=1200,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    process = subprocess.run(
        [str(venv / "bin" / "jupyter-book"), "build", ".", "-W", "-n",
         "--keep-going"],
        cwd=project, capture_output=True, text=True, timeout=1800,
    )
    assert process.returncode == 0, process.stdout[-3000:] + (
        process.stderr[-3000:])
    page = (project / "_build" / "html" / "book" / "momentum-theory.html")
    html = page.read_text()
    assert html.count("<math") > 50
    # No MathJax script: the page needs nothing to typeset in the browser.
    assert re.findall(r"<script[^>]*mathjax[^>]*>", html, re.I) == []
