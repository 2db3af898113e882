"""Font subsets are cut once per input and reused while it holds."""

from __future__ import annotations

import pytest

from book_tools.extensions import subset_cache


def test_a_subset_is_made_once_per_key_and_replaced_when_the_key_changes(
        tmp_path):
    made = []

    def make(data: bytes):
        def cut() -> bytes:
            made.append(data)
            return data
        return cut

    first = subset_cache.cached_subset(tmp_path, "math", "k1", make(b"one"))
    again = subset_cache.cached_subset(tmp_path, "math", "k1", make(b"two"))
    assert (first, again, made) == (b"one", b"one", [b"one"])
    other = subset_cache.cached_subset(tmp_path, "icons", "k1", make(b"ic"))
    newer = subset_cache.cached_subset(tmp_path, "math", "k2", make(b"new"))
    assert (other, newer, made) == (b"ic", b"new", [b"one", b"ic", b"new"])
    # Only the newest subset of each font is kept, none half-written.
    kept = sorted(p.name for p in (tmp_path / subset_cache.FOLDER).iterdir())
    assert kept == ["icons.k1", "math.k2"]


def test_the_key_changes_with_the_font_the_characters_and_the_code(tmp_path):
    code = tmp_path / "cut.py"
    code.write_text("options = 1\n")
    key = subset_cache.subset_key(b"font", {65, 66}, code)
    assert subset_cache.subset_key(b"font", [66, 65], code) == key
    assert subset_cache.subset_key(b"fonT", {65, 66}, code) != key
    assert subset_cache.subset_key(b"font", {65, 67}, code) != key
    assert subset_cache.subset_key(b"font", {6, 566}, code) != key
    code.write_text("options = 2\n")
    assert subset_cache.subset_key(b"font", {65, 66}, code) != key


@pytest.mark.build
def test_the_built_site_serves_the_subsets_the_cache_keeps(built_book):
    # The cache of a real build holds exactly the fonts the site serves,
    # under the keys of their sources: a second build reads them back.
    from book_tools.extensions import icon_fonts, math_font

    html = built_book / "_build" / "html"
    cached = built_book / "_build" / ".doctrees" / subset_cache.FOLDER
    (math,) = (html / math_font.PUBLISHED).glob("*.woff2")
    (kept,) = cached.glob(f"{math_font.STEM}.*")
    assert kept.read_bytes() == math.read_bytes()
    icons = sorted((html / icon_fonts.WEBFONTS).glob("*.woff2"))
    assert icons
    for font in icons:
        (kept,) = cached.glob(f"{font.name}.*")
        assert kept.read_bytes() == font.read_bytes(), font.name
