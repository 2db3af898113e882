"""Lighthouse (desktop preset) on every page of the built site.

Serves the site on 127.0.0.1 (text gzipped, as a static host does), runs
the npm package ``lighthouse`` (pinned in package.json, installed by
``npm ci``) with Debian's Chromium on each page, saves each JSON report
under the output folder and prints a table of the four category scores
(performance, accessibility, best practices, SEO). Exits non-zero if a
page scores below 100 in accessibility, best practices or SEO (the book's
targets; performance is reported as measured).

Usage (after ``make site`` and ``npm ci``)::

    .venv/bin/python scripts/lighthouse.py [SITE] [--out FOLDER]

SITE defaults to ``_build/html`` and FOLDER to ``_build/lighthouse``.
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
TARGETS = ("accessibility", "best-practices", "seo")
# The same flags as the tests' Chromium: headless and off the network.
CHROME_FLAGS = " ".join(browser.CHROMIUM_FLAGS)


def audit(url: str, report: Path, chromium: str) -> dict[str, int]:
    """Run Lighthouse on ``url``; save its JSON; return the scores in %."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                str(LIGHTHOUSE), url, "--preset=desktop", "--quiet",
                f"--only-categories={','.join(CATEGORIES)}",
                "--output=json", f"--output-path={report}",
                f"--chrome-flags={CHROME_FLAGS} --user-data-dir={profile}",
            ],
            check=True,
            env={**os.environ, "CHROME_PATH": chromium},
            timeout=300,
        )
    result = json.loads(report.read_text())
    return {
        name: round(100 * result["categories"][name]["score"])
        for name in CATEGORIES
    }


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
    args = parser.parse_args()
    if not (args.site / "index.html").is_file():
        parser.error(f"no built site in {args.site}: run `make site` first")
    if not LIGHTHOUSE.exists():
        parser.error("no lighthouse in node_modules: run `npm ci`")
    found = browser.find_browser()
    if found is None:
        parser.error(f"no Chromium: {browser.INSTALL_HINT}")
    args.out.mkdir(parents=True, exist_ok=True)
    # The root index.html only redirects to the home page: not audited.
    pages = [p for p in browser.site_pages(args.site) if p != "index.html"]
    rows, below = [], []
    start = time.monotonic()
    # Text is served gzipped, as every static host does.
    with browser.serve(args.site, compress=True) as base:
        for page in pages:
            report = args.out / (page.replace("/", "__") + ".json")
            scores = audit(base + page, report, found[0])
            rows.append((page, scores))
            if any(scores[name] < 100 for name in TARGETS):
                below.append((page, failed_audits(report)))
            print(page, scores, flush=True)
    header = "| page | " + " | ".join(CATEGORIES) + " |"
    lines = [header, "|" + " --- |" * (len(CATEGORIES) + 1)]
    for page, scores in rows:
        cells = " | ".join(str(scores[name]) for name in CATEGORIES)
        lines.append(f"| {page} | {cells} |")
    table = "\n".join(lines)
    (args.out / "summary.md").write_text(table + "\n")
    print(f"\n{table}\n\n{len(pages)} pages in "
          f"{time.monotonic() - start:.0f} s; reports in {args.out}")
    for page, audits in below:
        print(f"below 100 on {page}: {', '.join(audits)}")
    return 1 if below else 0


if __name__ == "__main__":
    raise SystemExit(main())
