"""A real browser on the built site: a local server, Chromium, axe-core.

Used by ``tests/test_browser.py``, ``book_tools.audits`` (screenshots,
Lighthouse) and ``book_tools.benchmarks``. The site is
served on 127.0.0.1 by a small threaded HTTP server; Debian's ``chromium``
is driven by Selenium through ``chromedriver``, headless, with the flags
that keep it off the network (``CHROMIUM_FLAGS``, which Lighthouse's own
Chromium gets too). ``DEVICES`` are the two window sizes every check uses.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import io
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from book_tools.project import ROOT

AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMEDRIVER = ("/usr/bin/chromedriver",)
INSTALL_HINT = (
    "install Debian's browser and driver: "
    "sudo apt-get install chromium chromium-driver (or run `make test` "
    "as root)"
)
# Folders of the built site that hold assets, not pages.
NOT_PAGES = {"_static", "_sources", "_images", "reports", "mathjax"}
# Device name: (CSS width, CSS height, is it a phone?).
DEVICES = {"desktop": (1280, 900, False), "phone": (390, 844, True)}
# Headless, and off the network: without the last four, Chromium floods a
# closed network with update, sync and component requests.
CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu",
    "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
)


def find_browser() -> tuple[str, str] | None:
    """Paths of Chromium and chromedriver, or None if either is missing."""
    browser = next((p for p in CHROMIUM if os.access(p, os.X_OK)), None)
    driver = next((p for p in CHROMEDRIVER if os.access(p, os.X_OK)), None)
    driver = driver or shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def site_pages(html: Path) -> list[str]:
    """Every HTML page of the built site, as paths relative to ``html``."""
    pages = []
    for path in sorted(html.rglob("*.html")):
        relative = path.relative_to(html)
        if relative.parts[0] not in NOT_PAGES:
            pages.append(relative.as_posix())
    return pages


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files without printing a line per request."""

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        """Stay silent: pytest shows failures, not access logs."""


class GzipHandler(QuietHandler):
    """Serves text files gzip-compressed when asked, as static hosts do."""

    COMPRESSED = {".html", ".css", ".js", ".json", ".svg", ".txt", ".md",
                  ".ipynb"}

    def send_head(self):
        """Compress a text file for a client that accepts gzip."""
        path = Path(self.translate_path(self.path))
        accepts = "gzip" in self.headers.get("Accept-Encoding", "")
        if not (accepts and path.is_file()
                and path.suffix in self.COMPRESSED):
            return super().send_head()
        body = gzip.compress(path.read_bytes())
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)


@contextmanager
def serve(folder: Path, compress: bool = False) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 at a free port; yield the base URL.

    Args:
        folder: The site's root folder.
        compress: Gzip text files, like a real static host.
    """
    handler_class = GzipHandler if compress else QuietHandler
    handler = functools.partial(handler_class, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator:
    """A headless Chromium driven by Selenium, closed afterwards.

    Args:
        width: Window width in CSS pixels.
        height: Window height in CSS pixels.

    Yields:
        A ``selenium.webdriver.Chrome`` that records console messages and
        network events (``driver.get_log("browser")``, ``"performance"``).
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = find_browser()
    if found is None:
        raise RuntimeError(f"No Chromium found: {INSTALL_HINT}")
    browser, driver_path = found
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (
        *CHROMIUM_FLAGS, "--disable-default-apps", "--hide-scrollbars",
        f"--user-data-dir={profile}", f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    options.set_capability(
        "goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"}
    )
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        # Start from a blank page and forget the browser's own start-up
        # traffic (its new-tab page), so logs hold only the site's.
        driver.get("about:blank")
        driver.get_log("browser")
        driver.get_log("performance")
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def set_color_scheme(driver, scheme: str) -> None:
    """Make the page see ``prefers-color-scheme: scheme`` (light or dark)."""
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
    )


def set_viewport(driver, width: int, height: int, mobile: bool) -> None:
    """Emulate a desktop or phone viewport of the given CSS size."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1,
         "mobile": mobile},
    )


def set_device(driver, device: str) -> None:
    """Emulate one of ``DEVICES`` ("desktop" or "phone")."""
    set_viewport(driver, *DEVICES[device])


WAIT_FOR_PAGE = """
const done = arguments[arguments.length - 1];
const images = () => Array.from(document.images).every(
    img => img.complete);
(async () => {
  for (const img of document.images) { img.loading = "eager"; }
  if (document.fonts) { await document.fonts.ready; }
  for (let i = 0; i < 100 && !images(); i++) {
    await new Promise(r => setTimeout(r, 100));
  }
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  done(true);
})();
"""


def open_page(driver, url: str) -> None:
    """Load ``url`` and wait for images, fonts and MathJax to settle."""
    driver.set_script_timeout(30)
    driver.get(url)
    driver.execute_async_script(WAIT_FOR_PAGE)


def console_errors(driver) -> list[str]:
    """Console messages of level SEVERE since the last call."""
    return [
        entry["message"] for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE"
    ]


def network_events(driver) -> list[dict]:
    """The DevTools Network events since the last call, as dicts."""
    events = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"].startswith("Network."):
            events.append(message)
    return events


def request_problems(events: list[dict]) -> tuple[list[str], list[str]]:
    """Requests that left 127.0.0.1, and requests that failed.

    Returns:
        (foreign URLs, failures as "URL: reason") from the Network events.
    """
    urls = {}
    foreign, failed = [], []
    for event in events:
        params = event["params"]
        if event["method"] == "Network.requestWillBeSent":
            url = params["request"]["url"]
            urls[params["requestId"]] = url
            host = urlsplit(url).hostname
            if url.startswith(("http:", "https:", "ws:", "wss:")) and (
                host not in ("127.0.0.1",)
            ):
                foreign.append(url)
        elif params.get("requestId") not in urls:
            # A request of the previous page, cut short by this navigation.
            continue
        elif event["method"] == "Network.responseReceived":
            status = params["response"]["status"]
            if status >= 400:
                failed.append(f"{params['response']['url']}: HTTP {status}")
        elif event["method"] == "Network.loadingFailed":
            url = urls[params["requestId"]]
            failed.append(f"{url}: {params.get('errorText')}")
    return foreign, failed


def run_axe(driver) -> list[dict]:
    """axe-core's violations on the current page (every impact level)."""
    driver.execute_script(AXE_JS.read_text())
    return driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        axe.run(document, {resultTypes: ["violations"]}).then(result =>
          done(result.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.map(n => n.target.join(" ")).slice(0, 5),
          }))));
        """
    )


RAW_TEX = """
// Text a reader sees outside code, inputs and typeset math.
const skip = "pre, code, script, style, textarea, mjx-container, "
    + "mjx-assistive-mml, .highlight, noscript, .visually-hidden";
const walker = document.createTreeWalker(document.body,
    NodeFilter.SHOW_TEXT);
const parts = [];
while (walker.nextNode()) {
  const node = walker.currentNode;
  const parent = node.parentElement;
  if (!parent || parent.closest(skip)) { continue; }
  if (!parent.getClientRects().length) { continue; }
  parts.push(node.textContent);
}
// A formula is typeset when it holds MathML (the book's build writes it)
// or MathJax's output.
const untypeset = Array.from(document.querySelectorAll(".math"))
  .filter(el => !el.querySelector("math, mjx-container"))
  .map(el => el.textContent.trim().slice(0, 80));
return {text: parts.join(" "), untypeset: untypeset};
"""


def raw_tex(driver) -> dict:
    """Visible text outside code and math, and math left untypeset."""
    return driver.execute_script(RAW_TEX)


IMAGES = """
// Every image: loaded?, its alt, and whether it is readable on a dark page
// (opaque corners, or an opaque light background behind it).
function opaqueCorners(img) {
  try {
    const c = document.createElement("canvas");
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const g = c.getContext("2d");
    g.drawImage(img, 0, 0);
    const w = c.width - 1, h = c.height - 1;
    return [[0, 0], [w, 0], [0, h], [w, h]].every(
      ([x, y]) => g.getImageData(x, y, 1, 1).data[3] === 255);
  } catch (e) { return false; }
}
function lightBackground(img) {
  const rgba = getComputedStyle(img).backgroundColor.match(/[\\d.]+/g)
    .map(Number);
  const alpha = rgba.length > 3 ? rgba[3] : 1;
  return alpha === 1 && (rgba[0] + rgba[1] + rgba[2]) / 3 > 200;
}
return Array.from(document.images).map(img => ({
  src: img.currentSrc || img.src,
  alt: img.getAttribute("alt"),
  loaded: img.complete && img.naturalWidth > 0,
  content: !!img.closest("article"),
  readable_on_dark: img.naturalWidth > 0
    && (opaqueCorners(img) || lightBackground(img)),
}));
"""


def images(driver) -> list[dict]:
    """Facts about every ``img`` of the current page (see ``IMAGES``)."""
    return driver.execute_script(IMAGES)


PAGE_FACTS = """
const icon = document.querySelector("link[rel~='icon']");
const meta = document.querySelector("meta[name='description']");
const h1 = document.querySelector("article h1");
// The title as written: no section number, no permalink sign.
function headingText(h) {
  const copy = h.cloneNode(true);
  copy.querySelectorAll(".section-number, .headerlink").forEach(
    e => e.remove());
  return copy.textContent.trim();
}
return {
  url: location.href,
  theme: document.documentElement.dataset.theme,
  title: document.title,
  description: meta ? meta.content : "",
  favicon: icon ? icon.getAttribute("href") : "",
  heading: h1 ? headingText(h1) : "",
  typeset: document.querySelectorAll("mjx-container").length,
  mathjax_scripts: Array.from(document.scripts).map(s => s.src)
    .filter(src => /mathjax/i.test(src)),
  binder: Array.from(document.querySelectorAll(
    "a[href*='/v2/gh/']")).map(a => a.href),
  downloads: Array.from(document.querySelectorAll(
    ".dropdown-download-buttons a[href]")).map(a => a.href),
};
"""


def page_report(driver, url: str) -> dict:
    """Everything the tests check about one page, from one visit."""
    driver.get_log("browser")
    driver.get_log("performance")
    open_page(driver, url)
    # Let late requests (favicon, lazy fonts) start and finish.
    time.sleep(0.5)
    report = driver.execute_script(PAGE_FACTS)
    tex = raw_tex(driver)
    report["visible_text"] = tex["text"]
    report["untypeset"] = tex["untypeset"]
    report["images"] = images(driver)
    report["axe"] = run_axe(driver)
    events = network_events(driver)
    report["requests"] = sum(
        event["method"] == "Network.requestWillBeSent" for event in events
    )
    report["foreign"], report["failed"] = request_problems(events)
    report["console_errors"] = console_errors(driver)
    return report
