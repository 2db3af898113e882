"""The launch button, followed the way Binder follows it.

The repository's ``binder/`` sets up ``make lab`` and a Binder of the
source branch: the same pins as ``requirements.txt`` but the CPU-only
torch wheel, and ``binder/postBuild`` to open the ``.md`` chapters as
notebooks. The sites' launch buttons open the published notebooks instead
(``book_tools.publish``: ``urlpath=tree/book/<chapter>.ipynb`` from the full
book, ``tree/problem-set/<chapter>.ipynb`` from the problem-set edition, on
the notebooks branch). Here the publishing folder the session's build
wrote is served by the Jupyter front end Binder serves (Notebook 7, in
``.venv``), opened in headless Chromium at each edition's launch path; a
full chapter's first cell runs, and the problem set shows its starter.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import nbformat
import pytest

from book_tools import browser
from book_tools.project import ROOT

BINDER = ROOT / "binder"
CHAPTER = "book/momentum"
# A chapter that poses problem 1.1, with its self-check.
STARTER_CHAPTER = "book/derivatives"


def requirement_pins(path: Path) -> dict[str, str]:
    """``{package: version}`` of the ``name==version`` lines of a file."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", line)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_binder_installs_the_book_requirements_with_the_cpu_torch():
    lines = [
        line.split("#", 1)[0].strip()
        for line in (BINDER / "requirements.txt").read_text().splitlines()
    ]
    assert "-r ../requirements.txt" in lines
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    book_torch = requirement_pins(ROOT / "requirements.txt")["torch"]
    binder_torch = requirement_pins(BINDER / "requirements.txt")["torch"]
    # The same release, as its CPU build; every other pin comes from the
    # root file itself, so the two cannot drift apart.
    assert binder_torch == f"{book_torch}+cpu"
    assert set(requirement_pins(BINDER / "requirements.txt")) == {"torch"}


def test_binder_python_satisfies_the_package():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    pyproject = (ROOT / "pyproject.toml").read_text()
    (lowest,) = re.findall(r'requires-python = ">=(\d+\.\d+)"', pyproject)
    assert runtime == f"python-{lowest}"


def test_post_build_makes_notebooks_the_default_view(tmp_path):
    subprocess.run(
        ["bash", str(BINDER / "postBuild")],
        env={**os.environ, "NB_PYTHON_PREFIX": str(tmp_path)},
        check=True,
    )
    installed = tmp_path / "share/jupyter/lab/settings/overrides.json"
    assert installed.read_bytes() == (BINDER / "overrides.json").read_bytes()


def test_post_build_refuses_to_guess_the_environment():
    environment = {
        key: value
        for key, value in os.environ.items()
        if key != "NB_PYTHON_PREFIX"
    }
    process = subprocess.run(
        ["bash", str(BINDER / "postBuild")],
        env=environment,
        capture_output=True,
        text=True,
    )
    assert process.returncode != 0
    assert "NB_PYTHON_PREFIX must name the Jupyter environment" in (
        process.stderr
    )


def launch_path(html_folder: Path, page: str) -> str:
    """The ``urlpath`` that the page's Binder button hands to Jupyter."""
    html = (html_folder / f"{page}.html").read_text()
    (link,) = set(re.findall(r'href="([^"]*urlpath=[^"]*)"', html))
    (path,) = parse_qs(urlsplit(link.replace("&amp;", "&")).query)["urlpath"]
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def jupyter_server(student_edition):
    """Notebook 7 serving the published notebooks (the branch Binder
    launches) on 127.0.0.1."""
    jupyter = Path(sys.executable).with_name("jupyter")
    if shutil.which(str(jupyter)) is None:
        pytest.fail(f"no {jupyter}: run make test, which installs it")
    port, token = free_port(), secrets.token_hex(16)
    server = subprocess.Popen(
        [
            str(jupyter), "notebook", "--no-browser", "--allow-root",
            "--ip=127.0.0.1", f"--port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={student_edition.parent / 'publish'}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}api/status?token={token}")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    pytest.fail(f"no Jupyter server: {server.stderr.read()}")
                time.sleep(0.5)
        yield base, token
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def driver():
    if browser.find_browser() is None:
        pytest.fail(browser.INSTALL_HINT)
    with browser.chromium() as chromium:
        yield chromium


def open_notebook(driver, base: str, token: str, path: str, published: Path):
    """Open a launch path; wait for every code cell; the cells."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    notebook = nbformat.read(published / path.removeprefix("tree/"),
                             as_version=4)
    code_cells = [cell for cell in notebook.cells
                  if cell.cell_type == "code"]
    driver.get(f"{base}{path}?token={token}")
    wait = WebDriverWait(driver, 120, poll_frequency=0.5)

    def all_code_cells(driver):
        found = driver.find_elements(By.CSS_SELECTOR, ".jp-CodeCell")
        return found if len(found) == len(code_cells) else False

    cells = wait.until(all_code_cells)
    assert driver.find_elements(By.CSS_SELECTOR, ".jp-FileEditor") == []
    return cells, code_cells, wait


def test_the_full_book_s_launch_opens_its_notebook_that_runs(
    built_book, student_edition, jupyter_server, driver
):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    base, token = jupyter_server
    path = launch_path(built_book / "_build/html", CHAPTER)
    assert path == f"tree/book/{Path(CHAPTER).name}.ipynb"
    cells, _, wait = open_notebook(driver, base, token, path,
                                   student_edition.parent / "publish")
    # Run the first code cell, the package's install cell: here (as on
    # Binder) the package is installed, so it does nothing and says
    # nothing. The kernel numbers the cell when it has run.
    cells[0].find_element(By.CSS_SELECTOR, ".jp-InputArea-editor").click()
    ActionChains(driver).key_down(Keys.SHIFT).send_keys(
        Keys.ENTER
    ).key_up(Keys.SHIFT).perform()
    prompt = cells[0].find_element(By.CSS_SELECTOR, ".jp-InputPrompt")
    wait.until(lambda _: prompt.text.strip() == "[1]:")
    outputs = cells[0].find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output")
    assert [output.text for output in outputs] == []


def test_a_problem_set_launch_opens_the_starter_notebook(
    student_edition, jupyter_server, driver
):
    from selenium.webdriver.common.by import By

    base, token = jupyter_server
    path = launch_path(student_edition / "html", STARTER_CHAPTER)
    assert path == f"tree/problem-set/{Path(STARTER_CHAPTER).name}.ipynb"
    cells, code_cells, _ = open_notebook(driver, base, token, path,
                                         student_edition.parent / "publish")
    (index,) = [i for i, cell in enumerate(code_cells)
                if "check.problem_1_1(" in cell.source]
    driver.execute_script("arguments[0].scrollIntoView()", cells[index])
    editor = cells[index].find_element(By.CSS_SELECTOR, ".cm-content")
    assert "check.problem_1_1(" in editor.text
