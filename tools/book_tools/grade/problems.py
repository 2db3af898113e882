"""What a class is graded on: the starters' self-checks, and where each runs.

The problems come from the starter notebooks (one source of truth): each
self-check call of a starter is a problem, a column of the grades. A
submission is matched to its chapter by the cells it shares with a
starter, and each check is placed right after the student's own call of
it, or where the starter had it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import nbformat

from book_tools.project import ROOT, notebook_pages, page_source
from book_tools.student import student_source


class GradeError(Exception):
    """Why a whole notebook could not be graded."""


@dataclass(frozen=True)
class Problem:
    """One self-check of a starter notebook, as the grader calls it."""

    column: str  # "2.1" for check.problem_2_1, else the function's name
    chapter: str
    function: str
    call: str  # the call's source, e.g. "check.problem_2_1(slope, bias)"


@dataclass
class Result:
    """The grade of one submitted file."""

    path: str  # relative to the submissions folder
    chapter: str = ""
    marks: dict[str, str] = field(default_factory=dict)  # column -> mark
    errors: list[str] = field(default_factory=list)  # unexpected errors
    note: str = ""
    seconds: float = 0.0


def column_name(function: str) -> str:
    """``problem_2_1`` -> ``2.1``; an exercise check keeps its name."""
    match = re.fullmatch(r"problem_(\d+)_(\d+)", function)
    return f"{match[1]}.{match[2]}" if match else function


def starter_notebooks(root: Path = ROOT) -> dict[str, nbformat.NotebookNode]:
    """The starter notebook of every chapter, by chapter name.

    The one place the grader learns what was handed out: each chapter as
    ``make student`` writes it (``book_tools.student.student_source``),
    read here from the chapter sources, so grading needs no build and is
    never out of date with the checks.
    """
    notebooks = {}
    for page in notebook_pages(root):
        path = page_source(root, page)
        text = student_source(path.read_text(encoding="utf8"), path.name)
        notebooks[path.stem] = jupytext.reads(text, fmt="md:myst")
    return notebooks


def check_calls(source: str) -> list[ast.Call]:
    """The ``check.<name>(...)`` calls of a cell's source (none if it does
    not parse, as with IPython magics)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [
        node for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "check"
    ]


def problems_of(chapter: str, notebook) -> list[Problem]:
    """The self-check calls of a starter notebook's starter cells."""
    found = []
    for cell in notebook.cells:
        if cell.cell_type != "code" or "starter" not in cell.metadata.get(
                "tags", []):
            continue
        for call in check_calls(cell.source):
            found.append(Problem(column_name(call.func.attr), chapter,
                                 call.func.attr,
                                 ast.get_source_segment(cell.source, call)))
    return found


def cell_texts(notebook) -> set[str]:
    return {cell.source.strip() for cell in notebook.cells
            if cell.source.strip()}


def find_chapter(path: Path, notebook, starters: dict) -> str | None:
    """The chapter a submission is a copy of, or None.

    The one sharing most cells with it; if it shares none, the chapter
    its file name ends with (``alice-sgd.ipynb``).
    """
    texts = cell_texts(notebook)
    shared = {name: len(texts & cell_texts(starter))
              for name, starter in starters.items()}
    best = max(shared, key=shared.get, default=None)
    if best is not None and shared[best] > 0:
        return best
    by_name = [name for name in starters
               if re.search(rf"(^|[^a-z]){re.escape(name)}$", path.stem,
                            re.IGNORECASE)]
    return max(by_name, key=len) if by_name else None


def grader_source(column: str, call: str, result_file: Path) -> str:
    """The cell the grader runs in the student's kernel for one problem.

    It evaluates ``call`` in the notebook's namespace as it is at that
    point, with ``check`` bound to ``autodiff_book.check`` whatever the
    notebook named ``check``, and appends the verdict to ``result_file``
    as a line of JSON. The module is the kernel's own (its cache of
    reference runs is reused): like nbgrader's tests, the checks trust the
    kernel they run in.
    """
    return f"""\
def _grade_class(column, call, result_file):
    import json
    import autodiff_book.check as module
    try:
        verdict = eval(call, {{**globals(), "check": module}})
        if not isinstance(verdict, module.Verdict):
            raise TypeError("the check returned no verdict")
        result = [verdict.status, verdict.hint]
    except NameError as error:
        result = ["not done", f"the notebook defines no {{error.name}}"]
    except module.NotDone as error:
        result = ["not done", str(error)]
    except Exception as error:
        result = ["error", f"{{type(error).__name__}}: {{error}}"]
    with open(result_file, "a", encoding="utf8") as file:
        file.write(json.dumps([column, *result]) + "\\n")


_grade_class({column!r}, {call!r}, {str(result_file)!r})
del _grade_class
"""


def check_positions(notebook, starter, problems: list[Problem]
                    ) -> dict[str, tuple[int, str]]:
    """Where and how each problem is checked: (index, call source).

    The check runs before the submission's cell of that index
    (``len(cells)``: at the end). If the student calls the problem's
    check (the last call, if several), the grader repeats that call right
    after that cell: renamed answers and a ``seed=...`` are honoured.
    Otherwise the grader makes the starter's call where the starter had
    it: before the first cell that followed it in the starter and is
    still unchanged in the submission (the next paragraph, say), or at the
    end. So each check sees the names as they were when its problem was
    done, even when two problems use the same name (``gradient``).
    """
    sources = [cell.source.strip() for cell in notebook.cells]
    found = {}
    for problem in problems:
        own = [(index, ast.get_source_segment(cell.source, call))
               for index, cell in enumerate(notebook.cells)
               if cell.cell_type == "code"
               for call in check_calls(cell.source)
               if call.func.attr == problem.function]
        if own:
            index, call = own[-1]
            found[problem.column] = (index + 1, call)
            continue
        found[problem.column] = (len(notebook.cells), problem.call)
        at = next((k for k, cell in enumerate(starter.cells)
                   if "starter" in cell.metadata.get("tags", [])
                   and problem.call in cell.source), None)
        for cell in starter.cells[at + 1:] if at is not None else []:
            text = cell.source.strip()
            if text and text in sources:
                found[problem.column] = (sources.index(text), problem.call)
                break
    return found


