"""Benchmark the README's build against a plain ``jupyter-book build .``.

Both commands build their own copy of the project (in ``--work``, never in
the working tree's ``_build``), one after the other, in the author's loop:
a cold build (empty cache), a rebuild with no change, after a prose-only
edit, after one code cell is edited, after an edit of one module of
``src/autodiff_book`` that not every chapter imports (``engine.py``), after a
change in the package's ``__init__.py`` (every chapter that imports the
package). Each step is timed on the wall clock; the whole sequence runs
``--runs`` times on fresh copies (which command goes first alternates) and
the table shows medians and ratios, plus how many chapters each build
executed (new jupyter-cache records). ``--steps`` picks some of the steps
(the cold build always runs first). ``--warm PROJECT`` measures the
author's loop alone: each copy starts from the execution cache of an
already built PROJECT, and a first build that executes nothing (Sphinx
reads every page) replaces the cold build. Then, unless ``--no-pages``, a
headless Chromium opens every page of the toc on both sites and reports
its weight: the HTML and every file the page loaded (the browser's
resource timing list), raw and gzip-compressed (level 9).

Usage: ``.venv/bin/python -m book_tools.benchmarks.build [--runs 3]
[--steps "no change" "one module edited"] [--warm .] [--no-pages]``
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from jupyter_cache import get_cache

from book_tools import browser
from book_tools.project import (
    ROOT,
    STRICT_FLAGS,
    copy_project,
    notebook_pages,
    page_source,
    toc_pages,
)

BIN = Path(sys.executable).parent
LOAD_AT_START = os.getloadavg()[0]
COMMANDS = {
    "project": (str(BIN / "python"), "-m", "book_tools.build", ".",
                *STRICT_FLAGS),
    "plain": (str(BIN / "jupyter-book"), "build", ".", *STRICT_FLAGS),
}


def first_chapter(project: Path) -> Path:
    """The source of the first notebook chapter of the toc."""
    pages = notebook_pages(project)
    if not pages:
        raise SystemExit("no notebook chapter in _toc.yml")
    return page_source(project, pages[0])


def edit_prose(project: Path, run: int) -> None:
    """Add a sentence at the end of the first chapter."""
    with first_chapter(project).open("a") as chapter:
        chapter.write(f"\nA sentence added by the benchmark, run {run}.\n")


def edit_code(project: Path, run: int) -> None:
    """Add a comment line at the end of the first chapter's first cell."""
    path = first_chapter(project)
    text = path.read_text()
    start = text.index("```{code-cell}")
    end = text.index("\n```\n", start)
    path.write_text(f"{text[:end]}\n# benchmark edit {run}{text[end:]}")


def edit_module(name: str) -> Callable[[Path, int], None]:
    """An edit that adds a comment line to a module of the package."""

    def edit(project: Path, run: int) -> None:
        with (project / "src/autodiff_book" / name).open("a") as module:
            module.write(f"# benchmark edit {run}\n")

    return edit


WARM_START = "first build, warm cache"
STEPS: dict[str, Callable[[Path, int], None]] = {
    "cold build": lambda project, run: shutil.rmtree(
        project / "_build", ignore_errors=True),
    WARM_START: lambda project, run: None,
    "no change": lambda project, run: None,
    "prose-only edit": edit_prose,
    "one code cell edited": edit_code,
    # Imported by seven of the eleven chapters today, most of them through
    # functions.py (2026-12-05; two when the benchmark was written).
    "one module edited": edit_module("engine.py"),
    "change in __init__.py": edit_module("__init__.py"),
}


def records(project: Path) -> set[tuple]:
    """(notebook hash, creation time) of every jupyter-cache record."""
    path = project / "_build" / ".jupyter_cache"
    if not path.is_dir():
        return set()
    return {(r.hashkey, r.created)
            for r in get_cache(path).list_cache_records()}


def children_cpu() -> float:
    """CPU seconds (user and system) of every child process that ended."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_build(project: Path, command: tuple) -> tuple[float, int, float]:
    """Build ``project``; return the seconds, the chapters executed and
    the CPU seconds of the build and its kernels."""
    before = records(project)
    # Kernels import the copy's package, so a src/ edit reaches them.
    environment = {**os.environ, "PYTHONPATH": str(project / "src")}
    start, cpu = time.perf_counter(), children_cpu()
    process = subprocess.run(command, cwd=project, env=environment,
                             capture_output=True, text=True, check=False)
    seconds, cpu = time.perf_counter() - start, children_cpu() - cpu
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed in {project}:\n"
                         f"{process.stdout[-3000:]}\n{process.stderr[-3000:]}")
    return seconds, len(records(project) - before), cpu


def measure_builds(work: Path, runs: int, steps: list[str],
                   warm: Path | None = None, rounds: int = 1) -> dict:
    """Seconds and executed chapters per (step, command), over all runs.

    In each run the first step (the cold or warm first build) runs once,
    the others ``rounds`` times in turn on the same copies.
    """
    results: dict = {(s, c): [] for s in steps for c in COMMANDS}
    for run in range(runs):
        copies = {}
        for name in COMMANDS:
            copies[name] = work / f"{name}-{run}"
            shutil.rmtree(copies[name], ignore_errors=True)
            copy_project(copies[name])
            if warm is not None:
                shutil.copytree(warm / "_build" / ".jupyter_cache",
                                copies[name] / "_build" / ".jupyter_cache")
        turns = [(0, steps[0])] + [(turn, step) for turn in range(rounds)
                                   for step in steps[1:]]
        for turn, step in turns:
            edit = STEPS[step]
            # Which command goes first alternates from turn to turn.
            order = (list(COMMANDS) if (run + turn) % 2 == 0
                     else list(COMMANDS)[::-1])
            for name in order:
                edit(copies[name], run * rounds + turn)
                seconds, executed, cpu = timed_build(copies[name],
                                                     COMMANDS[name])
                results[step, name].append((seconds, executed, cpu))
                print(f"run {run + 1}/{runs} {step:<22} {name:<8} "
                      f"{seconds:6.1f} s, {executed} executed, "
                      f"{cpu:5.1f} s CPU, load {os.getloadavg()[0]:.1f}",
                      flush=True)
    return results


LOADED = """return [location.href].concat(
    performance.getEntriesByType('resource').map(e => e.name))"""


def page_weight(driver, base: str, html: Path, page: str) -> tuple:
    """Files, raw bytes and gzip bytes of one page and what it loads."""
    driver.get(base + page + ".html")
    loaded, quiet_since = [], time.monotonic()
    while time.monotonic() - quiet_since < 1.5:  # until 1.5 s without loads
        time.sleep(0.25)
        now = driver.execute_script(LOADED)
        if len(now) != len(loaded):
            loaded, quiet_since = now, time.monotonic()
    files = set()
    for url in loaded:
        parts = urlsplit(url)
        if url.startswith(base) and parts.path != "/":
            files.add(html / unquote(parts.path).lstrip("/"))
    data = [path.read_bytes() for path in files if path.is_file()]
    return (len(data), sum(map(len, data)),
            sum(len(gzip.compress(blob, 9)) for blob in data))


def measure_pages(sites: dict[str, Path], pages: list[str]) -> dict:
    """(files, raw, gzip) per (page, command), measured in Chromium."""
    weights = {}
    with browser.chromium() as driver:
        for name, html in sites.items():
            with browser.serve(html) as base:
                for page in pages:
                    weights[page, name] = page_weight(driver, base, html, page)
    return weights


def folder_size(folder: Path) -> tuple[int, int]:
    """Files and bytes under ``folder``."""
    sizes = [p.stat().st_size for p in folder.rglob("*") if p.is_file()]
    return len(sizes), sum(sizes)


def report(results: dict, weights: dict, sites: dict[str, Path],
           runs: int, steps: list[str]) -> None:
    """Print the tables."""
    print(f"\nBuild times: medians of {runs} runs (each step after the "
          f"first build: {len(results[steps[-1], 'project'])} samples), "
          f"{os.cpu_count()} cores, "
          f"load average at the start {LOAD_AT_START:.1f}, at the end "
          f"{os.getloadavg()[0]:.1f}")
    print(f"{'step':<22} {'project s':>9} {'plain s':>8} {'ratio':>6}  "
          f"{'CPU s':>11} {'ratio':>6}  executed (project/plain)")
    for step in steps:
        seconds, executed, cpu = (
            [statistics.median(row[k] for row in results[step, c])
             for c in COMMANDS] for k in range(3))
        print(f"{step:<22} {seconds[0]:9.2f} {seconds[1]:8.2f} "
              f"{seconds[0] / seconds[1]:5.2f}x  "
              f"{cpu[0]:5.1f}/{cpu[1]:<5.1f} {cpu[0] / cpu[1]:5.2f}x  "
              f"{executed[0]:g}/{executed[1]:g}")
    if not weights:
        return
    print("\nPage weight: the page and every file it loads, in KB "
          "(raw / gzip -9)")
    print(f"{'page':<28} {'files':>9} {'project':>15} {'plain':>15} "
          f"{'ratio':>6}")
    for page in sorted({page for page, _ in weights}):
        ours, theirs = weights[page, "project"], weights[page, "plain"]
        print(f"{page:<28} {ours[0]:>4}/{theirs[0]:<4} "
              f"{ours[1] / 1e3:7.0f}/{ours[2] / 1e3:<7.0f} "
              f"{theirs[1] / 1e3:7.0f}/{theirs[2] / 1e3:<7.0f} "
              f"{ours[1] / theirs[1]:5.2f}x")
    print("\nSite (_build/html): files, MB")
    for name, html in sites.items():
        files, size = folder_size(html)
        print(f"{name:<8} {files:5d} {size / 1e6:7.2f}")


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path,
                        default=Path("/tmp/build-benchmark"))
    parser.add_argument("--steps", nargs="+", choices=list(STEPS)[2:],
                        default=list(STEPS)[2:])
    parser.add_argument("--warm", type=Path,
                        help="a built project whose execution cache each "
                        "copy starts from (no cold build)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="repeat the steps after the first build this "
                        "many times in each run (more samples, one first "
                        "build)")
    parser.add_argument("--no-pages", action="store_true",
                        help="skip the page weights (no Chromium)")
    args = parser.parse_args(argv)
    steps = ["cold build" if args.warm is None else WARM_START, *args.steps]
    if args.warm is not None and not (
            args.warm / "_build" / ".jupyter_cache").is_dir():
        raise SystemExit(f"--warm: no execution cache in {args.warm}")
    if args.work.resolve().is_relative_to(ROOT):
        raise SystemExit("--work must be outside the project")
    args.work.mkdir(parents=True, exist_ok=True)
    results = measure_builds(args.work, args.runs, steps, args.warm,
                             args.rounds)
    last = args.runs - 1
    sites = {name: args.work / f"{name}-{last}" / "_build" / "html"
             for name in COMMANDS}
    weights = {} if args.no_pages else measure_pages(sites, toc_pages(ROOT))
    report(results, weights, sites, args.runs, steps)


if __name__ == "__main__":
    main()
