"""Tables in notebooks, shown so that they fit the printed page and the HTML column.

A notebook shows a table with :func:`show` (also ``analysis.lookup.show``). It is displayed as a
Markdown pipe table, which Quarto turns into a Typst table in the PDF and an HTML table in the web
page, and laid out for the report's text width (6.5 in, ``_quarto.yml``):

* a table that fits is left as it is (Typst and the browser size its columns);
* a table that does not fit at the body size, or is long, is printed in smaller type, with column
  widths that give every column at least its longest word (the relative widths are the dashes of the
  separator line, which pandoc reads when a row is longer than its line width); the report's Typst
  set-up lets a table figure break across pages (``_quarto.yml``: ``show figure: set block(breakable:
  true)``), and its header row repeats on each page;
* an identifier longer than its column (``demand_coverage_us``, ``rd-share-1960``, a dataset name)
  gets break opportunities (zero-width spaces) after its ``_``, ``-``, ``/`` and ``.``, so it wraps
  inside its column instead of printing over the next one;
* ``split_by="claim"`` prints one table per value of that column, under the value in bold, instead of
  repeating it on every row (a long robustness table of several claims); a column that is empty or
  "—" throughout one part is left out of that part.

The smaller type is a Typst attribute on a div around the table (``typst:text:size``), which Quarto's
Typst writer honours and HTML ignores. Cells are escaped for Markdown (``$``, ``*``, ``_``, ``|``, ...).
"""

from __future__ import annotations

import re

#: printed text width (US letter, 1 in margins) and the table inset of Quarto's Typst template (6 pt a side)
TEXT_WIDTH_PT = 6.5 * 72
CELL_PADDING_PT = 12
BODY_PT = 10.5  # _quarto.yml: typst fontsize
SMALL_PT = 8.5
SMALLEST_PT = 7.5
#: average width of a character in em, a little above the serif body font's, so that estimates err wide
CHAR_EM = 0.52
#: a table with more rows than this is printed in smaller type (it breaks across pages either way)
LONG_ROWS = 20
#: characters after which an over-long identifier may break
BREAK_AFTER = "_-/.:"
#: where Typst and browsers break a line anyway: spaces, and after a hyphen or a slash
NATURAL_BREAKS = r"\s+|(?<=[-/])"
ZERO_WIDTH_SPACE = "\u200b"
#: cells that say "nothing here": a column of only these is left out of a split table's part
NOT_APPLICABLE = ("", "—", "-", "n/a")
_ESCAPE = re.compile(r"([\\`*_{}\[\]<>#$@|~^])")


def show(table, digits: int = 3, *, split_by: str | None = None) -> None:
    """Display ``table`` (a DataFrame) as a table that fits the page: see the module's docstring.

    Numbers are rounded to ``digits`` decimals; missing values are empty cells; ``split_by`` names a
    column to print one table per value of.
    """
    from IPython.display import Markdown, display

    display(Markdown(markdown(table, digits, split_by=split_by)))


def markdown(table, digits: int = 3, *, split_by: str | None = None) -> str:
    """The Markdown :func:`show` displays."""
    columns = [str(c) for c in table.columns if str(c) != split_by]
    cells = [[cell_text(v, digits) for c, v in zip(table.columns, row) if str(c) != split_by]
             for row in table.itertuples(index=False, name=None)]
    numeric = [_is_numeric(table[c]) for c in table.columns if str(c) != split_by]
    if split_by is None:
        layout = fit(columns, cells)
        return _sized(pipe_table(columns, cells, numeric, layout), layout.size)
    groups: dict[str, list[list[str]]] = {}
    for key, row in zip(table[split_by], cells):
        groups.setdefault(cell_text(key, digits), []).append(row)
    parts, sizes = [], []
    for key, rows in groups.items():
        keep = [i for i in range(len(columns)) if any(row[i] not in NOT_APPLICABLE for row in rows)]
        sub = [[row[i] for i in keep] for row in rows]
        layout = fit([columns[i] for i in keep], sub)
        sizes.append(layout.size)
        parts.append((key, keep, sub, layout))
    size = min((s for s in sizes if s), default=None)  # one type size for the whole table
    if len(cells) > LONG_ROWS:  # long as a whole: smaller type, as it breaks across pages
        size = min(size or SMALL_PT, SMALL_PT)
    text = "\n".join(f"**{_escape(key)}**\n\n{pipe_table([columns[i] for i in keep], sub, [numeric[i] for i in keep], layout)}"
                     for key, keep, sub, layout in parts)
    return _sized(text, size)


def _sized(body: str, size: float | None) -> str:
    """``body`` in a div that sets its Typst type size (HTML ignores the attribute)."""
    return body if size is None else f'::: {{typst:text:size="{size:g}pt"}}\n\n{body}\n:::\n'


class Layout:
    """How a table is printed: its type size (None: the body size) and its columns' relative widths
    (None: as wide as their content), plus the longest unbreakable text each column may hold."""

    def __init__(self, size: float | None, widths: list[float] | None, breaks: list[int | None]):
        self.size, self.widths, self.breaks = size, widths, breaks


def capacity(size: float, columns: int) -> float:
    """Characters of text that fit across the page in a table of ``columns`` columns at ``size`` points."""
    return (TEXT_WIDTH_PT - columns * CELL_PADDING_PT) / (CHAR_EM * size)


def fit(columns: list[str], rows: list[list[str]]) -> Layout:
    """Choose the type size and column widths of a table (see the module's docstring)."""
    n = len(columns)
    texts = [[columns[i]] + [row[i] for row in rows] for i in range(n)]
    natural = [max(len(t) for t in col) for col in texts]
    longest = [max((len(piece) for t in col for piece in re.split(NATURAL_BREAKS, t) if piece), default=1)
               for col in texts]
    if len(rows) <= LONG_ROWS and sum(natural) <= capacity(BODY_PT, n):
        return Layout(None, None, [None] * n)
    for size in (SMALL_PT, SMALLEST_PT):
        room = capacity(size, n)
        if sum(longest) <= room:
            break
    breaks: list[int | None] = [None] * n
    if sum(longest) > room:  # identifiers too long for their columns: let them break, longest first
        share = room / n
        for i in sorted(range(n), key=lambda i: -longest[i]):
            if sum(longest) <= room:
                break
            limit = max(int(share), 6)
            pieces = [len(p) for col in texts[i] for word in col.split() for p in _pieces(word, limit)]
            breaks[i], longest[i] = limit, max(pieces, default=1)
    return Layout(size, _widths(natural, [n + 1 for n in longest], room), breaks)  # +1: rounding of the dashes


def _widths(natural: list[int], longest: list[int], room: float) -> list[float]:
    """Every column its longest word; what room is left shared in proportion to what each would
    need to hold its cells unwrapped."""
    extra = [max(a - b, 0) for a, b in zip(natural, longest)]
    left = max(room - sum(longest), 0)
    scale = min(1.0, left / sum(extra)) if sum(extra) else 0.0
    return [b + e * scale for b, e in zip(longest, extra)]


def pipe_table(columns: list[str], rows: list[list[str]], numeric: list[bool], layout: Layout) -> str:
    """A Markdown pipe table; with widths, its separator dashes give them (about 200 in all: more than
    pandoc's line width, so that it reads them as relative widths)."""
    def cell(text: str, i: int) -> str:
        if layout.breaks[i]:
            text = " ".join(ZERO_WIDTH_SPACE.join(_pieces(word, layout.breaks[i])) for word in text.split(" "))
        return _escape(text)

    if layout.widths:
        total = sum(layout.widths)
        dashes = [max(3, round(200 * w / total)) for w in layout.widths]
    else:
        dashes = [3] * len(columns)
    rule = "|" + "|".join(("-" * (d - 1) + ":") if num else "-" * d for d, num in zip(dashes, numeric)) + "|"
    lines = ["| " + " | ".join(cell(c, i) for i, c in enumerate(columns)) + " |", rule]
    lines += ["| " + " | ".join(cell(c, i) for i, c in enumerate(row)) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _pieces(word: str, limit: int) -> list[str]:
    """``word`` cut after its separators (``_``, ``-``, ``/``, ``.``, ``:``) into pieces of at most about
    ``limit`` characters; a word without letters (a number) or already short enough stays whole."""
    if len(word) <= limit or not re.search(r"[A-Za-z]", word):
        return [word]
    parts = re.findall(rf"[^{re.escape(BREAK_AFTER)}]*[{re.escape(BREAK_AFTER)}]+|[^{re.escape(BREAK_AFTER)}]+$", word)
    out, current = [], ""
    for part in parts:
        if current and len(current) + len(part) > limit:
            out.append(current)
            current = ""
        current += part
    if current:
        out.append(current)
    return out


def cell_text(value, digits: int) -> str:
    """A cell as printed: numbers rounded to ``digits`` decimals without trailing zeros, missing values
    empty, booleans yes/no, dates as ISO dates."""
    import pandas as pd

    if value is None or (not isinstance(value, (str, bytes, list, tuple, dict)) and pd.isna(value)):
        return ""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "yes" if value else "no"
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        number = round(float(value), digits)
        if number.is_integer() and abs(number) < 1e15:
            return str(int(number))
        return f"{number:.{digits}f}".rstrip("0").rstrip(".")
    return " ".join(str(value).split())


def _is_numeric(series) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _escape(text: str) -> str:
    return _ESCAPE.sub(r"\\\1", text)
