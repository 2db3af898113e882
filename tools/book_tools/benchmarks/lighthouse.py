"""Lighthouse on two builds of the site, side by side in one sitting.

A measurement for ``benchmarks/README.md``, not a test. Serves both sites
gzipped on 127.0.0.1 and audits every page both have, once per run and
form factor, alternating which site goes first (the machine's load drifts;
alternating spreads it over both). Prints, per page and form factor, the
median performance score, largest contentful paint and bytes transferred
of each site, and the lowest accessibility, best-practices and SEO scores
of the after site over its runs.

Usage::

    .venv/bin/python -m book_tools.benchmarks.lighthouse BEFORE AFTER
        [--runs 3] [--page book/momentum.html ...]
        [--form-factor mobile|desktop] [--out FOLDER]

BEFORE and AFTER are built sites (folders holding ``index.html``).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from pathlib import Path

from book_tools import browser
from book_tools.audits import lighthouse

SITES = ("before", "after")


def median_row(results: list[dict[str, float]]) -> dict[str, float]:
    """Medians of performance, LCP and KB; minima of the other scores."""
    row = {name: statistics.median(r[name] for r in results)
           for name in ("performance", "lcp", "kb")}
    for name in lighthouse.TARGETS:
        row[name] = min(r[name] for r in results)
    return row


def main() -> int:
    """Audit both sites; print the table of medians."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--page", action="append", dest="pages")
    parser.add_argument("--form-factor", action="append",
                        dest="form_factors",
                        choices=lighthouse.FORM_FACTORS)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    for site in (args.before, args.after):
        if not (site / "index.html").is_file():
            parser.error(f"no built site in {site}")
    found = browser.find_browser()
    if found is None:
        parser.error(f"no Chromium: {browser.INSTALL_HINT}")
    form_factors = args.form_factors or list(lighthouse.FORM_FACTORS)
    pages = args.pages or [
        page for page in browser.site_pages(args.after)
        if page != "index.html" and (args.before / page).is_file()
    ]
    out = args.out or Path(tempfile.mkdtemp(prefix="lighthouse-compare-"))
    out.mkdir(parents=True, exist_ok=True)
    results: dict[tuple[str, str, str], list[dict[str, float]]] = {}
    start = time.monotonic()
    with contextlib.ExitStack() as stack:
        bases = {
            "before": stack.enter_context(
                browser.serve(args.before, compress=True)),
            "after": stack.enter_context(
                browser.serve(args.after, compress=True)),
        }
        for run in range(args.runs):
            for page in pages:
                for form in form_factors:
                    order = SITES if (run + len(page)) % 2 else SITES[::-1]
                    for site in order:
                        report = out / (f"{site}.{run}."
                                        f"{page.replace('/', '__')}."
                                        f"{form}.json")
                        scores = lighthouse.audit(
                            bases[site] + page, report, found[0], form)
                        results.setdefault((page, form, site), []).append(
                            scores)
                        print(run, site, page, form, scores, flush=True)
    lines = [
        f"Lighthouse 12.8, {args.runs} run(s) per cell, medians; "
        f"{time.monotonic() - start:.0f} s; reports in {out}",
        "",
        "| page | form factor | performance before → after "
        "| LCP (s) before → after | transferred (KB) before → after "
        "| a11y / best practices / SEO after (lowest) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for page in pages:
        for form in form_factors:
            before = median_row(results[page, form, "before"])
            after = median_row(results[page, form, "after"])
            targets = " / ".join(
                f"{after[name]:g}" for name in lighthouse.TARGETS)
            lines.append(
                f"| {page} | {form} "
                f"| {before['performance']:g} → {after['performance']:g} "
                f"| {before['lcp']:g} → {after['lcp']:g} "
                f"| {before['kb']:g} → {after['kb']:g} | {targets} |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
