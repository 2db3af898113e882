"""Hand-made chapter mutants: do the chapter tests catch a wrong number?

Mutation tools reach ``src/``; they do not reach the code of the chapters.
This harness does, for a list of hand-made mutants kept in
``chapter_mutants.toml``, beside this module (a changed glue computation,
a transposed result, a self-comparison, ...). For each mutant it

1. takes a copy of the project (``book_tools.project.copy_project``, in a
   temporary folder) and replaces one exact string in ``book/<chapter>.md``
   (refusing if the string does not occur exactly once);
2. runs ``tests/test_<chapter>_chapter.py`` with ``AUTODIFF_BOOK_PROJECT``
   pointing at the copy, so the tests execute the mutated chapter once and
   check its glued values (see ``tests/notebooks.py``);
3. reports the mutant killed (some test failed) or survived (all passed).

First, each chapter involved is tested unmutated in the same copy (the
baseline), so that a kill is the mutant's doing, not a failing chapter.
The result is printed and written as a table to
``benchmarks/chapter-mutants.md``. Slow (one chapter execution and one
test module per mutant): not part of ``make test``.

Usage: ``.venv/bin/python -m book_tools.audits.chapter_mutants
[--only CHAPTER ...] [--no-baseline] [--out FILE]``; exits 1 if a mutant
survived.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from book_tools.project import ROOT, copy_project

MUTANTS = Path(__file__).with_name("chapter_mutants.toml")
REPORT = ROOT / "benchmarks" / "chapter-mutants.md"


@dataclasses.dataclass(frozen=True)
class Mutant:
    """One exact text change in one chapter."""

    chapter: str
    kind: str
    old: str
    new: str

    @property
    def key(self) -> str:
        """The glue key the mutated line names, for the table."""
        found = re.search(r'glue\(\s*f?"([^"]+)"', self.old)
        return found.group(1) if found else self.old[:30]


@dataclasses.dataclass
class Outcome:
    """What the chapter's tests said about a mutant (or the baseline)."""

    status: str  # "killed", "survived", or "error" (pytest did not run)
    failed: list[str]
    seconds: float


def load_mutants(path: Path = MUTANTS) -> list[Mutant]:
    """The mutants of the data file, in file order."""
    with path.open("rb") as file:
        return [Mutant(**entry) for entry in tomllib.load(file)["mutant"]]


def test_module(chapter: str) -> Path:
    """The chapter's test module in this working tree."""
    return ROOT / "tests" / f"test_{chapter.replace('-', '_')}_chapter.py"


def apply(mutant: Mutant, project: Path) -> str:
    """Mutate the chapter in ``project``; return its original text."""
    path = project / "book" / f"{mutant.chapter}.md"
    text = path.read_text()
    count = text.count(mutant.old)
    if count != 1:
        raise SystemExit(
            f"{MUTANTS.name}: {mutant.old!r} occurs {count} times in "
            f"book/{mutant.chapter}.md (exactly once needed); update the "
            "mutant to the chapter's current text"
        )
    path.write_text(text.replace(mutant.old, mutant.new))
    return text


def run_tests(chapter: str, project: Path) -> Outcome:
    """Run the chapter's tests against the chapter of ``project``."""
    start = time.perf_counter()
    process = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--tb=no", "-rfE", str(test_module(chapter))],
        cwd=ROOT,
        env={**os.environ, "AUTODIFF_BOOK_PROJECT": str(project)},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    seconds = time.perf_counter() - start
    failed = re.findall(r"^(?:FAILED|ERROR) \S+::(\S+)", process.stdout,
                        re.M)
    if process.returncode == 0:
        status = "survived"
    elif process.returncode == 1:
        status = "killed"
    else:
        status = "error"
        failed = [process.stdout[-2000:] + process.stderr[-2000:]]
    return Outcome(status, failed, seconds)


def head_commit() -> str:
    """The working tree's commit (short), or "unknown"."""
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
        capture_output=True, text=True, check=False,
    ).stdout.strip() or "unknown"


def table(rows: list[tuple[Mutant, Outcome]],
          baselines: dict[str, Outcome], total: float, commit: str) -> str:
    """The Markdown report (``commit``: the one the copy was taken at)."""
    killed = sum(outcome.status == "killed" for _, outcome in rows)
    lines = [
        "# Chapter mutants",
        "",
        "Written by `python -m book_tools.audits.chapter_mutants` (mutants "
        "in `tools/book_tools/audits/chapter_mutants.toml`) at commit "
        f"`{commit}`, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"in {total / 60:.0f} min. Each mutant changes one `glue(...)` line "
        "of a chapter; the chapter's test module then runs against the "
        "mutated chapter. **Killed** means at least one test failed.",
        "",
        f"**{killed} of {len(rows)} mutants killed.**",
        "",
    ]
    if baselines:
        clean = ", ".join(
            f"{chapter} "
            + ("passes" if outcome.status == "survived" else "FAILS")
            for chapter, outcome in baselines.items()
        )
        lines += [f"Baseline (the unmutated copy): {clean}.", ""]
    lines += [
        "| # | chapter | glue key | kind | change | result | failing tests |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for number, (mutant, outcome) in enumerate(rows, 1):
        change = f"`{mutant.old}` → `{mutant.new}`".replace("|", "\\|")
        failing = ", ".join(f"`{name}`" for name in outcome.failed[:4])
        if len(outcome.failed) > 4:
            failing += f" and {len(outcome.failed) - 4} more"
        if outcome.status == "error":
            failing = "pytest did not run (see the console)"
        lines.append(
            f"| {number} | {mutant.chapter} | `{mutant.key}` | "
            f"{mutant.kind} | {change} | **{outcome.status}** | "
            f"{failing} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run every mutant; print and write the table; 1 if one survived."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", metavar="CHAPTER",
                        help="run only the mutants of these chapters")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the unmutated run of each chapter")
    parser.add_argument("--out", type=Path, default=REPORT)
    args = parser.parse_args(argv)
    mutants = [m for m in load_mutants()
               if not args.only or m.chapter in args.only]
    if not mutants:
        parser.error("no mutant selected")
    start, commit = time.perf_counter(), head_commit()
    rows, baselines = [], {}
    with tempfile.TemporaryDirectory(prefix="chapter-mutants-") as work:
        project = copy_project(Path(work) / "project")
        for mutant in mutants:  # refuse a stale mutant before any long run
            original = apply(mutant, project)
            (project / "book" / f"{mutant.chapter}.md").write_text(original)
        if not args.no_baseline:
            for chapter in dict.fromkeys(m.chapter for m in mutants):
                outcome = run_tests(chapter, project)
                baselines[chapter] = outcome
                print(f"baseline {chapter}: {outcome.status} "
                      f"({outcome.seconds:.0f} s) {outcome.failed}",
                      flush=True)
        for mutant in mutants:
            original = apply(mutant, project)
            try:
                outcome = run_tests(mutant.chapter, project)
            finally:
                (project / "book" / f"{mutant.chapter}.md").write_text(
                    original)
            rows.append((mutant, outcome))
            print(f"{mutant.chapter} {mutant.key}: {outcome.status} "
                  f"({outcome.seconds:.0f} s) {outcome.failed[:4]}",
                  flush=True)
    report = table(rows, baselines, time.perf_counter() - start, commit)
    args.out.write_text(report)
    print(f"\n{report}\nwritten to {args.out}")
    unclean = [c for c, o in baselines.items() if o.status != "survived"]
    if unclean:
        print(f"the unmutated chapters fail their tests: {unclean}")
    survived = [m for m, o in rows if o.status != "killed"]
    return 1 if survived or unclean else 0


if __name__ == "__main__":
    raise SystemExit(main())
