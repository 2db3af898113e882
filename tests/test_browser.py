"""The built site in a real browser: every page, as a reader gets it.

The site of the session's strict build (``built_book``) is served on
127.0.0.1 and opened in headless Chromium. Each page of the table of
contents, plus the home redirect, the search page and the index, must load
with no console error, no failed request and no request leaving 127.0.0.1;
show every image with alt text; show every equation as MathML written at
build time (no raw TeX, no MathJax, nothing a browser must typeset); load
no FontAwesome script and only the cut-down icon fonts, and stay within
the page-weight budget of issue 11 (450 KB gzipped before the reader
scrolls); pass axe-core with zero violations (light and dark mode,
desktop and phone width); keep every image readable on the dark background;
carry a title, a meta description and a favicon. The site's search finds
each chapter; each notebook chapter offers .md and .ipynb downloads and a
Binder button built from the repository setting.

Without Chromium these tests skip on a contributor's machine with a message
saying how to install it; under CI (``CI=true``) they fail instead.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from urllib.parse import quote, urljoin, urlsplit

import pytest
import yaml

from book_tools import browser
from book_tools.project import ROOT, notebook_pages, toc_pages
from tests.browser_checks import require_chromium

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


# Facts about the open page that the shared page report does not give:
# its math, its icons and the bytes it loaded before any scroll.
MATH_AND_WEIGHT = """
const maths = Array.from(document.querySelectorAll("math"));
const untypeset = Array.from(document.querySelectorAll(".math"))
  .filter(el => !el.querySelector("math"))
  .map(el => el.textContent.trim().slice(0, 80));
const tex = maths.filter(m => /\\\\[a-zA-Z]/.test(m.textContent)
    || m.querySelector("merror"))
  .map(m => m.getAttribute("alttext"));
const notLaidOut = maths.filter(m => m.getClientRects().length
    && !getComputedStyle(m).display.includes("math"))
  .map(m => m.getAttribute("alttext"));
const icons = Array.from(document.querySelectorAll(
    ".bd-header-article i[class*='fa-'], .article-header-buttons "
    + "i[class*='fa-']"))
  .filter(i => i.getClientRects().length)
  .map(i => ({cls: i.className, width: i.getBoundingClientRect().width,
              font: getComputedStyle(i, "::before").fontFamily}));
const fonts = Array.from(document.fonts)
  .filter(f => f.family.includes("Font Awesome"))
  .map(f => f.family + " " + f.weight + " " + f.status);
const below = new Set(Array.from(document.images)
  .filter(img => img.getBoundingClientRect().top > window.innerHeight)
  .map(img => img.currentSrc || img.src));
const entries = [...performance.getEntriesByType("navigation"),
                 ...performance.getEntriesByType("resource")];
const weight = entries.filter(e => !below.has(e.name))
  .reduce((sum, e) => sum + e.transferSize, 0);
const style = getComputedStyle(document.querySelector("article p")
    || document.body);
// Each matrix between fences: the shorter fence over the matrix's height;
// each sum sign's box, displayed or inline; the site's math font.
const box = e => e.getBoundingClientRect();
const matrices = Array.from(document.querySelectorAll("math mtable"))
  .filter(t => t.getClientRects().length && t.previousElementSibling
    && t.previousElementSibling.localName === "mo"
    && "([{|".includes(t.previousElementSibling.textContent.trim()))
  .map(t => [t.closest("math").getAttribute("alttext"),
             Math.min(box(t.previousElementSibling).height,
                      box(t.nextElementSibling).height) / box(t).height]);
const sums = Array.from(document.querySelectorAll("math mo"))
  .filter(o => o.textContent.trim() === "\u2211" && o.getClientRects().length)
  .map(o => [o.closest("math").getAttribute("display") === "block",
             box(o).height]);
const mathFont = Array.from(document.fonts)
  .filter(f => f.family.replace(/"/g, "") === "Autodiff Book Math")
  .map(f => f.status);
return {
  matrices: matrices,
  sums: sums,
  math_font: mathFont,
  math_font_family: maths.length
    ? getComputedStyle(maths[0]).fontFamily : "",
  mathml: maths.length,
  untypeset_math: untypeset,
  tex_in_math: tex,
  math_not_laid_out: notLaidOut,
  fraction_heights: Array.from(document.querySelectorAll("math mfrac"))
    .filter(f => f.getClientRects().length
      && f.closest("math").getAttribute("display") === "block")
    .map(f => f.getBoundingClientRect().height),
  line_height: parseFloat(style.fontSize),
  fontawesome_scripts: Array.from(document.scripts).map(s => s.src)
    .filter(src => /fontawesome/i.test(src)),
  icons: icons,
  icon_fonts: fonts,
  icon_fonts_loaded: fonts.some(f => f.endsWith("loaded")),
  weight_kb: Math.round(weight / 1000),
};
"""


@pytest.fixture(scope="session")
def site(built_book):
    """Base URL of the built site, served on 127.0.0.1 for the session."""
    html = built_book / "_build" / "html"
    # Text gzipped, as every static host serves it (the page weights).
    with browser.serve(html, compress=True) as base:
        yield base


@pytest.fixture(scope="session")
def chrome():
    """One headless Chromium for the session (skips or fails if absent)."""
    require_chromium()
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
            report = browser.page_report(chrome, site + page)
            # The page is still open: what this module checks besides.
            report.update(chrome.execute_script(MATH_AND_WEIGHT))
            cache[page, scheme, device] = report
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
    """Every formula is MathML the browser lays out; none is left as TeX."""
    report = reports(page)
    assert report["untypeset_math"] == []
    assert report["tex_in_math"] == []
    assert report["math_not_laid_out"] == []
    assert RAW_TEX.findall(report["visible_text"]) == []


def test_the_site_shows_equations_as_mathml_without_a_script(reports):
    """The check above is not vacuous, and no page needs MathJax."""
    shown = {page: reports(page)["mathml"] for page in PAGES}
    assert sum(shown.values()) > 0, shown
    assert shown["book/momentum.html"] > 0
    for page in PAGES:
        assert reports(page)["mathjax_scripts"] == [], page
        assert reports(page)["typeset"] == 0, page


def test_the_site_draws_math_with_its_own_font(reports):
    """Pages with math load the site's math font; others never do."""
    for page in PAGES:
        report = reports(page)
        if report["mathml"]:
            assert report["math_font"] == ["loaded"], page
            assert report["math_font_family"].startswith(
                '"Autodiff Book Math"'), page
        else:
            assert report["math_font"] in ([], ["unloaded"]), page


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_matrix_brackets_stretch_to_the_matrix(reports, device):
    """Every fenced matrix's brackets are at least 90 % of its height."""
    matrices = [m for page in PAGES
                for m in reports(page, device=device)["matrices"]]
    # Every fenced matrix the chapters write is measured, none missed.
    written = sum(
        len(re.findall(r"\\begin\{[pbvBV]matrix\}",
                       (ROOT / page).with_suffix(".md").read_text("utf8")))
        for page in NOTEBOOKS
    )
    assert written >= 1
    assert len(matrices) == written
    short = [(tex, round(ratio, 2)) for tex, ratio in matrices
             if ratio < 0.9]
    assert not short


def test_a_displayed_sum_is_larger_than_an_inline_one(reports):
    """A displayed sum sign is drawn from a larger glyph (MATH table)."""
    sums = [s for page in PAGES for s in reports(page)["sums"]]
    shown = [height for display, height in sums if display]
    inline = [height for display, height in sums if not display]
    assert shown and inline
    assert min(shown) > 1.3 * max(inline), (shown, inline)


def test_a_fraction_is_drawn_as_a_fraction(reports):
    """Chromium lays out MathML itself: a fraction is taller than a line."""
    heights = reports("book/momentum.html")["fraction_heights"]
    assert heights, "no fraction on the momentum page"
    assert min(heights) > 1.3 * reports("book/momentum.html")["line_height"]


@pytest.mark.parametrize("page", PAGES)
def test_icons_without_fontawesome_script(reports, page):
    """The header's icons are drawn by the cut-down icon font."""
    report = reports(page)
    assert report["fontawesome_scripts"] == []
    icons = report["icons"]
    assert icons, "no icon on the page"
    for icon in icons:
        assert icon["width"] > 0, icon
        assert icon["font"].startswith('"Font Awesome 6'), icon
    assert report["icon_fonts_loaded"], report["icon_fonts"]


def test_icon_fonts_hold_only_the_glyphs_in_use(built_book):
    fonts = (built_book / "_build" / "html" / "_static" / "vendor"
             / "fontawesome" / "webfonts")
    sizes = {path.name: path.stat().st_size for path in fonts.iterdir()}
    assert "fa-solid-900.woff2" in sizes, sizes
    for name, size in sizes.items():
        assert 0 < size < 10_000, (name, size)


@pytest.mark.parametrize("page", [f"{page}.html" for page in CHAPTERS])
def test_page_weight_before_scrolling(reports, page):
    """At most 450 KB (gzip) before the reader scrolls (issue 11).

    The page, its scripts, styles and fonts, and the images of the first
    screen; figures further down load lazily, when the reader nears them.
    """
    assert reports(page, "light", "phone")["weight_kb"] <= 450


# The layout shifts of a page load, as Lighthouse's CLS adds them up
# (shifts right after input excluded); buffered entries arrive on a task.
LAYOUT_SHIFTS = """
const done = arguments[arguments.length - 1];
let total = 0;
new PerformanceObserver(list => {
  for (const entry of list.getEntries()) {
    if (!entry.hadRecentInput) total += entry.value;
  }
}).observe({type: "layout-shift", buffered: true});
setTimeout(() => done(total), 200);
"""


@pytest.mark.parametrize("page", PAGES)
def test_the_text_does_not_jump_while_the_page_loads(site, chrome, page):
    """Cumulative layout shift under 0.01 at desktop width (issue 21).

    Lighthouse counts a shift against mobile performance; Chromium shows
    it here without throttling. Code cells off the first screen are laid
    out lazily (``content-visibility``): before the opening cells were
    exempted, 8 pages shifted by 0.009 to 0.066, the engine chapter's
    cost it 3-8 points on Lighthouse mobile.
    """
    browser.set_color_scheme(chrome, "light")
    browser.set_device(chrome, "desktop")
    chrome.get(site + page)
    assert chrome.execute_async_script(LAYOUT_SHIFTS) < 0.01


# A script tag in the head, and the attributes that let parsing go on.
HEAD_SCRIPT = re.compile(r"<script\b([^>]*)\bsrc=\"([^\"]+)\"")
STYLE_SHEET = re.compile(r"<link\b[^>]*rel=\"stylesheet\"[^>]*>")


@pytest.mark.parametrize("page", [f"{page}.html" for page in CHAPTERS])
def test_only_style_sheets_hold_back_the_first_paint(built_book, page):
    """Every script file of a chapter's head is deferred (or async), but
    the tiny documentation_options.js that inline scripts use; Sphinx's
    search scripts and index stay on the search page; print.css waits for
    print (issue 11: a phone drew no text for seconds)."""
    html = (built_book / "_build" / "html" / page).read_text()
    head = html[:html.index("</head>")]
    scripts = HEAD_SCRIPT.findall(head)
    assert scripts, "no script in the head"
    blocking = [src for attributes, src in scripts
                if "defer" not in attributes and "async" not in attributes]
    assert [src.split("?")[0] for src in blocking] == [
        "../_static/documentation_options.js"]
    names = [src.split("?")[0].rsplit("/", 1)[-1] for _, src in scripts]
    assert not {"searchtools.js", "language_data.js",
                "searchindex.js"} & set(names), names
    print_sheets = [link for link in STYLE_SHEET.findall(head)
                    if "print.css" in link]
    assert len(print_sheets) == 1 and 'media="print"' in print_sheets[0]


def test_the_theme_style_sheet_keeps_only_the_icons_in_use(built_book):
    """FontAwesome's table of ~1,900 icon rules is cut to the icons the
    pages show (the icons themselves are checked on every page above)."""
    css = (built_book / "_build" / "html" / "_static" / "styles"
           / "pydata-sphinx-theme.css").read_text()
    icon_rules = re.findall(r"\.fa-[\w-]+:+before\{content:", css)
    assert 10 <= len(icon_rules) <= 100, len(icon_rules)
    assert "sourceMappingURL" not in css


def test_search_from_a_chapter_page(site, chrome):
    """A chapter page, without Sphinx's search scripts, still searches:
    Ctrl+K opens the theme's dialog, Enter lands on the results."""
    browser.set_color_scheme(chrome, "light")
    browser.set_device(chrome, "desktop")
    chrome.get(f"{site}book/sgd.html")
    chrome.execute_script(
        "document.dispatchEvent(new KeyboardEvent('keydown', "
        "{key: 'k', ctrlKey: true, bubbles: true}));")
    field = chrome.switch_to.active_element
    assert field.get_attribute("name") == "q", field.get_attribute("outerHTML")
    field.send_keys("DataLoader\n")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and "search.html" not in (
            chrome.current_url):
        time.sleep(0.1)
    assert "search.html?q=DataLoader" in chrome.current_url
    assert_ranked_first(search_results(chrome), "book/sgd.html")


LOGOS = ("logo_binder.svg", "logo_colab.png")
LOADED_LOGOS = """
return performance.getEntriesByType("resource")
    .map(entry => entry.name.split("/").pop())
    .filter(name => name.startsWith("logo_")).sort();
"""


def test_the_launch_logos_load_when_the_menu_opens(site):
    """The launch menu's Binder and Colab logos (7.6 KB for Colab's PNG)
    are not fetched with the page, only when a reader opens the menu
    (``_templates/macros/buttons.html``), and then they show."""
    from selenium.webdriver.common.by import By

    require_chromium()
    # A browser of its own: the session's has loaded every image of every
    # page (page_report forces them), and Chromium takes an image already
    # in its memory cache at once, lazy or not.
    with browser.chromium() as chrome:
        chrome.get(f"{site}book/derivatives.html")
        chrome.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "document.fonts.ready.then(() => setTimeout(done, 1000));")
        assert chrome.execute_script(LOADED_LOGOS) == []
        chrome.find_element(
            By.CSS_SELECTOR,
            "button[aria-label='Launch interactive content']").click()
        deadline = time.monotonic() + 10
        while (time.monotonic() < deadline
               and chrome.execute_script(LOADED_LOGOS) != sorted(LOGOS)):
            time.sleep(0.1)
        assert chrome.execute_script(LOADED_LOGOS) == sorted(LOGOS)
        shown = chrome.execute_script(
            "return [...document.querySelectorAll("
            "'.dropdown-launch-buttons img')]"
            ".map(img => img.complete && img.naturalWidth > 0);")
        assert shown == [True, True]

@pytest.mark.parametrize("page", [f"{page}.html" for page in CHAPTERS])
def test_figures_load_lazily(built_book, page):
    html = (built_book / "_build" / "html" / page).read_text()
    article = html[html.index("<article"):html.index("</article>")]
    images = re.findall(r"<img [^>]*>", article)
    assert all('loading="lazy"' in image for image in images), images


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
    return search_results(driver)


def search_results(driver) -> dict[str, int]:
    """The pages on the open search page, with their scores."""
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
    """Launch buttons follow the repository setting of _config.yml: the
    chapter's published notebook (book_tools.publish; tests/test_publishing
    follows every button of both editions)."""
    repository = urlsplit(CONFIG["repository"]["url"]).path.strip("/")
    branch = CONFIG["sphinx"]["config"]["book_notebooks_branch"]
    expected = (
        f"{CONFIG['launch_buttons']['binderhub_url']}/v2/gh/{repository}/"
        f"{branch}?urlpath=tree/book/{page.rsplit('/', 1)[-1]}.ipynb"
    )
    assert expected in reports(f"{page}.html")["binder"]
