#!/usr/bin/env bash
# Mutation testing of src/autodiff_book with mutmut 3 (slow: not part of
# `make test`). The configuration is [tool.mutmut] in pyproject.toml: the
# package is mutated in a copy under mutants/, and each mutant faces the
# package's own unit and property tests (not the chapter, build or browser
# tests). Prints the score; the list of survivors is in
# mutants/results.txt. benchmarks/mutation.md records the last run.
#
#   bash scripts/mutation.sh            # every mutant, from scratch
#   MUTATION_JOBS=1 bash scripts/mutation.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
# One thread per test process: the forked workers share a small machine.
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 MPLBACKEND=Agg
rm -rf mutants
nice -n 10 "$BIN/mutmut" run --max-children "${MUTATION_JOBS:-2}" || true
"$BIN/mutmut" results --all true > mutants/results.txt
# mutmut prints "name: status"; the score counts a timeout as detected
# (the mutant made a test hang) and leaves "no tests" mutants in the total.
awk -F': ' '
    /: / { count[$NF]++; total++ }
    END {
        detected = count["killed"] + count["timeout"]
        for (status in count) printf "%-12s %d\n", status, count[status]
        printf "score        %d / %d = %.1f %%\n", detected, total,
            100 * detected / total
    }' mutants/results.txt
