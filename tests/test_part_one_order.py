"""Part I teaches in order.

A rule of the developers' guide, read from the chapter sources in the
order of ``_toc.yml``: no chapter uses in code a tool that a later chapter
teaches. Each tool of Part I has the chapter that introduces it; a code
cell of an earlier chapter that calls it fails the test, and so does an
introducing chapter whose prose never names the tool (an introduction must
say what it is). (The length of every chapter is the business of
``tests/test_chapter_length.py``.)
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import jupytext
import pytest
import yaml

from tests.notebooks import BOOK, ROOT

PART_ONE = "Part I:"

# Each tool, as code calls it, and the chapter that teaches it.
TOOLS: dict[str, tuple[str, str]] = {
    "torch.autograd.grad": (r"autograd\.grad\(", "derivatives"),
    "retain_grad": (r"\.retain_grad\(", "derivatives"),
    "retain_graph": (r"retain_graph\s*=", "computational-graphs"),
    "Value": (r"\bValue\b", "reverse-mode-engine"),
    "detach": (r"\.detach\(", "stopping-gradients"),
    "no_grad": (r"no_grad\(", "stopping-gradients"),
    "inference_mode": (r"inference_mode\(", "stopping-gradients"),
    "backward(gradient=…)": (r"backward\(\s*(gradient\s*=|torch\.|v\b)",
                             "jacobians"),
    "jacrev": (r"\bjacrev\b", "jacobians"),
    "jacfwd": (r"\bjacfwd\b", "jacobians"),
    "jvp": (r"\bjvp\b", "jacobians"),
    "vjp": (r"\bvjp\b", "jacobians"),
    "register_hook": (r"\.register_hook\(", "derivatives"),
    "torch.compile": (r"torch\.compile\(", "computational-graphs"),
    "requires_grad_": (r"\.requires_grad_\(", "stopping-gradients"),
    "create_graph": (r"create_graph\s*=", "higher-derivatives"),
    "hessian": (r"\bhessian\(", "higher-derivatives"),
    "vmap": (r"\bvmap\b", "higher-derivatives"),
    "gradcheck": (r"\bgradcheck\(", "custom-gradients"),
    "gradgradcheck": (r"\bgradgradcheck\(", "custom-gradients"),
    "torch.autograd.Function": (r"autograd\.Function\b",
                                "custom-gradients"),
}


def part_one_chapters() -> list[str]:
    """The chapter names of Part I, in the order of ``_toc.yml``."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    (part,) = [p for p in toc["parts"] if p["caption"].startswith(PART_ONE)]
    return [Path(chapter["file"]).name for chapter in part["chapters"]]


@functools.cache
def cells(name: str):
    return jupytext.read(BOOK / f"{name}.md").cells


def code_text(name: str) -> str:
    """Every code cell of a chapter, hidden ones included, comments cut."""
    return "\n".join(
        re.sub(r"#.*", "", cell.source)
        for cell in cells(name)
        if cell.cell_type == "code"
    )


def prose_text(name: str) -> str:
    """The chapter's Markdown before ``## Exercises``, markup left out."""
    lines = []
    for cell in cells(name):
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if line.strip() == "## Exercises":
                return "\n".join(lines)
            lines.append(line)
    return "\n".join(lines)


def test_part_one_is_the_expected_chapters():
    chapters = part_one_chapters()
    assert chapters[0] == "derivatives"
    for _, introduced_in in TOOLS.values():
        assert introduced_in in chapters


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_no_chapter_uses_a_tool_before_it_is_taught(tool):
    pattern, introduced_in = TOOLS[tool]
    chapters = part_one_chapters()
    earlier = chapters[: chapters.index(introduced_in)]
    users = [name for name in earlier
             if re.search(pattern, code_text(name))]
    assert users == [], (
        f"{tool} is taught in {introduced_in} but used in code by {users}"
    )


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_the_introducing_chapter_teaches_the_tool(tool):
    pattern, introduced_in = TOOLS[tool]
    assert re.search(pattern, code_text(introduced_in)), (
        f"{introduced_in} should show {tool} in a code cell"
    )
    name = tool.split("(")[0].split(".")[-1]
    assert name in prose_text(introduced_in), (
        f"{introduced_in} should name {tool} in its prose"
    )


def test_the_order_check_catches_a_use_before_introduction():
    # jacrev is taught in the Jacobian chapter: a cell of the first
    # chapter that used it would match the pattern the test looks for.
    pattern, _ = TOOLS["jacrev"]
    assert re.search(pattern, "from torch.func import jacrev\n")
    assert not re.search(pattern, code_text(part_one_chapters()[0]))
