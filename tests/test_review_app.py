"""The review app (`python -m analysis review serve`): the report's figures first, in report order, with
review progress; a page per figure; and the review form, which writes exactly what `review add` writes,
only when sent from the app's own page, and nothing on bad input.

Two layers: Flask's test client for the pages and every refusal (fast), and one end-to-end test in a
real browser (Playwright driving Debian's chromium against the served app): the index's first screen,
a figure's page, a bad submission (its message in view), a good one, a form posted from another site,
a page reached through another host name (DNS rebinding), and a data change that makes the figure need
review again, with why.
"""

from __future__ import annotations

import json
import os
import re
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
OWN = {"Origin": "http://localhost"}  # the test client's own origin


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


def make_client(project: TempProject, **config):
    from analysis.paths import Layout
    from analysis.review_app import create_app

    return create_app(Layout(project.root), {"TESTING": True, **config}).test_client()


@pytest.fixture
def client(app_project):
    return make_client(app_project)


def form_of(client, path: str = PAGE) -> dict:
    """The hidden fields of a figure page's review form (CSRF token, seen_sha256), as the browser sends them."""
    page = client.get(path).get_data(as_text=True)
    return {name: value for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)}


def post(client, data: dict, *, headers=OWN, path: str = PAGE):
    return client.post(path, data={**form_of(client, path), **data}, headers=headers)


def message(response) -> str:
    """The text of the error (at the top of the form) or message page of a response."""
    found = re.search(r'id="(?:error|message)"[^>]*>([^<]*)<', response.get_data(as_text=True))
    return found.group(1).replace("&#39;", "'") if found else ""


def test_the_index_opens_on_the_report_figures_with_progress(client, app_project):
    page = client.get("/").get_data(as_text=True)
    assert 'data-figure="alpha/default#fig-shares"' in page  # the figure the report shows
    assert 'data-figure="alpha/later#fig-shares"' not in page  # a variant: on request only
    assert '<h2 class="claim-group"><code>usa-share-2010</code>' in page  # grouped by the claim it is shown under
    assert "<strong>0 of 1</strong> report figures approved" in page and 'id="progress-bar"' in page
    assert '<span class="not-reviewed" data-count="1" style="width: 100.00%">' in page
    every = client.get("/?show=all").get_data(as_text=True)
    assert every.index('data-figure="alpha/default#fig-shares"') < every.index('data-figure="alpha/later#fig-shares"')
    app_project.cli("review", "add", FIGURE, "--reviewer", "Ada", "--decision", "approved", "--comment", "ok", check=True)
    page = client.get("/").get_data(as_text=True)  # read again per request: no restart
    assert "<strong>1 of 1</strong> report figures approved" in page
    assert '<span class="approved" data-count="1" style="width: 100.00%">' in page


def test_review_list_the_report_methods_and_the_app_give_the_same_progress(client, app_project):
    from analysis.paths import Layout
    from analysis.review.records import progress

    app_project.cli("review", "add", FIGURE, "--reviewer", "Ada", "--decision", "changes-requested",
                    "--comment", "label the axis", check=True)
    counts = progress(Layout(app_project.root))
    assert counts == {"report_figures": 1, "approved": 0, "changes-requested": 1, "not-reviewed": 0, "needs-review-again": 0}
    listing = app_project.cli("review", "list", check=True).stdout
    assert listing.splitlines()[-1] == ("Review progress: 0 of 1 report figure approved, 1 changes requested, "
                                        "0 not reviewed, 0 need review again.")
    methods = app_project.path("_build/report/_review-progress.qmd").read_text()
    assert ("Review progress of the 1 figure or table this report shows, at this build: 0 approved, 1 with changes "
            "requested, 0 not reviewed, and 0 changed since their last review and needing review again.") in methods
    assert "{{< include ../_build/report/_review-progress.qmd >}}" in (Path(__file__).parents[1] / "report/methods.qmd").read_text()
    page = client.get("/").get_data(as_text=True)
    assert re.search(r"<strong>0 of 1</strong> report figures approved;\s+1 changes requested, 0 not reviewed,\s+0 needs review again", page)


def test_every_figure_filtered_by_claim_and_status(client, app_project):
    page = client.get("/?show=all").get_data(as_text=True)
    assert 'data-figure="alpha/default#fig-shares"' in page and 'data-figure="alpha/later#fig-shares"' in page
    assert "0 approved, 0 changes requested, 0 needs review again, 2 not reviewed" in page
    assert '<option value="usa-share-2010"' in page  # the claims the figures support
    assert "2 of 2 shown" in client.get("/?show=all&claim=usa-share-2010").get_data(as_text=True)
    assert "No figure matches" in client.get("/?show=all&claim=china-ratio").get_data(as_text=True)
    assert "0 of 2 shown" in client.get("/?show=all&status=approved").get_data(as_text=True)


def test_figure_page_shows_rows_derivation_inputs_claims(client, app_project):
    page = client.get(PAGE).get_data(as_text=True)
    for text in ("Shares by year", 'id="status" class="status status-not-reviewed">not reviewed</span>',
                 "analysis.load(&#34;src-one.values&#34;)",  # the derivation of the plotted rows
                 "# --- cell 4 (draws it)",  # and of the drawing
                 "data/raw/src-one/values.csv", "src-one.values",  # inputs with checksums
                 "usa-share-2010", "reproduced",  # the claim it supports, with its verdict
                 "<code>year = 2010</code>", "Not reviewed yet."):
        assert text in page, text
    assert 'id="status-detail"' not in page  # "not reviewed", once
    assert '<option value="" selected>Choose a decision</option>' in page  # no decision preselected
    sha = app_project.read_json("_build/manifest.json")["runs"]["alpha/default"]["inputs"][0]["sha256"]
    assert sha in page
    assert "<td>USA</td><td>2010</td>" in page  # the data rows as a table
    csv = client.get(PAGE + "/data.csv")
    assert csv.status_code == 200 and "attachment" in csv.headers["Content-Disposition"]
    assert csv.data == app_project.path("_build/review/alpha/default/fig-shares/data.csv").read_bytes()
    assert client.get(PAGE + "/image").mimetype == "image/png"


def test_form_writes_exactly_what_review_add_writes(client, app_project):
    response = post(client, {"reviewer": "Ada Lovelace", "decision": "approved", "comment": "rows match"})
    assert response.status_code == 302 and response.headers["Location"].endswith(PAGE + "#recorded")
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
    page = client.get(response.headers["Location"]).get_data(as_text=True)  # the flashed message, once
    assert "status-approved" in page and 'id="recorded">Review recorded in reviews/alpha/default/fig-shares/' in page
    assert "Review recorded" not in client.get(PAGE).get_data(as_text=True)


@pytest.mark.parametrize("form, text", [
    ({"reviewer": "  ", "decision": "approved", "comment": "fine"}, "The reviewer's name is empty. Nothing was written."),
    ({"reviewer": "Ada", "decision": "changes-requested", "comment": ""},
     "A changes-requested review needs a comment saying what to change. Nothing was written."),
    ({"reviewer": "Ada", "decision": "", "comment": "x"},
     "No decision was chosen: choose approved or changes-requested. Nothing was written."),
    ({"reviewer": "Ada", "decision": "perhaps", "comment": "x"}, "is not one of approved, changes-requested."),
    ({"reviewer": "M" * 300, "decision": "approved", "comment": "x"},
     "The reviewer's name has 300 characters; at most 100 are allowed. Nothing was written."),
    ({"reviewer": "Ada", "decision": "approved", "comment": "x" * 5000},
     "The comment has 5000 characters; at most 4000 are allowed. Nothing was written."),
])
def test_bad_input_returns_to_the_form_with_its_message_and_nothing_written(client, app_project, form, text):
    response = post(client, form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and text in message(response)
    assert page.index('id="error"') < page.index('name="reviewer"')  # at the top of the form
    assert " autofocus" in page and 'document.getElementById("error").scrollIntoView' in page  # scrolled to
    assert f'value="{form["reviewer"]}"' in page  # what was typed is kept in the form
    assert files_under(app_project, "reviews") == []


def test_requests_not_from_the_apps_own_page_are_refused_and_write_nothing(app_project):
    client = make_client(app_project)
    good = {"reviewer": "Mallory", "decision": "approved", "comment": "looks fine"}
    no_token = client.post(PAGE, data={**good, "seen_sha256": form_of(client)["seen_sha256"]}, headers=OWN)
    assert no_token.status_code == 400 and "security token is missing" in message(no_token)
    other_site = post(client, good, headers={"Origin": "http://evil.example.com"})
    assert other_site.status_code == 403
    assert "This form was sent from another site (http://evil.example.com)" in message(other_site)
    other_referer = post(client, good, headers={"Referer": "http://evil.example.com/page.html"})
    assert other_referer.status_code == 403
    assert post(client, good, headers={}).status_code == 403  # neither Origin nor Referer
    no_seen = client.post(PAGE, data={**good, "csrf_token": form_of(client)["csrf_token"]}, headers=OWN)
    assert no_seen.status_code == 400 and "seen_sha256 is missing" in message(no_seen)
    stale = post(client, {**good, "seen_sha256": "0" * 64})
    assert stale.status_code == 400 and "rebuilt since this page was opened" in message(stale)
    too_large = post(client, {**good, "comment": "x" * 70_000})
    assert too_large.status_code == 413 and "larger than 64 KB" in message(too_large)
    assert client.get("/", headers={"Host": "evil.example.com"}).status_code == 400  # DNS rebinding
    served = make_client(app_project, PORT=8765)
    assert served.get("/", headers={"Host": "127.0.0.1:8765"}).status_code == 200
    assert served.get("/", headers={"Host": "localhost:9999"}).status_code == 400
    assert files_under(app_project, "reviews") == []
    assert post(client, good, headers={"Referer": "http://localhost/figure/alpha/default/fig-shares"}).status_code == 302


def test_a_link_cannot_make_the_page_say_a_review_was_recorded(client):
    page = client.get(PAGE + "?recorded=reviews/alpha/default/fig-shares/forged.yml").get_data(as_text=True)
    assert "forged" not in page and 'id="recorded"' not in page


def test_a_figure_that_no_longer_exists_is_refused(client, app_project):
    fields = form_of(client)
    index = app_project.read_json("_build/review/index.json")
    del index["figures"][FIGURE]  # a rebuild that no longer draws it
    app_project.path("_build/review/index.json").write_text(json.dumps(index))
    response = client.post(PAGE, data={"reviewer": "Ada", "decision": "approved", "comment": "x", **fields}, headers=OWN)
    assert response.status_code == 404 and "The last build produced no figure alpha/default#fig-shares" in message(response)
    assert client.get(PAGE).status_code == 404
    assert files_under(app_project, "reviews") == []


def test_a_damaged_figure_index_is_shown_as_a_message_not_a_500(client, app_project):
    path = app_project.path("_build/review/index.json")
    path.write_text(path.read_text()[:200])
    for url in ("/", PAGE):
        response = client.get(url)
        page = response.get_data(as_text=True)
        assert response.status_code == 503 and "_build/review/index.json (the figure index of the last build) is damaged" in page
        assert "Run `python -m analysis build` to write it again" in page


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


REBIND_HOST = "rebind.example"  # resolved to 127.0.0.1 by the browser: a DNS-rebinding page
EVIL_PAGE = "http://evil.example.com/"  # another site the reviewer has open (served by the test itself)


def test_review_in_the_browser(app_project, served):
    _chromium_or_skip()
    from playwright.sync_api import expect, sync_playwright

    port = served.rsplit(":", 1)[1]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM),
                                     args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {REBIND_HOST} 127.0.0.1"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(30_000)

        # the index's first screen: the report's figures, grouped by claim, with the progress bar
        page.goto(served + "/")
        expect(page.locator("#progress-bar")).to_be_in_viewport()
        expect(page.locator("#progress-text")).to_contain_text("0 of 1 report figures approved")
        expect(page.locator("table.report-figures tbody tr")).to_have_count(1)
        expect(page.locator(f'table.report-figures tr[data-figure="{FIGURE}"]')).to_be_in_viewport()
        expect(page.locator("h2.claim-group")).to_contain_text("usa-share-2010")
        page.click("#show-all")  # variants on request
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
        expect(page.locator("#decision")).to_have_value("")  # no decision preselected

        # bad input: back at the form, the message at its top and in view, nothing written
        page.fill("#reviewer", "Grace Hopper")
        page.fill("#comment", "rows and axes match the data")
        page.click("#submit")
        expect(page.locator("#error")).to_have_text(
            "No decision was chosen: choose approved or changes-requested. Nothing was written.")
        expect(page.locator("#error")).to_be_in_viewport()
        expect(page.locator("#decision")).to_be_focused()  # the field to fix
        page.select_option("#decision", "changes-requested")
        page.fill("#comment", "")
        page.click("#submit")
        expect(page.locator("#error")).to_contain_text("needs a comment saying what to change. Nothing was written.")
        expect(page.locator("#error")).to_be_in_viewport()
        expect(page.locator("#reviewer")).to_have_value("Grace Hopper")
        assert files_under(app_project, "reviews") == []

        # a good review: the status changes, the message says where the record is
        page.select_option("#decision", "approved")
        page.fill("#comment", "rows and axes match the data")
        page.click("#submit")
        expect(page.locator("#status")).to_have_text("approved")
        expect(page.locator("#recorded")).to_contain_text("reviews/alpha/default/fig-shares/")
        expect(page.locator("#history tbody tr")).to_have_count(1)
        [record] = app_project.path("reviews/alpha/default/fig-shares").glob("*.yml")
        assert yaml.safe_load(record.read_text())["reviewer"] == "Grace Hopper"
        page.goto(served + "/")
        expect(page.locator("#progress-text")).to_contain_text("1 of 1 report figures approved")

        # another site the reviewer has open posts a review to the app: refused, nothing written
        attack = (f'<form method="post" action="{served}{PAGE}"><input name="reviewer" value="Mallory">'
                  '<input name="decision" value="changes-requested"><input name="comment" value="pwned">'
                  '<input name="seen_sha256" value="' + app_project.read_json("_build/review/index.json")["figures"][FIGURE]["sha256"]
                  + '"></form><script>document.forms[0].submit()</script>')
        page.route(EVIL_PAGE, lambda route: route.fulfill(status=200, content_type="text/html", body=attack))
        before = files_under(app_project, "reviews")
        with page.expect_response(lambda r: r.request.method == "POST") as posted:
            page.goto(EVIL_PAGE)
        assert posted.value.status == 403
        expect(page.locator("#error")).to_contain_text("sent from another site (http://evil.example.com)")
        assert files_under(app_project, "reviews") == before

        # a page reached through another host name that resolves to 127.0.0.1 (DNS rebinding): 400
        response = page.goto(f"http://{REBIND_HOST}:{port}/")
        assert response.status == 400 and "not trusted" in page.content()

        # the data change: rebuilt, the figure needs review again and the page says why
        set_value(app_project, "data/raw/src-one/values.csv", "CHN", 2020, 0.27)
        app_project.cli("build", "alpha/default", "--no-render", check=True)
        page.goto(served + PAGE)  # no restart: the app reads the new build
        expect(page.locator("#status")).to_have_text("needs review again")
        expect(page.locator("code.dataset-changed")).to_have_text("src-one.values")
        expect(page.locator("pre.dataset-rows")).to_contain_text("~ changed  CHN | 2020 | share: value: 0.25 -> 0.27")
        expect(page.locator("#data-change")).to_contain_text("CHN | 2020 | share")
        expect(page.locator("#data-change")).to_contain_text("value: 0.25 -> 0.27")

        # a figure that no longer exists: the form answers with the error, nothing written
        index_path = app_project.path("_build/review/index.json")
        index = app_project.read_json("_build/review/index.json")
        del index["figures"][FIGURE]
        index_path.write_text(json.dumps(index))
        before = files_under(app_project, "reviews")
        page.fill("#reviewer", "Ada")
        page.select_option("#decision", "approved")
        page.fill("#comment", "fine")
        page.click("#submit")
        expect(page.locator("#message")).to_contain_text("produced no figure alpha/default#fig-shares")
        assert files_under(app_project, "reviews") == before
        browser.close()
