"""Mutation testing of ``src/autodiff_book`` with mutmut 3 (``make mutation``).

Slow: not part of ``make test``. The configuration is ``[tool.mutmut]`` in
``pyproject.toml``: the package is mutated in a copy under ``mutants/``,
and each mutant faces the package's own unit and property tests (not the
chapter, build or browser tests). Prints the score; the list of survivors
is in ``mutants/results.txt``. ``benchmarks/mutation.md`` records the last
run.

Usage, from the project's folder::

    python -m book_tools.audits.mutation [--jobs 2]
    python -m book_tools.audits.mutation --test tests/test_checks.py \\
        "autodiff_book.checks.x_check_real*"

With mutant names (mutmut's globs) only those mutants run, again from
scratch; ``--changed-since COMMIT`` adds the globs of every function and
method of the package whose source differs from that commit's (new ones
included), module by module with ``--module``. ``--test`` (repeated)
narrows the test files for such a run: the functions that nearly every
test calls (``checks.check_real``) would otherwise run most of the suite
for each mutant. mutmut reads its test
selection only from ``pyproject.toml``, so such a run is made in a copy of
the project, ``mutants/selection/``, whose configuration lists just those
files (its results are in ``mutants/selection/mutants/results.txt``).
"""

from __future__ import annotations

import argparse
import ast
import collections
import fnmatch
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

PACKAGE = Path("src", "autodiff_book")


def function_sources(text: str) -> dict[str, str]:
    """Mutmut's mangled name -> source, for every top-level function and
    method of a module's text (``x_f``; ``xǁClassǁmethod``)."""
    tree = ast.parse(text)
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found[f"x_{node.name}"] = ast.get_source_segment(text, node)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    found[f"x\u01c1{node.name}\u01c1{item.name}"] = (
                        ast.get_source_segment(text, item))
    return found


def changed_globs(commit: str, modules: list[str] | None = None
                  ) -> list[str]:
    """Mutant globs of the functions whose source differs from ``commit``'s.

    ``modules``: module names (``check``, ``data``); all when None.
    """
    globs = []
    for path in sorted(PACKAGE.glob("*.py")):
        if modules and path.stem not in modules:
            continue
        shown = subprocess.run(
            ["git", "show", f"{commit}:{path.as_posix()}"],
            capture_output=True, text=True, check=False)
        before = function_sources(shown.stdout) if shown.returncode == 0 \
            else {}
        for name, source in function_sources(path.read_text()).items():
            if before.get(name) != source:
                globs.append(f"autodiff_book.{path.stem}.{name}__mutmut_*")
    return globs


def score(results: str) -> list[str]:
    """The table of ``mutmut results`` lines ("name: status"), and the score.

    A timeout counts as detected (the mutant made a test hang); "no tests"
    mutants stay in the total.
    """
    count = collections.Counter(
        line.rsplit(": ", 1)[1] for line in results.splitlines()
        if ": " in line)
    total = sum(count.values())
    if not total:
        raise ValueError("results: no mutant in mutmut's results")
    detected = count["killed"] + count["timeout"]
    lines = [f"{status:<12} {n}" for status, n in sorted(count.items())]
    lines.append(f"score        {detected} / {total} = "
                 f"{100 * detected / total:.1f} %")
    return lines


SELECTION = re.compile(
    r"^pytest_add_cli_args_test_selection = \[.*?^\]", re.M | re.S)


def with_tests(configuration: str, tests: list[str]) -> str:
    """``pyproject.toml``'s text with mutmut's test files replaced."""
    if not SELECTION.search(configuration):
        raise ValueError("pyproject.toml: no pytest_add_cli_args_test_"
                         "selection in [tool.mutmut]")
    listed = "".join(f'    "{test}",\n' for test in tests)
    return SELECTION.sub(
        lambda _: f"pytest_add_cli_args_test_selection = [\n{listed}]",
        configuration, count=1)


def selection_folder(tests: list[str]) -> Path:
    """A copy of the project whose mutmut runs only ``tests``."""
    for test in tests:  # a file, or a pytest node id: file::test
        if not Path(test.split("::")[0]).is_file():
            raise FileNotFoundError(f"--test: no file {test}")
    folder = Path("mutants", "selection")
    # A fresh copy of the code and tests, but mutmut's own folder inside
    # (its mutants and recorded test durations) is kept between runs.
    for name in ("src", "tests", "data"):
        shutil.rmtree(folder / name, ignore_errors=True)
        shutil.copytree(name, folder / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    configuration = Path("pyproject.toml").read_text()
    (folder / "pyproject.toml").write_text(with_tests(configuration, tests))
    return folder


def main(argv: list[str] | None = None) -> int:
    """Run the mutants from scratch; print the score."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int,
                        default=int(os.environ.get("MUTATION_JOBS", 2)))
    parser.add_argument("--test", action="append", dest="tests",
                        metavar="FILE",
                        help="run only this test file or pytest node id; "
                        "repeat for more (needs names)")
    parser.add_argument("--changed-since", metavar="COMMIT",
                        help="add the mutants of every function changed "
                        "since COMMIT")
    parser.add_argument("--module", action="append", dest="modules",
                        help="with --changed-since: only this module "
                        "(check, data, ...); repeat for more")
    parser.add_argument("--list", action="store_true",
                        help="print the mutant globs and stop")
    parser.add_argument("names", nargs="*",
                        help="mutant names or globs (default: all)")
    args = parser.parse_args(argv)
    if args.changed_since:
        args.names += changed_globs(args.changed_since, args.modules)
        if not args.names:
            parser.error(f"no function changed since {args.changed_since}")
    elif args.modules:
        parser.error("--module needs --changed-since")
    if args.list:
        print("\n".join(args.names))
        return 0
    if args.tests and not args.names:
        parser.error("--test needs mutant names: the whole package "
                     "faces the whole selection")
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    # One thread per test process: the forked workers share a small machine.
    environment = {**os.environ, "OMP_NUM_THREADS": "1",
                   "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    folder = Path(".")
    if args.tests:
        folder = selection_folder(args.tests)
    elif not args.names:
        shutil.rmtree("mutants", ignore_errors=True)
    # Surviving mutants make mutmut exit non-zero: the score says it all.
    subprocess.run(["nice", "-n", "10", mutmut, "run", "--max-children",
                    str(args.jobs), *args.names], env=environment,
                   check=False, cwd=folder)
    results = subprocess.run([mutmut, "results", "--all", "true"],
                             capture_output=True, text=True, check=True,
                             env=environment, cwd=folder).stdout
    if args.names:  # only the mutants of this run
        results = "\n".join(
            line for line in results.splitlines()
            if any(fnmatch.fnmatch(line.strip().rsplit(": ", 1)[0], name)
                   for name in args.names))
    Path(folder, "mutants", "results.txt").write_text(results)
    print("\n".join(score(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
