"""The book's figure style: applied per figure, never left behind globally."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import nbformat
import pytest
from nbclient import NotebookClient

from autodiff_book.plotting import BOOK_STYLE, PALETTE, new_figure


def test_the_style_reaches_the_figure_but_not_the_global_defaults():
    before = dict(mpl.rcParams)
    figure, axes = new_figure()
    assert mpl.colors.to_hex(figure.get_facecolor()) == "#ffffff"
    (line,) = axes.plot([0, 1], [0, 1])
    assert line.get_color() == PALETTE[0]
    assert line.get_linewidth() == 2.0
    assert dict(mpl.rcParams) == before
    plt.close(figure)


def test_two_panels_share_one_row():
    figure, axes = new_figure(1, 2)
    assert axes.shape == (2,)
    plt.close(figure)


def test_every_line_of_the_cycle_differs_in_style_too():
    cycle = list(BOOK_STYLE["axes.prop_cycle"])
    styles = [entry["linestyle"] for entry in cycle]
    assert len(set(map(str, styles))) == len(styles)


@pytest.mark.parametrize(("nrows", "ncols"), [(0, 1), (1, 0), (-1, 2)])
def test_an_empty_grid_is_refused(nrows, ncols):
    with pytest.raises(ValueError, match="at least one row and one column"):
        new_figure(nrows, ncols)


def test_every_figure_of_a_notebook_is_shown():
    """The inline backend must keep showing figures after the first one."""
    cell = (
        "from autodiff_book.plotting import new_figure\n"
        "figure, axes = new_figure()\n"
        "axes.plot([0, 1])"
    )
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(cell) for _ in range(3)]
    )
    NotebookClient(notebook, kernel_name="python3", timeout=120).execute()
    for executed in notebook.cells:
        mimes = [m for out in executed.outputs for m in out.get("data", {})]
        assert "image/png" in mimes
