"""The problem-set edition reads on its own.

Removing the solutions must not leave a sentence pointing at what was
removed, the landing page must say where each problem is posed, and each
starter notebook must have its imports in its opening cell and its data
loaded before any exercise needs them. The prose and notebook checks read
the edition's sources as ``book_tools.student`` makes them (the shipped
notebooks hold the same cells: ``test_student_edition`` compares them); the
landing page is read from the built site.
"""

from __future__ import annotations

import ast
import functools
import html
import re
from pathlib import Path

import jupytext
import pytest

from autodiff_book import check
from book_tools import student as build_student
from book_tools.project import ROOT
from tests.test_chapter_sources import (
    HIDDEN_TAGS,
    KERNEL_NAMES,
    bound_names,
    loaded_names,
    python_source,
)

PAGES = sorted((ROOT / "book").glob("*.md"))
# Every problem the self-checks know: problem_1_1 ... problem_2_5.
PROBLEMS = sorted(
    name[len("problem_"):].replace("_", ".")
    for name in vars(check)
    if re.fullmatch(r"problem_\d_\d", name)
)


@functools.cache
def student_text(path: Path) -> str:
    return build_student.student_source(path.read_text("utf8"), path.stem)


def blocks(text: str) -> list[list[str]]:
    """The Markdown blocks of ``text``: runs of prose lines, and each fenced
    block (code cell, directive, literalinclude) as one ``["```..."]``."""
    found: list[list[str]] = []
    current: list[str] = []
    fence = None
    for line in text.splitlines():
        if fence:
            if line.strip() == fence:
                fence = None
            continue
        opening = re.match(r"^(`{3,}|:{3,})", line)
        if opening or not line.strip() or line.startswith("%"):
            if current:
                found.append(current)
                current = []
            if opening:
                found.append([line])
                if line.strip() != opening[1]:
                    fence = opening[1]
            continue
        current.append(line)
    if current:
        found.append(current)
    return found


def is_prose(block: list[str]) -> bool:
    return not re.match(r"^(`{3,}|:{3,}|\$\$|\||\s*([-*]|\d+\.)\s|\(|#)",
                        block[0])


def seams(text: str) -> list[str]:
    """Prose that reads as if something followed or came before it.

    A paragraph ending in a colon introduces what follows: a code cell, a
    formula, a list or a table, never more prose. A paragraph starting in
    lower case continues a displayed formula, nothing else.
    """
    found = []
    parts = blocks(text)
    for before, after in zip(parts, parts[1:], strict=False):
        if is_prose(before) and before[-1].rstrip().endswith(":") and (
            is_prose(after) or after[0].startswith("#")
        ):
            found.append(f"{before[-1]!r} is followed by {after[0]!r}")
        if is_prose(after) and re.match(r"^[a-z]", after[0]) and (
            before[0] != "$$"
        ):
            found.append(f"{after[0]!r} continues {before[-1]!r}")
    return found


@pytest.mark.parametrize("path", PAGES, ids=lambda path: path.stem)
def test_what_the_removal_leaves_reads_on(path):
    assert seams(student_text(path)) == []


def test_the_seams_are_found():
    # The control: a sentence that announced a removed solution, and one
    # that continued it.
    text = (
        "Here is the answer:\n\n% solution-start\n\n```{code-cell} ipython3\n"
        "answer = 1\n```\n\n% solution-end\n\nNow the answer is known.\n\n"
        "$$\nx = 1\n$$\n\nwhere x is a number. It gives\n\n"
        "```{literalinclude} f.py\n```\n\n% solution-start\n\n"
        "$$\nx = 2\n$$\n\n% solution-end\n\nand it agrees.\n"
    )
    assert seams(text) == []  # the full edition's text reads on
    assert seams(build_student.drop_solutions(text)) == [
        "'Here is the answer:' is followed by 'Now the answer is known.'",
        "'and it agrees.' continues '```{literalinclude} f.py'",
    ]


def imported(tree: ast.AST) -> set[str]:
    return {
        (alias.asname or alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }


@functools.cache
def notebooks() -> dict[str, object]:
    """The student edition of every chapter with a starter cell."""
    found = {}
    for path in PAGES:
        text = student_text(path)
        if "kernelspec" in text and ":tags: [starter" in text:
            found[path.stem] = jupytext.reads(text, fmt="md:myst")
    return found


def starter_needs(notebook) -> list[str]:
    """What a starter cell uses that the notebook does not have ready:
    imports that are not in the opening cell, names that no visible cell
    before it defines."""
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    trees = [ast.parse(python_source(cell.source)) for cell in code]
    visible = [not set(cell.metadata.get("tags", [])) & HIDDEN_TAGS
               for cell in code]
    opening = imported(trees[visible.index(True)])
    modules = set().union(*map(imported, trees))
    problems, ready = [], set(KERNEL_NAMES)
    for cell, tree, shown in zip(code, trees, visible, strict=True):
        if "starter" in cell.metadata.get("tags", []):
            used = loaded_names(tree) - bound_names(tree)
            first = cell.source.strip().splitlines()[0]
            if (used & modules) - opening:
                problems.append(f"{first!r} imports "
                                f"{sorted((used & modules) - opening)} later")
            if used - ready:
                problems.append(f"{first!r} needs {sorted(used - ready)}")
        if shown:
            ready |= bound_names(tree)
    return problems


def test_every_problem_has_a_starter_notebook():
    calls = {
        f"{a}.{b}"
        for notebook in notebooks().values()
        for cell in notebook.cells
        for a, b in re.findall(r"check\.problem_(\d)_(\d)\(", cell.source)
    }
    assert sorted(calls) == PROBLEMS and len(PROBLEMS) == 10


@pytest.mark.parametrize("name", sorted(notebooks()))
def test_a_starter_notebook_opens_with_its_imports_and_data(name):
    assert starter_needs(notebooks()[name]) == []


def test_a_starter_that_needs_a_later_import_is_found():
    notebook = jupytext.reads(
        "```{code-cell} ipython3\nimport torch\n```\n\n"
        "```{code-cell} ipython3\nfrom autodiff_book import check\n"
        "X = torch.zeros(3)\n```\n\n"
        "```{code-cell} ipython3\n:tags: [starter]\n\n"
        "check.problem_1_1(X.sum() + y)\n```\n\n"
        "```{code-cell} ipython3\ny = 1\n```\n",
        fmt="md:myst",
    )
    assert starter_needs(notebook) == [
        "'check.problem_1_1(X.sum() + y)' imports ['check'] later",
        "'check.problem_1_1(X.sum() + y)' needs ['y']",
    ]


def test_the_landing_page_says_where_each_problem_is_posed(student_edition):
    site = student_edition / "html" / "book"
    page = (site / "index.html").read_text("utf8")
    section = re.search(
        r'<section id="where-each-problem-is-posed">(.*?)</section>',
        page, re.S,
    )
    assert section, "no section 'Where each problem is posed'"
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", section[1], re.S)
    posed = {}
    for row in rows[1:]:
        links = re.findall(r'<a[^>]*href="([^"]+)"[^>]*>(.*?)</a>', row, re.S)
        target, text = links[0]
        problem = re.sub(r"<[^>]+>", "", text).strip()
        posed[problem] = html.unescape(target)
        # The row also links the chapter the problem belongs to.
        assert target.split("#")[0] in [href for href, _ in links[1:]]
    assert sorted(posed) == PROBLEMS
    for problem, target in posed.items():
        name, anchor = target.split("#")
        chapter = (site / name).read_text("utf8")
        at = chapter.find(f'id="{anchor}"')
        assert at >= 0, (problem, target)
        # The exercise the row points at is the one the self-check follows.
        call = f"check.problem_{problem.replace('.', '_')}"
        following = re.sub(r"<[^>]+>", "", chapter[at:])
        assert call in html.unescape(following), (problem, target)
        assert not re.search(r"check\.problem_\d_\d",
                             html.unescape(following).split(call)[0])
