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
import csv
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from book_tools.grade.problems import (
    Problem,
    Result,
    grader_source,
    problems_of,
    starter_notebooks,
)
from book_tools.grade.running import (
    CELL_TIMEOUT,
    NOTEBOOK_TIMEOUT,
    OUTPUT_LIMIT,
    grade_notebook,
)
from book_tools.project import ROOT

__all__ = ["Problem", "Result", "grade", "grader_source", "main",
           "problems_of", "starter_notebooks", "submissions"]

OUTPUT = Path("_build") / "grades"
JOBS = 2
SKIPPED_PARTS = {".ipynb_checkpoints", "__MACOSX"}


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


