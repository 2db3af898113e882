"""latex2mathml's MathML rewritten into markup MathML Core draws well.

Chromium, Firefox and Safari lay out MathML Core with the OpenType MATH
table of the page's math font (``book_tools.extensions.math_font`` serves one).
latex2mathml 3.81 writes markup that such a browser draws differently
from TeX in a few places; each function here mends one of them, on the
parsed tree of one ``<math>`` element:

- a matrix between fences (pmatrix, bmatrix) sits in the row of the whole
  formula, so its brackets stretch to the tallest thing in that row (or,
  first or last in it, take the wrong form); in a row of their own they
  stretch to the matrix, from the font's size variants and assemblies;
- a prime is a superscript, so the prime glyph (already raised in a
  Unicode font) is raised again and shrunk; TeX's f' reads f′;
- ``\\hat`` and ``\\bar`` are stretchy, so they grow like ``\\widehat``
  and ``\\overline``; TeX's accents keep their size and sit on the letter;
- ``mathvariant`` other than ``normal`` is not MathML Core (ignored by
  Chromium): a double-struck 1 is written as its own character, 𝟙;
- ``\\mathrm{d}`` loses its upright style (a one-letter ``mi`` is italic);
- ``\\bigl( … \\bigr)`` are two operators of a fixed size in the row of
  the whole formula; Chromium draws them small and apart (and a closing
  one with a superscript, low): they become a row of their own, which the
  brackets enclose and stretch to, at least as tall as TeX's ``\\big``;
- a fence in a formula's row (``\\bigl(``, ``|x|``) gets the spaces of
  an operator missing from the dictionary; TeX puts none;
- a matrix's cells are padded on the outer sides too (TeX's pmatrix is
  not): such a table gets the class ``fenced`` that custom.css uses;
- a sign after an opening bracket, a comma or a relation (``p(-1)``)
  is drawn as a binary operator, spaced; TeX reads it as a unary sign;
- ``\\pm`` is an identifier, so it gets no space around it;
- an ``\\operatorname`` is an operator missing from the dictionary, so it
  gets a thick space on both sides (tr ( A )); as a name it gets none.
"""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET

NS = "http://www.w3.org/1998/Math/MathML"
ET.register_namespace("", NS)

# Fences of a matrix environment, opening to closing.
FENCES = {"(": ")", "[": "]", "{": "}", "|": "|", "\u2016": "\u2016"}
FENCE_SIGNS = set(FENCES) | set(FENCES.values()) | {"\u27e8", "\u27e9"}
SIGNS = {"\u2212", "+", "\u00b1", "\u2213"}
PRIMES = set("\u2032\u2033\u2034\u2057")
# Accents latex2mathml marks accent="true" but lets stretch (\hat, \tilde).
STRETCHED_ACCENTS = {"^", "~"}
# Accents it writes as stretchy overscripts (\bar, \vec, \dot, \ddot).
OVERSCRIPT_ACCENTS = {"\u00af", "\u2192", "\u02d9", "\u00a8"}
# Binary operators latex2mathml writes as identifiers.
OPERATORS_AS_NAMES = {"\u00b1", "\u2213"}
# A letter of \mathrm{…} alone: latex2mathml writes it as a character
# reference, where a plain letter is written as itself.
UPRIGHT_LETTER = re.compile(
    r"<mi>&#x000(4[1-9A-F]|5[0-9A]|6[1-9A-F]|7[0-9A]);"
)
VARIANTS = {
    "bold": "BOLD", "italic": "ITALIC", "bold-italic": "BOLD ITALIC",
    "double-struck": "DOUBLE-STRUCK", "script": "SCRIPT",
    "fraktur": "FRAKTUR", "sans-serif": "SANS-SERIF",
    "monospace": "MONOSPACE",
}
TOKENS = {"mi", "mn", "mo", "mtext"}
# Elements whose children form one row (MathML Core's inferred mrow).
ROWS = {"math", "mrow", "mtd", "msqrt", "mstyle", "mpadded", "mphantom"}


def local(element: ET.Element) -> str:
    """An element's name without the MathML namespace."""
    return element.tag.rsplit("}", 1)[-1]


def make(name: str, text: str | None = None, **attributes) -> ET.Element:
    """A new MathML element."""
    element = ET.Element(f"{{{NS}}}{name}", attributes)
    element.text = text
    return element


def text_of(element: ET.Element) -> str:
    """A token's text; "" for anything else."""
    return (element.text or "") if local(element) in TOKENS else ""


def fenced_matrices(root: ET.Element) -> None:
    """Put each fence, matrix, fence triple in a row of its own."""
    for parent in list(root.iter()):
        children = list(parent)
        if len(children) == 3 and local(parent) == "mrow":
            continue
        index = 0
        while index + 2 < len(children):
            opening, table, closing = children[index:index + 3]
            if (local(opening) == local(closing) == "mo"
                    and local(table) == "mtable"
                    and FENCES.get(text_of(opening)) == text_of(closing)
                    and not opening.attrib and not closing.attrib
                    and "class" not in table.attrib):
                row = make("mrow")
                table.set("class", "fenced")
                position = list(parent).index(opening)
                for child in (opening, table, closing):
                    parent.remove(child)
                    row.append(child)
                parent.insert(position, row)
                index += 3
            else:
                index += 1


def big_fence(element: ET.Element, signs) -> bool:
    """A ``\\bigl(``-like operator: a fence of a fixed minimum size."""
    return (local(element) == "mo" and "minsize" in element.attrib
            and text_of(element) in signs)


def closing_fence(element: ET.Element) -> ET.Element | None:
    """The ``\\bigr)`` that ``element`` is, or carries as its base."""
    closing = set(FENCES.values())
    if big_fence(element, closing):
        return element
    scripts = {"msub", "msup", "msubsup"}
    if local(element) in scripts and len(element) and big_fence(
            element[0], closing):
        return element[0]
    return None


def big_fences(root: ET.Element) -> None:
    """``\\bigl( … \\bigr)^2`` as ``msup(mrow(( … )), 2)``."""
    for parent in list(root.iter()):
        index = 0
        while index < len(parent):
            children = list(parent)
            if not big_fence(children[index], set(FENCES)):
                index += 1
                continue
            depth, end = 0, None
            for later in range(index + 1, len(children)):
                if big_fence(children[later], set(FENCES)):
                    depth += 1
                elif closing_fence(children[later]) is not None:
                    if depth == 0:
                        end = later
                        break
                    depth -= 1
            if end is None:
                index += 1
                continue
            last = children[end]
            close = closing_fence(last)
            inside = wrap(children[index + 1:end])
            big_fences(inside)   # nested \\bigl( … \\bigr)
            row = wrap([children[index], *inside, close])
            for fence in (children[index], close):
                fence.attrib.pop("maxsize", None)
            for child in children[index:end + 1]:
                parent.remove(child)
            if last is close:
                parent.insert(index, row)
            else:
                # The script's base was the fence: now the whole row.
                last.remove(close)
                last.insert(0, row)
                parent.insert(index, last)
            index += 1


def is_prime(element: ET.Element) -> bool:
    """A token of primes only (′, ″, ‴, ⁗)."""
    text = text_of(element)
    return bool(text) and set(text) <= PRIMES


def wrap(elements: list[ET.Element]) -> ET.Element:
    """``elements`` in a new ``mrow``."""
    row = make("mrow")
    row.extend(elements)
    return row


def prime_operator(text: str) -> ET.Element:
    """A prime at the base's level, with no space around it."""
    return make("mo", text, lspace="0em", rspace="0em")


def primes(root: ET.Element) -> None:
    """``f^{′}`` becomes ``f′``; ``s^{′2}`` becomes ``(s′)^{2}``."""
    for parent in list(root.iter()):
        for script in list(parent):
            if local(script) != "msup" or len(script) != 2:
                continue
            base, exponent = list(script)
            marks = [exponent] if is_prime(exponent) else []
            rest: list[ET.Element] = []
            if local(exponent) == "mrow":
                items = list(exponent)
                while items and is_prime(items[0]):
                    marks.append(items.pop(0))
                rest = items
            if not marks:
                continue
            row = [base] + [prime_operator(text_of(m)) for m in marks]
            if rest:
                exponent = make("mrow")
                exponent.extend(rest)
                new = [make("msup")]
                new[0].append(wrap(row))
                new[0].append(exponent if len(rest) > 1 else rest[0])
            elif local(parent) in ROWS:
                # In a row: base and primes join it (a row of their own
                # would make a closing fence the row's first, prefix form).
                new = row
            else:
                new = [wrap(row)]
            # Later positions shift: handled by re-reading the children.
            index = list(parent).index(script)
            parent.remove(script)
            for offset, element in enumerate(new):
                parent.insert(index + offset, element)


def accents(root: ET.Element) -> None:
    """``\\hat``, ``\\bar`` and the like keep their size, as in TeX."""
    for over in root.iter(f"{{{NS}}}mover"):
        if len(over) != 2 or local(over[1]) != "mo":
            continue
        base, mark = list(over)
        sign = text_of(mark)
        if sign in STRETCHED_ACCENTS and over.get("accent") == "true":
            mark.set("stretchy", "false")
        elif (sign in OVERSCRIPT_ACCENTS and "accent" not in over.attrib
              and local(base) in TOKENS):
            over.set("accent", "true")
            mark.set("stretchy", "false")


def styled(text: str, variant: str) -> str | None:
    """``text`` in the Mathematical Alphanumeric Symbols of ``variant``."""
    style = VARIANTS.get(variant)
    if style is None:
        return None
    out = []
    for char in text:
        name = unicodedata.name(char, "")
        name = name.replace("LATIN ", "").replace("LETTER ", "")
        name = name.replace("GREEK ", "")
        try:
            out.append(unicodedata.lookup(f"MATHEMATICAL {style} {name}"))
        except KeyError:
            return None
    return "".join(out)


def variants(root: ET.Element) -> None:
    """``mathvariant`` (not in MathML Core) as characters of that style."""
    for token in root.iter():
        variant = token.get("mathvariant")
        if local(token) not in TOKENS or variant in (None, "normal"):
            continue
        replaced = styled(token.text or "", variant)
        if replaced:
            token.text = replaced
            del token.attrib["mathvariant"]


def names_and_operators(root: ET.Element) -> None:
    """``\\pm`` as an operator, ``\\operatorname{tr}`` as a name."""
    for token in root.iter():
        text = text_of(token)
        if local(token) == "mi" and text in OPERATORS_AS_NAMES:
            token.tag = f"{{{NS}}}mo"
        elif (local(token) == "mo" and len(text) > 1 and text.isascii()
              and text.isalpha()):
            token.tag = f"{{{NS}}}mi"


def fences(root: ET.Element) -> None:
    """No space around a bracket or a bar, as in TeX."""
    for token in root.iter(f"{{{NS}}}mo"):
        if (token.text or "").strip() in FENCE_SIGNS:
            token.attrib.setdefault("lspace", "0em")
            token.attrib.setdefault("rspace", "0em")


def unary_signs(root: ET.Element) -> None:
    """A sign after ``(``, ``,`` or ``=`` is a prefix: no space after it."""
    before = set(FENCES) | {",", "=", "<", ">", "\u2264", "\u2265"}
    for parent in root.iter():
        previous = None
        for child in parent:
            if (local(child) == "mo" and text_of(child) in SIGNS
                    and previous is not None and local(previous) == "mo"
                    and text_of(previous) in before
                    and "form" not in child.attrib):
                child.set("form", "prefix")
            previous = child


def for_mathml_core(mathml: str) -> str:
    """latex2mathml's ``<math>`` element, rewritten for MathML Core."""
    mathml = UPRIGHT_LETTER.sub(r'<mi mathvariant="normal">&#x000\1;', mathml)
    root = ET.fromstring(mathml)
    fenced_matrices(root)
    big_fences(root)
    primes(root)
    accents(root)
    variants(root)
    names_and_operators(root)
    fences(root)
    unary_signs(root)
    return ET.tostring(root, encoding="unicode")
