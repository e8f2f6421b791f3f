"""``python -m analysis data ...`` on temporary copies: list, validate, diff, accept, bib.

Every refusal is checked twice: the message names the file, field or parameter, and the files under
data/ (and report/) are byte-identical afterwards."""

from __future__ import annotations

import datetime as dt
import difflib
import json
import subprocess

import pytest

from test_catalog import ONE, TWO, edit, sha, snapshot

TODAY = dt.date.today().isoformat()


def entry(project, name):
    return next(r for r in project.read_json("data/datapackage.json")["resources"] if r["name"] == name)


def git(project, *args):
    subprocess.run(["git", *args], cwd=project.root, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@example.org", "PATH": "/usr/bin:/bin", "HOME": str(project.root)})


# list / validate ----------------------------------------------------------------------------------

def test_list_shows_rows_state_and_confidence(mini):
    edit(mini, TWO, "560.0", "561.0")
    out = mini.cli("data", "list", check=True).stdout
    lines = {line.split()[0]: line.split() for line in out.splitlines()[1:-1]}
    assert lines["src-one.values"] == ["src-one.values", "4", "ok", "high"]
    assert lines["src-two.values"] == ["src-two.values", "2", "MODIFIED", "high"]
    assert "2 datasets, 1 not matching the catalog" in out


def test_validate_passes_on_the_real_project(project):
    proc = project.cli("data", "validate")
    assert proc.returncode == 0, proc.stderr
    assert "datasets match their checksums and schemas" in proc.stdout


def test_validate_lists_every_failure_and_exits_nonzero(mini):
    edit(mini, ONE, "USA,2020,share,0.3,", "USA,2020,share,0.31,")  # checksum only
    edit(mini, TWO, "CHN,2020,gerd,560.0,", "CHN,2020,gerd,-560.0,")  # checksum and schema
    before = snapshot(mini)
    proc = mini.cli("data", "validate")
    assert proc.returncode == 1
    assert "FAIL  src-one.values" in proc.stdout and "FAIL  src-two.values" in proc.stdout
    assert "2 of 2 datasets failed" in proc.stderr
    assert f"{ONE} (dataset src-one.values) does not match its accepted checksum" in proc.stderr
    assert f"{TWO} (dataset src-two.values) does not match its schema" in proc.stderr
    assert "field 'value'" in proc.stderr and "'-560.0'" in proc.stderr
    assert snapshot(mini) == before


def test_validate_some_and_unknown_names(mini):
    edit(mini, TWO, "560.0", "561.0")
    assert mini.cli("data", "validate", "src-one.values").returncode == 0
    proc = mini.cli("data", "validate", "src-one.values", "nope.values")
    assert proc.returncode == 1 and "no dataset named 'nope.values'" in proc.stderr


def test_invalid_catalog_json_is_reported_with_line_and_column(mini):
    path = mini.path("data/datapackage.json")
    path.write_text(path.read_text().replace('"bytes": 184,', '"bytes": 184', 1))
    before = snapshot(mini)
    for args in (("data", "validate"), ("data", "accept", "--all"), ("data", "diff", "src-one.values")):
        proc = mini.cli(*args)
        assert proc.returncode == 1
        assert "data/datapackage.json is not valid JSON: Expecting ',' delimiter at line 14, column 7" in proc.stderr
    assert snapshot(mini) == before


# diff --------------------------------------------------------------------------------------------

def test_diff_against_the_accepted_store_shows_added_removed_and_changed_rows(mini):
    mini.cli("data", "validate", check=True)  # a successful check stores the accepted bytes
    path = mini.path(ONE)
    path.write_text(path.read_text()
                    .replace("USA,2020,share,0.3,fraction,Table 1", "USA,2020,share,0.35,fraction,Table 1b")
                    .replace("CHN,2010,share,0.1,fraction,Table 1\n", "")
                    + "CHN,2015,share,0.2,fraction,Table 2\n")
    before = snapshot(mini)
    proc = mini.cli("data", "diff", "src-one.values", check=True)
    out = proc.stdout
    assert f"src-one.values: {ONE} vs accepted version sha256 6644f57b57b1" in out
    assert "(from _build/.state/accepted/6644f57b" in out
    assert "~ changed  USA | 2020 | share: value: 0.3 -> 0.35; locator: Table 1 -> Table 1b" in out
    assert "- removed  CHN | 2010 | share: value=0.1, unit=fraction, locator=Table 1" in out
    assert "+ added    CHN | 2015 | share: value=0.2, unit=fraction, locator=Table 2" in out
    assert "1 added, 1 removed, 1 changed" in out
    assert snapshot(mini) == before


def test_diff_finds_the_accepted_version_in_git_history(mini):
    git(mini, "init", "-q")
    git(mini, "add", "data")
    git(mini, "commit", "-q", "-m", "accepted data")
    edit(mini, TWO, "USA,2020,gerd,700.5,", "USA,2020,gerd,701.5,")
    git(mini, "commit", "-q", "-am", "an unaccepted edit, committed: its hash is not the catalog's")
    edit(mini, TWO, "CHN,2020,gerd,560.0,", "CHN,2020,gerd,570.0,")
    out = mini.cli("data", "diff", "src-two.values", check=True).stdout
    assert "(from git commit " in out
    assert "~ changed  USA | 2020 | gerd: value: 700.5 -> 701.5" in out
    assert "~ changed  CHN | 2020 | gerd: value: 560.0 -> 570.0" in out
    assert "0 added, 0 removed, 2 changed" in out


def test_diff_without_any_accepted_copy_says_so(mini):
    edit(mini, TWO, "560.0", "561.0")
    out = mini.cli("data", "diff", "src-two.values", check=True).stdout
    assert "no copy of the accepted version (sha256 5ba91261b1c1...) in git history or _build/.state/accepted/" in out
    assert "every row is shown as added" in out
    assert "2 added, 0 removed, 0 changed" in out


def test_diff_ignores_number_formatting(mini):
    mini.cli("data", "validate", check=True)
    edit(mini, TWO, "CHN,2020,gerd,560.0,", "CHN,2020,gerd,560,")
    out = mini.cli("data", "diff", "src-two.values", check=True).stdout
    assert "no value changes (the bytes differ only in formatting)" in out


# accept ------------------------------------------------------------------------------------------

def test_accept_after_review_rerecords_hash_bytes_and_date_then_load_works(mini):
    from analysis.errors import DataIntegrityError

    path = mini.path("data/datapackage.json")
    path.write_text(path.read_text().replace('"accessed": "2026-11-22"', '"accessed": "2020-01-02"'))
    mini.load("src-one.values")  # stores the accepted bytes
    catalog_before = path.read_text()
    edit(mini, ONE, "USA,2020,share,0.3,", "USA,2020,share,0.35,")
    with pytest.raises(DataIntegrityError):
        mini.load("src-one.values")
    diff = mini.cli("data", "diff", "src-one.values", check=True).stdout
    assert "~ changed  USA | 2020 | share: value: 0.3 -> 0.35" in diff
    proc = mini.cli("data", "accept", "src-one.values", check=True)
    assert "~ changed  USA | 2020 | share: value: 0.3 -> 0.35" in proc.stdout  # the diff is shown
    assert "Accepted 1 of 1 datasets" in proc.stdout
    res = entry(mini, "src-one.values")
    assert res["hash"] == "sha256:" + sha(mini.path(ONE))
    assert res["bytes"] == mini.path(ONE).stat().st_size == 185
    assert res["obtained"]["accessed"] == TODAY
    assert mini.load("src-one.values").query("entity == 'USA' and year == 2020")["value"].item() == 0.35
    # formatting kept: only the three re-recorded lines differ
    catalog_after = mini.path("data/datapackage.json").read_text()
    assert catalog_after.endswith("}\n") and json.dumps(json.loads(catalog_after), indent=2, ensure_ascii=False) + "\n" == catalog_after
    changed = [l for l in difflib.unified_diff(catalog_before.splitlines(), catalog_after.splitlines(), lineterm="", n=0)
               if l[:1] in "+-" and not l.startswith(("+++", "---"))]
    assert len(changed) == 6 and all(('"hash"' in l or '"bytes"' in l or '"accessed"' in l) for l in changed), changed
    assert entry(mini, "src-two.values")["obtained"]["accessed"] == "2020-01-02"  # untouched
    # the new version is now the baseline
    assert "no change: the file is byte-identical" in mini.cli("data", "diff", "src-one.values", check=True).stdout


def test_accept_keeps_non_ascii_text_as_is(mini):
    path = mini.path("data/datapackage.json")
    path.write_text(path.read_text().replace('"Test Publisher"', '"Forskningsrådet"', 1), encoding="utf-8")
    edit(mini, TWO, "560.0", "561.0")
    mini.cli("data", "accept", "src-two.values", check=True)
    text = path.read_text(encoding="utf-8")
    assert '"Forskningsrådet"' in text and "\\u00e5" not in text


@pytest.mark.parametrize("rel, old, new, expected", [
    (ONE, "CHN,2020,share,0.25,", "CHN,2020,share,1.25,", ["field 'value'", "'1.25'"]),
    (ONE, "CHN,2010,share,0.1,", "USA,2010,share,0.1,", ["primary-key", "(USA, 2010, share)"]),
])
def test_accept_refuses_a_schema_breaking_edit_and_changes_nothing(mini, rel, old, new, expected):
    name = "src-one.values" if rel == ONE else "src-two.values"
    edit(mini, rel, old, new)
    edit(mini, TWO if rel == ONE else ONE, ",Table 1\n" if rel == TWO else ",p. 3\n",
         ",Table 1 (rev)\n" if rel == TWO else ",p. 3 (rev)\n")  # a valid edit in the other file
    before = snapshot(mini)
    proc = mini.cli("data", "accept", "--all")
    assert proc.returncode == 1
    assert "refused to accept" in proc.stderr and "nothing was changed" in proc.stderr
    assert f"{rel} (dataset {name})" in proc.stderr
    for fragment in expected:
        assert fragment in proc.stderr
    assert snapshot(mini) == before  # not even the valid file was accepted
    assert not mini.path("_build/.state/accepted").exists() or not list(mini.path("_build/.state/accepted").iterdir())


def test_accept_refuses_a_missing_file_and_unknown_names(mini):
    mini.path(TWO).unlink()
    before = snapshot(mini)
    proc = mini.cli("data", "accept", "src-two.values")
    assert proc.returncode == 1 and f"cannot accept: {TWO} missing" in proc.stderr
    proc = mini.cli("data", "accept", "src-one.values", "src-nine.values")
    assert proc.returncode == 1 and "no dataset named 'src-nine.values'" in proc.stderr
    proc = mini.cli("data", "accept")
    assert proc.returncode == 1 and "name the datasets to accept, or pass --all" in proc.stderr
    assert snapshot(mini) == before


def test_accept_of_an_unchanged_file_records_nothing(mini):
    before = snapshot(mini)
    out = mini.cli("data", "accept", "--all", check=True).stdout
    assert "Nothing to accept" in out
    out = mini.cli("data", "accept", "src-one.values", check=True).stdout
    assert "already accepted: nothing re-recorded" in out and "Accepted 0 of 1" in out
    assert snapshot(mini) == before


# bib ---------------------------------------------------------------------------------------------

def test_bib_writes_references_and_check_detects_drift(mini):
    assert mini.cli("data", "bib", "--check").returncode == 1  # no report/references.bib yet
    out = mini.cli("data", "bib", check=True).stdout
    assert "Wrote report/references.bib (2 sources)" in out
    text = mini.path("report/references.bib").read_text()
    assert "@misc{src-one," in text and "@misc{src-two," in text
    assert mini.cli("data", "bib", "--check", check=True).returncode == 0
    assert "Unchanged" in mini.cli("data", "bib", check=True).stdout
    path = mini.path("data/datapackage.json")
    path.write_text(path.read_text().replace('"title": "Test source src-two"', '"title": "Renamed source"'))
    proc = mini.cli("data", "bib", "--check")
    assert proc.returncode == 1 and "report/references.bib is out of date" in proc.stderr
    assert mini.path("report/references.bib").read_text() == text
