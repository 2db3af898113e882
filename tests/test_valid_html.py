"""Every page of both editions is valid HTML for the W3C's Nu Html Checker.

The checker (``vnu.jar``, the engine behind validator.w3.org; the npm
package ``vnu-jar`` pinned in package-lock.json) runs on Debian's Java,
once for the whole module: over every HTML file of the session's two
builds, the full book (``built_book``) and the problem-set edition
(``student_edition``), root page, search and index included, and over
probe pages that put back each error the site once had. Errors fail;
warnings are reported (a ``NuCheckerWarning`` in pytest's summary), not
fatal. The probes show that the check fails when such an error returns.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import warnings
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import unquote, urlsplit

import pytest
from sphinx_external_toc.events import ensure_index_file

from book_tools.project import ROOT, toc_pages
from tests.browser_checks import fail_or_skip

VNU = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
INSTALL_HINT = (
    "install Debian's Java: sudo apt-get install default-jre-headless "
    "(or run `make test` as root)"
)
# A short run needs no optimising compiler: the quick one alone halves the
# checker's CPU time here (5.5 s to 2.7 s for both sites); its deeper stack
# frames need more than the 512 KB of stack the checker asks for.
JAVA_OPTIONS = ("-XX:TieredStopAtLevel=1", "-Xss4m")
# Message types that fail (vnu's warnings are "info" with a subType).
FATAL = {"error", "non-document-error"}
# Pages Sphinx writes besides the chapters.
EXTRA_PAGES = ["index.html", "search.html", "genindex.html"]


class NuCheckerWarning(UserWarning):
    """A warning of the Nu Html Checker: reported, not fatal."""




def nu_check(java: str, paths: list[Path]) -> dict[Path, list[dict]]:
    """The checker's messages on each file, from a single run.

    One run for every file: the Java start and the schemas take most of
    the time, a page adds little. Info messages (such as "trailing slash
    on void elements", which is Sphinx's markup) are left out; warnings
    are kept.
    """
    process = subprocess.run(
        [java, *JAVA_OPTIONS, "-jar", str(VNU), "--format", "json", "--stdout",
         "--exit-zero-always", "--skip-info-messages",
         *(str(path) for path in paths)],
        capture_output=True, text=True, timeout=900,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    results: dict[Path, list[dict]] = {path: [] for path in paths}
    for message in json.loads(process.stdout)["messages"]:
        path = Path(unquote(urlsplit(message.get("url", "")).path))
        # A message about no file (the checker itself failed) fails all.
        for key in [path] if path in results else results:
            results[key].append(message)
    return results


def describe(path: Path, message: dict) -> str:
    """One line: file, line, the checker's words and the markup."""
    extract = " ".join(message.get("extract", "").split())
    return (f"{path}:{message.get('lastLine', '?')}: {message['message']} "
            f"[{extract[:100]}]")


def assert_valid(results: dict[Path, list[dict]], root: Path) -> None:
    """Fail with every error of the checker, one line each."""
    found = [
        describe(path.relative_to(root), message)
        for path, messages in results.items() for message in messages
        if message["type"] in FATAL
    ]
    assert not found, (
        f"the Nu Html Checker finds {len(found)} errors:\n"
        + "\n".join(found)
    )


def report_warnings(results: dict[Path, list[dict]], edition: str) -> None:
    """Each kind of warning once, with how often and where it occurs."""
    kinds: Counter[str] = Counter()
    pages: dict[str, set[str]] = {}
    for path, messages in results.items():
        for message in messages:
            if message["type"] not in FATAL:
                kinds[message["message"]] += 1
                pages.setdefault(message["message"], set()).add(path.name)
    for text, count in kinds.most_common():
        warnings.warn(
            f"{edition}: {count} x on {len(pages[text])} pages "
            f"(e.g. {min(pages[text])}): {text}", NuCheckerWarning,
            stacklevel=2,
        )


# --- Probes: a built page with an error of the past put back ----------

def exercise_page(site: Path) -> Path:
    """The first chapter of the full book with two exercises or more."""
    for page in toc_pages():
        path = site / f"{page}.html"
        if path.read_text().count('class="exercise-content') >= 2:
            return path
    raise AssertionError("no chapter has two exercises")


def with_duplicate_ids(page: str) -> str:
    """sphinx-exercise's markup: every exercise's content has one id."""
    div = '<div class="exercise-content docutils container"'
    return page.replace(div, f'{div} id="exercise-content"')


def with_p_in_summary(page: str) -> str:
    """myst-nb's markup: the toggle's labels are paragraphs."""
    return re.sub(r'<span class="(collapsed|expanded) admonition-title">'
                  r"(.*?)</span>", r'<p class="\1 admonition-title">\2</p>',
                  page)


def external_toc_root_page(folder: Path) -> str:
    """The root page sphinx-external-toc itself writes (our fix undone)."""
    folder.mkdir()
    app = SimpleNamespace(
        outdir=str(folder),
        builder=SimpleNamespace(format="html", name="html"),
        config=SimpleNamespace(master_doc="book/index",
                               source_suffix={".md": "myst-nb"}),
    )
    ensure_index_file(app, None)
    return (folder / "index.html").read_text()


def write_probes(site: Path, folder: Path) -> dict[str, Path]:
    """The probe pages, each with the error it should show."""
    page = exercise_page(site).read_text()
    texts = {
        "duplicate-id": with_duplicate_ids(page),
        "p-in-summary": with_p_in_summary(page),
        "root-page": external_toc_root_page(folder / "external-toc"),
    }
    # Each probe differs from the page it comes from.
    assert page != texts["duplicate-id"] and page != texts["p-in-summary"]
    probes = {}
    for name, text in texts.items():
        probes[name] = folder / f"{name}.html"
        probes[name].write_text(text)
    return probes


@pytest.fixture(scope="module")
def checked(built_book, student_edition, tmp_path_factory) -> dict:
    """The checker's messages: edition or probe -> (folder, results)."""
    java = shutil.which("java")
    if java is None:
        fail_or_skip(f"no Java for the Nu Html Checker: {INSTALL_HINT}")
    if not VNU.is_file():
        fail_or_skip("no vnu.jar in node_modules: run `make test` (npm ci)")
    sites = {"book": built_book / "_build" / "html",
             "student": student_edition / "html"}
    folder = tmp_path_factory.mktemp("probes")
    probes = write_probes(sites["book"], folder)
    files = {name: sorted(site.rglob("*.html"))
             for name, site in sites.items()}
    results = nu_check(java, [*sum(files.values(), []), *probes.values()])
    found = {
        name: (sites[name], {path: results[path] for path in paths})
        for name, paths in files.items()
    }
    for name, path in probes.items():
        found[name] = (folder, {path: results[path]})
    return found


@pytest.mark.parametrize("edition", ["book", "student"])
def test_every_page_is_valid_html(checked, edition):
    site, results = checked[edition]
    pages = {path.relative_to(site).as_posix() for path in results}
    assert pages >= {f"{page}.html" for page in toc_pages()} | set(
        EXTRA_PAGES)
    assert_valid(results, site)
    report_warnings(results, edition)


@pytest.mark.parametrize(("probe", "error"), [
    ("duplicate-id", "Duplicate ID “exercise-content”"),
    ("p-in-summary",
     "Element “p” not allowed as child of element “summary”"),
    ("root-page", "Start tag seen without seeing a doctype first"),
    ("root-page", "Element “head” is missing a required instance of child "
                  "element “title”"),
])
def test_an_error_put_back_fails_the_check(checked, probe, error):
    folder, results = checked[probe]
    with pytest.raises(AssertionError, match=re.escape(error)):
        assert_valid(results, folder)


# --- Links to exercises --------------------------------------------------

class Anchors(HTMLParser):
    """The ids of a page (with their element's classes) and its links."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: dict[str, list[str]] = {}
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        attributes = dict(attrs)
        if "id" in attributes:
            self.ids.setdefault(attributes["id"], []).append(
                attributes.get("class") or "")
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])


def test_a_link_to_the_second_exercise_lands_on_it(built_book):
    """Its solution links to it, and the page has that id once."""
    page = exercise_page(built_book / "_build" / "html")
    text = page.read_text()
    anchors = Anchors()
    anchors.feed(text)
    exercises = [name for name, classes in anchors.ids.items()
                 if "exercise" in classes[0].split()]
    assert len(exercises) >= 2, page
    second = exercises[1]
    assert f"#{second}" in anchors.links
    assert anchors.ids[second] == ["exercise admonition"]
    # The block with that id is the second exercise: its number ends in 2.
    block = text.split(f'id="{second}"', 1)[1].split("</p>", 1)[0]
    assert re.search(r"Exercise \d+\.2 ", block), block
    repeated = [name for name, where in anchors.ids.items()
                if len(where) > 1]
    assert repeated == [], repeated


@pytest.mark.parametrize("edition", ["book", "student"])
def test_every_page_declares_the_viewport_once(checked, edition):
    """The checker lets a repeated viewport pass; a chapter had three.

    Sphinx's layout, docutils' metatags and pydata-sphinx-theme each wrote
    one (see book_tools.extensions.site_fixes and _templates/layout.html).
    The root page only sends the reader on, and declares none.
    """
    site, results = checked[edition]
    counts = {
        path.relative_to(site).as_posix():
            len(re.findall(r'<meta name="viewport"', path.read_text()))
        for path in results
    }
    assert counts.pop("index.html") == 0
    assert set(counts.values()) == {1}, counts
