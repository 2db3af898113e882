"""Mutation testing of ``src/autodiff_book`` with mutmut 3 (``make mutation``).

Slow: not part of ``make test``. The configuration is ``[tool.mutmut]`` in
``pyproject.toml``: the package is mutated in a copy under ``mutants/``,
and each mutant faces the package's own unit and property tests (not the
chapter, build or browser tests). Prints the score; the list of survivors
is in ``mutants/results.txt``. ``benchmarks/mutation.md`` records the last
run.

Usage: ``python -m book_tools.audits.mutation [--jobs 2]``, from the
project's folder.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
from pathlib import Path


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


def main(argv: list[str] | None = None) -> int:
    """Run every mutant from scratch; print the score."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int,
                        default=int(os.environ.get("MUTATION_JOBS", 2)))
    args = parser.parse_args(argv)
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    # One thread per test process: the forked workers share a small machine.
    environment = {**os.environ, "OMP_NUM_THREADS": "1",
                   "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    shutil.rmtree("mutants", ignore_errors=True)
    # Surviving mutants make mutmut exit non-zero: the score says it all.
    subprocess.run(["nice", "-n", "10", mutmut, "run", "--max-children",
                    str(args.jobs)], env=environment, check=False)
    results = subprocess.run([mutmut, "results", "--all", "true"],
                             capture_output=True, text=True, check=True,
                             env=environment).stdout
    Path("mutants", "results.txt").write_text(results)
    print("\n".join(score(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
