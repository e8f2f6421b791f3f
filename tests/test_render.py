"""The real render: the session's one real-project build (tests/conftest.py: real_build) rendered once
with Quarto, in strict mode, both documents in both formats; then what a reader gets is checked.

- Quarto printed no warning (strict mode fails the build on one);
- no page of the report or the appendix PDF has text past its margins or words printed over each
  other (``pdftotext -bbox``: analysis/layout.py); the report has at most 80 pages and its first page
  holds the figure of every claim;
- in the HTML (headless chromium through Playwright, 1400 px wide), no table is wider than its column
  and every image loaded;
- every claim id and verdict is in both formats.

Runs wherever Quarto is found (``$QUARTO`` or PATH); without it, it skips and says why. `.ci/run`
unpacks the Quarto of ../shared/tools/quarto/ and sets CLAIMCHECK_REQUIRE_RENDER=1, so in CI a missing
Quarto, chromium or pdftotext fails instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from analysis import layout
from analysis.render import find_quarto
from conftest import TempProject

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VERSION = "0.1.0"
OUTPUTS = {(doc, ext): f"claims-{doc}-v{VERSION}.{ext}" for doc in ("report", "appendix") for ext in ("html", "pdf")}
MAX_PAGES = 80


def _missing(what: str) -> None:
    """Skip, saying what is missing; fail instead where the render is required (CI)."""
    if os.environ.get("CLAIMCHECK_REQUIRE_RENDER") == "1":
        pytest.fail(f"{what} (CLAIMCHECK_REQUIRE_RENDER=1: the render test must run)")
    pytest.skip(what)


@pytest.fixture(scope="session")
def rendered(real_build, tmp_path_factory) -> tuple[TempProject, subprocess.CompletedProcess]:
    """A copy of the session's real-project build (its outputs included, so nothing runs again), rendered
    once in strict mode (every Quarto warning fails it). The copy leaves the build's own manifest as the
    tests of test_real_project.py read it, whichever file runs first."""
    quarto = find_quarto()
    if quarto is None:
        _missing("quarto not found on PATH or in $QUARTO: the render test needs the Quarto program "
                 "(conda-forge `quarto`, quarto.org, or `bash ../shared/tools/quarto/install.sh`); "
                 "every check before the render runs without it")
    built, check = real_build
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]
    project = TempProject(tmp_path_factory.mktemp("rendered") / "project")
    shutil.copytree(built.root, project.root, symlinks=True)
    proc = project.cli("build", env={"QUARTO": str(quarto), "CLAIMCHECK_STRICT_RENDER": "1"}, timeout=3600)
    return project, proc


def output(project: TempProject, doc: str, ext: str) -> Path:
    return project.path(f"_site/report/{OUTPUTS[(doc, ext)]}")


def test_the_real_report_renders_in_both_formats_without_a_warning(rendered):
    project, proc = rendered
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "Quarto (" not in proc.stdout and "warning" not in proc.stdout.lower(), proc.stdout[-4000:]
    for name in OUTPUTS.values():
        assert project.path(f"_site/report/{name}").is_file(), name
        assert f"wrote _site/report/{name}" in proc.stdout


@pytest.mark.parametrize("doc", ["report", "appendix"])
def test_no_pdf_page_has_text_past_its_margins_or_words_over_each_other(rendered, doc):
    if layout.pdftotext() is None:
        _missing("pdftotext not found (Debian package poppler-utils; .ci/run installs it)")
    project, _ = rendered
    pages, faults = layout.faults(output(project, doc, "pdf"))
    by_page: dict[int, list[str]] = {}
    for fault in faults:
        by_page.setdefault(fault.page, []).append(f"{fault.kind}: {fault.text}")
    assert not by_page, f"{doc} PDF ({pages} pages): {len(by_page)} page(s) with text past a margin or over " \
        "other text:\n" + "\n".join(f"page {p}: {'; '.join(f[:3])}" for p, f in sorted(by_page.items())[:20])


def test_the_report_pdf_has_at_most_80_pages_and_page_one_holds_the_figure_of_every_claim(rendered):
    project, _ = rendered
    pdf = output(project, "report", "pdf")
    sizes, words = layout.words(pdf)
    assert len(sizes) <= MAX_PAGES, f"the report PDF has {len(sizes)} pages (at most {MAX_PAGES})"
    if shutil.which("pdfimages") is None:
        _missing("pdfimages not found (Debian package poppler-utils)")
    listing = subprocess.run(["pdfimages", "-list", "-f", "1", "-l", "1", str(pdf)], capture_output=True, text=True,
                             check=True).stdout.splitlines()[2:]
    images = [line.split() for line in listing if line.strip()]
    assert any(int(cols[3]) >= 700 for cols in images), f"no full-width figure on page 1: {listing}"
    first = " ".join(w.text for w in words if w.page == 1)
    assert "Every registered claim, by document" in first  # its caption
    assert "Summary" in first and "Contents" not in first


def test_html_tables_fit_their_column_and_every_image_loads(rendered):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package (pip install -e '.[test]')")
    if not CHROMIUM.is_file():
        _missing(f"{CHROMIUM} (apt-get install chromium; .ci/run installs it)")
    project, _ = rendered
    problems = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(120_000)
        for doc in ("report", "appendix"):
            page.goto(output(project, doc, "html").as_uri(), wait_until="load")
            found = page.evaluate("""() => {
                const wide = [];
                for (const table of document.querySelectorAll('main table')) {
                    let box = table.parentElement;
                    while (box && getComputedStyle(box).display.startsWith('inline')) box = box.parentElement;
                    const limit = box.getBoundingClientRect().width;
                    const width = table.getBoundingClientRect().width;
                    if (width > limit + 1) wide.push(`${Math.round(width)} px in a ${Math.round(limit)} px column: `
                        + (table.closest('[id]') || {id: '?'}).id + ': ' + table.innerText.slice(0, 80));
                }
                const broken = [...document.images].filter(img => !(img.complete && img.naturalWidth > 0))
                    .map(img => (img.getAttribute('src') || '').slice(0, 80));
                return {wide, broken, tables: document.querySelectorAll('main table').length,
                        images: document.images.length};
            }""")
            assert found["tables"] > 0 and found["images"] > 0, (doc, found)
            if found["wide"] or found["broken"]:
                problems[doc] = found
        browser.close()
    assert not problems, problems


def test_every_claim_id_and_verdict_is_in_both_formats(rendered):
    project, _ = rendered
    ledger = project.read_json("_build/ledger.json")
    raw_html = output(project, "report", "html").read_text(encoding="utf-8")
    html = re.sub(r"<[^>]+>", " ", raw_html)
    pdf_text = subprocess.run(["pdftotext", str(output(project, "report", "pdf")), "-"], capture_output=True,
                              text=True, check=True).stdout if layout.pdftotext() else _missing("pdftotext not found")
    # PDF text breaks lines anywhere, and pdftotext drops the hyphen of a word broken after one
    squeeze = lambda text: re.sub(r"[\s\u200b-]+", "", text)  # noqa: E731
    for row in ledger:
        for needle in (row["claim"], row["verdict"]):
            assert needle in html, f"{needle} missing from the HTML"
            assert squeeze(needle) in squeeze(pdf_text), f"{needle} missing from the PDF"
    for text in (html, pdf_text):
        assert VERSION in text and ":::" not in text and str(project.root) not in text
    assert f"claims-appendix-v{VERSION}.html" in raw_html
    assert re.search(rf'href="claims-report-v{VERSION}\.pdf"[^>]*>\s*<i[^>]*></i>\s*PDF', raw_html), \
        "the HTML's link to the PDF is not labelled PDF"
