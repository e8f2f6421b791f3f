"""Peer review of the figures of a build, in three rooms:

* :mod:`.slicing`: which statements of a run's code cells derive and draw a figure (a def-use slice);
* :mod:`.figures` (the figures of a build and the read side of ``_build/review/``) and :mod:`.records`
  (review records, the status they give a figure, progress counts, what changed since a review);
* :mod:`.packets`: the review packets and index the build writes.

Import direction: ``analysis.cells <- slicing <- figures <- records <- packets``. The web app
(:mod:`analysis.review_app`) reads figures and records and never imports packets. The names below are
re-exported so that ``from analysis.review import ...`` keeps working.
"""

from __future__ import annotations

from ..cells import cell_labels, cell_options, cell_source, output_checksum
from .figures import (
    FIGURE_ID, Figure, current_data, figure_inputs, figures_of_run, index_path, inventory, packet_dir, parse_figure_id,
    read_index,
)
from .records import (
    APPROVED, CHANGES_REQUESTED, DECISIONS, STATUS_AGAIN, STATUS_APPROVED, STATUS_CHANGES, STATUS_NONE, STATUSES,
    DataChange, Recorded, ReviewStatus, add_review, approved_data_path, close_matches, data_change, load_reviews,
    progress, record_dir, status_lines, status_of, statuses,
)
from .slicing import Slicer, derivation


def write_packets(*args, **kwargs):
    """See :func:`analysis.review.packets.write_packets` (imported when the build calls it)."""
    from .packets import write_packets as write

    return write(*args, **kwargs)


__all__ = [
    "APPROVED", "CHANGES_REQUESTED", "DECISIONS", "FIGURE_ID", "STATUSES", "STATUS_AGAIN", "STATUS_APPROVED",
    "STATUS_CHANGES", "STATUS_NONE", "DataChange", "Figure", "Recorded", "ReviewStatus", "Slicer", "add_review",
    "approved_data_path", "cell_labels", "cell_options", "cell_source", "close_matches", "current_data",
    "data_change", "derivation", "figure_inputs", "figures_of_run", "index_path", "inventory", "load_reviews",
    "output_checksum", "packet_dir", "parse_figure_id", "progress", "read_index", "record_dir", "status_lines",
    "status_of", "statuses", "write_packets",
]
