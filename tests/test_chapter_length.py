"""Every chapter is about 2,000 words of prose at most before its exercises.

The chapters are the pages of ``_toc.yml`` with an ``## Exercises``
heading: the landing page and the bibliography have none and are not
chapters; every notebook page must have one (so no chapter escapes the
count by losing its heading).

How the words are counted, one rule for every chapter:

- The text is the chapter's Markdown cells (read with jupytext, so the
  front matter and every code cell are left out) from its title up to
  the ``## Exercises`` heading; what follows, exercises and solutions,
  is not counted.
- Prose inside admonitions and dropdowns counts: the reader reads it.
  Left out are the fence lines of directives (```` ``` ```` and ``:::``,
  with their argument: an admonition's title, a container's class), their
  option lines (``:class: dropdown``), the contents of
  backtick-fenced blocks (listings such as ``literalinclude``, raw HTML),
  MyST targets ``(name)=`` and comments ``%``.
- An inline role (a glued number, a reference, a citation), an inline
  formula ``$…$`` and a displayed formula ``$$…$$`` each count as one
  word.
- A word is then a whitespace-separated token with a letter or a digit
  in it (so punctuation standing alone is not a word).

"About 2,000" is taken as within 5 %: at most 2,100 words.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import pytest

from book_tools.project import notebook_pages, page_source, toc_pages
from tests.notebooks import ROOT

LIMIT = 2_100
EXERCISES = re.compile(r"^## Exercises\s*$", re.M)
# Fewer words than this means the counter lost the text, not a short page.
AT_LEAST = 300


def chapters() -> list[str]:
    """The toc pages with an exercises heading, in toc order."""
    return [
        page for page in toc_pages(ROOT)
        if (path := page_source(ROOT, page)) is not None
        and EXERCISES.search(path.read_text(encoding="utf8"))
    ]


def prose_text(source: str) -> str:
    """The Markdown cells of a MyST notebook before ``## Exercises``."""
    kept = []
    for cell in jupytext.reads(source, fmt="md:myst").cells:
        if cell.cell_type != "markdown":
            continue
        head, *tail = EXERCISES.split(cell.source, maxsplit=1)
        kept.append(head)
        if tail:
            break
    return "\n\n".join(kept)


def prose_words(text: str) -> int:
    """Words of prose in Markdown, counted as the module docstring says."""
    # A backtick-fenced block is a listing or raw markup, not prose; a
    # longer fence may hold shorter ones, so close on the opening fence.
    text = re.sub(r"^[ \t]*(`{3,})[^\n]*\n.*?^[ \t]*\1[ \t]*$", " ", text,
                  flags=re.S | re.M)
    text = re.sub(r"\$\$.*?\$\$", " FORMULA ", text, flags=re.S)
    text = re.sub(r"\{[\w:.-]+\}`[^`]*`", "ROLE", text)
    text = re.sub(r"\$[^$\n]+\$", "FORMULA", text)
    text = re.sub(r"^[ \t]*(:{3,}.*|:[\w-]+:.*|\([\w-]+\)=|%.*)$", " ",
                  text, flags=re.M)
    return sum(1 for token in text.split() if re.search(r"[A-Za-z0-9]", token))


def chapter_words(page: str) -> int:
    return prose_words(prose_text(
        (ROOT / f"{page}.md").read_text(encoding="utf8")))


def test_the_counter_counts_what_it_says():
    source = """---
jupytext:
  text_representation:
    format_name: myst
---
(a-label)=
# A title

Two words {glue:text}`x:.3f` and $a + b$ ({numref}`Figure %s <f>`).

```{code-cell} ipython3
many words in code are not counted
```

$$
x = y + z
$$

:::{admonition} A note
:class: dropdown
Read here.

````{literalinclude} f.py
```
a listing
```
````
:::

% a comment
## Exercises

after the exercises heading nothing counts
"""
    # "A title"; "Two words ROLE and FORMULA (ROLE)."; the displayed
    # formula; the note's text "Read here." (its fence line and title
    # are markup).
    assert prose_words(prose_text(source)) == 2 + 6 + 1 + 2


def test_the_chapters_are_the_notebooks_of_the_toc():
    # Every executed chapter has exercises, so none escapes the count;
    # the pages without (landing page, bibliography) are plain Markdown.
    assert chapters() == notebook_pages(ROOT)
    assert len(chapters()) > 1


@pytest.mark.parametrize("page", chapters(), ids=lambda p: Path(p).name)
def test_a_chapter_is_about_2000_words(page):
    words = chapter_words(page)
    assert AT_LEAST < words <= LIMIT, f"{page}: {words} words of prose"
