"""Grade a class: run every submitted notebook afresh and check its answers.

``python -m book_tools.grade SUBMISSIONS`` (``make grade
SUBMISSIONS=folder``) reads every file under ``SUBMISSIONS`` (hidden files
and ``.ipynb_checkpoints`` aside), and for each notebook:

1. finds its chapter: the starter notebook with which it shares the most
   cells (a renamed file is still found), or else the chapter its file
   name ends with;
2. executes a temporary copy of it, never the file itself and never
   trusting the outputs stored in it, in a fresh kernel of its own whose
   working directory is that copy's folder: every code cell in order
   (errors do not stop the run, as in nbgrader), with a time limit per
   cell, one for the whole notebook and a cap on the size of its outputs;
3. runs, in the same kernel, each problem's self-check, placed by
   ``check_positions``: right after the student's own call of that check
   (repeating that call, so a renamed answer or a ``seed=...`` counts), or,
   when the student deleted it, the starter notebook's call where the
   starter had it. The calls come from the starter notebooks, one source
   of truth; a problem is graded whether its self-check cell was kept,
   edited or deleted, and each check sees the notebook's names as they
   were when its problem was done.

Each problem gets one of:

- ``correct``, ``wrong: <hint>`` or ``not done`` (the check's verdict;
  ``not done`` also when the notebook never defined a name the check
  reads);
- ``error: <reason>`` when the check itself raised on the student's
  objects, or when the answer is missing ("not done") while a cell raised
  an unexpected error: the error is the likelier reason, so it is shown.
  Errors that are expected are not: ``NotDone`` (an unfinished ``todo``)
  and errors of cells the chapter shows on purpose (tagged
  ``raises-exception``, not ``starter``).

The whole notebook is an error row (every problem of its chapter, or of
every chapter when none is found, says ``error: <reason>``) when the file
is not a notebook, has no cells, matches no chapter, runs a cell past the
cell time limit or the notebook past its own, prints more than the output
cap, kills its kernel, or rewrites or deletes its own file while it runs.

Writes ``_build/grades/grades.csv`` (one row per file: its path, its
chapter, its status, ``graded`` or the error, then one column per
problem) and one feedback file per notebook under
``_build/grades/feedback/`` (the submission's relative path, ``.md``),
and prints a progress line per notebook. Notebooks run ``--jobs`` at a
time. The submissions folder is never written to.

Grading runs the students' code with the grader's rights, as nbgrader
does: run it inside a container (see the README, "Grading a class").
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import csv
import hashlib
import json
import math
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import nbclient
import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async

from book_tools.project import ROOT, notebook_pages, page_source
from book_tools.student import student_source

OUTPUT = Path("_build") / "grades"
CELL_TIMEOUT = 120  # seconds for one cell
NOTEBOOK_TIMEOUT = 600  # seconds for a whole notebook once its kernel runs
OUTPUT_LIMIT = 16_000_000  # bytes of outputs per notebook
MAX_FILE_SIZE = 50_000_000  # bytes: a larger file is not read
JOBS = 2
EXPECTED_ERRORS = {"NotDone"}
SKIPPED_PARTS = {".ipynb_checkpoints", "__MACOSX"}


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


class _Client(nbclient.NotebookClient):
    """nbclient's client with a cap on the bytes of outputs it keeps.

    Past the cap it keeps no more output and interrupts the kernel once,
    so that a cell printing without end stops; the grader then reports
    the notebook as an error.
    """

    def __init__(self, notebook, output_limit: int, **kwargs):
        super().__init__(notebook, **kwargs)
        self.output_limit = output_limit
        self.output_bytes = 0
        self.overflowed = False

    def output(self, outs, msg, display_id, cell_index):
        self.output_bytes += len(json.dumps(msg.get("content", {})))
        if self.output_bytes > self.output_limit:
            if not self.overflowed:
                self.overflowed = True
                asyncio.ensure_future(ensure_async(
                    self.km.interrupt_kernel()))
            return None
        return super().output(outs, msg, display_id, cell_index)


def cell_errors(notebook) -> list[tuple[int, str]]:
    """The unexpected errors of an executed notebook: (cell index, text)."""
    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        tags = cell.metadata.get("tags", [])
        shown = "raises-exception" in tags and "starter" not in tags
        for output in cell.get("outputs", []):
            if (output.output_type == "error" and not shown
                    and output.ename not in EXPECTED_ERRORS):
                evalue = output.evalue.strip().splitlines()
                reason = f"{output.ename}: {evalue[0] if evalue else ''}"
                found.append((index, f"{reason.rstrip(': ')[:300]} "
                                     f"(cell {index + 1})"))
    return found


def digest(path: Path) -> str | None:
    return (hashlib.sha256(path.read_bytes()).hexdigest()
            if path.is_file() else None)


async def run_cell(client, cell, index: int, name: str,
                   limits: dict) -> None:
    """Execute one cell within both time limits; a failure names the cell.

    nbclient's own time limit applies to one cell: it is set to what is
    left of the notebook's when that is less.
    """
    left = limits["deadline"] - time.monotonic()
    notebook = (f"it ran past the notebook time limit of "
                f"{limits['notebook']:g} s")
    if left <= 0:
        # The time ran out between cells: name the cell that never ran.
        raise GradeError(f"{notebook} (before {name})")
    client.timeout = max(1, math.ceil(min(limits["cell"], left)))
    try:
        await client.async_execute_cell(cell, index)
    except CellTimeoutError:
        if limits["cell"] > left:
            raise GradeError(f"{notebook} (in {name})") from None
        raise GradeError(f"{name} ran past the time limit of "
                         f"{limits['cell']:g} s") from None
    except DeadKernelError:
        raise GradeError(f"its kernel died in {name} (exit(), a crash, or "
                         "out of memory)") from None


async def execute(notebook, starter, problems: list[Problem],
                  folder: Path, limits: dict) -> dict[str, list[str]]:
    """Run ``notebook`` in a fresh kernel in ``folder``, with the checks.

    The grader's check cells run where ``check_positions`` puts them; the
    notebook's own cells keep their indices. Returns each problem's
    [status, hint] by column.
    """
    positions = check_positions(notebook, starter, problems)
    result_folder = Path(tempfile.mkdtemp(prefix="grade-result-"))
    result_file = result_folder / "verdicts.jsonl"
    client = _Client(
        notebook, limits["output"], timeout=limits["cell"],
        allow_errors=True, kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
    )
    try:
        # The kernel's own stderr (not the notebook's, which comes as
        # messages) would only interleave warnings with the progress lines.
        async with client.async_setup_kernel(stderr=subprocess.DEVNULL):
            # The notebook's time starts when its kernel is ready: a start
            # slowed by a busy machine is not the student's.
            limits = {**limits,
                      "deadline": time.monotonic() + limits["notebook"]}
            for index in range(len(notebook.cells) + 1):
                for problem in problems:
                    at, call = positions[problem.column]
                    if at != index:
                        continue
                    checks = nbformat.v4.new_code_cell(
                        grader_source(problem.column, call, result_file))
                    # nbclient stores the cell at its index: give it a
                    # place of its own, then take it out again.
                    notebook.cells.append(checks)
                    await run_cell(client, checks, len(notebook.cells) - 1,
                                   f"the check of {problem.column}", limits)
                    notebook.cells.pop()
                if index < len(notebook.cells):
                    await run_cell(client, notebook.cells[index], index,
                                   f"cell {index + 1}", limits)
                if client.overflowed:
                    raise GradeError(
                        f"its outputs passed {limits['output'] / 1e6:g} MB "
                        f"in cell {index + 1}; it was stopped")
        verdicts = {}
        if result_file.is_file():
            for line in result_file.read_text(encoding="utf8").splitlines():
                column, status, hint = json.loads(line)
                verdicts[column] = [status, hint]
        return verdicts
    finally:
        shutil.rmtree(result_folder, ignore_errors=True)


def grade_notebook(path: Path, relative: str, starters: dict,
                   problems: dict[str, list[Problem]],
                   limits: dict) -> Result:
    """Grade one file; never raise for anything the file does."""
    result = Result(relative)
    start = time.perf_counter()
    try:
        if path.stat().st_size > MAX_FILE_SIZE:
            raise GradeError(f"not a notebook: larger than "
                             f"{MAX_FILE_SIZE / 1e6:g} MB")
        try:
            notebook = nbformat.read(path, as_version=4)
            nbformat.validate(notebook)
        except Exception as error:
            first = str(error).strip().splitlines()
            raise GradeError(
                f"not a notebook: {type(error).__name__}"
                + (f": {first[0][:200]}" if first else "")) from None
        if not notebook.cells:
            raise GradeError("the notebook has no cells")
        chapter = find_chapter(path, notebook, starters)
        if chapter is None:
            raise GradeError("no chapter of the book: it shares no cell "
                             "with a starter notebook and its name is no "
                             "chapter's")
        result.chapter = chapter
        if not problems[chapter]:
            result.note = f"the chapter {chapter} has no self-checked problem"
            return result
        # Outputs stored in the file are never trusted: they are dropped.
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        with tempfile.TemporaryDirectory(prefix="grade-") as folder:
            copy = Path(folder) / path.name
            shutil.copyfile(path, copy)
            before = digest(copy)
            positions = check_positions(notebook, starters[chapter],
                                        problems[chapter])
            verdicts = asyncio.run(execute(
                notebook, starters[chapter], problems[chapter], Path(folder),
                limits))
            if digest(copy) != before:
                raise GradeError("it rewrote or deleted its own file while "
                                 "it ran")
        errors = cell_errors(notebook)
        result.errors = [text for _, text in errors]
        for problem in problems[chapter]:
            status, hint = verdicts.get(problem.column,
                                        ["error", "the check did not run"])
            before = [text for index, text in errors
                      if index < positions[problem.column][0]]
            if status == "not done" and before:
                status, hint = "error", before[0]
            result.marks[problem.column] = (
                f"{status}: {hint}" if hint and status != "not done"
                else status)
    except DeadKernelError:
        fail(result, problems, "its kernel died (exit(), a crash, or out "
                               "of memory)")
    except GradeError as error:
        fail(result, problems, str(error))
    except Exception as error:  # the grader's own failure, still a row
        fail(result, problems, f"the grader failed: "
                               f"{type(error).__name__}: {error}")
    result.seconds = time.perf_counter() - start
    return result


def fail(result: Result, problems: dict[str, list[Problem]],
         reason: str) -> None:
    """Mark every problem of the file's chapter as an error, with the
    reason; with no chapter, every problem, the reason in the status."""
    mark = f"error: {reason}" if result.chapter else "error"
    chapters = [result.chapter] if result.chapter else list(problems)
    result.marks = {p.column: mark
                    for chapter in chapters for p in problems[chapter]}
    result.note = f"error: {reason}"


def submissions(folder: Path) -> list[Path]:
    """Every file to grade: all files below, hidden ones aside."""
    return sorted(
        path for path in folder.rglob("*")
        if path.is_file() and not any(
            part.startswith(".") or part in SKIPPED_PARTS
            for part in path.relative_to(folder).parts)
    )


def summary(result: Result) -> str:
    """The progress line's account of one result."""
    if result.note and not result.marks:
        return result.note
    if result.note.startswith("error"):
        return result.note
    return ", ".join(f"{column} {mark.split(':')[0]}"
                     for column, mark in result.marks.items())


def feedback(result: Result, problems: list[Problem]) -> str:
    """The feedback file of one notebook, in Markdown."""
    lines = [f"# Feedback on {result.path}", ""]
    if result.chapter:
        lines += [f"Chapter: {result.chapter}", ""]
    if result.note:
        lines += [result.note, ""]
    for problem in problems:
        if problem.column in result.marks:
            lines.append(f"- Problem {problem.column}: "
                         f"{result.marks[problem.column]}")
    if result.errors:
        lines += ["", "Errors while the notebook ran:", ""]
        lines += [f"- {error}" for error in result.errors]
    lines += ["", f"Graded in {result.seconds:.1f} s, every cell run "
                  "afresh in a new kernel.", ""]
    return "\n".join(lines)


def grade(folder: Path, output: Path, *, root: Path = ROOT,
          jobs: int = JOBS, cell_timeout: float = CELL_TIMEOUT,
          notebook_timeout: float = NOTEBOOK_TIMEOUT,
          output_limit: int = OUTPUT_LIMIT,
          progress=print) -> list[Result]:
    """Grade every file of ``folder``; write the CSV and feedback files.

    Args:
        folder: the submissions, read and never written to.
        output: where ``grades.csv`` and ``feedback/`` go (both replaced).
        jobs: notebooks graded at a time, each in its own kernel.
        cell_timeout, notebook_timeout: limits in seconds.
        output_limit: bytes of outputs a notebook may produce.
    Returns:
        One result per file, in the order of the file names.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"folder must be a folder of submitted notebooks, "
                         f"got {str(folder)!r}")
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    for name, value in (("cell_timeout", cell_timeout),
                        ("notebook_timeout", notebook_timeout),
                        ("output_limit", output_limit)):
        if not isinstance(value, int | float) or value <= 0:
            raise ValueError(f"{name} must be a positive number, got "
                             f"{value!r}")
    output = Path(output)
    if output.resolve().is_relative_to(folder.resolve()):
        raise ValueError("output must lie outside the submissions folder, "
                         f"got {str(output)!r}")
    starters = starter_notebooks(root)
    problems = {name: problems_of(name, notebook)
                for name, notebook in starters.items()}
    columns = list(dict.fromkeys(
        p.column for name in problems for p in problems[name]))
    files = submissions(folder)
    limits = {"cell": cell_timeout, "notebook": notebook_timeout,
              "output": output_limit}
    lock = threading.Lock()
    done = []

    def one(path: Path) -> Result:
        result = grade_notebook(path, str(path.relative_to(folder)),
                                starters, problems, limits)
        with lock:
            done.append(result)
            progress(f"[grade] {len(done)}/{len(files)} {result.path}: "
                     f"{summary(result)} ({result.seconds:.1f} s)",
                     flush=True)
        return result

    # Largest first: a long notebook started last would run alone.
    order = sorted(files, key=lambda path: -path.stat().st_size)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        finished = dict(zip(order, pool.map(one, order), strict=True))
    results = [finished[path] for path in files]
    # The folder's own contents, not the folder: it may be a mount point.
    shutil.rmtree(output / "feedback", ignore_errors=True)
    (output / "feedback").mkdir(parents=True)
    with open(output / "grades.csv", "w", newline="",
              encoding="utf8") as file:
        writer = csv.writer(file)
        writer.writerow(["notebook", "chapter", "status", *columns])
        for result in results:
            writer.writerow([result.path, result.chapter,
                             result.note or "graded",
                             *(result.marks.get(c, "") for c in columns)])
    for result in results:
        path = output / "feedback" / Path(result.path).with_suffix(".md")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(feedback(result, problems.get(result.chapter, [])),
                        encoding="utf8")
    return results


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, grade, and say where the grades are."""
    parser = argparse.ArgumentParser(
        prog="python -m book_tools.grade",
        description="Grade a folder of submitted notebooks.")
    parser.add_argument("submissions", type=Path,
                        help="the folder of submitted notebooks")
    parser.add_argument("--output", type=Path, default=OUTPUT,
                        help=f"where the grades go (default {OUTPUT})")
    parser.add_argument("--jobs", type=int, default=JOBS)
    parser.add_argument("--cell-timeout", type=float, default=CELL_TIMEOUT)
    parser.add_argument("--notebook-timeout", type=float,
                        default=NOTEBOOK_TIMEOUT)
    parser.add_argument("--output-limit", type=int, default=OUTPUT_LIMIT,
                        help="bytes of outputs a notebook may print")
    args = parser.parse_args(argv)
    if not args.submissions.is_dir():
        parser.error(f"SUBMISSIONS must be a folder of notebooks: "
                     f"{str(args.submissions)!r} is not a folder")
    start = time.perf_counter()
    try:
        results = grade(args.submissions, args.output, jobs=args.jobs,
                        cell_timeout=args.cell_timeout,
                        notebook_timeout=args.notebook_timeout,
                        output_limit=args.output_limit)
    except ValueError as error:
        parser.error(str(error))
    print(f"[grade] {len(results)} files in "
          f"{time.perf_counter() - start:.0f} s: "
          f"{args.output / 'grades.csv'} and {args.output / 'feedback'}",
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
