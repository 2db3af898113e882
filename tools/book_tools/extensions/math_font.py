"""The site's own math font: Latin Modern Math, cut to the book's formulas.

Browsers lay out MathML with the OpenType MATH table of the math font
they use: big operators, stretched brackets and radicals come from its
size variants and glyph assemblies. A reader's machine may have no such
font (Android ships none), so the site serves one. Once the site is
written, this extension reads every ``<math>`` of every page, keeps of
Latin Modern Math (``fonts/latin-modern-math``, vendored unmodified with
its GUST Font License) the characters they hold plus those MathML draws
without their being in the text (``ALWAYS``: the radical sign, fences,
primes, accents, arrows) and the italic letters MathML Core shows for a
one-letter ``mi``; fontTools' subsetter follows each kept glyph to its
size variants and assemblies in the MATH table.

The cut font's outlines are converted from CFF to TrueType curves (Chromium
prints a CFF web font into a PDF as nameless Type 3 glyphs; a TrueType one
is embedded under its name), and the font is renamed, as the licence asks
of a derived font. It is published as one WOFF2 file (never split by
``unicode-range``: a bracket and its size variants must come from one
font) named by its content's hash, so a browser may keep it for good.
Every page declares it in a ``<style>`` of a few bytes (a page without
math never downloads it); a page with math also preloads it.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
import shutil
from pathlib import Path

from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable
from sphinx.application import Sphinx
from sphinx.util import logging

from book_tools.extensions.subset_cache import cached_subset, subset_key

logger = logging.getLogger(__name__)

SOURCE = Path("fonts") / "latin-modern-math"
SOURCE_FONT = SOURCE / "latinmodern-math.otf"
LICENCE = "GUST-FONT-LICENSE.txt"
# The derived font's names (the licence asks derived fonts not to use
# "Latin Modern Math" and "LatinModernMath-Regular").
FAMILY = "Autodiff Book Math"
POSTSCRIPT_NAME = "AutodiffBookMath-Regular"
PUBLISHED = Path("_static") / "fonts"
STEM = "autodiff-book-math"
# The page's name for the font before the build ends, and after.
FILE_NAME = re.compile(STEM + r"(?:\.[0-9a-f]{12})?\.woff2")
# Drawn by MathML for markup, whatever the text holds: the radical sign
# (msqrt), fences, bars, primes, accents, arrows, big operators.
ALWAYS = set(
    "\u221a()[]{}|\u2016\u27e8\u27e9\u230a\u230b\u2308\u2309"
    "\u2032\u2033\u2034\u2057"
    "^~\u00af\u02c6\u02dc\u02c9\u02d9\u00a8\u02c7\u02d8\u00b4`"
    "\u0302\u0303\u0304\u0305\u0307\u0308\u030c\u20d7\u2015\u203e_"
    "\u2190\u2192\u2194\u21a6\u21d0\u21d2\u21d4"
    "\u2211\u220f\u222b\u2202\u2207+\u2212=\u00b1\u00d7\u22c5\u00b7"
    "0123456789"
)
MATH = re.compile(r"<math\b.*?</math>", re.S)
TAG = re.compile(r"<[^>]+>")
# Chromium's italic for a one-letter <mi> (MathML Core's math-auto).
ITALIC_HOLES = {"h": 0x210E}


def italic(char: str) -> int | None:
    """The Mathematical Italic code point MathML Core shows for ``char``."""
    if char in ITALIC_HOLES:
        return ITALIC_HOLES[char]
    code = ord(char)
    if 0x41 <= code <= 0x5A:
        return 0x1D434 + code - 0x41
    if 0x61 <= code <= 0x7A:
        return 0x1D44E + code - 0x61
    if 0x391 <= code <= 0x3A9:
        return 0x1D6E2 + code - 0x391
    if 0x3B1 <= code <= 0x3C9:
        return 0x1D6FC + code - 0x3B1
    return None


def math_characters(page: str) -> set[int]:
    """Every character inside a ``<math>`` of an HTML page."""
    found: set[int] = set()
    for formula in MATH.findall(page):
        text = html.unescape(TAG.sub("", formula))
        found.update(ord(char) for char in text if not char.isspace())
    return found


def characters_to_keep(pages: list[str]) -> set[int]:
    """What the subset must hold to draw every formula of ``pages``."""
    found = set().union(*(math_characters(page) for page in pages))
    found |= {ord(char) for char in ALWAYS}
    found |= {italic(chr(c)) for c in found if italic(chr(c))}
    return found


def to_truetype(font: TTFont) -> None:
    """Replace the CFF outlines by TrueType (quadratic) ones, in place."""
    glyphs = font.getGlyphSet()
    order = font.getGlyphOrder()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyphs)
        # Within one font unit of the cubic curve; TrueType contours run
        # the other way round.
        glyphs[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    for tag in ("CFF ", "VORG"):
        if tag in font:
            del font[tag]
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for field in ("maxZones",):
        setattr(maxp, field, 1)
    for field in ("maxTwilightPoints", "maxStorage", "maxFunctionDefs",
                  "maxInstructionDefs", "maxStackElements",
                  "maxSizeOfInstructions", "maxComponentElements",
                  "maxComponentDepth"):
        setattr(maxp, field, 0)
    font["head"].glyphDataFormat = 0
    # Glyph names are not needed by a browser or a PDF.
    font["post"].formatType = 3.0
    font.sfntVersion = "\x00\x01\x00\x00"


def rename(font: TTFont, source_version: str) -> None:
    """Give the derived font its own names, crediting the original."""
    names = font["name"]
    full = {1: FAMILY, 4: FAMILY, 6: POSTSCRIPT_NAME, 16: FAMILY,
            3: f"{POSTSCRIPT_NAME}; subset of Latin Modern Math "
               f"{source_version}"}
    for record in list(names.names):
        if record.nameID in full or record.nameID in (17, 21, 22):
            names.removeNames(nameID=record.nameID)
    for name_id, value in full.items():
        names.setName(value, name_id, 3, 1, 0x409)
    names.setName(
        f"Derived from Latin Modern Math {source_version} (GUST Font "
        "License) by the book's build: cut to the characters of its "
        "formulas, outlines converted to TrueType curves.",
        10, 3, 1, 0x409)


def make_subset(source: Path, unicodes: set[int]) -> bytes:
    """The renamed WOFF2 subset of ``source`` holding ``unicodes``."""
    # Imported here: 0.16 s at every build's start, needed only when the
    # subset is not in book_tools.extensions.subset_cache.
    from fontTools import subset

    options = subset.Options()
    # Dotless i and j under accents. Not ssty, the script-size variants:
    # they double the font (47 KB against 23 KB for this book) and
    # Chromium draws scripts without them (the same widths, measured).
    options.layout_features = ["dtls"]
    options.notdef_outline = True
    options.ignore_missing_unicodes = True
    options.hinting = False
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    # FontForge's timestamp table: nothing reads it.
    options.drop_tables += ["FFTM"]
    # The head table keeps its date: a rebuild gives the same bytes.
    font = TTFont(source, recalcTimestamp=False)
    version = font["name"].getDebugName(5) or ""
    version = re.sub(r"^Version\s*", "", version).split(";")[0].strip()
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(unicodes))
    subsetter.subset(font)
    to_truetype(font)
    rename(font, version)
    font.flavor = "woff2"
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def publish_math_font(app: Sphinx, exception: Exception | None) -> None:
    """Cut the font to the site's formulas and point every page at it."""
    if exception or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    pages = {path: path.read_text() for path in outdir.rglob("*.html")}
    unicodes = characters_to_keep(list(pages.values()))
    source = Path(app.srcdir) / SOURCE_FONT
    key = subset_key(source.read_bytes(), unicodes, Path(__file__))
    data = cached_subset(Path(app.doctreedir), STEM, key,
                         lambda: make_subset(source, unicodes))
    digest = hashlib.sha256(data).hexdigest()[:12]
    name = f"{STEM}.{digest}.woff2"
    folder = outdir / PUBLISHED
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"{STEM}.*.woff2"):
        if old.name != name:
            old.unlink()
    (folder / name).write_bytes(data)
    shutil.copyfile(Path(app.srcdir) / SOURCE / LICENCE, folder / LICENCE)
    for path, text in pages.items():
        new = FILE_NAME.sub(name, text)
        if new != text:
            path.write_text(new)
    logger.info("math font: %d characters, %d bytes (%s)",
                len(unicodes), len(data), name)


def declare_math_font(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree
) -> None:
    """Declare the math font on every page; preload it where there is math.

    The file name is the build's placeholder until ``publish_math_font``
    writes the hashed one.
    """
    if "metatags" not in context or "pathto" not in context:
        return
    url = context["pathto"]((PUBLISHED / f"{STEM}.woff2").as_posix(), 1)
    tags = [
        # swap: were the font late, the formula is drawn at once in a
        # fallback, not hidden.
        f'<style>@font-face {{ font-family: "{FAMILY}"; '
        f'src: url("{url}") format("woff2"); font-display: swap; }}'
        "</style>"
    ]
    if "<math" in context.get("body", ""):
        # Asked for at once, so formulas are laid out once, in their font;
        # at low priority, so it does not take bandwidth from the style
        # sheets and scripts that hold back the first paint.
        tags.append(
            f'<link rel="preload" as="font" type="font/woff2" crossorigin '
            f'fetchpriority="low" href="{url}" />'
        )
    context["metatags"] += "\n" + "\n".join(tags)


def setup(app: Sphinx) -> dict:
    """Declare the font in every page; publish it once they are written."""
    app.connect("html-page-context", declare_math_font)
    app.connect("build-finished", publish_math_font)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
