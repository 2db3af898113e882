"""Chapters run as the reader sees them: hidden cells hide only plumbing.

A reader who copies the visible cells of a chapter, or a student who runs
the notebook with the hidden cells stripped, must not meet a ``NameError``:
no visible cell may use a name that only a hidden cell defines. And the
``glue`` calls that carry numbers into the prose stay in hidden cells, so
the page shows the computation, not the bookkeeping.
"""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import jupytext
import pytest

from tests.notebooks import BOOK

HIDDEN_TAGS = {"remove-cell", "remove-input"}
# Names an IPython kernel provides without an import.
KERNEL_NAMES = set(dir(builtins)) | {"display", "get_ipython", "In", "Out"}


def chapter_files() -> list[Path]:
    """Every notebook chapter (a file with a kernelspec) of ``book/``."""
    return sorted(
        path
        for path in BOOK.glob("*.md")
        if jupytext.read(path).metadata.get("kernelspec")
    )


def python_source(cell_source: str) -> str:
    """The cell without IPython magics and shell escapes."""
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line
        for line in cell_source.splitlines()
    )


def bound_names(tree: ast.AST) -> set[str]:
    """Names a cell binds at the notebook's top level."""
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
        ):
            names.add(node.name)
            return  # names bound inside are local to the body
        comprehension = ast.ListComp | ast.SetComp | ast.DictComp
        if isinstance(node, ast.Lambda | ast.GeneratorExp | comprehension):
            return  # their variables do not leak
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def loaded_names(tree: ast.AST) -> set[str]:
    """Every name a cell reads, including inside its functions."""
    return {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }


def calls_glue(tree: ast.AST) -> bool:
    """Whether a cell calls myst-nb's ``glue``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            function = node.func
            if isinstance(function, ast.Name) and function.id == "glue":
                return True
            if isinstance(function, ast.Attribute) and function.attr == "glue":
                return True
    return False


def reader_view_problems(notebook) -> list[str]:
    """What breaks when only the visible cells run, cell by cell."""
    problems = []
    visible: set[str] = set(KERNEL_NAMES)
    hidden_only: set[str] = set()
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        tree = ast.parse(python_source(cell.source))
        tags = set(cell.metadata.get("tags", []))
        defined = bound_names(tree)
        if tags & HIDDEN_TAGS:
            hidden_only |= defined - visible
            continue
        missing = (loaded_names(tree) - visible - defined) & hidden_only
        first_line = cell.source.strip().splitlines()[0]
        if missing:
            problems.append(
                f"visible cell {index} ({first_line!r}) uses "
                f"{sorted(missing)}, defined only in a hidden cell"
            )
        if calls_glue(tree):
            problems.append(
                f"visible cell {index} ({first_line!r}) calls glue: "
                "move it to a hidden (remove-cell) cell"
            )
        visible |= defined
        hidden_only -= defined
    return problems


@pytest.mark.parametrize("path", chapter_files(), ids=lambda path: path.stem)
def test_visible_cells_run_without_the_hidden_ones(path):
    assert reader_view_problems(jupytext.read(path)) == []


def test_every_chapter_is_looked_at():
    assert len(chapter_files()) >= 7


def notebook_of(*cells: tuple[str, list[str]]):
    """A small notebook from ``(source, tags)`` pairs."""
    text = "\n".join(
        "```{code-cell} ipython3\n"
        + (f":tags: {tags}\n\n" if tags else "")
        + f"{source}\n```\n"
        for source, tags in cells
    )
    header = (
        "---\njupytext:\n  text_representation:\n    extension: .md\n"
        "    format_name: myst\nkernelspec:\n  display_name: Python 3\n"
        "  language: python\n  name: python3\n---\n\n"
    )
    return jupytext.reads(header + text, fmt="md:myst")


def test_a_name_from_a_hidden_import_is_caught():
    notebook = notebook_of(
        ("import numpy as np", ["remove-cell"]),
        ("np.zeros(3)", []),
    )
    (problem,) = reader_view_problems(notebook)
    assert "uses ['np']" in problem


def test_a_name_used_inside_a_visible_function_is_caught():
    notebook = notebook_of(
        ("scale = 2.0", ["remove-input"]),
        ("def double(x):\n    return scale * x", []),
    )
    (problem,) = reader_view_problems(notebook)
    assert "uses ['scale']" in problem


def test_a_visible_glue_call_is_caught():
    notebook = notebook_of(
        ("from myst_nb import glue", []),
        ("glue('answer', 42, display=False)", []),
    )
    (problem,) = reader_view_problems(notebook)
    assert "calls glue" in problem


def test_names_defined_visibly_again_are_fine():
    notebook = notebook_of(
        ("import torch\nfrom myst_nb import glue", ["remove-cell"]),
        ("import torch\nx = torch.ones(2)\n[v for v in x]", []),
        ("glue('x', x.sum().item(), display=False)", ["remove-cell"]),
        ("%matplotlib inline\ny = x * 2\nprint(y)", ["hide-input"]),
    )
    assert reader_view_problems(notebook) == []
