"""``data refresh`` against a local HTTP server that replays REAL publisher responses.

The responses are answers of the OECD SDMX REST API and the World Bank indicators API, recorded by
others and committed to public repositories (tests/fixtures/refresh/PROVENANCE.md). The server runs
in a thread of the test process on 127.0.0.1 (port 0, bounded timeouts, stopped in teardown); every
publisher request reaches it through ``--base-url`` / ``CLAIMCHECK_PUBLISHER_URL``, the only thing
that differs from a run against the real publisher. Scenarios run on a temporary copy of the small
fixture project with refreshable tables added (``add_refreshable``)."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import json
import shutil
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from conftest import FIXTURES
from report_helpers import add_report_sources
from test_catalog import snapshot as data_snapshot

SERVED = FIXTURES / "refresh"
KEI_CSV = SERVED / "oecd" / "kei-irlt-gbr-2024-07-31T225454Z.csv"
KEI_GZ = SERVED / "oecd" / "kei-irlt-gbr-2024-07-31T225715Z.csv.gz"
WB_V1 = SERVED / "worldbank" / "gni-pcap-us-1990-1997-api-v1.json"
WB_2020 = SERVED / "worldbank" / "gni-pcap-us-1990-1997-2020-07-01.json"
WITS_XML = SERVED / "sdmx-ml" / "wits-gh-78.xml"
NO_PROXY = {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
            "http_proxy": "", "HTTP_PROXY": "", "https_proxy": "", "HTTPS_PROXY": ""}

# The recorded request: path and query of the cassette's `uri`.
KEI_PATH = "/public/rest/data/OECD.SDD.STES,DSD_KEI@DF_KEI,4.0/GBR.M.IRLT...."
KEI_QUERY = {"detail": ["dataonly"], "dimensionAtObservation": ["TIME_PERIOD"], "endPeriod": ["2024-01"],
             "startPeriod": ["2023-01"]}
WB_PATH = "/v2/country/US/indicator/NY.GNP.PCAP.CD"
SDMX_CSV = "application/vnd.sdmx.data+csv; charset=utf-8"

KEI = "oecd-kei.irlt_gbr"
GNI = "worldbank-wdi.gni_pcap"


def snapshot(project) -> dict[str, bytes]:
    """Every file under data/ and report/, and project.yml: what a refresh must leave alone on failure."""
    return {**data_snapshot(project), "project.yml": project.path("project.yml").read_bytes()}


def test_fixture_responses_are_the_recorded_bytes():
    """The replayed files are the recorded bodies (PROVENANCE.md), and the two OECD recordings agree."""
    expected = {
        KEI_CSV: "679de5fa28f694bed95a61df27a3d85d83d402b23c17c2a008de88c0a9196890",
        KEI_GZ: "e7312adeecd6e0dc114313bd7cbdfe9f9d3b6dda9486deb4e71a40617be757e7",
        WB_V1: "512473e87bb5ccd6a35f80b962f46c520998769b3b1a997be98b8f323e12727f",
        WB_2020: "ef390b4cbe1a2cb95be369f8f9bd03a1e38b41ccaf29724da6e22e041f8ef28d",
        WITS_XML: "3fae0ad9d4544a8e1aca1a61a2e4f82c9e7e9295b711c07f6d037b6fa5e61e3b",
    }
    for path, sha in expected.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha, path
    assert gzip.decompress(KEI_GZ.read_bytes()) == KEI_CSV.read_bytes()


def test_an_sdmx_ml_answer_is_read_with_sdmx1():
    """A service that answers SDMX-ML generic data instead of SDMX-CSV: sdmx1 reads it, no structure needed."""
    from analysis.publishers import mapping
    from analysis.publishers.sdmx import read_xml

    columns, rows = read_xml(WITS_XML.read_bytes(), "replayed")
    assert rows == [{"TIME_PERIOD": "1989", "FREQ": "A", "DATATYPE": "Reported", "PRODUCTCODE": "020110",
                     "PARTNER": "000", "REPORTER": "840", "OBS_VALUE": "0.0"}]
    spec = {"columns": {"entity": {"from": "REPORTER", "codes": {"840": "USA"}}, "year": {"from": "TIME_PERIOD"},
                        "value": {"from": "OBS_VALUE"}}}
    schema = {"fields": [field("entity"), field("year", "integer"), field("value", "number")], "primaryKey": ["entity", "year"]}
    assert mapping.to_table(rows, columns, spec, schema, source="WITS") == b"entity,year,value\nUSA,1989,0.0\n"


def test_units_are_converted_in_decimal_and_codes_mapped():
    """Published dollars to thousands of dollars: 31270 * 0.001 is 31.27, not 31.270000000000003."""
    from analysis.publishers import mapping
    from analysis.publishers.worldbank import flatten

    answer = json.loads(WB_2020.read_text())
    rows = [flatten(r) for r in answer[1]]
    spec = {"columns": {**GNI_SPEC["columns"], "value": {"from": "value", "multiplier": 0.001},
                        "unit": {"value": "thousand current USD"}}}
    table = mapping.to_table(rows, sorted(rows[0]), spec, GNI_SCHEMA, source="WB").decode()
    assert table.splitlines()[0] == "entity,year,measure,value,unit,locator"
    assert table.splitlines()[1] == 'USA,1990,gni_per_capita_atlas,24.06,thousand current USD,"World Bank WDI, NY.GNP.PCAP.CD"'
    assert table.splitlines()[-1].startswith("USA,1997,gni_per_capita_atlas,31.27,")


# The replay server --------------------------------------------------------------------------------

class Replay(http.server.BaseHTTPRequestHandler):
    """Answers GET PATH with the route's (status, headers, body, delay); records every request."""

    routes: dict = {}
    seen: list = []
    timeout = 10

    def do_GET(self):  # noqa: N802 - http.server's naming
        parts = urlsplit(self.path)
        self.seen.append({"path": parts.path, "query": parse_qs(parts.query), "accept": self.headers.get("Accept")})
        status, headers, body, delay = self.routes.get(parts.path, (404, {}, b"Not Found", 0))
        if delay:
            time.sleep(delay)
        try:
            self.send_response(status)
            for key, value in {"Content-Length": str(len(body)), **headers}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout test)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    """A local replay server: yields (base_url, routes, seen)."""
    routes, seen = {}, []
    handler = type("ReplayHandler", (Replay,), {"routes": routes, "seen": seen})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", routes, seen
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def serve_kei(routes, *, gzipped=False):
    """The OECD answer as recorded: plain, or the gzip stream of the second recording."""
    if gzipped:
        routes[KEI_PATH] = (200, {"Content-Type": SDMX_CSV, "Content-Encoding": "gzip"}, KEI_GZ.read_bytes(), 0)
    else:
        routes[KEI_PATH] = (200, {"Content-Type": SDMX_CSV}, KEI_CSV.read_bytes(), 0)


def serve_wb(routes, path):
    routes[WB_PATH] = (200, {"Content-Type": "application/json;charset=utf-8"}, path.read_bytes(), 0)


# The scenario project -----------------------------------------------------------------------------

def field(name, ftype="string", **constraints):
    out = {"name": name, "type": ftype}
    if constraints:
        out["constraints"] = constraints
    return out


KEI_SPEC = {
    "interface": "sdmx", "service": "OECD", "agency": "OECD.SDD.STES", "dataflow": "DSD_KEI@DF_KEI",
    "version": "4.0", "key": "GBR.M.IRLT....", "period": {"start": "2023-01", "end": "2024-01"},
    "params": {"dimensionAtObservation": "TIME_PERIOD", "detail": "dataonly"},
    "series": "oecd-kei", "table": "irlt_gbr",
    "publisher": {"name": "OECD", "title": "Key Economic Indicators (KEI)"},
    "columns": {
        "entity": {"from": "REF_AREA"},
        "month": {"from": "TIME_PERIOD"},
        "measure": {"from": "MEASURE", "codes": {"IRLT": "long_term_interest_rate"}},
        "value": {"from": "OBS_VALUE"},
        "unit": {"from": "UNIT_MEASURE", "codes": {"PA": "percent per annum"}},
        "locator": {"value": "OECD KEI, DSD_KEI@DF_KEI, GBR.M.IRLT"},
    },
}
KEI_SCHEMA = {
    "fields": [field("entity", required=True, enum=["GBR"]), field("month", required=True, pattern=r"\d{4}-\d{2}"),
               field("measure", required=True, enum=["long_term_interest_rate"]),
               field("value", "number", required=True, minimum=0), field("unit", required=True, enum=["percent per annum"]),
               field("locator")],
    "primaryKey": ["entity", "month", "measure"], "missingValues": [""],
}
GNI_SPEC = {
    "interface": "worldbank", "indicator": "NY.GNP.PCAP.CD", "countries": ["US"], "period": {"start": 1990, "end": 1997},
    "series": "worldbank-wdi", "table": "gni_pcap", "title": "U.S. GNI per capita",
    "publisher": {"name": "World Bank", "title": "World Development Indicators"},
    "columns": {
        "entity": {"from": "country.id", "codes": {"US": "USA"}},
        "year": {"from": "date"},
        "measure": {"from": "indicator.id", "codes": {"NY.GNP.PCAP.CD": "gni_per_capita_atlas"}},
        "value": {"from": "value"},
        "unit": {"value": "current USD"},
        "locator": {"value": "World Bank WDI, NY.GNP.PCAP.CD"},
    },
}
GNI_SCHEMA = {
    "fields": [field("entity", required=True, enum=["USA"]), field("year", "integer", required=True, minimum=1960, maximum=2030),
               field("measure", required=True, enum=["gni_per_capita_atlas"]),
               field("value", "number", required=True, minimum=0), field("unit", required=True, enum=["current USD"]),
               field("locator")],
    "primaryKey": ["entity", "year", "measure"], "missingValues": [""],
}


def add_refreshable(project, name, spec, schema, *, readers=("beta",)):
    """Add a refreshable table (empty until its first refresh) to the project and to ``readers``' datasets."""
    source, _, table = name.partition(".")
    header = ",".join(f["name"] for f in schema["fields"]) + "\n"
    path = project.path(f"data/raw/{source}/{table}.csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header)
    dp_path = project.path("data/datapackage.json")
    dp = json.loads(dp_path.read_text())
    dp["resources"].append({
        "name": name, "path": f"raw/{source}/{table}.csv", "title": f"{name} (declared for refresh; no rows yet)",
        "description": "Scenario table: declared with its publisher query, filled by its first refresh.",
        "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
        "hash": "sha256:" + hashlib.sha256(header.encode()).hexdigest(), "bytes": len(header),
        "sources": [{"title": spec["publisher"]["title"], "publisher": spec["publisher"]["name"], "year": 2024,
                     "path": "https://example.org/declared", "locator": "the refresh spec's query"}],
        "licenses": [{"name": "CC-BY-4.0", "title": "CC BY 4.0"}],
        "obtained": {"method": "transcribed", "detail": "header only: declared for refresh", "accessed": "2024-01-01"},
        "confidence": "low: no rows until the first refresh",
        "schema": schema, "refresh": spec,
    })
    dp_path.write_text(json.dumps(dp, indent=2, ensure_ascii=False) + "\n")
    yml = project.path("project.yml")
    doc = yaml.safe_load(yml.read_text())
    for reader in readers:
        doc["notebooks"][reader]["datasets"] = list(doc["notebooks"][reader]["datasets"]) + [name]
    yml.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))


def refresh_cli(project, base, *args, timeout="10"):
    return project.cli("data", "refresh", *args, "--timeout", timeout, "--base-url", base, env=NO_PROXY, timeout=120)


def in_process_refresh(project, name, base, *, today, accept=True):
    from analysis.catalog import Catalog
    from analysis.paths import Layout
    from analysis.refresh import refresh

    return refresh(Catalog.load(Layout(project.root)), name, accept=accept, today=today, timeout=10, base_url=base)


def resources(project):
    return {r["name"]: r for r in project.read_json("data/datapackage.json")["resources"]}


# Scenarios ----------------------------------------------------------------------------------------

def test_sdmx_refresh_builds_the_recorded_query_and_changes_nothing_without_accept(mini, server):
    base, routes, seen = server
    serve_kei(routes)
    add_refreshable(mini, KEI, KEI_SPEC, KEI_SCHEMA)
    before = snapshot(mini)
    proc = refresh_cli(mini, base, KEI)
    assert proc.returncode == 0, proc.stderr
    assert seen == [{"path": KEI_PATH, "query": KEI_QUERY, "accept": SDMX_CSV}]  # sdmx1 built the recorded query
    assert f"oecd-kei.irlt_gbr: asking sdmx interface" in proc.stderr and "13 rows from" in proc.stderr
    out = proc.stdout
    assert "+ added    GBR | 2023-01 | long_term_interest_rate: value=3.5115, unit=percent per annum" in out
    assert "13 added, 0 removed, 0 changed" in out
    assert "Nothing changed in data/" in out and f"data refresh {KEI} --accept" in out
    assert snapshot(mini) == before
    month = __import__("datetime").date.today().strftime("%Y-%m")
    staged = mini.path(f"_build/staging/oecd-kei-{month}.irlt_gbr.csv").read_text()
    assert staged.splitlines()[1] == "GBR,2023-01,long_term_interest_rate,3.5115,percent per annum,\"OECD KEI, DSD_KEI@DF_KEI, GBR.M.IRLT\""
    assert mini.path(f"_build/staging/oecd-kei-{month}.irlt_gbr.response").read_bytes() == KEI_CSV.read_bytes()


def test_accept_adds_a_dated_snapshot_and_an_unchanged_release_adds_nothing(mini, server):
    base, routes, seen = server
    serve_kei(routes)
    add_refreshable(mini, KEI, KEI_SPEC, KEI_SCHEMA)
    old_file = mini.path("data/raw/oecd-kei/irlt_gbr.csv").read_bytes()
    proc = refresh_cli(mini, base, KEI, "--accept")
    assert proc.returncode == 0, proc.stderr
    month = __import__("datetime").date.today().strftime("%Y-%m")
    snap = f"oecd-kei-{month}.irlt_gbr"
    assert f"Added {snap} (data/raw/oecd-kei-{month}/irlt_gbr.csv)" in proc.stdout
    res = resources(mini)
    entry = res[snap]
    data = mini.path(f"data/raw/oecd-kei-{month}/irlt_gbr.csv").read_bytes()
    assert entry["hash"] == "sha256:" + hashlib.sha256(data).hexdigest() and entry["bytes"] == len(data)
    assert entry["obtained"]["method"] == "downloaded"
    assert entry["obtained"]["accessed"] == __import__("datetime").date.today().isoformat()
    assert entry["obtained"]["url"].endswith(KEI_PATH + "?startPeriod=2023-01&endPeriod=2024-01&dimensionAtObservation=TIME_PERIOD&detail=dataonly")
    assert entry["obtained"]["query"]["key"] == "GBR.M.IRLT...." and entry["obtained"]["previous"] == KEI
    assert entry["sources"][0]["publisher"] == "OECD" and entry["schema"] == KEI_SCHEMA and entry["refresh"] == KEI_SPEC
    # nothing edited in place: the earlier table and its entry are as they were
    assert mini.path("data/raw/oecd-kei/irlt_gbr.csv").read_bytes() == old_file
    assert res[KEI]["hash"] == "sha256:" + hashlib.sha256(old_file).hexdigest()
    assert snap in yaml.safe_load(mini.path("project.yml").read_text())["notebooks"]["beta"]["datasets"]
    assert mini.load(snap).query("month == '2024-01'")["value"].item() == 3.9319
    # the same query answered again (gzip-encoded, 2 min later): nothing new, nothing added
    serve_kei(routes, gzipped=True)
    before = snapshot(mini)
    for args in ((KEI,), (KEI, "--accept"), (snap, "--accept")):
        proc = refresh_cli(mini, base, *args)
        assert proc.returncode == 0, proc.stderr
        assert f"no change: the file is byte-identical to the accepted version" in proc.stdout
        assert f"Nothing new: the publisher's table equals {snap}; nothing changed in data/." in proc.stdout
        assert snapshot(mini) == before


def test_a_new_world_bank_release_shows_added_then_changed_rows(mini, server):
    base, routes, _ = server
    add_refreshable(mini, GNI, GNI_SPEC, GNI_SCHEMA)
    serve_wb(routes, WB_V1)
    first = in_process_refresh(mini, GNI, base, today="2019-12-02")
    assert first.installed and first.snapshot == "worldbank-wdi-2019-12.gni_pcap"
    assert first.diff.summary() == "8 added, 0 removed, 0 changed"
    serve_wb(routes, WB_2020)
    second = in_process_refresh(mini, GNI, base, today="2020-07-24", accept=False)
    assert second.latest == "worldbank-wdi-2019-12.gni_pcap" and not second.installed
    assert second.release == "last updated 2020-07-01"
    text = second.diff.render()
    assert "~ changed  USA | 1997 | gni_per_capita_atlas: value: 31390 -> 31270" in text
    assert "~ changed  USA | 1990 | gni_per_capita_atlas: value: 24150 -> 24060" in text
    assert second.diff.summary() == "0 added, 0 removed, 8 changed"  # the World Bank revised every year
    third = in_process_refresh(mini, GNI, base, today="2020-07-24")
    assert third.installed and third.snapshot == "worldbank-wdi-2020-07.gni_pcap"
    from analysis.catalog import Catalog, series_members
    from analysis.paths import Layout

    assert series_members(Catalog.load(Layout(mini.root)), GNI) == [
        GNI, "worldbank-wdi-2019-12.gni_pcap", "worldbank-wdi-2020-07.gni_pcap"]
    assert mini.load("worldbank-wdi-2019-12.gni_pcap").query("year == 1997")["value"].item() == 31390
    assert mini.load("worldbank-wdi-2020-07.gni_pcap").query("year == 1997")["value"].item() == 31270


def test_an_answer_that_fails_the_schema_changes_nothing(mini, server):
    """The OECD publishes percent; a table kept in fractions without a multiplier refuses the answer."""
    base, routes, _ = server
    serve_kei(routes)
    schema = json.loads(json.dumps(KEI_SCHEMA))
    schema["fields"][3]["constraints"]["maximum"] = 1
    add_refreshable(mini, KEI, KEI_SPEC, schema)
    before = snapshot(mini)
    for args in ((KEI,), (KEI, "--accept")):
        proc = refresh_cli(mini, base, *args)
        assert proc.returncode == 1, proc.stdout
        err = proc.stderr
        assert "does not match the schema of oecd-kei.irlt_gbr" in err and "nothing in data/ was changed" in err
        assert "field 'value'" in err and "'3.5115'" in err
        assert "Traceback" not in err
        assert snapshot(mini) == before


@pytest.mark.parametrize("status, expected", [
    (503, ["the publisher's server failed: HTTP 503", "try again later"]),
    (404, ["the publisher refused the query: HTTP 404", "check the query in the resource's refresh spec"]),
])
def test_a_server_error_changes_nothing(mini, server, status, expected):
    base, routes, _ = server
    routes[KEI_PATH] = (status, {"Content-Type": "text/plain"}, b"Service temporarily unavailable", 0)
    add_refreshable(mini, KEI, KEI_SPEC, KEI_SCHEMA)
    before = snapshot(mini)
    proc = refresh_cli(mini, base, KEI, "--accept")
    assert proc.returncode == 1
    for fragment in expected + [base + KEI_PATH, "nothing under data/ was changed"]:
        assert fragment in proc.stderr, (fragment, proc.stderr)
    assert snapshot(mini) == before


def test_a_timeout_changes_nothing(mini, server):
    base, routes, _ = server
    routes[KEI_PATH] = (200, {"Content-Type": SDMX_CSV}, KEI_CSV.read_bytes(), 3)
    add_refreshable(mini, KEI, KEI_SPEC, KEI_SCHEMA)
    before = snapshot(mini)
    proc = refresh_cli(mini, base, KEI, "--accept", timeout="1")
    assert proc.returncode == 1
    assert f"no answer from {base}{KEI_PATH}" in proc.stderr and "within 1 s" in proc.stderr
    assert "--timeout SECONDS" in proc.stderr
    assert snapshot(mini) == before


def test_refresh_all_tells_per_series_whether_the_publisher_has_anything_new(mini, server):
    base, routes, _ = server
    add_refreshable(mini, KEI, KEI_SPEC, KEI_SCHEMA)
    add_refreshable(mini, GNI, GNI_SPEC, GNI_SCHEMA)
    serve_kei(routes)
    serve_wb(routes, WB_V1)
    in_process_refresh(mini, KEI, base, today="2024-08-01")
    in_process_refresh(mini, GNI, base, today="2019-12-02")
    serve_kei(routes, gzipped=True)
    serve_wb(routes, WB_2020)
    before = snapshot(mini)
    proc = refresh_cli(mini, base, "--all")
    assert proc.returncode == 0, proc.stderr
    assert "2 refreshable series:" in proc.stdout
    assert "unchanged  oecd-kei.irlt_gbr: the publisher's table equals oecd-kei-2024-08.irlt_gbr" in proc.stdout
    assert "NEW DATA   worldbank-wdi.gni_pcap: 0 added, 0 removed," in proc.stdout
    assert snapshot(mini) == before
    routes.pop(WB_PATH)  # one series failing does not stop the others
    proc = refresh_cli(mini, base, "--all")
    assert proc.returncode == 1
    assert "FAILED     worldbank-wdi.gni_pcap: the publisher refused the query: HTTP 404" in proc.stdout
    assert "unchanged  oecd-kei.irlt_gbr" in proc.stdout


def test_refresh_needs_a_refresh_spec_and_names_the_choices(mini):
    before = snapshot(mini)
    proc = mini.cli("data", "refresh", "src-two.values")
    assert proc.returncode == 1
    assert "dataset src-two.values has no 'refresh' property" in proc.stderr and "docs/refresh.md" in proc.stderr
    proc = mini.cli("data", "refresh")
    assert proc.returncode == 1 and "name one refreshable dataset, or pass --all" in proc.stderr
    assert snapshot(mini) == before


def test_the_loop_refresh_accept_build_moved_claim_with_cause_lock(mini, server):
    """A claim read from the newest snapshot moves when a new release is accepted; check names the
    new snapshot as the cause; lock accepts it."""
    base, routes, _ = server
    add_refreshable(mini, GNI, GNI_SPEC, GNI_SCHEMA, readers=())
    add_report_sources(mini)
    shutil.copy(SERVED / "latest_gni.ipynb", mini.path("notebooks/epsilon.ipynb"))
    yml = mini.path("project.yml")
    doc = yaml.safe_load(yml.read_text())
    doc["notebooks"] = {"epsilon": {"title": "Epsilon reads the newest GNI snapshot", "datasets": [GNI],
                                    "parameters": {"data_as_of": {"choices": ["document", "latest"]}},
                                    "parameter_sets": {"default": {}, "latest": {"data_as_of": "latest"}}}}
    yml.write_text(yaml.safe_dump(doc, sort_keys=False))
    register = mini.path("claims/register.yml")
    reg = yaml.safe_load(register.read_text())
    reg["claims"] = [{"id": "usa-gni-1997", "document": "doc-a", "section": "Intro", "quote": "GNI per capita was $31,390 in 1997",
                      "stated": {"value": 31390, "unit": "USD", "year": 1997, "comparison": "=", "measure": "U.S. GNI per capita"},
                      "source_given": None, "kind": "amount", "check": {"notebook": "epsilon", "parameters": "default"},
                      "tolerance": {"type": "absolute", "value": 1, "unit": "USD", "why": "stated to the dollar"}}]
    register.write_text(yaml.safe_dump(reg, sort_keys=False))
    serve_wb(routes, WB_V1)
    assert in_process_refresh(mini, GNI, base, today="2019-12-02").installed
    mini.cli("build", "--no-render", check=True)
    assert mini.claim_records("epsilon/default")["usa-gni-1997"]["verdict"] == "reproduced"
    mini.cli("lock", check=True)
    serve_wb(routes, WB_2020)
    result = in_process_refresh(mini, GNI, base, today="2020-07-24")
    assert result.installed
    assert "worldbank-wdi-2020-07.gni_pcap" in yaml.safe_load(yml.read_text())["notebooks"]["epsilon"]["datasets"]
    build = mini.cli("build", "--no-render")
    assert mini.claim_records("epsilon/default")["usa-gni-1997"]["reproduced"] == 31270
    check = mini.cli("check")
    assert check.returncode == 1, check.stdout
    text = check.stdout + check.stderr
    assert "usa-gni-1997" in text and "31390" in text and "31270" in text
    # the cause names the new snapshot and the rows that changed between the two releases
    assert ("a newer snapshot of its data was accepted: worldbank-wdi-2019-12.gni_pcap -> "
            "worldbank-wdi-2020-07.gni_pcap: 0 added, 0 removed, 8 changed") in text
    assert "~ changed  USA | 1997 | gni_per_capita_atlas: value: 31390 -> 31270" in text
    mini.cli("lock", check=True)
    assert mini.cli("check").returncode == 0
    assert build.returncode in (0, 1)
    # the report shows what the latest data say beside the verdict, in the claim's section and the ledger
    claims_qmd = mini.path("_build/report/_claims.qmd").read_text()
    assert ("**Latest data** (parameter set `latest`; the verdict above stays the one at 2024-06-30): World Bank World "
            "Development Indicators, retrieved 2020-07-24; last updated 2020-07-01: U.S. GNI per capita 1997 = 31270 USD.") in claims_qmd
    assert "latest data: 31270 USD (1997)" in mini.path("_build/report/_ledger.qmd").read_text()
