"""`make pdf`: the full book and the problem set, printed by Chromium.

Both PDFs are made once per session by ``python -m book_tools.pdf`` from the
session's strict build (``built_book``) and from a student edition of it;
their text (pypdf) and the boxes of their characters (pypdfium2) are
checked. Without Chromium the tests skip (fail under ``CI=true``), as the
browser tests do.
"""

from __future__ import annotations

import html as html_lib
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from book_tools.project import toc_pages
from tests.browser_checks import fail_or_skip, require_chromium

pytestmark = pytest.mark.build

# The margins book_tools.pdf asks Chromium for, in points.
LEFT_MARGIN, RIGHT_MARGIN = 0.75 * 72, 0.75 * 72
# How far a glyph may reach past the margin: a few letters draw past their
# own advance by design (the body font's J hooks 1.7 pt to the left of a
# line that starts with it, "Jacobian" after a hyphen). A line that does
# not fit overshoots by far more than this.
OVERHANG = 2.0


def make_pdfs(jobs: dict[str, tuple[Path, Path, str]]) -> dict[str, Path]:
    """Run book_tools.pdf as `make pdf` does, all jobs at once.

    ``jobs``: name -> (site, output, edition). Each job is a Chromium of
    its own; they run side by side (on two cores, the two PDFs of a
    session take about the time of the longer one instead of the sum).
    Returns name -> the PDF.
    """
    processes = {
        name: subprocess.Popen(
            [sys.executable, "-m", "book_tools.pdf", str(site),
             str(output), "--edition", edition],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for name, (site, output, edition) in jobs.items()
    }
    for process in processes.values():
        output, _ = process.communicate(timeout=900)
        assert process.returncode == 0, output
    return {name: output for name, (_, output, _) in jobs.items()}


@pytest.fixture(scope="session")
def sites(built_book, student_edition) -> dict[str, Path]:
    """The two built sites: "book" (full) and "problem-set" (student)."""
    return {
        "book": built_book / "_build" / "html",
        "problem-set": student_edition / "html",
    }


@pytest.fixture(scope="session")
def pdfs(sites, tmp_path_factory) -> dict[str, Path]:
    """Both PDFs, printed once per session."""
    require_chromium(axe=False)
    folder = tmp_path_factory.mktemp("pdf")
    return make_pdfs({
        "book": (sites["book"], folder / "book.pdf",
                 "The full book, with solutions"),
        "problem-set": (sites["problem-set"], folder / "problem-set.pdf",
                        "Problem set"),
    })


def page_texts(pdf: Path) -> list[str]:
    """The text of every page, as pypdf extracts it."""
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(pdf).pages]


def squeeze(text: str) -> str:
    """Text without whitespace or ligatures: immune to line wrapping."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def tag_texts(page: str, pattern: str) -> list[str]:
    """The plain text of every match of ``pattern`` in an HTML page."""
    found = re.findall(pattern, page, flags=re.S)
    return [html_lib.unescape(re.sub(r"<[^>]+>", "", f)) for f in found]


def chapter_titles(site: Path) -> list[str]:
    """Every toc page's title (h1, permalink sign dropped)."""
    titles = []
    for page in toc_pages():
        text = (site / f"{page}.html").read_text()
        # The article's h1 (with its section number), not the theme's
        # print-only header.
        (h1,) = tag_texts(
            text, r'<h1>((?:(?!</h1>).)*?)<a class="headerlink"')[:1]
        titles.append(" ".join(h1.replace("#", "").split()))
    return titles


EDITIONS = ["book", "problem-set"]


@pytest.mark.parametrize("edition", EDITIONS)
def test_the_pdf_has_pages(pdfs, edition):
    from pypdf import PdfReader

    reader = PdfReader(pdfs[edition])
    assert len(reader.pages) > 2 * len(toc_pages())
    # A4 portrait: 210 mm by 297 mm is 595.3 by 841.9 points (Chromium
    # rounds to whole points).
    box = reader.pages[0].mediabox
    assert float(box.width) == pytest.approx(595.3, abs=1)
    assert float(box.height) == pytest.approx(841.9, abs=1)


@pytest.mark.parametrize("edition", EDITIONS)
def test_every_chapter_starts_a_page_at_its_contents_entry(
        pdfs, sites, edition):
    """Each chapter title is in the contents with the page it starts on."""
    pages = page_texts(pdfs[edition])
    titles = chapter_titles(sites[edition])
    # The contents: from page 2 to the page before the landing page's.
    end = next(index for index, page in enumerate(pages)
               if index > 0 and squeeze(page).startswith(squeeze(titles[0])))
    contents = unicodedata.normalize("NFKC", "\n".join(pages[1:end]))
    for title in titles:
        # The title, then its page number at the end of the line.
        words = r"\s+".join(re.escape(word) for word in title.split())
        match = re.search(words + r"\s*(\d+)\s*$", contents, flags=re.M)
        assert match, f"{title!r} is not in the contents"
        number = int(match.group(1))
        # The title is on that page.
        assert squeeze(title) in squeeze(pages[number - 1]), (title, number)


@pytest.mark.parametrize("edition", EDITIONS)
def test_the_outline_holds_every_chapter(pdfs, sites, edition):
    from pypdf import PdfReader

    def titles(items) -> list[str]:
        out = []
        for item in items:
            out += titles(item) if isinstance(item, list) else [item.title]
        return out

    outline = {squeeze(t) for t in titles(PdfReader(pdfs[edition]).outline)}
    for title in chapter_titles(sites[edition]):
        assert squeeze(title) in outline, title


@pytest.mark.parametrize("edition", EDITIONS)
def test_the_math_is_typeset(pdfs, edition):
    text = "".join(page_texts(pdfs[edition]))
    for tex in ("\\(", "\\[", "\\frac", "\\begin{", "$$"):
        assert tex not in text, tex


def solution_paragraphs(site: Path) -> list[str]:
    """Plain paragraphs (no math, no code) of every solution."""
    paragraphs = []
    for page in toc_pages():
        text = (site / f"{page}.html").read_text()
        for block in re.findall(
                r'<div class="solution[^"]*"[^>]*>(.*?)\n</div>', text,
                flags=re.S):
            for p in re.findall(r"<p>(.*?)</p>", block, flags=re.S):
                if "math" in p or "<code" in p:
                    continue
                plain = html_lib.unescape(re.sub(r"<[^>]+>", "", p))
                if len(squeeze(plain)) >= 40:
                    paragraphs.append(plain)
    return paragraphs


def test_the_problem_set_holds_no_solution(pdfs, sites):
    book = squeeze("".join(page_texts(pdfs["book"])))
    problems = squeeze("".join(page_texts(pdfs["problem-set"])))
    paragraphs = solution_paragraphs(sites["book"])
    assert len(paragraphs) >= len(toc_pages()) // 2
    for paragraph in paragraphs:
        assert squeeze(paragraph) in book, paragraph
        assert squeeze(paragraph) not in problems, paragraph
    assert "Solutionto" in book
    assert "Solutionto" not in problems
    # Glued answers are pasted into solutions; the problem set's site has
    # no solution block at all, so none of them can be printed.
    for page in toc_pages():
        text = (sites["problem-set"] / f"{page}.html").read_text()
        assert 'class="solution' not in text, page
    # Both editions keep every exercise.
    exercises = []
    for page in toc_pages():
        exercises += re.findall(
            r'<span class="caption-number">(Exercise [\d.]+) </span>',
            (sites["book"] / f"{page}.html").read_text())
    assert len(exercises) >= len(toc_pages())
    for exercise in exercises:
        assert squeeze(exercise) in book, exercise
        assert squeeze(exercise) in problems, exercise


def code_lines(site: Path) -> list[str]:
    """Every line of every code cell and output block of the chapters."""
    lines = []
    for page in toc_pages():
        text = (site / f"{page}.html").read_text()
        for pre in tag_texts(text, r"<pre[^>]*>(.*?)</pre>"):
            lines += [line for line in pre.splitlines()
                      if len(squeeze(line)) >= 12]
    return lines


@pytest.mark.parametrize("edition", EDITIONS)
def test_no_code_line_is_cut(pdfs, sites, edition):
    """Every code line is printed whole: wrapped, never clipped."""
    text = squeeze("".join(page_texts(pdfs[edition])))
    lines = code_lines(sites[edition])
    assert lines
    missing = [line for line in lines if squeeze(line) not in text]
    assert not missing, missing[:5]


@pytest.mark.parametrize("edition", EDITIONS)
def test_no_character_crosses_the_margins(pdfs, edition):
    """Every character's box lies inside the page's text column."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdfs[edition])
    outside = []
    for index in range(len(document)):
        page = document[index]
        width = page.get_width()
        textpage = page.get_textpage()
        for char in range(textpage.count_chars()):
            if textpage.get_text_range(char, 1).isspace():
                continue
            left, _, right, _ = textpage.get_charbox(char)
            if (right > width - RIGHT_MARGIN + OVERHANG
                    or left < LEFT_MARGIN - OVERHANG):
                outside.append((index + 1, textpage.get_text_range(char, 1),
                                round(left), round(right)))
    assert not outside, outside[:10]


def pdffonts(pdf: Path) -> str:
    """poppler's table of the fonts a PDF uses (``make test`` installs
    poppler-utils)."""
    import shutil

    if shutil.which("pdffonts") is None:
        fail_or_skip("no pdffonts: apt-get install poppler-utils")
    return subprocess.run(["pdffonts", str(pdf)], capture_output=True,
                          text=True, check=True).stdout


@pytest.mark.parametrize("edition", EDITIONS)
def test_the_pdf_embeds_the_math_font(pdfs, edition):
    """The site's math font (TrueType, renamed) is embedded by name."""
    rows = [line.split() for line in pdffonts(pdfs[edition]).splitlines()
            if "AutodiffBookMath" in line]
    assert rows, pdffonts(pdfs[edition])
    for row in rows:
        # name, type ("CID TrueType"), encoding, then emb: yes.
        assert row[1:3] == ["CID", "TrueType"] and row[4] == "yes", row


def margin_texts(pdf: Path) -> list[tuple[str, str]]:
    """Each page's text in its top margin and in its bottom margin."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    out = []
    for index in range(len(document)):
        page = document[index]
        height = page.get_height()
        textpage = page.get_textpage()
        top, bottom = [], []
        for char in range(textpage.count_chars()):
            _, low, _, high = textpage.get_charbox(char)
            text = textpage.get_text_range(char, 1)
            # make_pdf.py's margins: 0.7 in at the top, 0.8 in below.
            if low > height - 0.7 * 72:
                top.append(text)
            elif high < 0.8 * 72:
                bottom.append(text)
        out.append(("".join(top).strip(), "".join(bottom).strip()))
    return out


@pytest.mark.parametrize("edition", EDITIONS)
def test_pages_are_numbered_and_headed_by_their_chapter(pdfs, sites,
                                                        edition):
    """No number on the cover; every other page numbered; a chapter's
    pages carry its title at their head."""
    margins = margin_texts(pdfs[edition])
    assert margins[0] == ("", "")
    for number, (_, foot) in enumerate(margins[1:], start=2):
        assert foot == str(number)
    titles = [squeeze(t) for t in chapter_titles(sites[edition])]
    heads = [squeeze(head) for head, _ in margins if head]
    # Each head is a chapter's title, in the book's order, and every
    # chapter has one (a chapter is longer than a page).
    order = [titles.index(head) for head in heads]
    assert order == sorted(order)
    assert set(order) == set(range(len(titles)))
