"""Review records and status (analysis.review.records): records written by `review add`, all or nothing,
refused for figures the build did not draw and for over-long fields; a figure whose checksum changes after
review shows as "needs review again" in `status`, `build` and the report, naming the datasets whose rows
changed; a damaged figure index is named and rebuilt."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from conftest import TempProject
from report_helpers import FIGURE, build, generated, index, report_mini, review_records, set_value

from analysis.cells import cell_options
from analysis.review.records import (
    COMMENT_MAX, REVIEWER_MAX, SLUG_MAX, STATUS_AGAIN, STATUS_APPROVED, STATUS_CHANGES, STATUS_NONE, close_matches,
    status_of,
)


def test_review_flow_from_record_to_needs_review_again(tmp_path):
    project = report_mini(tmp_path / "mini")
    build(project)
    before = index(project)["figures"][FIGURE]["sha256"]

    proc = project.cli("review", "add", FIGURE, "--reviewer", "Ada Lovelace", "--decision", "approved",
                       "--comment", "axes, units and rows match the data")
    assert proc.returncode == 0, proc.stderr
    [path] = review_records(project)
    assert path.parent == project.path("reviews/alpha/default/fig-shares")
    record = yaml.safe_load(path.read_text())
    assert record["figure"] == FIGURE and record["reviewer"] == "Ada Lovelace"
    assert record["decision"] == "approved" and record["comment"] == "axes, units and rows match the data"
    assert record["figure_sha256"] == before and str(record["date"])[:4].isdigit()
    # the rows the reviewer saw are kept with the review, content-addressed
    packet_data = project.path("_build/review/alpha/default/fig-shares/data.csv").read_bytes()
    assert project.path(f"reviews/_data/{record['data_sha256']}.csv").read_bytes() == packet_data
    sha = project.manifest()["runs"]["alpha/default"]["inputs"][0]["sha256"]
    assert record["datasets"] == {"src-one.values": sha}  # the figure's own datasets, as read

    # the report sources are refreshed at once, and list shows the status
    assert "**Review:** approved by Ada Lovelace" in generated(project, "_claims.qmd")
    listing = project.cli("review", "list", check=True).stdout
    assert f"{FIGURE}  approved by Ada Lovelace" in listing and "alpha/later#fig-shares    not reviewed" in listing
    status = project.cli("status", check=True).stdout
    assert "figures: 2 (1 approved, 1 not reviewed)" in status
    assert "review progress: 1 of 1 report figure approved, 0 changes requested, 0 not reviewed, 0 need review again" in status

    # the data change so that the figure changes: it needs review again
    set_value(project, "data/raw/src-one/values.csv", "CHN", 2020, 0.27)
    built = project.cli("build", "--no-render", check=True).stdout
    assert ("Review: 1 approved figure changed since approval and needs review again (alpha/default#fig-shares): "
            "`python -m analysis status` lists what changed") in built
    after = index(project)["figures"][FIGURE]["sha256"]
    assert after != before
    status = project.cli("status", check=True).stdout
    assert "needs review again (1)" in status
    assert f"  {FIGURE}: needs review again (last review: approved by Ada Lovelace" in status
    assert f"now sha256 {after[:12]}" in status
    assert "    datasets changed since the review: src-one.values\n" in status  # named, then the plotted rows
    assert "    ~ changed  CHN | 2020 | share | fraction | Table 1: value: 0.25 -> 0.27" in status
    packet_readme = project.path("_build/review/alpha/default/fig-shares/README.md").read_text()
    assert "What changed in the plotted rows since that review:" in packet_readme and "value: 0.25 -> 0.27" in packet_readme
    # the dataset's own changed row, as `data diff` prints it
    assert "Datasets whose rows changed since that review:" in packet_readme
    assert "  ~ changed  CHN | 2020 | share: value: 0.25 -> 0.27" in packet_readme
    claims = generated(project, "_claims.qmd")
    assert "**Review:** **needs review again (last review: approved by Ada Lovelace" in claims
    escaped = FIGURE.replace("#", "\\#")  # Markdown text, not a code span, in the appendix table
    assert f"| {escaped} | yes | `{after[:12]}` | needs review again" in generated(project, "_reviews.qmd")
    assert "1 needs review again" in generated(project, "_summary.qmd")
    assert "needs review again" in project.cli("review", "list", FIGURE, check=True).stdout
    assert project.path("_build/review/alpha/default/fig-shares/README.md").read_text().count("needs review again") == 1
    # what changed since the approval: the plotted rows as approved against the current ones
    from analysis.paths import Layout
    from analysis.review.records import data_change, load_reviews

    [approval] = load_reviews(Layout(project.root))[FIGURE]
    change = data_change(Layout(project.root), FIGURE, approval, index(project)["figures"][FIGURE])
    assert change.lines() == ["~ changed  CHN | 2020 | share | fraction | Table 1: value: 0.25 -> 0.27"]
    [dataset] = change.datasets
    assert dataset.name == "src-one.values" and dataset.path == "data/raw/src-one/values.csv"
    assert dataset.rows == ["~ changed  CHN | 2020 | share: value: 0.25 -> 0.27"]

    # a new review of the new figure settles it
    project.cli("review", "add", FIGURE, "--reviewer", "Grace Hopper", "--decision", "changes-requested",
                "--comment", "label the y axis as a share", check=True)
    assert len(review_records(project)) == 2
    status = project.cli("status", check=True).stdout
    assert "needs review again" not in status
    assert f"changes requested  {FIGURE}: label the y axis as a share" in status
    assert "**Review:** **changes requested by Grace Hopper" in generated(project, "_claims.qmd")
    assert project.cli("check-report").returncode == 0


def test_review_of_a_figure_the_build_did_not_draw_is_refused(built_mini):
    project = built_mini  # refused reviews write nothing
    proc = project.cli("review", "add", "alpha/default#fig-share", "--reviewer", "Ada", "--decision", "approved")
    assert proc.returncode == 1
    assert "the last build produced no figure alpha/default#fig-share" in proc.stderr
    assert "did you mean: alpha/default#fig-shares" in proc.stderr
    proc = project.cli("review", "add", "beta/default#fig-shares", "--reviewer", "Ada", "--decision", "approved")
    assert proc.returncode == 1 and "alpha/default#fig-shares" in proc.stderr
    proc = project.cli("review", "add", "not a figure id", "--reviewer", "Ada", "--decision", "approved")
    assert proc.returncode == 1 and "is not a figure id" in proc.stderr
    proc = project.cli("review", "add", FIGURE, "--reviewer", "Ada", "--decision", "changes-requested")
    assert proc.returncode == 1 and "needs a comment" in proc.stderr
    proc = project.cli("review", "add", FIGURE, "--reviewer", "Ada", "--decision", "maybe")
    assert proc.returncode == 2  # argparse: invalid choice
    assert review_records(project) == [] and not project.path("reviews").exists()


def test_review_before_any_build_is_refused(tmp_path):
    project = report_mini(tmp_path / "mini")
    proc = project.cli("review", "add", FIGURE, "--reviewer", "Ada", "--decision", "approved")
    assert proc.returncode == 1 and "never built" in proc.stderr and "build" in proc.stderr
    assert review_records(project) == []


def test_malformed_review_record_is_named(built_mini):
    from analysis.errors import ReviewError
    from analysis.paths import Layout
    from analysis.review.records import load_reviews

    layout = Layout(built_mini.root)
    bad = built_mini.path("reviews/alpha/default/fig-shares/20260101T000000Z-x.yml")
    bad.parent.mkdir(parents=True)
    try:
        bad.write_text("figure: alpha/default#fig-shares\nreviewer: X\ndecision: perhaps\n")
        try:
            load_reviews(layout)
        except ReviewError as exc:
            assert "reviews/alpha/default/fig-shares/20260101T000000Z-x.yml" in str(exc) and "missing" in str(exc)
        else:
            raise AssertionError("a malformed record was accepted")
    finally:
        import shutil

        shutil.rmtree(built_mini.path("reviews"))


def record(date, decision="approved", sha="a" * 64):
    return {"figure": FIGURE, "reviewer": "R", "date": date, "decision": decision, "comment": "", "figure_sha256": sha}


def test_status_rules():
    assert status_of("a" * 64, []).state == STATUS_NONE
    assert status_of("a" * 64, []).describe() == "not reviewed" and status_of("a" * 64, []).detail() == ""
    assert status_of("a" * 64, [record("2026-01-01T00:00:00+00:00")]).detail() == "by R on 2026-01-01"
    assert status_of("a" * 64, [record("2026-01-01T00:00:00+00:00")]).state == STATUS_APPROVED
    assert status_of("b" * 64, [record("2026-01-01T00:00:00+00:00")]).state == STATUS_AGAIN
    later_changes = [record("2026-01-02T00:00:00+00:00", "changes-requested"), record("2026-01-01T00:00:00+00:00")]
    assert status_of("a" * 64, later_changes).state == STATUS_CHANGES  # the latest record decides
    approved_new = [record("2026-01-01T00:00:00+00:00", sha="b" * 64), record("2026-01-03T00:00:00+00:00")]
    assert status_of("a" * 64, approved_new).state == STATUS_APPROVED
    assert status_of(None, [record("2026-01-01T00:00:00+00:00")]).state == STATUS_AGAIN


def test_cell_options_and_close_matches():
    assert cell_options("#| label: fig-x\n#| fig-cap: \"A: b\"\nplot()") == {"label": "fig-x", "fig-cap": "A: b"}
    assert cell_options("plot()\n#| label: fig-late") == {}
    known = ["alpha/default#fig-shares", "alpha/later#fig-shares", "beta/default#tbl-summary"]
    assert close_matches("alpha/default#fig-share", known)[0] == "alpha/default#fig-shares"
    assert "beta/default#tbl-summary" in close_matches("beta/default#fig-gone", known)


# --- all or nothing, limits, damaged build outputs --------------------------------------------------------
@pytest.fixture
def built(built_mini, tmp_path):
    """A writable copy of the session's built mini project (build outputs included, no reviews)."""
    shutil.copytree(built_mini.root, tmp_path / "mini", ignore=shutil.ignore_patterns("reviews", ".build.lock"))
    return TempProject(tmp_path / "mini")


def add(project, *, reviewer="Ada", decision="approved", comment="rows match"):
    return project.cli("review", "add", FIGURE, "--reviewer", reviewer, "--decision", decision, "--comment", comment)


def test_fields_have_limits_and_the_name_is_slugged_to_a_short_file_name(built):
    long_name = add(built, reviewer="M" * 300)  # was a 500 in the app (file name too long)
    assert long_name.returncode == 1 and "Traceback" not in long_name.stderr
    assert f"the reviewer's name has 300 characters; at most {REVIEWER_MAX} are allowed" in long_name.stderr
    huge = add(built, comment="x" * (COMMENT_MAX + 1))
    assert huge.returncode == 1 and f"the comment has {COMMENT_MAX + 1} characters; at most {COMMENT_MAX}" in huge.stderr
    two_lines = add(built, reviewer="Ada\nMallory")
    assert two_lines.returncode == 1 and "must be one line" in two_lines.stderr
    assert review_records(built) == []
    prefix = "Ada Augusta King, Countess of Lovelace, née Byron, "
    name = prefix + "x" * (REVIEWER_MAX - len(prefix))
    add(built, reviewer=name).check_returncode()
    [path] = review_records(built)
    slug = path.stem.split("-", 1)[1]
    assert len(slug) <= SLUG_MAX and slug.startswith("ada-augusta-king-countess-of-lovelace")
    assert yaml.safe_load(path.read_text())["reviewer"] == name  # the name itself is kept whole


def test_the_same_review_again_writes_no_duplicate(built):
    first = add(built)
    assert first.returncode == 0 and first.stdout.startswith("Recorded approved review")
    again = add(built)
    assert again.returncode == 0 and "Already recorded" in again.stdout and "nothing new was written" in again.stdout
    assert len(review_records(built)) == 1
    assert add(built, comment="checked the axes too").returncode == 0  # a different review is recorded
    assert len(review_records(built)) == 2


def test_a_damaged_figure_index_is_named_and_rebuilt_by_the_next_build(built):
    path = built.path("_build/review/index.json")
    good = path.read_text()
    path.write_text(good[: len(good) // 2])  # truncated
    for args in (("review", "list"), ("status",), ("review", "add", FIGURE, "--reviewer", "Ada", "--decision", "approved")):
        proc = built.cli(*args)
        assert proc.returncode == 1, args
        assert "_build/review/index.json (the figure index of the last build) is damaged: not valid JSON at line" in proc.stderr
        assert "run `python -m analysis build` to write it again" in proc.stderr and "Traceback" not in proc.stderr
    assert review_records(built) == []
    path.unlink()
    proc = built.cli("review", "list")
    assert proc.returncode == 1 and "_build/review/index.json (the figure index of the last build) is missing" in proc.stderr
    build(built)  # nothing is stale: only the report sources and packets are written again
    assert json.loads(path.read_text())["figures"].keys() == json.loads(good)["figures"].keys()
    assert built.cli("review", "list").returncode == 0


def test_a_folder_in_place_of_the_build_lock_stops_review_add_before_it_writes(built):
    lock = built.path("_build/.build.lock")
    lock.unlink(missing_ok=True)
    lock.mkdir()
    proc = add(built)
    assert proc.returncode == 1 and "Recorded" not in proc.stdout
    assert "_build/.build.lock is not a file" in proc.stderr and "rm -r _build/.build.lock" in proc.stderr
    assert review_records(built) == [] and not built.path("reviews").exists()
    lock.rmdir()
    retry = add(built)
    assert retry.returncode == 0 and "Report sources updated" in retry.stdout
    assert len(review_records(built)) == 1  # one record, not two
