"""Every override of the theme names what it copies, and that is unchanged.

Each template in ``_templates/`` and each replaced visitor in
``book_tools.extensions``
carries ``Upstream: <distribution> <version> <file>[::<function>]
sha256:<digest>`` lines: the installed (pinned) distribution must have
that version, and the upstream file (or function) must hash to that
digest. A theme or myst-nb upgrade that changes what we copied or extend
fails here, so the override is looked at again instead of silently
drifting. The two components copied whole must differ from upstream only
by the change their comment describes.
"""

from __future__ import annotations

import ast
import hashlib
import re
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace

import pytest

from book_tools.extensions import site_fixes
from book_tools.project import ROOT

UPSTREAM = re.compile(
    r"Upstream: (?P<dist>\S+) (?P<version>\S+) (?P<file>[^\s:]+)"
    r"(?:::(?P<function>\w+))?\s+sha256:(?P<digest>[0-9a-f]{64})"
)
TEMPLATES = sorted((ROOT / "_templates").rglob("*.html"))
OVERRIDES = [*TEMPLATES, Path(site_fixes.__file__)]
JINJA_COMMENT = re.compile(r"\{#.*?#\}\n?", re.S)
# What each whole copy changes in its upstream component: (old, new) pairs.
COPY_EDITS = {
    "article-header-buttons.html": [(
        '{% from "../macros/buttons.html"', '{% from "macros/buttons.html"',
    )],
    "macros/buttons.html": [(
        'src="{{ pathto(icon, 1) }}">',
        'src="{{ pathto(icon, 1) }}" loading="lazy">',
    )],
    "search-button-field.html": [(' aria-label="{{ _(\'Search\') }}"', "")],
    "theme-switcher.html": [
        (' aria-label="{{ _(\'Color mode\') }}"', ""),
        *[
            (f"title=\"{{{{ _('{mode}') }}}}\"",
             f"title=\"{{{{ _('Color mode') }}}}: {{{{ _('{mode}') }}}}\"")
            for mode in ("Light", "Dark", "System Settings")
        ],
    ],
}


def upstream_lines(path: Path) -> list[dict]:
    """The ``Upstream:`` records of one override file."""
    return [m.groupdict() for m in UPSTREAM.finditer(path.read_text())]


def upstream_text(record: dict) -> str:
    """The upstream file, or one function's source, as installed."""
    located = metadata.distribution(record["dist"]).locate_file(
        record["file"])
    text = Path(located).read_text()
    if record["function"] is None:
        return text
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef) and (
            node.name == record["function"]
        ):
            return ast.get_source_segment(text, node)
    raise AssertionError(f"no {record['function']} in {located}")


def test_requirements_pin_both_themes():
    pins = dict(
        re.findall(r"^([\w-]+)==(\S+)", (ROOT / "requirements.txt")
                   .read_text(), re.M)
    )
    for dist in ("sphinx-book-theme", "pydata-sphinx-theme"):
        assert pins[dist] == metadata.version(dist), dist


@pytest.mark.parametrize(
    "path", OVERRIDES, ids=lambda p: p.relative_to(ROOT).as_posix()
)
def test_override_names_an_unchanged_upstream(path):
    records = upstream_lines(path)
    assert records, f"{path.name} says nothing about what it overrides"
    for record in records:
        assert metadata.version(record["dist"]) == record["version"], (
            f"{record['dist']} is no longer {record['version']}: "
            f"compare {record['file']} with {path.name}, then update both"
        )
        digest = hashlib.sha256(upstream_text(record).encode()).hexdigest()
        assert digest == record["digest"], (
            f"{record['file']} changed upstream: compare it with "
            f"{path.name}, then update the override and its digest"
        )


@pytest.mark.parametrize("name", sorted(COPY_EDITS))
def test_a_copied_component_differs_only_by_its_fix(name):
    ours = ROOT / "_templates" / name
    (record,) = upstream_lines(ours)
    expected = JINJA_COMMENT.sub("", upstream_text(record))
    for old, new in COPY_EDITS[name]:
        assert expected.count(old) == 1, old
        expected = expected.replace(old, new)
    assert JINJA_COMMENT.sub("", ours.read_text()) == expected


def test_the_replaced_visitor_differs_only_by_its_label_and_spans():
    """Both visitors write the same HTML, but for the summary's label and
    the tag of its two prompts (``<span>``, not ``<p>``)."""
    from myst_nb.sphinx_ import HideCodeCellNode, visit_HideCellInput

    node = HideCodeCellNode(
        prompt_show="Show code cell <source>", prompt_hide="Hide & go",
        classes=["tag_hide-input", "above-input"],
    )
    theirs, ours = SimpleNamespace(body=[]), SimpleNamespace(body=[])
    visit_HideCellInput(theirs, node)
    site_fixes.visit_hidden_cell(ours, node)
    label = '<summary aria-label="Toggle hidden content">'
    expected = "".join(theirs.body)
    for old, new, count in [(label, "<summary>", 1),
                            ("<p class=", "<span class=", 2),
                            ("</p>", "</span>", 2)]:
        assert expected.count(old) == count, old
        expected = expected.replace(old, new)
    assert "".join(ours.body) == expected
