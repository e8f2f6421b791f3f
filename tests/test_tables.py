"""Notebook tables that fit the page (analysis/tables.py): the Markdown a notebook displays, its type size,
column widths and break opportunities, checked on real DataFrames. The real render test
(tests/test_render.py) checks the printed result: no page with text past a margin."""

from __future__ import annotations

import re

import pandas as pd

from analysis.tables import ZERO_WIDTH_SPACE, capacity, markdown


def rows_of(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("|")]


def dashes(text: str) -> list[int]:
    rule = next(line for line in rows_of(text) if re.fullmatch(r"\|[-:|]+\|", line))
    return [len(cell.strip(":")) for cell in rule.strip("|").split("|")]


def test_a_table_that_fits_stays_plain_and_rounds_escapes_and_empties():
    table = pd.DataFrame({"source": ["crs_2018", "nsf|sei"], "value": [28.0712, None], "ok": [True, False],
                          "note": ["$1.2 billion", "*not* this"]})
    text = markdown(table, 2)
    assert not text.startswith(":::")  # body size: no Typst size div
    assert rows_of(text) == ["| source | value | ok | note |", "|---|--:|---|---|",
                             "| crs\\_2018 | 28.07 | yes | \\$1.2 billion |", "| nsf\\|sei |  | no | \\*not\\* this |"]


def test_a_wide_table_is_printed_smaller_with_every_column_at_least_its_longest_unbreakable_text():
    table = pd.DataFrame({
        "claim": ["rd-share-1960", "rd-share-2016"], "measure": ["total_rd", "basic_research"],
        "universe": ["Commerce/OTP 1997 (via CRS, SSTI); method unknown", "CRS, OECD MSTI economies"],
        "vintage / edition": ["CRS 2017-2022", "crs_2018"], "data year": [1960, 2016],
        "U.S. share (%)": [69.0, 34.74], "verdict": ["reproduced-with-caveat", "mislabelled"]})
    text = markdown(table, 2)
    size = float(re.match(r'::: \{typst:text:size="([\d.]+)pt"\}', text).group(1))
    assert size < 10.5
    widths = dashes(text)
    assert sum(widths) >= 100  # pandoc reads relative widths from a rule longer than its line width
    room = capacity(size, len(widths))
    for i, column in enumerate(table.columns):
        # the longest text a line cannot break in: Typst breaks at spaces and after a hyphen or a slash
        longest = max(len(piece) for value in [column, *table[column].astype(str)]
                      for piece in re.split(r"\s+|(?<=[-/])", value) if piece)
        assert widths[i] / sum(widths) * room >= longest * 0.999, (column, widths)
    assert ZERO_WIDTH_SPACE not in text  # every identifier fits its column whole


def test_identifiers_longer_than_any_column_can_be_get_break_opportunities():
    names = [f"demand_coverage_us_wsts_americas_{year}_bottom_up_upper" for year in range(2020, 2025)]
    table = pd.DataFrame({f"column_name_number_{i}_long": names for i in range(6)})
    text = markdown(table)
    assert '::: {typst:text:size="7.5pt"}' in text
    cell = rows_of(text)[2].split(" | ")[1]
    assert ZERO_WIDTH_SPACE in cell and cell.replace(ZERO_WIDTH_SPACE, "").replace("\\_", "_") == names[0]
    assert all(len(piece) <= 20 for piece in cell.replace("\\_", "_").split(ZERO_WIDTH_SPACE))
    assert "2020" in cell  # numbers are never cut


def test_a_long_table_is_printed_smaller_and_split_by_claim_without_empty_columns():
    table = pd.DataFrame({"claim": ["a-claim"] * 12 + ["b-claim"] * 12,
                          "reading": [f"reading {i}" for i in range(24)],
                          "vintage": ["—"] * 12 + ["SEI 2024"] * 12,
                          "value": list(range(24)), "verdict": ["reproduced"] * 24})
    text = markdown(table, split_by="claim")
    assert text.startswith('::: {typst:text:size="8.5pt"}')  # 24 rows: smaller type, breaking across pages
    first, second = text.split("**b-claim**")
    assert "**a-claim**" in first and "| reading | value | verdict |" in first  # "—" throughout: left out
    assert "| reading | vintage | value | verdict |" in second and "claim |" not in text
    assert len(rows_of(first)) == 14 and len(rows_of(second)) == 14
