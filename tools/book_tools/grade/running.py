"""Running one submission: a fresh kernel, time and output limits, a verdict.

``grade_notebook`` never raises for anything the file does: a notebook
that cannot be graded becomes an error row with its reason.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import nbclient
import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async

from book_tools.grade.problems import (
    GradeError,
    Problem,
    Result,
    check_positions,
    find_chapter,
    grader_source,
)

CELL_TIMEOUT = 120  # seconds for one cell
NOTEBOOK_TIMEOUT = 600  # seconds for a whole notebook once its kernel runs
OUTPUT_LIMIT = 16_000_000  # bytes of outputs per notebook
MAX_FILE_SIZE = 50_000_000  # bytes: a larger file is not read
# Errors a notebook raises on purpose: an unfinished todo().
EXPECTED_ERRORS = {"NotDone"}


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


