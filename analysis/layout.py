"""Layout checks of a rendered PDF: text past the page margins, and words printed over each other.

``pdftotext -bbox`` (Debian's ``poppler-utils``) gives every word of every page with its box. A word
is past a margin when its box comes within :data:`MARGIN_PT` of a page edge (the report's margins are
1 in = 72 pt, so this leaves a quarter inch of slack); the page number in the bottom margin is not
text past it. Two words whose boxes overlap by more than :data:`OVERLAP` of the smaller one are printed
over each other (a table whose columns do not fit). Used by the render test (tests/test_render.py).
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

MARGIN_PT = 54
OVERLAP = 0.4
_PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.S)
_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>')


@dataclass(frozen=True)
class Word:
    page: int  # 1-based
    text: str
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class Fault:
    """One layout fault: where, what and the words involved."""

    page: int
    kind: str  # "past the right margin", "over another word", ...
    text: str

    def __str__(self) -> str:
        return f"page {self.page}: {self.kind}: {self.text}"


def pdftotext() -> str | None:
    """The pdftotext executable, or None."""
    return shutil.which("pdftotext")


def words(pdf: Path) -> tuple[list[tuple[float, float]], list[Word]]:
    """(page sizes, words) of ``pdf`` from ``pdftotext -bbox``."""
    out = subprocess.run([pdftotext() or "pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True,
                         check=True).stdout
    sizes, found = [], []
    for number, page in enumerate(_PAGE.finditer(out), start=1):
        sizes.append((float(page.group(1)), float(page.group(2))))
        for m in _WORD.finditer(page.group(3)):
            found.append(Word(number, html.unescape(m.group(5)), *map(float, m.group(1, 2, 3, 4))))
    return sizes, found


def faults(pdf: Path) -> tuple[int, list[Fault]]:
    """(number of pages, layout faults) of ``pdf``: words past a margin, and words over each other."""
    sizes, all_words = words(pdf)
    found: list[Fault] = []
    by_page: dict[int, list[Word]] = {}
    for w in all_words:
        by_page.setdefault(w.page, []).append(w)
    for page, page_words in by_page.items():
        width, height = sizes[page - 1]
        for w in page_words:
            if _page_number(w, width, height):
                continue
            for kind, past in (("past the right margin", w.x1 > width - MARGIN_PT), ("past the left margin", w.x0 < MARGIN_PT),
                               ("past the bottom margin", w.y1 > height - MARGIN_PT), ("past the top margin", w.y0 < MARGIN_PT)):
                if past:
                    found.append(Fault(page, kind, f"{w.text!r} at x {w.x0:.0f}-{w.x1:.0f}, y {w.y0:.0f}-{w.y1:.0f}"))
        found += _overprinted(page, page_words)
    return len(sizes), found


def _page_number(w: Word, width: float, height: float) -> bool:
    """The page number: digits in the bottom margin, near the middle of the page."""
    return w.text.isdigit() and w.y0 > height - 72 and abs((w.x0 + w.x1) / 2 - width / 2) < 36


def _overprinted(page: int, page_words: list[Word]) -> list[Fault]:
    """Pairs of words whose boxes overlap by more than OVERLAP of the smaller box (sweep along y)."""
    found = []
    ordered = sorted(page_words, key=lambda w: w.y0)
    active: list[Word] = []
    for w in ordered:
        active = [a for a in active if a.y1 > w.y0]
        for a in active:
            dx = min(a.x1, w.x1) - max(a.x0, w.x0)
            dy = min(a.y1, w.y1) - max(a.y0, w.y0)
            if dx <= 0 or dy <= 0:
                continue
            smaller = min((a.x1 - a.x0) * (a.y1 - a.y0), (w.x1 - w.x0) * (w.y1 - w.y0)) or 1
            if dx * dy / smaller > OVERLAP:
                found.append(Fault(page, "over another word", f"{a.text!r} and {w.text!r} at y {w.y0:.0f}"))
        active.append(w)
    return found
