"""What each chapter depends on besides its own code cells.

The modules of ``src/autodiff_book`` its code cells import, closed over
the package's own imports (both read with ``ast``), the package's data
files, and ``data/`` if the chapter imports ``autodiff_book.data``
(directly or through another module) or names the ``data`` folder in a
string. A chapter whose dependencies changed since its cached run must
run again (``book_tools.build.execution``).
"""

from __future__ import annotations

import ast
import hashlib
import re
from pathlib import Path

import nbformat

from book_tools.build.chapters import Chapter

# What the chapters may depend on besides their own code cells.
PACKAGE = "autodiff_book"
DATA = "data"
# A string in a chapter's code that names the data folder ("../data").
DATA_PATH = re.compile(r"(^|[/\\])data([/\\]|$)")


def file_hash(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def package_modules(src: Path) -> dict[str, Path]:
    """Dotted name -> file, for every module of the package in ``src``."""
    modules = {}
    for path in sorted((src / PACKAGE).rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def imported_names(tree: ast.AST, module: str = "",
                   is_package: bool = False) -> set[str]:
    """Dotted names under the package that a parsed source imports.

    A name may be a module or a name inside one (``from m import f`` gives
    ``m`` and ``m.f``); ``module`` resolves relative imports.
    """
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")
                if not is_package:
                    parts.pop()
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in names
            if name == PACKAGE or name.startswith(PACKAGE + ".")}


def import_closure(names: set[str],
                   graph: dict[str, set[str]]) -> set[str]:
    """The modules ``names`` load, with their parents and their imports."""
    seen: set[str] = set()
    stack = list(names)
    while stack:
        name = stack.pop()
        while name not in graph and "." in name:  # a function: its module
            name = name.rsplit(".", 1)[0]
        if name not in graph or name in seen:
            continue
        seen.add(name)
        stack.extend(graph[name])
        if "." in name:  # importing a.b runs a/__init__.py first
            stack.append(name.rsplit(".", 1)[0])
    return seen


def cell_trees(notebook: nbformat.NotebookNode) -> list[ast.AST] | None:
    """The parsed code cells (magics blanked), or None if one won't parse."""
    trees = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        lines = [
            line[:len(line) - len(line.lstrip())] + "pass"
            if line.lstrip().startswith(("%", "!")) else line
            for line in cell.source.splitlines()
        ]
        try:
            trees.append(ast.parse("\n".join(lines)))
        except SyntaxError:
            return None
    return trees


class ModuleGraph(dict):
    """Module -> the package names it imports, each module parsed when
    first asked for: a chapter that imports one module needs the imports
    of that module's closure, not of the whole package."""

    def __init__(self, modules: dict[str, Path]) -> None:
        super().__init__()
        self.modules = modules

    def __contains__(self, name: object) -> bool:
        return name in self.modules

    def __missing__(self, name: str) -> set[str]:
        path = self.modules[name]
        try:
            tree = ast.parse(path.read_text(encoding="utf8"))
        except SyntaxError:
            names = set(self.modules)
        else:
            names = imported_names(tree, name, path.name == "__init__.py")
        self[name] = names
        return names


def chapter_dependencies(root: Path, chapters: list[Chapter]
                         ) -> dict[str, dict[str, str]]:
    """Chapter -> {file it depends on: SHA-256}, besides its code cells.

    Chapters and files are named relative to ``root``, so that a copy of
    the project (cache included) keeps its records.

    A chapter depends on the modules of the package it imports, directly
    or through other modules, on the package's other files (data files a
    module may open) once it imports the package at all, and on every file
    of ``data/`` if it loads the data (imports ``autodiff_book.data``, or
    names the ``data`` folder in a string). Code that cannot be parsed
    depends on everything.
    """
    src = root / "src"
    modules = package_modules(src)
    graph = ModuleGraph(modules)
    package_files = [
        path for path in sorted((src / PACKAGE).rglob("*"))
        if path.is_file() and path.suffix not in (".py", ".pyc")
        and "__pycache__" not in path.parts
    ]
    data_files = [path for path in sorted((root / DATA).rglob("*"))
                  if path.is_file()]
    hashes: dict[Path, str] = {}

    def hashed(paths: list[Path]) -> dict[str, str]:
        for path in paths:
            if path not in hashes:
                hashes[path] = file_hash(path)
        return {path.relative_to(root).as_posix(): hashes[path]
                for path in paths}

    result = {}
    for chapter in chapters:
        trees = cell_trees(chapter.notebook)
        if trees is None:
            used, uses_data = set(modules), True
        else:
            used = import_closure(
                set().union(*(imported_names(t) for t in trees)), graph)
            uses_data = f"{PACKAGE}.{DATA}" in used or any(
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and DATA_PATH.search(node.value)
                for tree in trees for node in ast.walk(tree)
            )
        files = [modules[name] for name in sorted(used)]
        if used:
            files += package_files
        if uses_data:
            files += data_files
        result[chapter.path.relative_to(root).as_posix()] = hashed(files)
    return result
