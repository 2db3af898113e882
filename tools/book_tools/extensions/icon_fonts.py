"""The theme's FontAwesome icons, cut down to the few glyphs the site shows.

pydata-sphinx-theme draws its icons (menu, search, dark mode, launch,
download, repository, admonition marks) two ways at once: a 1.5 MB script
(``fontawesome.js``, 543 KB gzipped) that swaps each ``<i class="fa-…">``
for an SVG, and FontAwesome's web fonts (solid, regular, brands: about
275 KB) that its stylesheet uses for the same classes and for the
admonitions' marks. The stylesheet alone draws every icon, so
``_templates/layout.html`` leaves the script out, and this extension, once
the site is written, replaces the three published fonts by subsets holding
only the glyphs the site uses (a few KB): every ``fa-NAME`` class found in
the pages, and every icon the theme's stylesheets put in a ``content``
(``--pst-icon-*`` variables and rules that are not FontAwesome's own
``.fa-NAME:before`` table). The fonts' URLs do not change.

The same names cut the stylesheet: pydata-sphinx-theme's CSS carries
FontAwesome's whole name table, about 1,900 ``.fa-NAME:before`` rules
(86 KB, a third of its gzipped size) in a file that blocks the first
paint. The published copy keeps only the rules of icons in use: names in
a page's ``class`` or in one of the site's scripts (the theme's script adds
``fa-xmark`` to banners it builds).

The subsets are made from the theme's own files (pydata-sphinx-theme,
pinned in requirements.txt) with fontTools (a dependency of matplotlib) and
Brotli for the WOFF2 format. FontAwesome Free's fonts are under the SIL
OFL 1.1, which allows subsetting.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from fontTools.ttLib import TTFont
from sphinx.application import Sphinx
from sphinx.util import logging

from book_tools.extensions.subset_cache import cached_subset, subset_key

logger = logging.getLogger(__name__)

WEBFONTS = Path("_static") / "vendor" / "fontawesome" / "webfonts"
FONTS = ("fa-solid-900", "fa-regular-400", "fa-brands-400")
# The two the header's icons use on every page (the regular style draws
# nothing the pages show by default).
FONTS_ON_EVERY_PAGE = ("fa-solid-900.woff2", "fa-brands-400.woff2")
# A CSS rule: its selector and its declarations.
RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
# One glyph in a CSS string: an escape such as \f0c9 or the character.
GLYPH = r'"(\\[0-9a-fA-F]{4,5}|[\ue000-\uf8ff])"'
CONTENT = re.compile(r"content:\s*" + GLYPH)
VARIABLE = re.compile(r"--pst-icon-[\w-]+:\s*" + GLYPH)
FA_SELECTOR = re.compile(r"^\.fa-([\w-]+):+before$")
FA_CLASS = re.compile(r'class="[^"]*"')
FA_NAME = re.compile(r"\bfa-([a-z0-9-]+)")
# An icon class in a script's string: "fa-solid fa-xmark".
SCRIPT_FA_NAME = re.compile(r"""(?<=["' ])fa-([a-z0-9-]+)""")
# FontAwesome's own script (left out of every page) names every icon.
FONTAWESOME_SCRIPT = "fontawesome.js"
THEME_CSS = Path("_static") / "styles" / "pydata-sphinx-theme.css"
SOURCE_MAP = re.compile(r"/\*# sourceMappingURL=[^*]*\*/\s*$")


def character(glyph: str) -> int:
    """The code point of a CSS string's one glyph."""
    if glyph.startswith("\\"):
        return int(glyph[1:], 16)
    return ord(glyph)


def icons_in_css(css: str) -> tuple[dict[str, int], set[int]]:
    """FontAwesome's name table, and the glyphs the theme uses itself.

    Returns:
        ({"bars": 0xF0C9, ...} from ``.fa-NAME:before`` rules,
         code points every other ``content`` or ``--pst-icon-*`` uses).
    """
    names: dict[str, int] = {}
    used: set[int] = set()
    for selector, body in RULE.findall(css):
        found = CONTENT.search(body)
        if found:
            selectors = [s.strip() for s in selector.split(",")]
            matches = [FA_SELECTOR.match(s) for s in selectors]
            if all(matches):
                for match in matches:
                    names[match.group(1)] = character(found.group(1))
            else:
                used.add(character(found.group(1)))
        used.update(character(g) for g in VARIABLE.findall(body))
    return names, used


def icons_in_pages(outdir: Path) -> set[str]:
    """Every ``fa-NAME`` class that a page of the site uses."""
    names: set[str] = set()
    for page in outdir.rglob("*.html"):
        for attribute in FA_CLASS.findall(page.read_text(errors="replace")):
            names.update(FA_NAME.findall(attribute))
    return names


def icons_in_scripts(outdir: Path) -> set[str]:
    """Every ``fa-NAME`` a script of the site puts in a string."""
    names: set[str] = set()
    for script in outdir.rglob("*.js"):
        if script.name != FONTAWESOME_SCRIPT:
            text = script.read_text(errors="replace")
            names.update(SCRIPT_FA_NAME.findall(text))
    return names


def without_unused_icons(css: str, in_use: set[str]) -> str:
    """``css`` without the ``.fa-NAME:before`` rules of icons not in use."""

    def keep(rule: re.Match) -> str:
        selectors = [s.strip() for s in rule.group(1).split(",")]
        matches = [FA_SELECTOR.match(s) for s in selectors]
        unused = all(matches) and not any(
            match.group(1) in in_use for match in matches
        )
        if unused and CONTENT.search(rule.group(2)):
            return ""
        return rule.group(0)

    # The map describes the full file; a browser's tools would misplace
    # every rule after the first cut.
    return SOURCE_MAP.sub("", RULE.sub(keep, css))


def subset_font(path: Path, unicodes: set[int]) -> bytes:
    """The font at ``path`` with only ``unicodes``, in the same format."""
    # Imported here: 0.16 s at every build's start, needed only when the
    # subset is not in book_tools.extensions.subset_cache.
    from fontTools import subset

    options = subset.Options()
    options.layout_features = ["*"]
    options.notdef_outline = True
    options.ignore_missing_unicodes = True
    # The head table keeps its date: a rebuild gives the same bytes.
    font = TTFont(path, recalcTimestamp=False)
    flavor = font.flavor
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(unicodes))
    subsetter.subset(font)
    font.flavor = flavor
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def subset_icon_fonts(app: Sphinx, exception: Exception | None) -> None:
    """Cut the published FontAwesome fonts down to the glyphs in use."""
    if exception or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    static = outdir / "_static"
    css = "\n".join(
        path.read_text(errors="replace") for path in static.rglob("*.css")
    )
    names, used = icons_in_css(css)
    in_use = icons_in_pages(outdir) | icons_in_scripts(outdir)
    wanted = set(used)
    for name in sorted(in_use):
        if name in names:
            wanted.add(names[name])
    theme_css = outdir / THEME_CSS
    if theme_css.is_file():
        text = theme_css.read_text()
        theme_css.write_text(without_unused_icons(text, in_use))
    for stem in FONTS:
        for suffix in (".woff2", ".ttf"):
            path = outdir / WEBFONTS / (stem + suffix)
            if path.is_file():
                # Sphinx copies the theme's full font at every build.
                key = subset_key(path.read_bytes(), wanted, Path(__file__))
                path.write_bytes(cached_subset(
                    Path(app.doctreedir), stem + suffix, key,
                    lambda path=path: subset_font(path, wanted)))
    logger.info(
        "icon fonts and the theme's icon rules: %d glyphs kept", len(wanted)
    )


def preload_icon_fonts(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree
) -> None:
    """Ask for the icon fonts every page uses as the head is read.

    Found only once the style sheet is parsed, the fonts (4 KB) arrived
    after the first paint, and the header's icons, drawn then, widened the
    header and moved the whole page (Lighthouse desktop measured a layout
    shift of 0.39 on one run). Asked for at once, they are there in time.
    """
    if "metatags" not in context or "pathto" not in context:
        return
    links = [
        f'<link rel="preload" as="font" type="font/woff2" crossorigin '
        f'href="{context["pathto"]((WEBFONTS / font).as_posix(), 1)}" />'
        for font in FONTS_ON_EVERY_PAGE
    ]
    context["metatags"] += "\n" + "\n".join(links)


def setup(app: Sphinx) -> dict:
    """Subset the icon fonts after the theme has copied them."""
    app.connect("html-page-context", preload_icon_fonts)
    app.connect("build-finished", subset_icon_fonts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
