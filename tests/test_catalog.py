"""The data catalog: typed loads, checksum and schema checks on real (and tampered) files, the
catalog's structure rules, caption credits, the bibliography, and the outside Frictionless check."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.catalog import (
    Catalog,
    bibliography_keys,
    bibtex,
    credit,
    dump_descriptor,
    load,
)
from analysis.errors import CatalogError, DataIntegrityError, SchemaError, UndeclaredDatasetError
from analysis.paths import Layout
from conftest import REPO, copy_project

ONE = "data/raw/src-one/values.csv"
TWO = "data/raw/src-two/values.csv"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(project) -> dict[str, bytes]:
    """Every file under data/ (and report/), by relative path, to prove a command changed nothing."""
    files = {}
    for folder in ("data", "report"):
        base = project.path(folder)
        if base.is_dir():
            files.update({p.relative_to(project.root).as_posix(): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()})
    return files


def edit(project, rel: str, old: str, new: str) -> None:
    path = project.path(rel)
    text = path.read_text(encoding="utf-8")
    assert old in text, f"test setup: {old!r} not in {rel}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """A read-only copy of the real project (its loads fill only the copy's _build/)."""
    return copy_project(REPO, tmp_path_factory.mktemp("real") / "project")


# Typed loads ---------------------------------------------------------------------------------------

def test_load_returns_schema_types_on_the_fixture(mini):
    frame = mini.load("src-one.values")
    assert list(frame.columns) == ["entity", "year", "measure", "value", "unit", "locator"]
    assert str(frame["year"].dtype) == "Int64"
    assert frame["value"].dtype == "float64"
    assert pd.api.types.is_string_dtype(frame["entity"]) and str(frame["entity"].dtype).startswith("string")
    assert frame.loc[(frame.entity == "CHN") & (frame.year == 2020), "value"].item() == 0.25
    assert frame.attrs["dataset"] == "src-one.values"
    assert frame.attrs["sha256"] == sha(mini.path(ONE))
    assert frame.attrs["credit"] == "Data: Test Publisher (2024), Test source src-one, Table 1."


def test_load_types_real_datasets(real):
    layout = Layout(real.root)
    gerd = load("nsf-nsb-2024-6.srd1_gerd_current", layout=layout)
    assert str(gerd["year"].dtype) == "Int64" and gerd["value"].dtype == "float64"
    assert len(gerd) == 149 and (gerd["value"] >= 0).all()
    events = load("cern-2012-higgs-announcement.events", layout=layout)
    assert pd.api.types.is_datetime64_any_dtype(events["date"])
    assert events["date"].iloc[0] == pd.Timestamp("2012-07-04")
    act = load("act-ccs-2016-what-is-act.consortium", layout=layout)
    assert act["year"].isna().all() and str(act["year"].dtype) == "Int64"  # undated page: empty year stays NA


def test_every_real_dataset_loads(real):
    layout = Layout(real.root)
    catalog = Catalog.load(layout)
    for name in catalog.resources:
        frame = load(name, layout=layout)
        fields = [f["name"] for f in catalog.entry(name)["schema"]["fields"]]
        assert list(frame.columns) == fields, name
        assert len(frame) > 0, name


def test_every_load_is_logged(mini, tmp_path, monkeypatch):
    log = tmp_path / "loads.jsonl"
    monkeypatch.setenv("CLAIMCHECK_LOAD_LOG", str(log))
    mini.load("src-one.values")
    mini.load("src-two.values")
    records = [json.loads(line) for line in log.read_text().splitlines()]
    for record in records:  # each entry also names the analysis modules the process had imported
        assert "catalog.py" in record.pop("modules")
    assert records == [
        {"dataset": "src-one.values", "path": ONE, "sha256": sha(mini.path(ONE))},
        {"dataset": "src-two.values", "path": TWO, "sha256": sha(mini.path(TWO))},
    ]


def test_load_refuses_a_dataset_the_notebook_does_not_declare(mini, monkeypatch):
    monkeypatch.setenv("CLAIMCHECK_ALLOWED_DATASETS", "src-one.values")
    monkeypatch.setenv("CLAIMCHECK_RUN", "alpha/default")
    with pytest.raises(UndeclaredDatasetError, match=r"alpha/default loaded dataset 'src-two.values'.*project.yml"):
        mini.load("src-two.values")


def test_a_successful_load_stores_the_accepted_content(mini):
    mini.load("src-one.values")
    stored = mini.path(f"_build/.state/accepted/{sha(mini.path(ONE))}.csv")
    assert stored.read_bytes() == mini.path(ONE).read_bytes()


# Tampered copies -----------------------------------------------------------------------------------

def test_tampered_file_names_file_hashes_and_accept_command(mini):
    expected = sha(mini.path(ONE))
    edit(mini, ONE, "USA,2020,share,0.3,", "USA,2020,share,0.31,")
    before = snapshot(mini)
    with pytest.raises(DataIntegrityError) as err:
        mini.load("src-one.values")
    message = str(err.value)
    assert ONE in message and "src-one.values" in message
    assert f"expected sha256 {expected}" in message
    assert f"actual   sha256 {sha(mini.path(ONE))}" in message
    assert "python -m analysis data accept src-one.values" in message
    assert "python -m analysis data diff src-one.values" in message
    assert snapshot(mini) == before


def test_missing_file_names_it_and_how_to_restore(mini):
    mini.path(ONE).unlink()
    before = snapshot(mini)
    with pytest.raises(DataIntegrityError, match=rf"{ONE} \(dataset src-one.values\) is missing[\s\S]*git checkout -- {ONE}"):
        mini.load("src-one.values")
    assert snapshot(mini) == before


def test_unknown_dataset_is_named(mini):
    with pytest.raises(CatalogError, match=r"no dataset named 'src-three.values' in data/datapackage.json[\s\S]*data list"):
        mini.load("src-three.values")


SCHEMA_BREAKS = [
    # (file, old, new, what the message must say)
    pytest.param(ONE, "unit,locator\n", "unit,locator,extra\n", ["extra-label", "extra"], id="extra-column"),
    pytest.param(ONE, "value,unit,locator\n", "value,unit\n", ["locator"], id="missing-column"),
    pytest.param(ONE, "entity,year,measure,value,", "entity,year,measure,amount,", ["'amount'", "value"], id="renamed-column"),
    pytest.param(TWO, "USA,2020,gerd,700.5,", "USA,2020,gerd,seven hundred,", ["type-error", "row 2", "field 'value'", "'seven hundred'"], id="non-numeric"),
    pytest.param(ONE, "CHN,2020,share,0.25,", "CHN,2020,share,1.25,", ["constraint-error", "row 5", "field 'value'", "'1.25'", "maximum"], id="share-above-1"),
    pytest.param(TWO, "CHN,2020,gerd,560.0,", "CHN,2020,gerd,-560.0,", ["constraint-error", "row 3", "field 'value'", "'-560.0'", "minimum"], id="negative-amount"),
    pytest.param(ONE, "CHN,2010,share,0.1,", "USA,2010,share,0.1,", ["primary-key", "row 4", "(entity, year, measure) = (USA, 2010, share)"], id="duplicate-key"),
    pytest.param(ONE, "USA,2010,share,0.4,fraction", "USA,2010,share,0.4,percent", ["constraint-error", "field 'unit'", "'percent'"], id="unit-outside-enum"),
    pytest.param(ONE, "USA,2010,", "USA,1999,", ["constraint-error", "field 'year'", "'1999'"], id="year-out-of-range"),
]


@pytest.mark.parametrize("rel, old, new, expected", SCHEMA_BREAKS)
def test_schema_breaking_edits_are_named_by_field_row_and_value(mini, rel, old, new, expected):
    name = "src-one.values" if rel == ONE else "src-two.values"
    edit(mini, rel, old, new)
    mini.record_hash_unchecked(name)  # the checksum matches: only the schema check stands between the file and a notebook
    before = snapshot(mini)
    with pytest.raises(SchemaError) as err:
        mini.load(name)
    message = str(err.value)
    assert f"{rel} (dataset {name}) does not match its schema" in message
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    assert "How to fix" in message
    assert snapshot(mini) == before


# The catalog's structure -----------------------------------------------------------------------------

def test_invalid_json_names_line_and_column(mini):
    path = mini.path("data/datapackage.json")
    text = path.read_text()
    path.write_text(text.replace('"title": "Shares",', '"title": "Shares"', 1))
    before = snapshot(mini)
    with pytest.raises(CatalogError, match=r"data/datapackage.json is not valid JSON: Expecting ',' delimiter at line 8, column 7"):
        Catalog.load(Layout(mini.root))
    with pytest.raises(CatalogError, match="line 8, column 7"):
        mini.load("src-one.values")
    assert snapshot(mini) == before


def mutate_catalog(project, mutate) -> None:
    path = project.path("data/datapackage.json")
    descriptor = json.loads(path.read_text())
    mutate(descriptor["resources"][0])
    path.write_text(dump_descriptor(descriptor))


@pytest.mark.parametrize("mutate, expected", [
    (lambda r: r["sources"][0].pop("locator"), "every source needs a locator"),
    (lambda r: r.pop("confidence"), "missing confidence"),
    (lambda r: r.update(confidence="pretty sure"), "confidence must start with high, medium or low"),
    (lambda r: r["obtained"].update(method="guessed"), "obtained.method must be one of transcribed, downloaded, found 'guessed'"),
    (lambda r: r["obtained"].update(accessed="22 Nov 2026"), "obtained.accessed must be an ISO date"),
    (lambda r: r.update(hash="md5:abc"), "hash must be 'sha256:<64 lower-case hex digits>'"),
    (lambda r: r.update(path="raw/src-one/other.csv"), "should be 'raw/src-one/values.csv' (address scheme)"),
    (lambda r: r["schema"].update(primaryKey=["entity", "when"]), "primaryKey names when"),
    (lambda r: r.update(refresh={"url": "ftp://example.org/x.csv", "format": "csv"}), "refresh.url must be an http:// or https:// address"),
    (lambda r: r.update(refresh={"url": "https://example.org/x.ods", "format": "ods"}), "refresh.format must be csv or xlsx"),
    (lambda r: r.update(refresh={"interface": "sdmx", "dataflow": "DSD_MSTI@DF_MSTI"}), "refresh.service is required"),
    (lambda r: r.update(refresh={"interface": "worldbank", "indicator": "GB.XPD.RSDV.GD.ZS"}), "refresh.countries must be"),
    (lambda r: r.update(refresh={"interface": "sdmx", "service": "OECD", "dataflow": "X", "columns": {"value": {"form": "OBS_VALUE"}}}),
     "refresh.columns.value must be"),
])
def test_structure_errors_name_the_resource_and_the_rule(mini, mutate, expected):
    mutate_catalog(mini, mutate)
    with pytest.raises(CatalogError) as err:
        Catalog.load(Layout(mini.root))
    assert "data/datapackage.json: resource #1 (src-one.values)" in str(err.value)
    assert expected in str(err.value)


def test_real_catalog_provenance_is_complete():
    catalog = Catalog.load(Layout(REPO))  # structure check: locators, method, accessed, confidence, hashes
    for name, entry in catalog.resources.items():
        assert entry["sources"] and all(s.get("locator") for s in entry["sources"]), name
        assert entry["confidence"].split(":")[0] in {"high", "medium", "low"}, name
        assert entry["obtained"]["method"] in {"transcribed", "downloaded"}, name
        assert entry["obtained"]["accessed"], name
        assert entry["hash"] == "sha256:" + sha(catalog.path(name)), f"{name}: file differs from its accepted hash"
        assert entry["bytes"] == catalog.path(name).stat().st_size, name


def test_datapackage_json_has_stable_formatting():
    text = (REPO / "data/datapackage.json").read_text(encoding="utf-8")
    assert dump_descriptor(json.loads(text)) == text, "data/datapackage.json must be json indent=2, ensure_ascii=False, trailing newline"


def frictionless() -> str:
    return str(Path(sys.executable).with_name("frictionless"))


def test_frictionless_validates_the_real_package():
    proc = subprocess.run([frictionless(), "validate", "data/datapackage.json"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "INVALID" not in proc.stdout


def test_frictionless_rejects_a_tampered_copy(mini):
    edit(mini, ONE, "USA,2020,share,0.3,", "USA,2020,share,0.31,")
    proc = subprocess.run([frictionless(), "validate", "data/datapackage.json"], cwd=mini.root,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "hash-count" in proc.stdout


# Credits and bibliography ------------------------------------------------------------------------------

def test_credit_is_one_caption_line():
    entry = {"sources": [
        {"title": "Fact Sheet (R44283)", "publisher": "Congressional Research Service", "year": 2017, "locator": "p. 1"},
        {"title": "Undated page", "publisher": "", "locator": "para 2"},
    ]}
    assert credit(entry) == "Data: Congressional Research Service (2017), Fact Sheet (R44283), p. 1; Undated page, para 2."
    real = Catalog.load(Layout(REPO))
    for name, entry in real.resources.items():
        line = credit(entry)
        assert line.startswith("Data: ") and line.endswith(".") and "\n" not in line, name
        assert entry["sources"][0]["locator"] in line, name


def test_bibliography_keys_are_source_ids(mini):
    catalog = Catalog.load(Layout(mini.root))
    assert bibliography_keys(catalog) == {"src-one.values": "src-one", "src-two.values": "src-two"}
    text = bibtex(catalog)
    assert text.count("@misc{") == 2
    assert text.index("@misc{src-one,") < text.index("@misc{src-two,")
    assert "  title = {{Test source src-one}},\n  author = {{Test Publisher}},\n  publisher = {Test Publisher},\n" \
           "  year = {2024},\n  url = {https://example.org/src-one},\n  urldate = {2026-11-22},\n  note = {Table 1}\n}" in text


def test_bibtex_escapes_joins_authors_and_picks_the_entry_type(mini):
    def mutate(r):
        r["sources"][0].update(title="R&D at 50% & more_", author="Ann Lee, Bo Chen; Cy Diaz", type="article",
                               journal="Journal of Tests")
    mutate_catalog(mini, mutate)
    text = bibtex(Catalog.load(Layout(mini.root)))
    assert "@article{src-one," in text
    assert r"title = {{R\&D at 50\% \& more\_}}" in text
    assert "author = {Lee, Ann and Chen, Bo and Diaz, Cy}" in text
    assert "journal = {Journal of Tests}" in text


def test_personal_and_corporate_authors():
    from analysis.catalog import bib_authors

    assert bib_authors("John F. Sargent Jr.") == "Sargent, Jr., John F."
    assert bib_authors("Los Alamos National Laboratory staff (author names not recorded)") == \
        "{Los Alamos National Laboratory staff}"
    assert bib_authors("NASA") == "{NASA}"


def test_real_bibliography_has_one_entry_per_source():
    catalog = Catalog.load(Layout(REPO))
    text = bibtex(catalog)
    keys = sorted(set(bibliography_keys(catalog).values()))
    entries = [line.split("{", 1)[1].rstrip(",") for line in text.splitlines() if line.startswith("@")]
    assert entries == keys  # one per source id, sorted
    assert text == bibtex(Catalog.load(Layout(REPO)))  # deterministic
    assert "@techreport{rand-rr-a1579-1-2023," in text


def test_committed_references_bib_is_in_sync_with_the_catalog():
    committed = (REPO / "report/references.bib").read_text(encoding="utf-8")
    assert committed == bibtex(Catalog.load(Layout(REPO))), \
        "report/references.bib is out of date: run `python -m analysis data bib` and commit it"
