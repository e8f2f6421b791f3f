"""The review app (`python -m analysis review serve`): the figure list with its filters, a page per figure,
and the review form, which writes exactly what `review add` writes and nothing on bad input.

Two layers: Flask's test client for the pages and the refusals (fast), and one end-to-end test in a
real browser (Playwright driving Debian's chromium against the served app): list, open a figure, review
it, see the status change, the bad-input cases, then a data change that makes it need review again,
with what changed shown on the page.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import TempProject
from report_helpers import FIGURE, set_value

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PAGE = "/figure/alpha/default/fig-shares"


def built_copy(built_mini: TempProject, dest: Path) -> TempProject:
    """A writable copy of the session's built mini project, build outputs included."""
    shutil.copytree(built_mini.root, dest, ignore=shutil.ignore_patterns("reviews", ".build.lock"))
    return TempProject(dest)


def files_under(project: TempProject, folder: str) -> list[str]:
    root = project.path(folder)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.is_dir() else []


@pytest.fixture
def app_project(built_mini, tmp_path) -> TempProject:
    return built_copy(built_mini, tmp_path / "mini")


@pytest.fixture
def client(app_project):
    from analysis.paths import Layout
    from analysis.review_app import create_app

    app = create_app(Layout(app_project.root))
    app.config["TESTING"] = True
    return app.test_client()


def test_list_filters_by_claim_and_status(client, app_project):
    page = client.get("/").get_data(as_text=True)
    assert 'data-figure="alpha/default#fig-shares"' in page and 'data-figure="alpha/later#fig-shares"' in page
    assert "0 approved, 0 changes requested, 0 needs review again, 2 not reviewed" in page
    assert '<option value="usa-share-2010"' in page  # the claims the figures support
    assert "2 of 2 shown" in client.get("/?claim=usa-share-2010").get_data(as_text=True)
    assert "No figure matches" in client.get("/?claim=china-ratio").get_data(as_text=True)
    assert "0 of 2 shown" in client.get("/?status=approved").get_data(as_text=True)

    app_project.cli("review", "add", FIGURE, "--reviewer", "Ada", "--decision", "approved", "--comment", "ok", check=True)
    approved = client.get("/?status=approved").get_data(as_text=True)  # read again per request: no restart
    assert "1 of 2 shown" in approved and 'data-figure="alpha/default#fig-shares"' in approved


def test_figure_page_shows_rows_derivation_inputs_claims(client, app_project):
    page = client.get(PAGE).get_data(as_text=True)
    for text in ("Shares by year", 'id="status" class="status status-not-reviewed"',
                 "analysis.load(&#34;src-one.values&#34;)",  # the derivation of the plotted rows
                 "data/raw/src-one/values.csv", "src-one.values",  # inputs with checksums
                 "usa-share-2010", "reproduced",  # the claim it supports, with its verdict
                 "<code>year = 2010</code>", "Not reviewed yet."):
        assert text in page, text
    sha = app_project.read_json("_build/manifest.json")["runs"]["alpha/default"]["inputs"][0]["sha256"]
    assert sha in page
    assert "<td>USA</td><td>2010</td>" in page  # the data rows as a table
    csv = client.get(PAGE + "/data.csv")
    assert csv.status_code == 200 and "attachment" in csv.headers["Content-Disposition"]
    assert csv.data == app_project.path("_build/review/alpha/default/fig-shares/data.csv").read_bytes()
    assert client.get(PAGE + "/image").mimetype == "image/png"


def test_form_writes_exactly_what_review_add_writes(client, app_project):
    response = client.post(PAGE, data={"reviewer": "Ada Lovelace", "decision": "approved", "comment": "rows match"})
    assert response.status_code == 302
    [web] = sorted(app_project.path("reviews/alpha/default/fig-shares").glob("*.yml"))
    app_project.cli("review", "add", "alpha/later#fig-shares", "--reviewer", "Ada Lovelace", "--decision", "approved",
                    "--comment", "rows match", check=True)
    [cli] = sorted(app_project.path("reviews/alpha/later/fig-shares").glob("*.yml"))
    from_web, from_cli = yaml.safe_load(web.read_text()), yaml.safe_load(cli.read_text())
    assert list(from_web) == list(from_cli)  # the same keys in the same order
    assert {k: v for k, v in from_web.items() if k not in ("figure", "date")} == \
        {k: v for k, v in from_cli.items() if k not in ("figure", "date")}
    assert app_project.path(f"reviews/_data/{from_web['data_sha256']}.csv").read_bytes() == \
        app_project.path("_build/review/alpha/default/fig-shares/data.csv").read_bytes()
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "status-approved" in page and "Review recorded in" in page and "rows match" in page


@pytest.mark.parametrize("form, message", [
    ({"reviewer": "  ", "decision": "approved", "comment": "fine"}, "the reviewer&#39;s name is empty"),
    ({"reviewer": "Ada", "decision": "changes-requested", "comment": ""}, "needs a comment"),
    ({"reviewer": "Ada", "decision": "perhaps", "comment": "x"}, "is not one of approved, changes-requested"),
])
def test_bad_input_is_shown_and_nothing_written(client, app_project, form, message):
    response = client.post(PAGE, data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and message in page and "Nothing was written" in page
    assert f'value="{form["reviewer"]}"' in page  # what was typed is kept in the form
    assert files_under(app_project, "reviews") == []


def test_a_figure_that_no_longer_exists_is_refused(client, app_project):
    index = app_project.read_json("_build/review/index.json")
    del index["figures"][FIGURE]  # a rebuild that no longer draws it
    app_project.path("_build/review/index.json").write_text(__import__("json").dumps(index))
    response = client.post(PAGE, data={"reviewer": "Ada", "decision": "approved", "comment": "x"})
    assert response.status_code == 404 and "the last build produced no figure alpha/default#fig-shares" in response.get_data(as_text=True)
    assert client.get(PAGE).status_code == 404
    assert files_under(app_project, "reviews") == []


# --- the browser test ------------------------------------------------------------------------------
def _chromium_or_skip():
    """Debian's chromium and Playwright, or a skip saying what is missing (never a skip under CI=true)."""
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -e '.[test]')")
    if not CHROMIUM.is_file():
        missing.append(f"{CHROMIUM} (apt-get install chromium; .ci/run installs it)")
    if missing:
        reason = "browser test needs " + " and ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(reason + ": under CI=true it must run")
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(app_project):
    """`python -m analysis review serve --port N` running in the project; yields the base URL."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "CLAIMCHECK_PROJECT_ROOT"}
    proc = subprocess.Popen([sys.executable, "-m", "analysis", "review", "serve", "--port", str(port)],
                            cwd=app_project.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"review serve did not start: {proc.stdout.read() if proc.poll() is not None else 'timeout'}")
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_review_in_the_browser(app_project, served):
    _chromium_or_skip()
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(30_000)

        # the list, filtered by claim and status
        page.goto(served + "/")
        expect(page.locator("#figures tbody tr")).to_have_count(2)
        page.select_option("#filter-claim", "usa-share-2010")
        page.select_option("#filter-status", "not reviewed")
        page.click("#filters button")
        expect(page.locator("#figures tbody tr")).to_have_count(2)
        page.click(f'tr[data-figure="{FIGURE}"] a')
        expect(page.locator("h1")).to_have_text(FIGURE)
        expect(page.locator("#status")).to_have_text("not reviewed")
        expect(page.locator("#derivation")).to_contain_text('analysis.load("src-one.values")')
        expect(page.locator("#data tbody tr")).to_have_count(4)

        # bad input: shown on the page, nothing written
        page.fill("#reviewer", "")
        page.click("#submit")
        expect(page.locator("#error")).to_contain_text("the reviewer's name is empty")
        page.fill("#reviewer", "Grace Hopper")
        page.select_option("#decision", "changes-requested")
        page.fill("#comment", "")
        page.click("#submit")
        expect(page.locator("#error")).to_contain_text("needs a comment")
        expect(page.locator("#reviewer")).to_have_value("Grace Hopper")
        assert files_under(app_project, "reviews") == []

        # a good review: the status changes
        page.select_option("#decision", "approved")
        page.fill("#comment", "rows and axes match the data")
        page.click("#submit")
        expect(page.locator("#status")).to_have_text("approved")
        expect(page.locator("#recorded")).to_contain_text("reviews/alpha/default/fig-shares/")
        expect(page.locator("#history tbody tr")).to_have_count(1)
        [record] = app_project.path("reviews/alpha/default/fig-shares").glob("*.yml")
        assert yaml.safe_load(record.read_text())["reviewer"] == "Grace Hopper"
        page.goto(served + "/?status=approved")
        expect(page.locator("#figures tbody tr")).to_have_count(1)

        # the data change: rebuilt, the figure needs review again and the page shows what changed
        set_value(app_project, "data/raw/src-one/values.csv", "CHN", 2020, 0.27)
        app_project.cli("build", "alpha/default", "--no-render", check=True)
        page.goto(served + PAGE)  # no restart: the app reads the new build
        expect(page.locator("#status")).to_have_text("needs review again")
        expect(page.locator("#data-change")).to_contain_text("CHN | 2020 | share")
        expect(page.locator("#data-change")).to_contain_text("value: 0.25 -> 0.27")

        # a figure that no longer exists: the form answers with the error, nothing written
        index_path = app_project.path("_build/review/index.json")
        index = app_project.read_json("_build/review/index.json")
        del index["figures"][FIGURE]
        index_path.write_text(__import__("json").dumps(index))
        before = files_under(app_project, "reviews")
        page.fill("#reviewer", "Ada")
        page.fill("#comment", "fine")
        page.click("#submit")
        expect(page.locator("#message")).to_contain_text("produced no figure alpha/default#fig-shares")
        assert files_under(app_project, "reviews") == before
        browser.close()
