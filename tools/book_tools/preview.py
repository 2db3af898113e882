"""Serve the site and rebuild it after every save; the browser reloads.

``make preview`` runs this. It is sphinx-autobuild's server (pinned in
requirements.txt: its file watcher, its static file server and the script it
injects into every page, which reloads the page when told to) driving the
project's own build, ``python -m book_tools.build``, instead of a bare
``sphinx-build``: so a preview executes chapters in parallel, re-executes
only what an edit made stale, and shows exactly the site ``make site``
makes. A save that changes no input of the site (a test, the README) costs
the build's no-change check only.

Usage: ``python -m book_tools.preview [--host HOST] [--port PORT]
[jupyter-book flags]``, in the project's folder; open the address it
prints.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import uvicorn
from sphinx_autobuild.filter import IgnoreFilter
from sphinx_autobuild.middleware import JavascriptInjectorMiddleware
from sphinx_autobuild.server import RebuildServer
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, WebSocketRoute
from starlette.staticfiles import StaticFiles

ROOT = Path.cwd()  # the project, as make runs it
# Never inputs of the site; the build's own output above all, or every
# build would trigger the next.
IGNORED = [".git", ".venv", "_build", "node_modules", ".pytest_cache",
           ".ruff_cache"]
# Anywhere: bytecode the kernels write into src/, Jupyter's checkpoints,
# setuptools' metadata, editors' swap and backup files.
IGNORED_PATTERNS = [r"/__pycache__/", r"/\.ipynb_checkpoints/",
                    r"\.egg-info/", r"\.sw[px]$", r"~$"]


class Build:
    """The callback the watcher runs after each batch of saved files."""

    def __init__(self, flags: list[str]) -> None:
        self.command = [sys.executable, "-m", "book_tools.build", ".",
                        *flags]

    def __call__(self, *, changed_paths: object = ()) -> None:
        """Run the project's build; a failure is shown, never fatal."""
        shown = [Path(path).relative_to(ROOT).as_posix()
                 for path in changed_paths or ()][:5]
        if shown:
            print(f"[preview] saved: {', '.join(shown)}", flush=True)
        status = subprocess.run(self.command, cwd=ROOT, check=False)
        if status.returncode:
            print(f"[preview] the build failed ({status.returncode}); the "
                  "browser shows the last pages written", flush=True)


def main(argv: list[str] | None = None) -> None:
    """Build once, then serve ``_build/html`` and rebuild on every save."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args, flags = parser.parse_known_args(argv)
    build = Build(flags)
    build()
    html = ROOT / "_build" / "html"
    html.mkdir(parents=True, exist_ok=True)
    ignore = IgnoreFilter([str(ROOT / name) for name in IGNORED],
                          IGNORED_PATTERNS)
    watcher = RebuildServer([ROOT], ignore, change_callback=build)
    url_host = f"{args.host}:{args.port}"
    app = Starlette(
        routes=[
            WebSocketRoute("/websocket-reload", watcher, name="reload"),
            Mount("/", app=StaticFiles(directory=html, html=True),
                  name="static"),
        ],
        middleware=[Middleware(JavascriptInjectorMiddleware,
                               ws_url=url_host)],
        lifespan=watcher.lifespan,
    )
    print(f"[preview] serving http://{url_host}/ ; every save rebuilds "
          "and reloads the page (Ctrl-C stops)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
