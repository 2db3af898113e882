"""The built site in a real browser: every page, as a reader gets it.

The site of the session's strict build (``built_book``) is served on
127.0.0.1 and opened in headless Chromium. Each page of the table of
contents, plus the home redirect, the search page and the index, must load
with no console error, no failed request and no request leaving 127.0.0.1;
show every image with alt text; typeset every equation (MathJax is served by
the site itself); pass axe-core with zero violations (light and dark mode,
desktop and phone width); keep every image readable on the dark background;
carry a title, a meta description and a favicon. The site's search finds
each chapter; each notebook chapter offers .md and .ipynb downloads and a
Binder button built from the repository setting.

Without Chromium these tests skip on a contributor's machine with a message
saying how to install it; under CI (``CI=true``) they fail instead.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.request
from urllib.parse import quote, urljoin, urlsplit

import pytest
import yaml

from book_tools import browser
from book_tools.project import ROOT, notebook_pages, toc_pages

CHAPTERS = toc_pages()
# Pages Sphinx writes besides the chapters: the root redirect, search, index.
EXTRA_PAGES = ["index.html", "search.html", "genindex.html"]
PAGES = [f"{page}.html" for page in CHAPTERS] + EXTRA_PAGES
# The layouts axe-core checks: (colour scheme, device).
VIEWS = [("light", "desktop"), ("dark", "desktop"), ("light", "phone")]
# A term a chapter teaches, and the chapter the search must put first (the
# site's search ranks a page whose title is the query above all others).
# Only the chapters that are in the table of contents are checked.
TAUGHT_TERMS = [
    ("momentum", "book/momentum"),
    ("references", "book/bibliography"),
]
TERM_CASES = [case for case in TAUGHT_TERMS if case[1] in CHAPTERS]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


NOTEBOOKS = notebook_pages()
RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\\begin\{|\\frac|\\partial")


def fail_or_skip(reason: str) -> None:
    """Skip on a contributor's machine; fail under CI, which must run."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def site(built_book):
    """Base URL of the built site, served on 127.0.0.1 for the session."""
    html = built_book / "_build" / "html"
    with browser.serve(html) as base:
        yield base


@pytest.fixture(scope="session")
def chrome():
    """One headless Chromium for the session (skips or fails if absent)."""
    if browser.find_browser() is None:
        fail_or_skip(f"no Chromium and chromedriver: {browser.INSTALL_HINT}")
    if not browser.AXE_JS.is_file():
        fail_or_skip("no axe-core in node_modules: run `make test` (npm ci)")
    with browser.chromium() as driver:
        yield driver


@pytest.fixture(scope="session")
def reports(site, chrome):
    """What each page shows in each colour scheme, measured once."""
    cache = {}

    def report(page: str, scheme: str = "light", device: str = "desktop"):
        if (page, scheme, device) not in cache:
            browser.set_color_scheme(chrome, scheme)
            browser.set_device(chrome, device)
            cache[page, scheme, device] = browser.page_report(
                chrome, site + page
            )
        return cache[page, scheme, device]

    return report


def test_the_site_has_exactly_the_pages_tested(built_book):
    """No page of the built site escapes these tests (nor is invented)."""
    html = built_book / "_build" / "html"
    assert sorted(browser.site_pages(html)) == sorted(PAGES)


@pytest.mark.parametrize("page", PAGES)
def test_no_console_error(reports, page):
    assert reports(page)["console_errors"] == []


@pytest.mark.parametrize("page", PAGES)
def test_every_request_is_local_and_succeeds(reports, page):
    report = reports(page)
    assert report["requests"] > 0
    assert report["foreign"] == []
    assert report["failed"] == []


@pytest.mark.parametrize("page", PAGES)
def test_every_image_loads_and_has_alt_text(reports, page):
    for image in reports(page)["images"]:
        assert image["loaded"], image["src"]
        assert (image["alt"] or "").strip(), image["src"]


@pytest.mark.parametrize("page", PAGES)
def test_every_equation_is_typeset(reports, page):
    report = reports(page)
    assert report["untypeset"] == []
    assert RAW_TEX.findall(report["visible_text"]) == []


def test_the_site_typesets_equations_with_its_own_mathjax(reports):
    """The check above is not vacuous: the chapters do show math."""
    typeset = {page: reports(page)["typeset"] for page in PAGES}
    assert sum(typeset.values()) > 0, typeset
    for page in PAGES:
        for script in reports(page)["mathjax_scripts"]:
            assert urlsplit(script).hostname == "127.0.0.1", script


@pytest.mark.parametrize(("scheme", "device"), VIEWS)
@pytest.mark.parametrize("page", PAGES)
def test_axe_finds_no_violation(reports, page, scheme, device):
    assert reports(page, scheme, device)["axe"] == []


@pytest.mark.parametrize("page", PAGES)
def test_images_stay_readable_in_dark_mode(reports, page):
    """Content images are opaque or sit on a light background."""
    report = reports(page, "dark")
    assert report["theme"] == "dark"
    for image in report["images"]:
        if image["content"]:
            assert image["readable_on_dark"], image["src"]


@pytest.mark.parametrize("page", PAGES)
def test_title_description_and_favicon(reports, page, site):
    report = reports(page)
    book_title = yaml.safe_load((ROOT / "_config.yml").read_text())["title"]
    assert book_title in report["title"]
    assert report["title"].count(book_title) == 1
    assert len(report["description"]) >= 50, report["description"]
    assert report["favicon"], "no <link rel=icon>"
    icon = urljoin(report["url"], report["favicon"])
    with urllib.request.urlopen(icon, timeout=10) as response:
        assert response.status == 200
        assert response.read(200).lstrip().startswith(b"<svg")


@pytest.mark.parametrize("page", CHAPTERS[1:])
def test_search_finds_each_chapter_by_its_title(site, chrome, reports, page):
    title = reports(f"{page}.html")["heading"]
    assert title
    assert_ranked_first(search(chrome, site, title), f"{page}.html")


@pytest.mark.parametrize(("term", "page"), TERM_CASES)
def test_search_finds_the_chapter_that_teaches_a_term(
    site, chrome, term, page
):
    assert_ranked_first(search(chrome, site, term), f"{page}.html")


def assert_ranked_first(results: dict[str, int], page: str) -> None:
    """``page`` is found with the best score (ties share the first rank)."""
    assert page in results, results
    assert results[page] == max(results.values()), results


def search(driver, site: str, query: str) -> dict[str, int]:
    """Pages the site's own search finds for ``query``, with their scores."""
    browser.set_color_scheme(driver, "light")
    browser.set_device(driver, "desktop")
    driver.get(f"{site}search.html?q={quote(query)}")
    deadline = time.monotonic() + 20
    summary = ""
    while time.monotonic() < deadline:
        summary = driver.execute_script(
            "const s = document.querySelector('#search-results "
            ".search-summary'); return s ? s.textContent : '';"
        )
        if "found" in summary or "did not match" in summary:
            break
        time.sleep(0.1)
    assert "found" in summary or "did not match" in summary, summary
    links = driver.execute_script(
        "return Array.from(document.querySelectorAll("
        "'#search-results ul.search > li > a')).map("
        "a => [a.href, Number(a.dataset.score)]);"
    )
    results = {}
    for link, score in links:
        page = urlsplit(link).path.removeprefix("/")
        results[page] = max(score, results.get(page, score))
    return results


@pytest.mark.parametrize("page", NOTEBOOKS)
def test_chapter_downloads_as_md_and_ipynb(reports, page):
    """The theme's download button offers the source and the notebook."""
    links = reports(f"{page}.html")["downloads"]
    suffixes = {urlsplit(link).path.rsplit(".", 1)[-1] for link in links}
    assert {"md", "ipynb"} <= suffixes, links
    for link in links:
        with urllib.request.urlopen(link, timeout=10) as response:
            assert response.status == 200, link
            body = response.read()
        if link.endswith(".ipynb"):
            assert json.loads(body)["cells"], link
        if link.endswith(".md"):
            assert body == (ROOT / f"{page}.md").read_bytes(), link


@pytest.mark.parametrize("page", NOTEBOOKS)
def test_binder_button_opens_the_chapter(reports, page):
    """Launch buttons follow the single repository setting of _config.yml."""
    repository = urlsplit(CONFIG["repository"]["url"]).path.strip("/")
    expected = (
        f"{CONFIG['launch_buttons']['binderhub_url']}/v2/gh/{repository}/"
        f"{CONFIG['repository']['branch']}?urlpath=tree/{page}.md"
    )
    assert expected in reports(f"{page}.html")["binder"]
