"""Grading a class (``make grade``, ``book_tools.grade``) on real notebooks.

One folder of submissions, graded once per session, two notebooks at a
time (the module fixture ``graded``):

- ``starters/``: the shipped starter notebooks of the session's
  problem-set build (``student_edition``): every problem "not done";
- ``solved/``: each starter with every skeleton replaced by the chapter's
  own solution code, cut from the chapter's source (the solution region
  named in ``SOLUTIONS``), and a line that gives the starter's names to
  the solution's values: every problem "correct";
- ``mistakes/``: listed mistakes made in that solution code (gradients
  never zeroed in 2.1; snapshots stored without ``clone()`` in 2.4):
  "wrong" with a hint, while the other problem of the notebook is right;
- ``broken/``: files that are not notebooks, a notebook without cells,
  one that raises, one that rewrites its own file, one that prints
  megabytes, one that ends its kernel: error rows with their reasons, the
  others still graded.

A second, small folder runs with short time limits: a cell that loops
forever and a notebook slower than its own limit. The submissions folder
is hashed before and after: grading never changes it.
"""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
import subprocess
import time
from pathlib import Path

import jupytext
import nbformat
import pytest

from book_tools import grade
from book_tools.project import ROOT
from book_tools.student import (
    COMMENT_END,
    COMMENT_START,
    DIRECTIVE_END,
    DIRECTIVE_START,
)

# Per problem: its chapter, the solution regions whose code cells replace
# the starter's skeleton (a gated solution's label, or words of a
# "% solution-start: ..." comment), and the line that names the answers as
# the starter does (empty when the solution uses the starter's names).
# The chapter's section on 1.3 continues from a cell before it: its
# set-up, the problem's data, comes first (BEFORE).
SOLUTIONS = {
    "1.1": ("derivatives", ["derivatives-exercise-1-1"],
            "derivative = x.grad.item()"),
    "gradient_in_pieces": ("derivatives", ["derivatives-exercise-pieces"],
                           "gradient = in_pieces"),
    "1.2": ("jacobians", ["ex-sigmoid-sum-trick"], "derivative = xs.grad"),
    "1.3": ("jacobians", ["problem 1.3 solved"], ""),  # and BEFORE
    "1.4": ("jacobians", ["ex-trace-gradient"], "gradient = A.grad"),
    "least_squares_gradient": ("jacobians",
                               ["jacobians-exercise-least-squares"],
                               "gradient = formula"),
    "softmax_jacobian": ("jacobians", ["jacobians-exercise-softmax"],
                         "jacobian = formula"),
    "1.5": ("higher-derivatives", ["ex-sigmoid-second-derivative"],
            "first, second = d1, d2"),
    "largest_hessian_eigenvalue": ("higher-derivatives",
                                   ["higher-exercise-power-iteration"],
                                   "eigenvalue = largest"),
    "x_log_x_function": ("custom-gradients", ["custom-exercise-square"], ""),
    "2.1": ("sgd", ["sgd-exercise-2-1"], "slope, bias = slope_2_1, bias_2_1"),
    "2.2": ("sgd", ["sgd-exercise-2-2"], "losses = run.update_losses"),
    "2.3": ("early-stopping", ["early-stopping-exercise-2-3"],
            "train_epoch, validation_epoch = best_train, best_val"),
    "2.4": ("early-stopping", ["problems 2.3 and 2.4 solved"],
            "final_test_mse, best_test_mse = test_final, test_best"),
    "2.5": ("momentum", ["ex-momentum-puzzle"], "momenta = PUZZLE"),
}

# The mistakes, each a change to the solution code of one problem, and
# the other problem of the same notebook, solved.
MISTAKES = {
    "sgd-never-zeroed": ("2.1", "sgd-exercise-2-1", [
        ("        if weights.grad is not None:\n"
         "            weights.grad.zero_()\n", ""),
    ]),
    "early-stopping-no-clone": ("2.4", "the loop of problems 2.3 and 2.4", [
        ("snapshots.append(parameters.detach().clone())",
         "snapshots.append(parameters.detach())"),
    ]),
}
# What each mistake's hint must name: the self-check recognises it.
NAMED_IN_THE_HINT = {
    "sgd-never-zeroed": "never zeroed",
    "early-stopping-no-clone": "without clone()",
}
# 2.4 from the hand-written loop's snapshots, as a student would finish it.
NO_CLONE_ANSWERS = (
    "final_test_mse = mean_squared_error(\n"
    "    linear_model(X_test, hand_snapshots[-1]), y_test).item()\n"
    "best_test_mse = mean_squared_error(\n"
    "    linear_model(X_test, hand_snapshots[best_val]), y_test).item()\n"
)

BEFORE = {"1.3": "x = torch.tensor(1.376, requires_grad=True)\n"
                 "y = torch.tensor(2.123, requires_grad=True)\n"
                 "f = vector_function(x, y)"}

CELL_TIMEOUT = 300  # the real chapters' cells, on a loaded machine
OUTPUT_LIMIT = 3_000_000
MEGABYTES = 'while True:\n    print("x" * 100_000)\n'


def solution_cells(chapter: str, label: str) -> list[str]:
    """The code cells of one solution region of ``book/<chapter>.md``."""
    lines = (ROOT / "book" / f"{chapter}.md").read_text(
        encoding="utf8").splitlines(keepends=True)
    start = next(index for index, line in enumerate(lines)
                 if (DIRECTIVE_START.match(line) or COMMENT_START.match(line))
                 and label in line)
    end = next(index for index in range(start + 1, len(lines))
               if DIRECTIVE_END.match(lines[index])
               or COMMENT_END.match(lines[index]))
    directive = DIRECTIVE_START.match(lines[start])
    if directive:  # the region begins after the start directive's fence
        start = next(index for index in range(start + 1, end)
                     if lines[index].strip() == directive[1])
    region = jupytext.reads("".join(lines[start + 1:end]), fmt="md:myst")
    cells = [cell.source for cell in region.cells if cell.cell_type == "code"]
    assert cells, (chapter, label)
    return cells


def check_cell(notebook, function: str) -> int:
    """The index of the starter's self-check cell of ``function``."""
    return next(index for index, cell in enumerate(notebook.cells)
                if f"check.{function}(" in cell.source
                and "starter" in cell.metadata.get("tags", []))


def replace_skeleton(notebook, column: str, sources: list[str]) -> None:
    """The starter cells before ``column``'s self-check give way to
    ``sources``: the skeleton (names set to ``...``, ``todo`` calls)."""
    function = next(p.function for p in grade.problems_of("", notebook)
                    if p.column == column)
    at = check_cell(notebook, function)
    start = at
    while start > 0 and "starter" in notebook.cells[start - 1].metadata.get(
            "tags", []) and "check." not in notebook.cells[start - 1].source:
        start -= 1
    # Only the skeleton: a set-up cell of the starter is kept.
    start = max(start, at - 1)
    notebook.cells[start:at] = [nbformat.v4.new_code_cell(source)
                                for source in sources]


def solved(starter, chapter: str, skip: str = "") -> nbformat.NotebookNode:
    """``starter`` with each problem's solution in place of its skeleton."""
    notebook = nbformat.from_dict(starter)
    for column, (where, labels, binding) in SOLUTIONS.items():
        if where != chapter or column == skip:
            continue
        sources = [BEFORE[column]] if column in BEFORE else []
        sources += [source for label in labels
                    for source in solution_cells(chapter, label)]
        replace_skeleton(notebook, column,
                         sources + ([binding] if binding else []))
    return notebook


def with_mistake(starter, name: str) -> nbformat.NotebookNode:
    """A solved starter with one listed mistake in one problem."""
    column, label, edits = MISTAKES[name]
    chapter = SOLUTIONS[column][0]
    notebook = solved(starter, chapter, skip=column)
    sources = solution_cells(chapter, label)
    for old, new in edits:
        assert any(old in source for source in sources), (name, old)
        sources = [source.replace(old, new) for source in sources]
    if column == "2.1":
        sources.append(SOLUTIONS["2.1"][2])
    else:
        sources.append(NO_CLONE_ANSWERS)
    replace_skeleton(notebook, column, sources)
    return notebook


def small(starter, column: str, first: str) -> nbformat.NotebookNode:
    """A short notebook of a chapter: the cell ``first``, then the
    starter's skeleton and self-check of ``column`` (found by them)."""
    function = next(p.function for p in grade.problems_of("", starter)
                    if p.column == column)
    at = check_cell(starter, function)
    notebook = nbformat.v4.new_notebook(metadata=starter.metadata)
    notebook.cells = [nbformat.v4.new_code_cell(first),
                      *(nbformat.from_dict(cell)
                        for cell in starter.cells[at - 1:at + 1])]
    return notebook


def folder_digest(folder: Path) -> str:
    """One hash of every file's path and bytes below ``folder``."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


PART_ONE = ("derivatives", "jacobians", "higher-derivatives",
            "custom-gradients")
PART_TWO = ("sgd", "early-stopping", "momentum")


def build_class(folder: Path, shipped: Path) -> Path:
    """The class's folder: starters, solved, mistakes, broken files.

    ``shipped`` holds the starter notebooks as ``make student`` writes
    them. ``book_tools.benchmarks.grading`` grades the same folder.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "starters").mkdir()
    for path in sorted(shipped.glob("*.ipynb")):
        shutil.copy(path, folder / "starters" / path.name)
    starters = {path.stem: nbformat.read(path, as_version=4)
                for path in shipped.glob("*.ipynb")}
    (folder / "solved").mkdir()
    for chapter in PART_ONE + PART_TWO:
        notebook = solved(starters[chapter], chapter)
        if chapter == "derivatives":
            # Answers right, though every self-check cell was deleted.
            notebook.cells = [
                cell for cell in notebook.cells if "check." not in
                cell.source or "starter" not in cell.metadata.get("tags", [])]
        # Renamed as students do: found by its cells, not its name.
        nbformat.write(notebook, folder / "solved" / f"{chapter}-ada.ipynb")
    (folder / "mistakes").mkdir()
    for name in MISTAKES:
        chapter = SOLUTIONS[MISTAKES[name][0]][0]
        nbformat.write(with_mistake(starters[chapter], name),
                       folder / "mistakes" / f"{name}.ipynb")
    broken = folder / "broken"
    broken.mkdir()
    (broken / "essay.txt").write_text("My answers are 0.071 and 6.\n")
    (broken / "truncated.ipynb").write_text(
        (shipped / "derivatives.ipynb").read_text()[:500])
    nbformat.write(nbformat.v4.new_notebook(), broken / "emptied.ipynb")
    derivatives = starters["derivatives"]
    nbformat.write(small(derivatives, "1.1",
                         'raise RuntimeError("broken on purpose")'),
                   broken / "raises.ipynb")
    nbformat.write(small(derivatives, "1.1",
                         "import nbformat\n"
                         "nbformat.write(nbformat.v4.new_notebook(),\n"
                         '               "rewrites-itself.ipynb")'),
                   broken / "rewrites-itself.ipynb")
    nbformat.write(small(derivatives, "1.1", MEGABYTES),
                   broken / "prints.ipynb")
    nbformat.write(small(derivatives, "1.1", "import os\nos._exit(1)"),
                   broken / "exits.ipynb")
    # A hidden folder of checkpoints is not a submission.
    (folder / "solved" / ".ipynb_checkpoints").mkdir()
    (folder / "solved" / ".ipynb_checkpoints" / "x.ipynb").write_text("{}")
    return folder


@pytest.fixture(scope="module")
def submissions(student_edition, tmp_path_factory) -> Path:
    """The class's folder, from the session's problem-set build."""
    return build_class(tmp_path_factory.mktemp("submissions"),
                       student_edition / "notebooks")


@pytest.fixture(scope="module")
def graded(submissions, tmp_path_factory):
    """The whole folder graded once: (results by path, the CSV's rows,
    the output folder, progress lines, seconds, folder hash before)."""
    before = folder_digest(submissions)
    output = tmp_path_factory.mktemp("grades")
    lines = []
    start = time.perf_counter()
    results = grade.grade(
        submissions, output, jobs=2, cell_timeout=CELL_TIMEOUT,
        output_limit=OUTPUT_LIMIT,
        progress=lambda line, **_: lines.append(line))
    seconds = time.perf_counter() - start
    with open(output / "grades.csv", newline="", encoding="utf8") as file:
        rows = {row["notebook"]: row for row in csv.DictReader(file)}
    return {"results": {r.path: r for r in results}, "rows": rows,
            "output": output, "lines": lines, "seconds": seconds,
            "before": before}


def marks(graded, path: str) -> dict[str, str]:
    return graded["results"][path].marks


def test_the_submissions_folder_is_never_changed(submissions, graded):
    assert folder_digest(submissions) == graded["before"]


def test_one_row_and_one_progress_line_per_file(submissions, graded):
    files = sorted(str(p.relative_to(submissions)) for p in
                   grade.submissions(submissions))
    assert ".ipynb_checkpoints" not in " ".join(files)
    assert sorted(graded["rows"]) == files
    assert len(graded["lines"]) == len(files)
    for path in files:
        assert sum(f" {path}: " in line for line in graded["lines"]) == 1
    header = list(next(iter(graded["rows"].values())))
    columns = [p.column for notebook in grade.starter_notebooks().values()
               for p in grade.problems_of("", notebook)]
    assert header == ["notebook", "chapter", "status", *columns]
    assert {"1.1", "1.5", "2.1", "2.5"} <= set(columns)


def test_shipped_starters_are_not_done(graded):
    seen = set()
    for path, result in graded["results"].items():
        if path.startswith("starters/"):
            assert result.chapter == Path(path).stem
            assert set(result.marks.values()) <= {"not done"}, path
            seen |= set(result.marks)
    assert seen == set(SOLUTIONS)


def test_solved_starters_are_correct(graded):
    seen = set()
    for path, result in graded["results"].items():
        if path.startswith("solved/"):
            assert result.marks, path
            assert set(result.marks.values()) == {"correct"}, (
                path, result.marks, result.errors)
            seen |= set(result.marks)
    assert seen == set(SOLUTIONS)
    # Renamed files are found by their cells.
    assert graded["results"]["solved/sgd-ada.ipynb"].chapter == "sgd"


def test_a_deleted_self_check_is_still_graded(submissions, graded):
    path = "solved/derivatives-ada.ipynb"
    notebook = nbformat.read(submissions / path, as_version=4)
    assert not any("check.problem_1_1(" in cell.source
                   for cell in notebook.cells)
    assert marks(graded, path) == {
        "1.1": "correct", "gradient_in_pieces": "correct"}


@pytest.mark.parametrize("name", list(MISTAKES))
def test_listed_mistakes_are_wrong_with_their_own_hint(graded, name):
    column = MISTAKES[name][0]
    result = graded["results"][f"mistakes/{name}.ipynb"]
    mark = result.marks[column]
    assert mark.startswith("wrong: ") and NAMED_IN_THE_HINT[name] in mark, (
        mark)
    others = {c: m for c, m in result.marks.items() if c != column}
    assert others and set(others.values()) == {"correct"}, result.marks
    feedback = (graded["output"] / "feedback" / "mistakes" /
                f"{name}.md").read_text()
    assert f"Problem {column}: wrong: " in feedback


@pytest.mark.parametrize("path, reason", [
    ("broken/essay.txt", "not a notebook"),
    ("broken/truncated.ipynb", "not a notebook"),
    ("broken/emptied.ipynb", "no cells"),
    ("broken/rewrites-itself.ipynb", "rewrote or deleted its own file"),
    ("broken/prints.ipynb", "outputs passed 3 MB in cell 1"),
    ("broken/exits.ipynb", "kernel died in cell 1"),
])
def test_broken_files_are_error_rows_with_the_reason(graded, path, reason):
    row = graded["rows"][path]
    assert row["status"].startswith("error: ") and reason in row["status"]
    result = graded["results"][path]
    assert result.marks and all(mark.startswith("error")
                                for mark in result.marks.values())
    line = next(line for line in graded["lines"] if f" {path}: " in line)
    assert reason in line


def test_a_raising_cell_is_the_reason_of_the_problems_after_it(graded):
    result = graded["results"]["broken/raises.ipynb"]
    assert result.chapter == "derivatives"
    assert result.marks["1.1"] == (
        "error: RuntimeError: broken on purpose (cell 1)")
    # The row itself is graded: the error is the problem's.
    assert graded["rows"]["broken/raises.ipynb"]["status"] == "graded"


def test_feedback_files_mirror_the_submissions(submissions, graded):
    feedback = graded["output"] / "feedback"
    for path in graded["rows"]:
        text = (feedback / Path(path).with_suffix(".md")).read_text()
        assert text.startswith(f"# Feedback on {path}\n")
    text = (feedback / "solved" / "sgd-ada.md").read_text()
    assert "- Problem 2.1: correct" in text
    assert "- Problem 2.2: correct" in text


# Time limits, in a folder of their own with short limits.


@pytest.fixture(scope="module")
def timed(student_edition, tmp_path_factory):
    starter = nbformat.read(student_edition / "notebooks" /
                            "derivatives.ipynb", as_version=4)
    folder = tmp_path_factory.mktemp("timed")
    nbformat.write(small(starter, "1.1", "while True:\n    pass"),
                   folder / "loops.ipynb")
    slow = small(starter, "1.1", "import time\ntime.sleep(2)")
    slow.cells[1:1] = [nbformat.v4.new_code_cell("time.sleep(2)")
                       for _ in range(4)]
    nbformat.write(slow, folder / "slow.ipynb")
    output = tmp_path_factory.mktemp("timed-grades")
    results = grade.grade(folder, output, jobs=2, cell_timeout=3,
                          notebook_timeout=8, progress=lambda *a, **k: None)
    return {r.path: r for r in results}


def test_a_cell_that_loops_forever_is_stopped(timed):
    result = timed["loops.ipynb"]
    assert result.note == "error: cell 1 ran past the time limit of 3 s"
    assert result.marks == {"1.1": result.note,
                            "gradient_in_pieces": result.note}
    assert result.seconds < 30


def test_a_notebook_past_its_own_limit_is_stopped(timed):
    result = timed["slow.ipynb"]
    # Stopped inside a cell or, when the time ran out between two cells,
    # before the next one: either way the note names the cell.
    assert re.fullmatch(r"error: it ran past the notebook time limit of 8 s "
                        r"\((in|before) cell [2-6]\)", result.note)
    assert result.seconds < 40


def test_the_grader_s_cell_is_python():
    # Without a kernel: the cell the grader runs after each problem.
    source = grade.grader_source("2.1", "check.problem_2_1(slope, bias)",
                                 Path("/tmp/verdicts.jsonl"))
    compile(source, "<grader>", "exec")
    assert "'check.problem_2_1(slope, bias)'" in source


# Bad arguments, from Python, the command line and make.


@pytest.mark.parametrize("kwargs, message", [
    ({"jobs": 0}, "jobs must be a positive integer"),
    ({"cell_timeout": -1}, "cell_timeout must be a positive number"),
    ({"output_limit": "1 MB"}, "output_limit must be a positive number"),
])
def test_bad_limits_are_named(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        grade.grade(tmp_path, tmp_path.parent / "out", **kwargs)


def test_the_output_may_not_lie_in_the_submissions(tmp_path):
    with pytest.raises(ValueError, match="output must lie outside"):
        grade.grade(tmp_path, tmp_path / "grades")


def test_the_command_line_names_a_missing_folder(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        grade.main([str(tmp_path / "no")])
    assert stop.value.code == 2
    assert "SUBMISSIONS must be a folder" in capsys.readouterr().err


@pytest.mark.parametrize("value, message", [
    ("", "set SUBMISSIONS"),
    ("Makefile", "is not a folder"),
])
def test_make_grade_needs_a_folder(value, message):
    process = subprocess.run(
        ["make", "--no-print-directory", "grade", f"SUBMISSIONS={value}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert process.returncode != 0
    assert message in process.stdout + process.stderr
    assert re.search(r"make grade SUBMISSIONS=", process.stdout +
                     process.stderr)
