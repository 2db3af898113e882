"""How long grading takes: the test's class folder, graded once.

A measurement for ``benchmarks/grading.md``, not a test. Builds the
folder of ``tests/test_grade.py`` (shipped starters, the same filled with
the book's solutions, listed mistakes, broken files) from the starter
notebooks in ``_build/student/notebooks`` (``make student``), or, without
that build, from ``book_tools.grade.starter_notebooks``; grades it with
the test's limits; prints the grades as a Markdown table, the seconds of
each notebook, the wall clock, the CPU seconds of the grader and its
kernels, and the load average before and after (the machine is shared).

Usage (from the repository's root, with the test tools installed)::

    .venv/bin/python -m book_tools.benchmarks.grading [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import nbformat

from book_tools import grade
from book_tools.project import ROOT


def shipped_starters(folder: Path) -> Path:
    """``make student``'s notebooks if built, else written to ``folder``."""
    built = ROOT / "_build" / "student" / "notebooks"
    if any(built.glob("*.ipynb")):
        return built
    folder.mkdir(parents=True)
    for name, notebook in grade.starter_notebooks().items():
        nbformat.write(notebook, folder / f"{name}.ipynb")
    return folder


def cpu_seconds() -> float:
    """User and system seconds of this process and its ended children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return sum((own.ru_utime, own.ru_stime, children.ru_utime,
                children.ru_stime))


def table(results: list[grade.Result]) -> str:
    """The grades as a Markdown table, one row per file."""
    columns = list(dict.fromkeys(c for r in results for c in r.marks))
    lines = ["| file | s | " + " | ".join(columns) + " |",
             "|---|---:|" + "---|" * len(columns)]
    for result in results:
        marks = []
        for column in columns:
            mark = result.marks.get(column, "")
            # The kind of mark; a reason or hint is in the files below.
            marks.append(mark.split(":")[0])
        lines.append(f"| {result.path} | {result.seconds:.1f} | "
                     + " | ".join(marks) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from tests import test_grade  # the class folder the tests grade

    parser = argparse.ArgumentParser(prog="book_tools.benchmarks.grading")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="grading-") as work:
        work = Path(work)
        folder = test_grade.build_class(
            work / "submissions", shipped_starters(work / "starters"))
        load = os.getloadavg()
        start, cpu = time.perf_counter(), cpu_seconds()
        results = grade.grade(
            folder, work / "grades", jobs=args.jobs,
            cell_timeout=test_grade.CELL_TIMEOUT,
            output_limit=test_grade.OUTPUT_LIMIT)
        wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        print(table(results))
        print()
        for result in results:
            if result.note:
                print(f"- {result.path}: {result.note}")
        print()
        for result in results:
            for column, mark in result.marks.items():
                if not result.note and mark.startswith(("wrong", "error")):
                    print(f"- {result.path}, {column}: {mark}")
        executed = [r for r in results if r.seconds > 1]
        print(f"\n{len(results)} files, {len(executed)} notebooks "
              f"executed, --jobs {args.jobs}: {wall:.0f} s wall clock, "
              f"{cpu:.0f} CPU s (grader and kernels), "
              f"{sum(r.seconds for r in executed) / len(executed):.1f} s "
              "per executed notebook (its own wall clock); load average "
              f"{load[0]:.1f} before, {os.getloadavg()[0]:.1f} after.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
