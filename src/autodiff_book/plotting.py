"""One place for the look of the book's figures, applied explicitly.

Every figure of the book is made by ``new_figure``: it sets the style on that
figure alone (no change to matplotlib's global ``rcParams``), so a reader who
runs a chapter keeps their own defaults for their own plots.

The figures keep an opaque white background so that they stay readable when
the site is shown in dark mode, and the colours are the Okabe-Ito palette,
which stays distinguishable under the common forms of colour blindness.
Lines should also differ by style or marker, never by colour alone:
``LINE_STYLES`` and ``MARKERS`` pair with ``PALETTE`` entry by entry.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

# Okabe & Ito (2008), "Color Universal Design".
PALETTE = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
)
LINE_STYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1)), "-")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")

BOOK_STYLE = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "figure.dpi": 110,
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": plt.cycler(color=PALETTE[:6])
    + plt.cycler(linestyle=LINE_STYLES[:6])
    # Line width rides in the cycle too: it is read when a line is drawn,
    # after new_figure's style context has closed.
    + plt.cycler(linewidth=[2.0] * 6),
}


def new_figure(
    nrows: int = 1,
    ncols: int = 1,
    *,
    width: float = 6.4,
    height: float | None = None,
    **subplot_kw,
):
    """Create a figure in the book's style.

    Args:
        nrows, ncols: the grid of axes, as in ``plt.subplots``.
        width: figure width in inches; the default suits a phone screen
            as well as a laptop once the page scales it.
        height: figure height in inches; by default 0.62 of the width per
            row for a single column, less for side-by-side panels.
        **subplot_kw: passed on to ``plt.subplots``.

    Returns:
        ``(figure, axes)`` exactly as ``plt.subplots`` returns them.
    """
    if nrows < 1 or ncols < 1:
        raise ValueError(
            f"a figure needs at least one row and one column, "
            f"got nrows={nrows}, ncols={ncols}"
        )
    if height is None:
        height = width * (0.62 if ncols == 1 else 0.42) * nrows
    with plt.rc_context(BOOK_STYLE):
        figure, axes = plt.subplots(
            nrows,
            ncols,
            figsize=(width, height),
            layout="constrained",
            **subplot_kw,
        )
        interactive = plt.isinteractive()
    # Jupyter's inline backend switches interactive mode on when the first
    # figure loads it; rc_context would undo that on exit, and later figures
    # would no longer show by themselves. Keep the backend's choice.
    plt.interactive(interactive)
    return figure, axes
