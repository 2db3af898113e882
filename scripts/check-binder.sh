#!/usr/bin/env bash
# Do what Binder (repo2docker) will do with this repository, on this machine:
#   1. a fresh virtual environment from requirements.txt alone, installed from
#      the repository's root (requirements.txt ends with `-e .`, `-e ./tools`);
#   2. every chapter of _toc.yml that is a notebook (as myst-nb reads it),
#      opened through jupytext as a notebook and executed with its own folder
#      as the working directory, as a Jupyter server started by Binder runs
#      it.
# Prints one line per chapter with its time, and exits non-zero if the
# install or any chapter fails.
#
# Usage: scripts/check-binder.sh [PYTHON]     (default: python3)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${1:-python3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/binder-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

start=$(date +%s)
echo "== fresh virtual environment from requirements.txt alone"
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet --upgrade pip
"$WORK/venv/bin/python" -m pip install --quiet -r requirements.txt
echo "   installed in $(( $(date +%s) - start )) s"

# The chapters, in the order of the table of contents, that are notebooks:
# the one answer of the site tooling (myst-nb's own reader), as the build
# and the tests use it.
mapfile -t chapters < <("$WORK/venv/bin/python" -m book_tools.project \
    notebooks "$ROOT")
echo "== ${#chapters[@]} notebook chapters"

failed=0
for chapter in "${chapters[@]}"; do
    folder=$(dirname "$chapter")
    name=$(basename "$chapter" .md)
    t0=$EPOCHREALTIME
    # Open the .md through jupytext as Jupyter does, then run it with the
    # kernel started in the chapter's folder (Binder's working directory).
    if "$WORK/venv/bin/python" - "$ROOT/$folder" "$name.md" \
            > "$WORK/$name.log" 2>&1 <<'EOF'; then
import sys

import jupytext
from nbclient import NotebookClient

folder, name = sys.argv[1], sys.argv[2]
notebook = jupytext.read(f"{folder}/{name}")
NotebookClient(
    notebook, timeout=600, kernel_name="python3",
    resources={"metadata": {"path": folder}},
).execute()
EOF
        status=ok
    else
        status=FAILED
        failed=1
        tail -30 "$WORK/$name.log"
    fi
    seconds=$(awk "BEGIN { print $EPOCHREALTIME - $t0 }")
    printf '   %-40s %6s  %5.1f s\n' "$chapter" "$status" "$seconds"
done
echo "== total $(( $(date +%s) - start )) s"
exit $failed
