"""Close matches for a mistyped name (notebook, parameter, dataset), for "did you mean" hints."""

from __future__ import annotations

import difflib


def did_you_mean(name: str, known, *, n: int = 3) -> str:
    """``"; did you mean 'x'?"`` (or ``'x' or 'y'``) for the names in ``known`` close to ``name``, else ``""``."""
    matches = difflib.get_close_matches(str(name), [str(k) for k in known], n=n, cutoff=0.6)
    if not matches:
        return ""
    return "; did you mean " + " or ".join(repr(m) for m in matches) + "?"
