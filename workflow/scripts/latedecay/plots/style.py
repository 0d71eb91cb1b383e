"""Shared matplotlib look for every figure.

``context()`` is entered only by the latedecay.plots function that makes a figure (it draws
inside it) and by ``save()``; entry scripts and tests never enter it themselves.

Figures are built on ``matplotlib.figure.Figure`` directly (no pyplot), so no
backend or global state is involved and jobs can plot in parallel.
"""

import logging

import matplotlib as mpl

from latedecay.io import save_figure

# Embedding TrueType fonts logs every subsetting step at INFO; job logs are INFO.
logging.getLogger("fontTools").setLevel(logging.WARNING)

RC = {
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "legend.fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.2,
    "image.cmap": "viridis",
    "pdf.fonttype": 42,  # embed TrueType: text stays selectable and editable
    "savefig.dpi": 200,
    "svg.hashsalt": "latedecay",  # fixed SVG ids (random by default): identical figures, identical bytes
}


def context():
    return mpl.rc_context(RC)


def save(fig, path):
    """Save inside the style context: pdf.fonttype and dpi are read at save time."""
    with context():
        save_figure(fig, path)
