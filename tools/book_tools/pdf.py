"""Print a built edition of the book to one PDF with headless Chromium.

``make pdf`` runs it twice: on ``_build/html`` (the full book, every
solution and hidden code cell opened) and on ``_build/student/html`` (the
problem set, built without solutions)::

    python -m book_tools.pdf _build/html _build/pdf/book.pdf
    python -m book_tools.pdf _build/student/html \\
        _build/pdf/problem-set.pdf --edition "Problem set"

How: the site is served on 127.0.0.1 and Debian's Chromium opens the
landing page. A script in the page replaces the article with the whole book
assembled from the built pages, in the sidebar's (that is ``_toc.yml``'s)
order: a cover, a table of contents, the landing page, then every chapter,
each starting on a new page with its title (parts get a page of their own).
Ids and links are renamed per chapter so that cross-references become links
inside the PDF. Math arrives as MathML from the build;
``book/_static/print.css`` makes it a printed book (no sidebars or buttons,
code wrapped, figures kept whole); the script waits for the site's math font
(``book_tools.extensions.math_font``), which Chromium embeds, and adds
``@page`` rules: no number on the cover, a page number at the foot of every
other page, each chapter's title at the head of its pages (named pages with
margin boxes). DevTools' ``Page.printToPDF``
prints it once with the headings as the PDF's outline (bookmarks); the
outline gives the page on which each chapter and section starts; those
numbers go into the table of contents and the book is printed again.
Nothing leaves the machine: Jupyter Book's own
``pdfhtml`` builder would download a browser, and LaTeX is heavy.
"""

from __future__ import annotations

import argparse
import base64
import io
import re
import sys
import time
from pathlib import Path

from book_tools import browser

# The page whose article is replaced by the book: the landing page, in the
# same folder as every chapter, so the chapters' relative links (images,
# ../_images/...) stay valid.
HOST_PAGE = "book/index.html"
# The site's math font (book_tools.extensions.math_font), embedded in the PDF.
MATH_FAMILY = "Autodiff Book Math"

ASSEMBLE = r"""
const [edition, openAll, MATH_FAMILY] = [arguments[0], arguments[1],
                                          arguments[2]];
const done = arguments[arguments.length - 1];
(async () => {
  document.documentElement.dataset.theme = "light";
  document.documentElement.dataset.mode = "light";
  document.documentElement.classList.add("pdf-book");
  const nav = document.querySelector("nav.bd-docs-nav");
  // The sidebar's entries in order: part captions and chapter links.
  const entries = [{kind: "chapter", href: "index.html", title: ""}];
  for (const el of nav.querySelectorAll("p.caption, li.toctree-l1 > a")) {
    if (el.matches("p.caption")) {
      entries.push({kind: "part", title: el.textContent.trim()});
    } else if (!el.closest(".bd-sidenav__home-link")) {
      entries.push({kind: "chapter", href: el.getAttribute("href"),
                    title: el.textContent.trim()});
    }
  }
  const slug = href => href.replace(/\.html$/, "");
  const chapters = new Set(entries.filter(e => e.kind === "chapter")
    .map(e => slug(e.href)));
  const book = document.createElement("div");
  book.id = "pdf-book";
  const cover = document.createElement("section");
  cover.className = "pdf-cover";
  const siteTitle = document.querySelector(
    ".bd-sidenav__home-link a").textContent.trim();
  const author = (document.querySelector(".component-author") || {})
    .textContent || "";
  const copyright = (document.querySelector(".copyright") || {})
    .textContent || "";
  cover.innerHTML = `<p class="pdf-cover-title"></p>
    <p class="pdf-cover-edition"></p><p class="pdf-cover-author"></p>
    <p class="pdf-cover-copyright"></p>`;
  cover.querySelector(".pdf-cover-title").textContent = siteTitle;
  cover.querySelector(".pdf-cover-edition").textContent = edition;
  cover.querySelector(".pdf-cover-author").textContent = author.trim();
  cover.querySelector(".pdf-cover-copyright").textContent =
    copyright.replace(/\s+/g, " ").trim();
  book.appendChild(cover);
  const toc = document.createElement("nav");
  toc.className = "pdf-toc";
  toc.setAttribute("aria-label", "Contents");
  toc.innerHTML = "<h1 class='pdf-toc-title'>Contents</h1><ol></ol>";
  book.appendChild(toc);
  const tocList = toc.querySelector("ol");
  function tocEntry(level, text, target) {
    const li = document.createElement("li");
    li.className = "pdf-toc-" + level;
    const a = document.createElement("a");
    a.href = "#" + target;
    a.innerHTML = "<span class='pdf-toc-text'></span>"
      + "<span class='pdf-toc-page'></span>";
    a.querySelector(".pdf-toc-text").textContent = text;
    a.dataset.target = target;
    li.appendChild(a);
    tocList.appendChild(li);
  }
  // Text of a heading without its permalink sign.
  function headingText(h) {
    const copy = h.cloneNode(true);
    copy.querySelectorAll(".headerlink").forEach(e => e.remove());
    return copy.textContent.replace(/\s+/g, " ").trim();
  }
  const parser = new DOMParser();
  let partNumber = 0;
  // Page numbers at the foot of every page but the cover's, chapter
  // titles at the head of a chapter's pages (CSS page-margin boxes of
  // named pages). The cover keeps the unnamed page: a named one would
  // start a new page after the page's hidden header.
  const margin = "font: 9pt sans-serif; color: #444;";
  const number = `@bottom-center { content: counter(page); ${margin} }`;
  const pageRules = [`@page pdf-body { ${number} }`];
  toc.style.page = "pdf-body";
  entries.forEach((entry, i) => {
    // A part of numbered chapters gets a title page; the back matter
    // (an unnumbered part) does not.
    const next = entries[i + 1];
    entry.titlePage = entry.kind === "part" && next
      && next.kind === "chapter" && /^\d/.test(next.title);
  });
  for (const entry of entries) {
    if (entry.kind === "part" && !entry.titlePage) {
      continue;
    }
    if (entry.kind === "part") {
      const part = document.createElement("section");
      part.className = "pdf-part";
      part.id = "pdf-part-" + (++partNumber);
      part.innerHTML = "<h1></h1>";
      part.style.page = "pdf-body";
      part.querySelector("h1").textContent = entry.title;
      book.appendChild(part);
      tocEntry("part", entry.title, part.id);
      continue;
    }
    const name = slug(entry.href);
    const response = await fetch(entry.href);
    const page = parser.parseFromString(await response.text(), "text/html");
    const article = page.querySelector("article.bd-article");
    const chapter = document.createElement("section");
    chapter.className = "pdf-chapter";
    chapter.id = "chapter-" + name;
    for (const el of article.querySelectorAll("[id]")) {
      el.id = name + "--" + el.id;
    }
    for (const a of article.querySelectorAll("a[href]")) {
      const href = a.getAttribute("href");
      const match = href.match(/^([\w.-]*?)(?:\.html)?(?:#(.*))?$/);
      if (/^[a-z]+:/i.test(href)) { continue; }  // external: keep
      const target = match && (match[1] === "" ? name : match[1]);
      if (match && chapters.has(target)) {
        a.setAttribute("href", match[2] ? `#${target}--${match[2]}`
                                        : `#chapter-${target}`);
      } else {
        // A page the PDF does not hold (index of terms, search, a
        // download): keep the text, drop the link.
        a.removeAttribute("href");
      }
    }
    for (const img of article.querySelectorAll("img")) {
      img.loading = "eager";
    }
    if (openAll) {
      article.querySelectorAll("details").forEach(d => { d.open = true; });
    }
    while (article.firstChild) { chapter.appendChild(article.firstChild); }
    book.appendChild(chapter);
    const h1 = chapter.querySelector("h1");
    if (entry.href === "index.html") {
      chapter.classList.add("pdf-preface");
      tocEntry("chapter", headingText(h1), chapter.id);
    } else {
      tocEntry("chapter", entry.title || headingText(h1), chapter.id);
    }
    // Its pages are a named page whose header is the chapter's title.
    const pageName = "pdf-page-" + name.replace(/[^\w-]/g, "-");
    chapter.style.page = pageName;
    pageRules.push(`@page ${pageName} { ${number} @top-center { `
      + `content: ${JSON.stringify(entry.title || headingText(h1))}; `
      + `${margin} } }`);
    for (const h2 of chapter.querySelectorAll("section > h2")) {
      tocEntry("section", headingText(h2), h2.parentElement.id);
    }
  }
  const host = document.querySelector("article.bd-article");
  if (window.MathJax && MathJax.typesetClear) { MathJax.typesetClear(); }
  host.replaceChildren(book);
  // Everything else on the page (sidebars, header, footer) is hidden by
  // print.css; MathJax typesets the new content.
  if (window.MathJax && MathJax.startup) {
    await MathJax.startup.promise;
    await MathJax.typesetPromise([book]);
  }
  const pageStyle = document.createElement("style");
  pageStyle.media = "print";
  pageStyle.textContent = pageRules.join("\n");
  document.head.appendChild(pageStyle);
  const loaded = () => Array.from(book.querySelectorAll("img")).every(
    img => img.complete);
  for (let i = 0; i < 200 && !loaded(); i++) {
    await new Promise(r => setTimeout(r, 100));
  }
  // A font is fetched once a laid-out element uses it: lay the book out,
  // then wait for every font it asked for, the math font among them.
  book.getBoundingClientRect();
  const mathFonts = Array.from(document.fonts)
    .filter(f => f.family.replace(/"/g, "") === MATH_FAMILY);
  if (book.querySelector("math")) {
    await Promise.all(mathFonts.map(f => f.load()));
  }
  await document.fonts.ready;
  done({
    chapters: entries.filter(e => e.kind === "chapter").length,
    images: book.querySelectorAll("img").length,
    broken: Array.from(book.querySelectorAll("img"))
      .filter(img => !img.naturalWidth).map(img => img.src),
    mathFont: mathFonts.map(f => f.status),
    untypeset: Array.from(book.querySelectorAll(".math"))
      .filter(el => !el.querySelector("math, mjx-container")).length,
    tocTargets: Array.from(toc.querySelectorAll("a"))
      .map(a => [a.dataset.target, a.textContent]),
  });
})().catch(error => done({error: String(error && error.stack || error)}));
"""

# Fills the table of contents' page numbers: {target id: page number}.
FILL_TOC = """
const pages = arguments[0];
for (const a of document.querySelectorAll(".pdf-toc a")) {
  const page = pages[a.dataset.target];
  a.querySelector(".pdf-toc-page").textContent = page ? String(page) : "";
}
"""

# Every contents entry's target and the text of its heading (math left
# out: the PDF outline names a heading by its text without the math).
TARGETS = """
return Array.from(document.querySelectorAll(".pdf-toc a")).map(a => {
  const box = document.getElementById(a.dataset.target);
  const h = box.querySelector("h1, h2");
  const copy = h.cloneNode(true);
  copy.querySelectorAll("mjx-container, .headerlink").forEach(
    e => e.remove());
  return [a.dataset.target, copy.textContent];
});
"""



def print_pdf(driver) -> bytes:
    """The current page printed by Chromium: A4, its @page rules, outline."""
    result = driver.execute_cdp_cmd("Page.printToPDF", {
        "paperWidth": 8.27, "paperHeight": 11.69,   # A4, in inches
        "marginTop": 0.7, "marginBottom": 0.8,
        "marginLeft": 0.75, "marginRight": 0.75,
        "printBackground": True,
        # Page numbers and running heads are the book's own @page rules.
        "displayHeaderFooter": False,
        "preferCSSPageSize": False,
        "generateTaggedPDF": True,
        "generateDocumentOutline": True,
    })
    return base64.b64decode(result["data"])


def outline(pdf: bytes) -> list[tuple[str, int]]:
    """Every outline entry's title and page (1-based), in document order."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    entries: list[tuple[str, int]] = []

    def walk(items) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                page = reader.get_destination_page_number(item) + 1
                entries.append((item.title, page))

    walk(reader.outline)
    return entries


def key(text: str) -> str:
    """Letters and digits only, lower case: how headings are matched.

    A word repeated right after itself counts once: Chromium's outline
    titles repeat the words of a heading's links and code spans.
    """
    words = text.split()
    kept = [w for i, w in enumerate(words) if i == 0 or w != words[i - 1]]
    return re.sub(r"[\W_]+", "", " ".join(kept)).lower()


def contents_pages(targets: list[list[str]],
                   entries: list[tuple[str, int]]) -> dict[str, int]:
    """The page of each contents entry, found in the PDF's outline.

    Outline titles are the headings' text (Chromium's tagged PDF), at
    times with a repeated section number; entries and headings are in the
    same order, so each is looked for after the previous one's.
    """
    pages: dict[str, int] = {}
    start = 0
    for target, text in targets:
        wanted = key(text)[:16]
        for index in range(start, len(entries)):
            if wanted and key(entries[index][0]).startswith(wanted):
                pages[target] = entries[index][1]
                start = index + 1
                break
    return pages


def make_pdf(html: Path, output: Path, edition: str,
             open_all: bool = True) -> dict:
    """Print the site in ``html`` to ``output``; return facts about it.

    Args:
        html: A built site's root folder (holding ``book/index.html``).
        output: The PDF file to write (its folder is created).
        edition: The edition's name, printed on the cover.
        open_all: Open every collapsed block (solutions, hidden code).
    """
    if not (html / HOST_PAGE).is_file():
        raise FileNotFoundError(
            f"html: no {HOST_PAGE} in {html}; build the site first"
        )
    with browser.serve(html) as base, browser.chromium(1000, 1400) as driver:
        browser.set_color_scheme(driver, "light")
        browser.open_page(driver, base + HOST_PAGE)
        driver.set_script_timeout(300)
        facts = driver.execute_async_script(
            ASSEMBLE, edition, open_all, MATH_FAMILY)
        if "error" in facts:
            raise RuntimeError(f"assembling the book failed: {facts['error']}")
        if facts["mathFont"] != ["loaded"]:
            raise RuntimeError(
                f"the math font {MATH_FAMILY!r} did not load: "
                f"{facts['mathFont']}"
            )
        if facts["broken"] or facts["untypeset"]:
            raise RuntimeError(
                f"images not loaded: {facts['broken']}; "
                f"math left untypeset: {facts['untypeset']} blocks"
            )
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {
            "media": "print",
            "features": [{"name": "prefers-color-scheme", "value": "light"}],
        })
        targets = driver.execute_script(TARGETS)
        entries = outline(print_pdf(driver))
        numbers = contents_pages(targets, entries)
        missing = [text for target, text in targets if target not in numbers]
        if missing:
            raise RuntimeError(f"not in the PDF's outline: {missing}")
        driver.execute_script(FILL_TOC, numbers)
        pdf = print_pdf(driver)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(pdf)
    facts["toc_pages"] = numbers
    return facts


def page_count(pdf: bytes) -> int:
    """The number of pages of a PDF."""
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


def main(argv: list[str] | None = None) -> int:
    """Command line: book_tools.pdf HTML OUTPUT [--edition NAME]."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path, help="a built site's folder")
    parser.add_argument("output", type=Path, help="the PDF to write")
    parser.add_argument("--edition", default="",
                        help="the edition's name on the cover")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    facts = make_pdf(args.html, args.output, args.edition)
    size = args.output.stat().st_size
    pages = page_count(args.output.read_bytes())
    print(f"[make_pdf] {args.output}: {pages} pages, {size / 1e6:.1f} MB, "
          f"{facts['chapters']} chapters, {facts['images']} images, "
          f"{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
