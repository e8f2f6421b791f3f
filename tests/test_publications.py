"""analysis.publications: figure labels name publications, one label per publication."""

from __future__ import annotations

import pytest
from conftest import REPO

from analysis.errors import LookupFailed
from analysis.paths import Layout
from analysis.publications import label, labels


def test_labels_name_publisher_and_year_and_tell_same_year_apart():
    layout = Layout(REPO)
    got = labels(["physicstoday-2016-us-remain.iter_shares", "physicstoday-2016-costs-pinned",
                  "doe-2006-iter-signing.iter_shares"], layout=layout)
    assert got["doe-2006-iter-signing"] == "U.S. Department of Energy (2006)"
    # "Physics Today 69(7), 36" and "Physics Today (online)", both 2016: one label each
    assert sorted(got[k] for k in ("physicstoday-2016-costs-pinned", "physicstoday-2016-us-remain")) == [
        "Physics Today (2016a)", "Physics Today (2016b)"]


def test_unknown_source_is_named_in_the_error(monkeypatch):
    monkeypatch.chdir(REPO)
    assert label("gao-14-750t.iter_shares") == "U.S. Government Accountability Office (2014)"
    with pytest.raises(LookupFailed, match="no-such-source"):
        label("no-such-source.table")
