"""The audits' own logic: the mutation score and the Binder check's list.

The audits themselves take minutes to hours (a fresh environment, every
mutant) and are run by hand; what they compute from their inputs is
checked here, in a second.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from book_tools.audits import binder, mutation
from book_tools.project import ROOT, notebook_pages, page_source

RESULTS = """\
    autodiff_book.engine.x_add__mutmut_1: killed
    autodiff_book.engine.x_add__mutmut_2: survived
    autodiff_book.data.x_load__mutmut_1: timeout
    autodiff_book.data.x_load__mutmut_2: no tests
"""


def test_the_score_counts_timeouts_as_detected_and_keeps_untested():
    lines = mutation.score(RESULTS)
    assert lines[:-1] == [
        "killed       1", "no tests     1", "survived     1", "timeout      1",
    ]
    assert lines[-1] == "score        2 / 4 = 50.0 %"


def test_a_name_with_a_colon_keeps_only_the_last_status():
    lines = mutation.score("a.b: c: killed\n")
    assert lines == ["killed       1", "score        1 / 1 = 100.0 %"]


def test_no_mutant_is_an_error_naming_the_results():
    with pytest.raises(ValueError, match="results: no mutant"):
        mutation.score("mutmut printed nothing useful\n")


def test_a_narrower_run_replaces_only_mutmuts_test_files():
    configuration = (ROOT / "pyproject.toml").read_text()
    narrowed = mutation.with_tests(
        configuration, ["tests/test_checks.py", "tests/test_a.py::test_b"])
    before, after = tomllib.loads(configuration), tomllib.loads(narrowed)
    assert after["tool"]["mutmut"].pop(
        "pytest_add_cli_args_test_selection") == [
        "tests/test_checks.py", "tests/test_a.py::test_b"]
    before["tool"]["mutmut"].pop("pytest_add_cli_args_test_selection")
    assert after == before


def test_a_configuration_without_test_files_is_refused():
    with pytest.raises(ValueError, match="no pytest_add_cli_args_test_sel"):
        mutation.with_tests("[tool.mutmut]\n", ["tests/test_checks.py"])


def test_a_narrower_run_needs_mutant_names(capsys):
    with pytest.raises(SystemExit) as exit_:
        mutation.main(["--test", "tests/test_checks.py"])
    assert exit_.value.code == 2
    assert "--test needs mutant names" in capsys.readouterr().err


MODULE_TEXT = """\
import math


def area(r):
    return math.pi * r ** 2


class Circle:
    def __init__(self, r):
        self.r = r

    def area(self):
        return area(self.r)
"""


def test_function_sources_are_named_as_mutmut_names_them():
    sources = mutation.function_sources(MODULE_TEXT)
    assert list(sources) == ["x_area", "x\u01c1Circle\u01c1__init__",
                             "x\u01c1Circle\u01c1area"]
    assert sources["x_area"] == ("def area(r):\n"
                                 "    return math.pi * r ** 2")


def test_the_changed_functions_of_a_module_become_globs(monkeypatch):
    # Against the first commit, before the engine existed: every function
    # and method of it is new.
    monkeypatch.chdir(ROOT)
    first = subprocess.run(["git", "rev-list", "--max-parents=0", "HEAD"],
                           capture_output=True, text=True, check=True,
                           cwd=ROOT).stdout.split()[0]
    globs = mutation.changed_globs(first, ["engine"])
    assert "autodiff_book.engine.x\u01c1Value\u01c1__init____mutmut_*" in globs
    assert all(glob.startswith("autodiff_book.engine.") for glob in globs)


def test_module_needs_changed_since(capsys):
    with pytest.raises(SystemExit) as exit_:
        mutation.main(["--module", "check"])
    assert exit_.value.code == 2
    assert "--module needs --changed-since" in capsys.readouterr().err

def test_the_binder_check_runs_the_chapters_the_build_executes():
    listed = binder.notebook_chapters(Path(sys.executable), ROOT)
    expected = [page_source(ROOT, page).relative_to(ROOT).as_posix()
                for page in notebook_pages(ROOT)]
    assert listed == expected
    assert "book/momentum.md" in listed
