"""Lighthouse, mobile and desktop, on every page of the built site.

Serves the site on 127.0.0.1 (text gzipped, as a static host does), runs
the npm package ``lighthouse`` (pinned in package.json, installed by
``npm ci``) with Debian's Chromium on each page, once with Lighthouse's
default mobile settings (a mid-range phone, throttled network and CPU,
simulated) and once with its desktop preset. It saves each JSON report
under the output folder and prints a table: per page and form factor the
four category scores (performance, accessibility, best practices, SEO),
the largest contentful paint and the bytes the page transferred
(compressed, everything loaded before the reader scrolls or clicks:
Lighthouse's ``total-byte-weight``). Exits non-zero if a page scores
below 100 in accessibility, best practices or SEO (the book's targets;
performance and bytes are reported as measured).

Usage (after ``make site`` and ``npm ci``)::

    .venv/bin/python -m book_tools.audits.lighthouse [SITE] [--out FOLDER]
        [--form-factor mobile|desktop] [--page PAGE ...]

SITE defaults to ``_build/html`` and FOLDER to ``_build/lighthouse``;
both form factors and every page by default.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from book_tools import browser
from book_tools.project import ROOT

LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
FORM_FACTORS = ("mobile", "desktop")
TARGETS = ("accessibility", "best-practices", "seo")
# The same flags as the tests' Chromium: headless and off the network.
CHROME_FLAGS = " ".join(browser.CHROMIUM_FLAGS)


def audit(
    url: str, report: Path, chromium: str, form_factor: str
) -> dict[str, float]:
    """Run Lighthouse on ``url``; save its JSON; return what the table shows.

    The scores in %, ``lcp`` (largest contentful paint, s) and ``kb``
    (bytes transferred, KB of 1000 bytes).
    """
    # No flag is Lighthouse's default: mobile.
    preset = ["--preset=desktop"] if form_factor == "desktop" else []
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                str(LIGHTHOUSE), url, *preset, "--quiet",
                f"--only-categories={','.join(CATEGORIES)}",
                "--output=json", f"--output-path={report}",
                f"--chrome-flags={CHROME_FLAGS} --user-data-dir={profile}",
            ],
            check=True,
            env={**os.environ, "CHROME_PATH": chromium},
            timeout=300,
        )
    result = json.loads(report.read_text())
    scores: dict[str, float] = {
        name: round(100 * result["categories"][name]["score"])
        for name in CATEGORIES
    }
    audits = result["audits"]
    scores["lcp"] = round(
        audits["largest-contentful-paint"]["numericValue"] / 1000, 1
    )
    scores["kb"] = round(audits["total-byte-weight"]["numericValue"] / 1000)
    return scores


def failed_audits(report: Path) -> list[str]:
    """Audits below full marks in the target categories, for the table."""
    result = json.loads(report.read_text())
    failed = []
    for name in TARGETS:
        for ref in result["categories"][name]["auditRefs"]:
            audit_result = result["audits"][ref["id"]]
            score = audit_result.get("score")
            if ref["weight"] and score is not None and score < 1:
                failed.append(f"{name}: {ref['id']}")
    return failed


def main() -> int:
    """Audit every page; print the table; fail below the targets."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("site", nargs="?", default=ROOT / "_build" / "html",
                        type=Path)
    parser.add_argument("--out", default=ROOT / "_build" / "lighthouse",
                        type=Path)
    parser.add_argument("--form-factor", choices=FORM_FACTORS,
                        action="append", dest="form_factors",
                        help="mobile, desktop (default: both)")
    parser.add_argument("--page", action="append", dest="pages",
                        help="a page such as book/momentum.html "
                        "(default: every page)")
    args = parser.parse_args()
    form_factors = args.form_factors or list(FORM_FACTORS)
    if not (args.site / "index.html").is_file():
        parser.error(f"no built site in {args.site}: run `make site` first")
    if not LIGHTHOUSE.exists():
        parser.error("no lighthouse in node_modules: run `npm ci`")
    found = browser.find_browser()
    if found is None:
        parser.error(f"no Chromium: {browser.INSTALL_HINT}")
    args.out.mkdir(parents=True, exist_ok=True)
    # The root index.html only redirects to the home page: not audited.
    pages = args.pages or [
        p for p in browser.site_pages(args.site) if p != "index.html"
    ]
    rows, below = [], []
    start = time.monotonic()
    # Text is served gzipped, as every static host does.
    with browser.serve(args.site, compress=True) as base:
        for page in pages:
            for form in form_factors:
                report = args.out / f"{page.replace('/', '__')}.{form}.json"
                scores = audit(base + page, report, found[0], form)
                rows.append((page, form, scores))
                if any(scores[name] < 100 for name in TARGETS):
                    below.append((f"{page} ({form})", failed_audits(report)))
                print(page, form, scores, flush=True)
    columns = (*CATEGORIES, "lcp", "kb")
    header = ("| page | form factor | " + " | ".join(CATEGORIES)
              + " | LCP (s) | transferred (KB) |")
    lines = [header, "|" + " --- |" * (len(columns) + 2)]
    for page, form, scores in rows:
        cells = " | ".join(str(scores[name]) for name in columns)
        lines.append(f"| {page} | {form} | {cells} |")
    table = "\n".join(lines)
    (args.out / "summary.md").write_text(table + "\n")
    print(f"\n{table}\n\n{len(rows)} audits in "
          f"{time.monotonic() - start:.0f} s; reports in {args.out}")
    for page, audits in below:
        print(f"below 100 on {page}: {', '.join(audits)}")
    return 1 if below else 0


if __name__ == "__main__":
    raise SystemExit(main())
