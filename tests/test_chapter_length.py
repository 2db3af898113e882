"""Part II chapters stay short: about 2,000 words of prose each.

How the words are counted: the chapter's text up to its "Exercises"
heading, without the front matter, code cells, directive blocks (figures,
admonitions, dropdowns), display math, MyST comments and labels. What is
left is prose, headings, list items and table cells; each inline role
(a glued number, a reference, a citation) and each inline formula counts
as one word. A word is a run of letters or digits, with inner
apostrophes and hyphens. "About 2,000" is taken as at most 10 % more.
"""

from __future__ import annotations

import re

import pytest

from tests.notebooks import BOOK

PART_II = ("sgd", "early-stopping", "momentum", "momentum-theory")
LIMIT = 2_200


def prose_words(text: str) -> int:
    """The number of prose words before the exercises, as counted above."""
    text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)
    body = re.split(r"^## Exercises\s*$", text, flags=re.M)[0]
    body = re.sub(r"^(`{3,}|:{3,}).*?^\1\s*$", " ", body,
                  flags=re.S | re.M)
    body = re.sub(r"\$\$.*?\$\$", " ", body, flags=re.S)
    body = re.sub(r"\{[\w:-]+\}`[^`]*`", " ROLE ", body)
    body = re.sub(r"\$[^$\n]*\$", " MATH ", body)
    body = re.sub(r"^%.*$|^\([\w-]+\)=\s*$", " ", body, flags=re.M)
    return len(re.findall(r"[A-Za-z0-9][\w'’-]*", body))


def test_the_counter_counts_what_it_says():
    text = """---
front: matter
---
(a-label)=
# A title

Two words {glue:text}`x:.3f` and $a + b$.

```{code-cell} ipython3
many words in code are not counted
```

$$
x = y
$$

% a comment
## Exercises

after the exercises heading nothing counts
"""
    # "A title", "Two words ROLE and MATH": 2 + 5.
    assert prose_words(text) == 7


@pytest.mark.parametrize("chapter", PART_II)
def test_a_part_ii_chapter_is_about_2000_words(chapter):
    words = prose_words((BOOK / f"{chapter}.md").read_text())
    assert words <= LIMIT, f"{chapter}: {words} words of prose"
