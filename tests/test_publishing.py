"""Publishing: the notebooks of both editions, their launch buttons, the
workflow.

``book_tools.publish`` writes ``_build/publish`` (both editions'
notebooks, the helper package's wheel, Binder's environment for the
published branch); ``book_tools.extensions.launch_targets`` points every
Binder and Colab button at a notebook there; the workflow
``.github/workflows/publish.yml`` builds and publishes it all. The sites
and the folder come from the session's builds (``built_book``,
``student_edition``); the rest needs no build.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath
from types import SimpleNamespace
from urllib.parse import parse_qs, unquote, urlsplit

import jupytext
import nbformat
import pytest
import yaml

from book_tools import publish
from book_tools import student as build_student
from book_tools.build import __main__ as build_main
from book_tools.extensions import edition_banner
from book_tools.project import ROOT, notebook_pages

WORKFLOW = ROOT / ".github" / "workflows" / "publish.yml"
REPOSITORY, BRANCH = publish.settings(ROOT)
VERSION = publish.package_version(ROOT)
CHAPTERS = publish.chapter_texts(ROOT)


# The addresses, from _config.yml.


def test_the_launch_addresses_follow_from_the_config():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["repository"]["url"] == REPOSITORY
    assert config["sphinx"]["config"]["book_notebooks_branch"] == BRANCH
    org, repo = publish.github_parts(REPOSITORY)
    path = publish.published_path("student", "book/sgd")
    assert path == "problem-set/sgd.ipynb"
    assert publish.binder_url("https://mybinder.org/", REPOSITORY, BRANCH,
                              path) == (
        f"https://mybinder.org/v2/gh/{org}/{repo}/{BRANCH}"
        "?urlpath=tree/problem-set/sgd.ipynb")
    assert publish.colab_url("https://colab.research.google.com",
                             REPOSITORY, BRANCH, path) == (
        f"https://colab.research.google.com/github/{org}/{repo}/blob/"
        f"{BRANCH}/problem-set/sgd.ipynb")
    assert publish.wheel_url(REPOSITORY, BRANCH, VERSION).endswith(
        f"/{org}/{repo}/{BRANCH}/packages/autodiff_book-{VERSION}"
        "-py3-none-any.whl")


@pytest.mark.parametrize("url", [
    "https://gitlab.com/org/repo", "https://github.com/org", "",
])
def test_a_repository_colab_cannot_open_is_refused(url):
    with pytest.raises(publish.PublishError, match="repository.url"):
        publish.github_parts(url)


def test_an_unknown_edition_is_refused():
    with pytest.raises(publish.PublishError, match="edition"):
        publish.published_path("teacher", "book/sgd")


# The notebooks, from the sources.


def notebook(name: str, edition: str) -> nbformat.NotebookNode:
    text = CHAPTERS[name]
    if edition == "student":
        text = build_student.student_source(text, name)
    return publish.chapter_notebook(
        text, edition, publish.wheel_url(REPOSITORY, BRANCH, VERSION),
        VERSION)


@pytest.mark.parametrize("edition", ["full", "student"])
def test_each_notebook_starts_by_installing_the_pinned_package(edition):
    for name in CHAPTERS:
        cells = notebook(name, edition).cells
        first = cells[0]
        assert first.metadata["tags"] == [publish.INSTALL_TAG]
        assert f'!= "{VERSION}"' in first.source
        assert publish.wheel_url(REPOSITORY, BRANCH, VERSION) in first.source
        assert publish.WHEEL_ENV in first.source
        assert all(cell.get("outputs", []) == [] for cell in cells)
        assert not any(publish.GLUE_IMPORT.search(cell.source)
                       for cell in cells if cell.cell_type == "code")


def test_the_full_book_leaves_out_the_starters_the_problem_set_keeps():
    for name in CHAPTERS:
        tags = {edition: [cell.metadata.get("tags", [])
                          for cell in notebook(name, edition).cells]
                for edition in ("full", "student")}
        assert not any("starter" in t for t in tags["full"]), name
    starters = sum("starter" in t for name in CHAPTERS
                   for t in (c.metadata.get("tags", [])
                             for c in notebook(name, "student").cells))
    assert starters == sum(text.count("starter, remove-cell")
                           for text in CHAPTERS.values()) > 0


def run_install_cell(monkeypatch, installed: str | None) -> list:
    """Run the install cell with pip replaced; return pip's calls."""
    calls = []

    def version(name):
        assert name == "autodiff_book"
        if installed is None:
            raise importlib.metadata.PackageNotFoundError(name)
        return installed

    def run(command, **kwargs):
        calls.append(command)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(importlib.metadata, "version", version)
    monkeypatch.setattr(subprocess, "run", run)
    cell = publish.install_cell("https://example.org/w.whl", VERSION)
    exec(cell.source, {})
    return calls


def test_the_install_cell_does_nothing_where_the_version_is_installed(
        monkeypatch):
    assert run_install_cell(monkeypatch, VERSION) == []


@pytest.mark.parametrize("installed", [None, "0.0.1"])
def test_the_install_cell_installs_a_missing_or_other_version(
        monkeypatch, installed):
    monkeypatch.delenv(publish.WHEEL_ENV, raising=False)
    (call,) = run_install_cell(monkeypatch, installed)
    assert call[1:] == ["-m", "pip", "install", "--quiet",
                        "https://example.org/w.whl"]
    monkeypatch.setenv(publish.WHEEL_ENV, "/tmp/local.whl")
    (call,) = run_install_cell(monkeypatch, installed)
    assert call[-1] == "/tmp/local.whl"


def test_the_install_cell_reports_a_failed_install(monkeypatch):
    def run(command, **kwargs):
        return subprocess.CompletedProcess(command, 1, "", "no network")

    monkeypatch.setattr(importlib.metadata, "version",
                        lambda name: "0.0.1")
    monkeypatch.setattr(subprocess, "run", run)
    cell = publish.install_cell("https://example.org/w.whl", VERSION)
    with pytest.raises(RuntimeError, match="no network"):
        exec(cell.source, {})


def test_glue_falls_back_to_showing_the_value_without_myst_nb(monkeypatch):
    shown = []
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # not installed
    import IPython.display
    monkeypatch.setattr(IPython.display, "display", shown.append)
    namespace = {}
    exec(publish.GLUE_FALLBACK, namespace)
    namespace["glue"]("a", 1.5, display=False)
    namespace["glue"]("b", 2.5)
    assert shown == [2.5]


# The workflow.


def test_the_workflow_is_valid_and_a_broken_one_is_not(tmp_path):
    # One run of check-jsonschema (its vendored GitHub-workflow schema) on
    # the workflow and on a copy broken on purpose, the negative control:
    # a job without runs-on is not a workflow.
    workflow = yaml.safe_load(WORKFLOW.read_text())
    del workflow["jobs"]["build"]["runs-on"]
    broken = tmp_path / "broken.yml"
    broken.write_text(yaml.safe_dump(workflow))
    checker = Path(sys.executable).with_name("check-jsonschema")
    process = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.github-workflows",
         str(WORKFLOW), str(broken)], capture_output=True, text=True)
    report = process.stdout + process.stderr
    assert process.returncode == 1, report
    assert f"{broken}::$.jobs.build" in report
    assert "runs-on" in report
    assert WORKFLOW.name not in report


def steps(job: str) -> list[dict]:
    return yaml.safe_load(WORKFLOW.read_text())["jobs"][job]["steps"]


def make_recipe(target: str) -> list[str]:
    """The commands of a Makefile target's recipe."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    start = next(i for i, line in enumerate(lines)
                 if line.startswith(f"{target}:"))
    recipe = []
    for line in lines[start + 1:]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return recipe


def test_the_workflow_builds_with_the_commands_the_tests_run():
    runs = [step.get("run", "") for step in steps("build")]
    assert "make site" in runs and "make student" in runs
    # What those targets run is what the session's fixtures run
    # (tests/conftest.py: book_tools.project.build, book_tools.student).
    assert make_recipe("site") == [
        "$(BIN)/python -m book_tools.build . $(SITE_FLAGS)"]
    assert make_recipe("student") == [
        "$(BIN)/python -m book_tools.student . -W -n --keep-going"]


def test_the_workflow_publishes_where_the_buttons_point():
    (push,) = [step for step in steps("publish-notebooks")
               if step.get("uses", "").startswith("peaceiris/")]
    assert push["with"]["publish_branch"] == BRANCH
    (download,) = [step for step in steps("publish-notebooks")
                   if "download-artifact" in step.get("uses", "")]
    assert push["with"]["publish_dir"] == download["with"]["path"]
    (upload,) = [step for step in steps("build")
                 if "actions/upload-artifact" in step.get("uses", "")]
    assert upload["with"]["path"] == publish.PUBLISH.as_posix()


def test_the_problem_set_site_sits_beside_the_full_book_s_root():
    (layout,) = [step["run"] for step in steps("build")
                 if "_build/pages" in step.get("run", "")]
    match = re.search(r"cp -r _build/student/html _build/pages/(\S+)",
                      layout)
    (student_step,) = [step for step in steps("build")
                       if step.get("run") == "make student"]
    other = student_step["env"][edition_banner.OTHER_URL_ENV]
    # From the problem set's root, the banner's address reaches the root.
    assert PurePosixPath(match[1], other).as_posix().split("/") == [
        match[1], ".."]
    # And the full book's banners reach the problem set's folder.
    (full_step,) = [step for step in steps("build")
                    if step.get("run") == "make site"]
    assert full_step["env"][edition_banner.OTHER_URL_ENV] == match[1]


def test_the_banner_address_comes_from_the_environment(monkeypatch):
    config = SimpleNamespace(book_edition="student",
                             book_edition_other_url="")
    monkeypatch.setenv(edition_banner.OTHER_URL_ENV, "..")
    edition_banner.check_edition(None, config)
    assert config.book_edition_other_url == ".."
    # The config's own address wins over the environment's.
    config.book_edition_other_url = "https://example.org/book"
    edition_banner.check_edition(None, config)
    assert config.book_edition_other_url == "https://example.org/book"
    # And make site's stamp counts the variable among the site's inputs.
    assert edition_banner.OTHER_URL_ENV in build_main.ENVIRONMENT


def test_the_student_copy_names_its_edition_and_branch(tmp_path):
    (tmp_path / "_config.yml").write_text((ROOT / "_config.yml").read_text())
    build_student.set_edition(tmp_path)
    config = yaml.safe_load((tmp_path / "_config.yml").read_text())
    assert config["sphinx"]["config"]["book_edition"] == "student"
    assert config["sphinx"]["config"]["book_notebooks_branch"] == BRANCH


# The builds: every launch button names a notebook the build produced.


def launch_links(html: Path) -> dict[str, list[str]]:
    """The Binder and Colab links of each page of a site, by page."""
    links = {}
    for path in sorted((html / "book").glob("*.html")):
        menu = re.search(r'<div class="dropdown dropdown-launch-buttons">'
                         r'(.*?)</ul>', path.read_text("utf8"), re.DOTALL)
        if menu:
            links[f"book/{path.stem}"] = [
                href.replace("&amp;", "&")
                for href in re.findall(r'href="([^"]*)"', menu[1])]
    return links


def target(link: str) -> tuple[str, str]:
    """``(branch, path)`` that a Binder or Colab link opens."""
    parts = urlsplit(link)
    org, repo = publish.github_parts(REPOSITORY)
    if parts.netloc == "mybinder.org":
        prefix = f"/v2/gh/{org}/{repo}/"
        assert parts.path.startswith(prefix), link
        (urlpath,) = parse_qs(parts.query)["urlpath"]
        assert urlpath.startswith("tree/"), link
        return parts.path.removeprefix(prefix), urlpath.removeprefix("tree/")
    prefix = f"/github/{org}/{repo}/blob/"
    assert parts.path.startswith(prefix), link
    branch, path = unquote(parts.path.removeprefix(prefix)).split("/", 1)
    return branch, path


@pytest.fixture(scope="session")
def published(student_edition) -> Path:
    """The publishing folder the problem-set build wrote."""
    return student_edition.parent / "publish"


@pytest.mark.parametrize("edition", ["full", "student"])
def test_every_launch_opens_a_notebook_the_build_produced(
        edition, built_book, student_edition, published):
    html = (built_book / "_build/html" if edition == "full"
            else student_edition / "html")
    links = launch_links(html)
    assert sorted(links) == sorted(notebook_pages(ROOT))
    folder = publish.FOLDERS[edition]
    for page, found in links.items():
        name = PurePosixPath(page).name
        hosts = sorted(urlsplit(link).netloc for link in found)
        assert hosts == ["colab.research.google.com", "mybinder.org"], page
        for link in found:
            assert target(link) == (BRANCH, f"{folder}/{name}.ipynb"), link
            assert (published / folder / f"{name}.ipynb").is_file(), link
    produced = sorted(p.name for p in (published / folder).glob("*.ipynb"))
    assert produced == sorted(f"{PurePosixPath(page).name}.ipynb"
                              for page in links)


def solution_cells() -> dict[str, list[str]]:
    """Per chapter, the code cells the problem-set edition drops."""
    dropped = {}
    for name, text in CHAPTERS.items():
        full = {cell.source for cell in jupytext.reads(text, "md:myst").cells
                if cell.cell_type == "code" and cell.source.strip()}
        student = {cell.source for cell in jupytext.reads(
            build_student.student_source(text, name), "md:myst").cells}
        dropped[name] = sorted(full - student)
    return dropped


def test_no_student_launch_target_holds_a_solution(published,
                                                   student_edition):
    dropped = solution_cells()
    assert sum(map(len, dropped.values())) >= 10   # the control
    starters = build_student.starter_notebooks(student_edition.parent.parent)
    for path in sorted((published / "problem-set").glob("*.ipynb")):
        text = path.read_text("utf8")
        cells = nbformat.reads(text, as_version=4).cells
        sources = [cell.source.replace(publish.GLUE_FALLBACK,
                                       "from myst_nb import glue")
                   for cell in cells]
        for solution in dropped[path.stem]:
            assert solution not in sources, (path.name, solution[:80])
        assert "solution-start" not in text and "{solution" not in text
        # The same notebooks as make student's starter notebooks.
        assert text == (starters / path.name).read_text("utf8")
    # The full book's notebooks do hold them: the check can fail.
    full = (published / "book" / "sgd.ipynb").read_text("utf8")
    assert any(solution.splitlines()[0] in full
               for solution in dropped["sgd"])


def test_the_starter_notebooks_are_where_student_py_says(student_edition):
    folder = build_student.starter_notebooks(student_edition.parent.parent)
    assert folder == student_edition / "notebooks"
    assert len(list(folder.glob("*.ipynb"))) == len(CHAPTERS)


def test_the_published_branch_has_binder_s_environment(published):
    wheel = published / "packages" / publish.wheel_name(VERSION)
    assert wheel.is_file()
    with zipfile.ZipFile(wheel) as zipped:
        names = set(zipped.namelist())
    assert {"autodiff_book/dataset/X.pt",
            "autodiff_book/dataset/y.pt"} <= names
    pins = publish.requirement_pins(published / "binder/requirements.txt")
    book = publish.requirement_pins(ROOT / "requirements.txt")
    assert pins["torch"] == f"{book['torch']}+cpu"
    assert {name: pins[name] for name in publish.BINDER_PACKAGES} == {
        name: book[name] for name in publish.BINDER_PACKAGES}
    post_build = published / "binder" / "postBuild"
    assert os.access(post_build, os.X_OK)
    assert f"packages/{wheel.name}" in post_build.read_text()
