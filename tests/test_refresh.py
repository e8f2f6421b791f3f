"""``data refresh``: download from a local HTTP server on 127.0.0.1, validate, diff, install on --accept.

The server runs in a thread of the test process (port 0, bounded timeouts, stopped in teardown) and
serves fixture CSV files; the temporary project's resource points its refresh.url at it."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import socket
import threading

import pytest

from conftest import FIXTURES
from test_catalog import TWO, edit, sha, snapshot

SERVED = FIXTURES / "refresh"
NAME = "src-two.values"
NO_PROXY = {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
            "http_proxy": "", "HTTP_PROXY": "", "https_proxy": "", "HTTPS_PROXY": ""}


class Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, bytes]] = {}
    timeout = 10

    def do_GET(self):  # noqa: N802 - http.server's naming
        status, body = self.routes.get(self.path, (404, b"not found"))
        self.send_response(status)
        self.send_header("Content-Type", "text/csv; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    """A local HTTP server: ``routes`` maps a path to (status, body); yields (base_url, routes)."""
    routes = {
        "/gerd.csv": (200, (SERVED / "gerd_updated.csv").read_bytes()),
        "/broken.csv": (200, (SERVED / "gerd_schema_breaking.csv").read_bytes()),
        "/same.csv": (200, (FIXTURES / "miniproject" / TWO).read_bytes()),
        "/page.html": (200, b"<html><body>Moved</body></html>\n"),
    }
    handler = type("FixtureHandler", (Handler,), {"routes": routes})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", routes
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def point_refresh_at(project, url: str) -> None:
    path = project.path("data/datapackage.json")
    descriptor = json.loads(path.read_text())
    for res in descriptor["resources"]:
        if res["name"] == NAME:
            res["refresh"] = {"url": url, "format": "csv"}
            res["obtained"]["accessed"] = "2020-01-02"
    path.write_text(json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n")


def refresh(project, *args):
    return project.cli("data", "refresh", NAME, *args, "--timeout", "10", env=NO_PROXY, timeout=120)


def test_refresh_shows_the_diff_and_changes_nothing(mini, server):
    base, _ = server
    point_refresh_at(mini, f"{base}/gerd.csv")
    before = snapshot(mini)
    proc = refresh(mini)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert f"{NAME}: {base}/gerd.csv (staged at _build/staging/{NAME}.csv) vs" in out
    assert "~ changed  CHN | 2020 | gerd: value: 560.0 -> 563.2" in out
    assert "+ added    USA | 2021 | gerd: value=806.0, unit=billion current PPP USD, locator=p. 4" in out
    assert "1 added, 0 removed, 1 changed" in out
    assert "Nothing changed in data/" in out and f"data refresh {NAME} --accept" in out
    assert snapshot(mini) == before
    assert mini.path(f"_build/staging/{NAME}.csv").read_bytes() == (SERVED / "gerd_updated.csv").read_bytes()


def test_refresh_accept_installs_and_accepts(mini, server):
    base, _ = server
    point_refresh_at(mini, f"{base}/gerd.csv")
    proc = refresh(mini, "--accept")
    assert proc.returncode == 0, proc.stderr
    assert "~ changed  CHN | 2020 | gerd: value: 560.0 -> 563.2" in proc.stdout
    assert f"Installed {TWO} and accepted it" in proc.stdout
    served = (SERVED / "gerd_updated.csv").read_bytes()
    assert mini.path(TWO).read_bytes() == served
    res = next(r for r in mini.read_json("data/datapackage.json")["resources"] if r["name"] == NAME)
    assert res["hash"] == "sha256:" + sha(mini.path(TWO)) and res["bytes"] == len(served)
    assert res["obtained"]["accessed"] == dt.date.today().isoformat()
    assert res["refresh"] == {"url": f"{base}/gerd.csv", "format": "csv"}
    frame = mini.load(NAME)
    assert frame.query("entity == 'USA' and year == 2021")["value"].item() == 806.0
    assert not mini.path(f"_build/staging/{NAME}.csv").exists()
    # a second refresh finds nothing new
    out = refresh(mini).stdout
    assert "no change: the file is byte-identical to the accepted version" in out


def test_refresh_accept_of_an_unchanged_source_records_the_access_date_only(mini, server):
    base, _ = server
    point_refresh_at(mini, f"{base}/same.csv")
    data_before = mini.path(TWO).read_bytes()
    proc = refresh(mini, "--accept")
    assert proc.returncode == 0, proc.stderr
    assert "no change" in proc.stdout
    res = next(r for r in mini.read_json("data/datapackage.json")["resources"] if r["name"] == NAME)
    assert mini.path(TWO).read_bytes() == data_before
    assert res["obtained"]["accessed"] == dt.date.today().isoformat()


@pytest.mark.parametrize("route, expected", [
    ("/broken.csv", ["does not match its schema", "nothing in data/ was changed",
                     "field 'value'", "'-3.0'", "field 'unit'", "'million current USD'"]),
    ("/page.html", ["does not match its schema", "nothing in data/ was changed"]),
    ("/missing.csv", ["failed: HTTP 404", "check refresh.url in data/datapackage.json"]),
])
def test_refresh_errors_name_the_problem_and_change_nothing(mini, server, route, expected):
    base, _ = server
    point_refresh_at(mini, f"{base}{route}")
    before = snapshot(mini)
    for args in ((), ("--accept",)):
        proc = refresh(mini, *args)
        assert proc.returncode == 1, proc.stdout
        assert f"{base}{route}" in proc.stderr
        for fragment in expected:
            assert fragment in proc.stderr, f"{fragment!r} not in {proc.stderr}"
        assert snapshot(mini) == before


def test_refresh_of_an_unreachable_server_fails_clearly(mini):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    point_refresh_at(mini, f"http://127.0.0.1:{port}/gerd.csv")
    before = snapshot(mini)
    proc = refresh(mini, "--accept")
    assert proc.returncode == 1
    assert f"download of http://127.0.0.1:{port}/gerd.csv failed" in proc.stderr
    assert snapshot(mini) == before


def test_refresh_needs_a_refresh_url(mini):
    before = snapshot(mini)
    proc = refresh(mini)
    assert proc.returncode == 1
    assert f"dataset {NAME} has no 'refresh' property" in proc.stderr
    assert '"refresh": {"url": "https://...", "format": "csv"}' in proc.stderr
    assert snapshot(mini) == before


def test_refresh_accept_refuses_to_overwrite_unaccepted_edits(mini, server):
    base, _ = server
    point_refresh_at(mini, f"{base}/gerd.csv")
    edit(mini, TWO, ",p. 3\n", ",p. 3 (checked)\n")
    before = snapshot(mini)
    proc = refresh(mini, "--accept")
    assert proc.returncode == 1
    assert f"{TWO} (dataset {NAME}) has edits that were never accepted" in proc.stderr
    assert snapshot(mini) == before


def test_refresh_restores_the_old_file_if_accepting_fails(mini, server, monkeypatch):
    """In-process: make the accept step fail after the file was moved into place."""
    from analysis import refresh as refresh_module
    from analysis.catalog import Catalog
    from analysis.errors import CatalogError
    from analysis.paths import Layout

    base, _ = server
    point_refresh_at(mini, f"{base}/gerd.csv")
    for var, value in NO_PROXY.items():
        monkeypatch.setenv(var, value)
    before = snapshot(mini)

    def failing_accept(*args, **kwargs):
        raise CatalogError("data/datapackage.json changed while accepting (nothing was written)")

    monkeypatch.setattr(refresh_module, "accept", failing_accept)
    with pytest.raises(CatalogError, match="changed while accepting"):
        refresh_module.refresh(Catalog.load(Layout(mini.root)), NAME, install=True, timeout=10)
    assert snapshot(mini) == before
