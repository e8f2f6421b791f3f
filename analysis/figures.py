"""Figures: one seaborn style for the report, and the record of the rows each figure plots.

A figure is drawn in a notebook cell whose first lines are ``#| label: fig-...`` and
``#| fig-cap: ...``. Calling :func:`record` in a separate cell stores the plotted rows and the
datasets they come from (declared by the notebook, checked against what the run loaded) in the
executed notebook; the build turns that into the figure's data credit, review packet and provenance.
"""

from __future__ import annotations

import os

from .cells import payloads
from .errors import FigureRecordError

MIME = "application/vnd.claimcheck.figure+json"


#: The PDF text width (US letter, 1 in margins: _quarto.yml): no figure is drawn wider, so neither the
#: PDF nor the HTML shrinks it (TEXT_WIDTH_IN * DPI pixels fit the HTML column too).
TEXT_WIDTH_IN = 6.5
DPI = 120
#: The smallest font size on any figure, in points at the printed size.
MIN_FONT_PT = 8


def style() -> None:
    """Apply the report's plotting style (call once, near the top of a notebook).

    Figures are drawn at their printed size, TEXT_WIDTH_IN wide at DPI, with no text under
    MIN_FONT_PT: draw with the default size (or a width up to TEXT_WIDTH_IN) and never shrink fonts.
    """
    import matplotlib as mpl
    import seaborn as sns

    sns.set_theme(context="paper", style="whitegrid", palette="colorblind")
    mpl.rcParams.update({
        "figure.figsize": (TEXT_WIDTH_IN, 4.0), "figure.dpi": DPI, "savefig.dpi": DPI,
        "font.size": 9.6, "axes.titlesize": 10, "axes.labelsize": 9.6, "figure.labelsize": 10, "xtick.labelsize": 8.5, "ytick.labelsize": 8.5,
        "legend.fontsize": 8.5, "legend.title_fontsize": 9, "figure.titlesize": 10.5,
        "svg.hashsalt": "claimcheck", "axes.titleweight": "bold",
    })


def record(label: str, data, *, datasets, note: str | None = None) -> None:
    """Store the rows figure (or table) ``label`` plots and the datasets they come from.

    ``data`` is the DataFrame the figure draws, ``datasets`` the tables (as returned by
    ``analysis.load`` or ``lookup.stack``) or dataset names those rows are computed from: exactly
    those, since they become the figure's data credit, review packet inputs and review record. Each
    must have been loaded by this run.
    """
    from IPython.display import display

    from .lookup import dataset_names

    if not (label.startswith("fig-") or label.startswith("tbl-")):
        raise FigureRecordError(f"figure label {label!r} must start with 'fig-' or 'tbl-'")
    if isinstance(datasets, str) or not datasets:
        raise FigureRecordError(
            f"figure {label}: datasets must list the tables its rows come from",
            hint="figures.record(label, data, datasets=[table, ...]) with tables loaded by analysis.load",
        )
    declared = True  # records written before datasets were declared carry False (readers still accept them)
    names = dataset_names(datasets, what=f"figure {label}")
    payload = {
        "label": label,
        "columns": [str(c) for c in data.columns],
        "csv": data.to_csv(index=False),
        "rows": int(len(data)),
        "datasets": names,
        "declared": declared,
        "note": note,
        "run": os.environ.get("CLAIMCHECK_RUN"),
    }
    from . import runlog

    runlog.append({"event": "figure"})
    display({MIME: payload, "text/plain": f"[{label}: {len(data)} rows recorded for review]"}, raw=True)


def recorded_in(notebook_json: dict) -> dict[str, dict]:
    """Figure records stored in an executed notebook, by label."""
    return {payload["label"]: payload for payload in payloads(notebook_json, MIME)}


def swarm_offsets(x, *, width: float, step: float, limit: float) -> list[float]:
    """Offsets across a swarm's axis that keep marks from overlapping: a beeswarm, deterministic.

    ``x`` are the positions along the axis, ``width`` how close two marks may come along it (in the
    same units), ``step`` the spacing across it and ``limit`` the largest offset; marks are placed in
    order of position, each at the smallest free offset (0, +step, -step, +2 step, ...). Beyond
    ``limit`` marks overlap at the last offset rather than leave their band. Returned in input order.
    """
    import math

    order = sorted(range(len(x)), key=lambda i: x[i])
    placed: list[tuple[float, float]] = []
    out = [0.0] * len(x)
    tries = [0.0] + [s * k * step for k in range(1, int(limit / step) + 1) for s in (1, -1)]
    for i in order:
        near = [dy for px, dy in placed if abs(px - x[i]) < width]
        offset = next((t for t in tries if all(abs(t - dy) >= step * 0.999 for dy in near)), tries[-1])
        placed.append((x[i], offset))
        out[i] = offset if not math.isnan(x[i]) else 0.0
    return out
