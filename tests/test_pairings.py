"""analysis.pairings: EUR/USD rates read from a publication's own printed pair."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import pairings
from analysis.errors import LookupFailed

TABLE = pd.DataFrame({
    "source": ["nyt", "nyt", "fpa", "other"], "year": [2017, 2016, 2010, 2015], "measure": ["a", "b", "c", "d"],
    "value": [18.0, 4.0, 15.0, 3.0], "usd_equivalent_as_published": [22.0, 4.6, 19.2, None]})


def test_printed_pairs_and_rates():
    pairs = pairings.printed(TABLE)
    assert list(pairs["source"]) == ["fpa", "nyt", "nyt"]  # by year; rows without an equivalent dropped
    assert pairings.choices(pairs) == ["fpa", "nyt", "lowest", "highest"]
    nyt = pairings.rate(pairs, "nyt", {"nyt": "New York Times (2017)"})
    assert nyt.value == pytest.approx(22 / 18)  # the largest euro amount of that publication
    assert nyt.source.startswith("New York Times (2017): EUR 18bn")
    assert pairings.rate(pairs, "lowest").value == pytest.approx(4.6 / 4)
    assert pairings.rate(pairs, "highest").value == pytest.approx(19.2 / 15)


def test_unknown_publication_is_named():
    with pytest.raises(LookupFailed, match="'gone'"):
        pairings.rate(pairings.printed(TABLE), "gone")
    with pytest.raises(LookupFailed, match="usd_equivalent_as_published"):
        pairings.printed(TABLE.drop(columns="usd_equivalent_as_published"))
