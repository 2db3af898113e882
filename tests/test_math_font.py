"""The site's math font: its MATH table, and every formula's characters.

``book_tools.extensions.math_font`` publishes Latin Modern Math cut to the
characters of the book's formulas. A character it missed would be drawn from
another font, and a bracket without its size variants would not stretch.
Checked on the session's strict build (``built_book``) and on the problem-set
edition (``student_edition``), the two sites readers get; the rewriting of
latex2mathml's markup (``book_tools.extensions.mathml_core``) is checked
on its own.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from book_tools.extensions import math_font
from book_tools.extensions.mathml_core import for_mathml_core
from book_tools.project import ROOT

# What must stretch or grow: fences, the radical, the big operators.
STRETCHY = "([{|\u221a\u2211\u222b"


def published_font(html: Path) -> Path:
    """The one math font a site publishes."""
    fonts = sorted((html / math_font.PUBLISHED).glob("*.woff2"))
    assert len(fonts) == 1, fonts
    return fonts[0]


@pytest.fixture(scope="module")
def sites(built_book, student_edition) -> dict[str, Path]:
    """The full book's site and the problem set's."""
    return {"book": built_book / "_build" / "html",
            "problem-set": student_edition / "html"}


EDITIONS = ["book", "problem-set"]


def drawn(char: str) -> bool:
    """A character a browser draws with a glyph (not a space or a
    format character such as the invisible times)."""
    return not char.isspace() and unicodedata.category(char) != "Cf"


@pytest.mark.build
@pytest.mark.parametrize("edition", EDITIONS)
def test_the_font_covers_every_formula(sites, edition):
    html = sites[edition]
    path = published_font(html)
    font = TTFont(path)
    cmap = font.getBestCmap()
    pages = sorted(html.rglob("*.html"))
    with_math = 0
    for page in pages:
        text = page.read_text()
        found = math_font.math_characters(text)
        with_math += bool(found)
        missing = sorted(chr(c) for c in found
                         if drawn(chr(c)) and c not in cmap)
        assert not missing, (page.name, missing)
        # MathML Core shows a one-letter identifier in italic.
        for letter in re.findall(r"<mi>([A-Za-z\u0391-\u03c9])</mi>", text):
            assert math_font.italic(letter) in cmap, (page.name, letter)
        # A page with math declares and preloads this very file (by its
        # hashed name); a page without math preloads no math font.
        preloads = re.findall(r'<link rel="preload" as="font"[^>]*>', text)
        preloaded = any(path.name in link for link in preloads)
        assert preloaded == ("<math" in text), page.name
        if "<math" in text:
            assert re.search(r'@font-face \{ font-family: "Autodiff Book '
                             r'Math"; src: url\("[./]*_static/fonts/'
                             + re.escape(path.name), text), page.name
    assert with_math >= 5


@pytest.mark.build
@pytest.mark.parametrize("edition", EDITIONS)
def test_the_font_stretches_brackets_and_grows_operators(sites, edition):
    path = published_font(sites[edition])
    font = TTFont(path)
    assert "MATH" in font
    cmap = font.getBestCmap()
    variants = font["MATH"].table.MathVariants
    vertical = dict(zip(variants.VertGlyphCoverage.glyphs,
                        variants.VertGlyphConstruction, strict=True))
    for char in STRETCHY:
        glyph = cmap[ord(char)]
        construction = vertical.get(glyph)
        assert construction is not None, char
        sizes = [v.VariantGlyph for v in
                 construction.MathGlyphVariantRecord]
        # Bigger glyphs than the base one, or an assembly of pieces.
        assert len(sizes) > 1 or construction.GlyphAssembly, char
        for name in sizes:
            assert name in font.getGlyphOrder(), (char, name)
    # Named as the licence asks of a derived font, with TrueType outlines
    # (which Chromium embeds by name in a PDF).
    assert font["name"].getDebugName(1) == math_font.FAMILY
    assert "Latin Modern" not in font["name"].getDebugName(4)
    assert "glyf" in font and "CFF " not in font
    # Small: about 25 KB, far below the 380 KB of the whole font.
    assert 15_000 < path.stat().st_size < 45_000


@pytest.mark.build
def test_the_site_publishes_the_licence(sites):
    licence = sites["book"] / math_font.PUBLISHED / math_font.LICENCE
    assert "GUST Font License" in licence.read_text()


def test_the_subset_misses_nothing_it_was_asked_for(tmp_path):
    """Every requested character, an italic letter and ∑'s big sizes."""
    page = "<p>x</p><math><mi>x</mi><mo>\u2211</mo><mi>\u03b8</mi></math>"
    wanted = math_font.characters_to_keep([page])
    assert {ord("x"), 0x1D465, 0x2211, 0x3B8, 0x1D703} <= wanted
    source = ROOT / math_font.SOURCE_FONT
    path = tmp_path / "font.woff2"
    path.write_bytes(math_font.make_subset(source, wanted))
    cmap = TTFont(path).getBestCmap()
    assert wanted <= set(cmap) | {c for c in wanted
                                  if c not in TTFont(source).getBestCmap()}
    # The same characters give the same bytes: the hashed name is stable.
    assert math_font.make_subset(source, wanted) == path.read_bytes()


def test_italic_letters_follow_mathml_core():
    assert math_font.italic("a") == 0x1D44E
    assert math_font.italic("h") == 0x210E   # the Planck constant's place
    assert math_font.italic("Z") == 0x1D44D
    assert math_font.italic("\u03b1") == 0x1D6FC
    assert math_font.italic("1") is None


def mathml(tex: str) -> str:
    """``tex`` through latex2mathml and the MathML Core rewriting."""
    from latex2mathml.converter import convert

    return for_mathml_core(convert(tex))


def test_a_matrix_gets_a_row_of_its_own():
    out = mathml(r"A = \begin{pmatrix} a & b \\ c & d \end{pmatrix} x")
    assert re.search(r'<mrow><mo[^>]*>\(</mo><mtable class="fenced">.*'
                     r"</mtable><mo[^>]*>\)</mo></mrow><mi>x</mi>", out)
    assert "scaleY" not in out


def test_primes_sit_beside_their_base():
    out = mathml(r"f'(x) + s'^2")
    assert "<msup><mi>f</mi>" not in out
    assert re.search(r'<mi>f</mi><mo lspace="0em" rspace="0em">′</mo>', out)
    # s'^2: the square of s′.
    assert re.search(r'<msup><mrow><mi>s</mi><mo[^>]*>′</mo></mrow>'
                     r'<mn>2</mn></msup>', out)


def test_accents_keep_their_size():
    out = mathml(r"\hat y + \bar d + \widehat{xy}")
    assert '<mover accent="true"><mi>y</mi><mo stretchy="false">^' in out
    assert '<mover accent="true"><mi>d</mi><mo stretchy="false">¯' in out
    # \widehat still stretches.
    assert re.search(r"<mover><mrow><mi>x</mi><mi>y</mi></mrow><mo>\^", out)


def test_styles_and_names():
    out = mathml(r"\mathbb{1} + \mathrm{d}x \pm \operatorname{tr}(A)")
    assert "<mn>\U0001d7d9</mn>" in out and "mathvariant=\"double" not in out
    assert '<mi mathvariant="normal">d</mi><mi>x</mi>' in out
    assert "<mo>±</mo>" in out and "<mi>tr</mi>" in out


def test_big_fences_enclose_their_row():
    out = mathml(r"\frac{1}{\bigl((5 - x)^2 + 4\bigr)^2}"
                 r" + \bigl(a \bigl(b\bigr)\bigr)")
    # The square applies to the bracketed row, whose brackets stretch to
    # it (no maxsize holds them to 1.2em).
    assert re.search(r"<msup><mrow><mo [^>]*minsize=\"1.2em\"[^>]*>\(</mo>"
                     r".*<mo [^>]*>\)</mo></mrow><mn>2</mn></msup>", out)
    assert "maxsize" not in out
    assert out.count("<mrow><mo stretchy=\"true\"") == 3


def test_a_sign_after_a_bracket_is_unary():
    out = mathml(r"p(-1) = 2(1 + \mu), \; -1 < \mu")
    assert '<mo form="prefix">−</mo><mn>1</mn>' in out
    # Between two terms it stays a binary operator.
    assert "<mn>1</mn><mo>+</mo>" in out
