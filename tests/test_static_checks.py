"""Static checks of the report sources (no Quarto): the generated sources of the mini project pass, and
each kind of break (embed label, embed path, include, cross-reference, link, citation, bibliography,
caption, provenance, duplicate label, _quarto.yml) fails naming the file and line."""

from __future__ import annotations

import base64
import json
import re
import shutil

import pytest
from report_helpers import built_report  # noqa: F401  (a session fixture)
from report_helpers import FIGURE, generated, report_mini

from conftest import TempProject


@pytest.fixture(scope="module")
def built(built_report) -> TempProject:
    """The mini project with report sources, built once per session (shared with the other report tests)."""
    return built_report


@pytest.fixture
def copy(built, tmp_path) -> TempProject:
    """A copy of the built project (with _build/) to break; the checks only read files."""
    dest = tmp_path / "copy"
    shutil.copytree(built.root, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return TempProject(dest)


def append(project: TempProject, rel: str, text: str) -> int:
    """Append ``text`` to a file; return the 1-based line number of its first line."""
    path = project.path(rel)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines) + "\n\n" + text + "\n")
    return len(lines) + 2


def problems(project: TempProject) -> tuple[int, str]:
    """check-report's exit status and output, without the lines saying that an edited generated file differs
    from what the build wrote (true of every file these tests edit; tests/faults checks those lines)."""
    proc = project.cli("check-report")
    out = proc.stdout + proc.stderr
    return proc.returncode, "\n".join(line for line in out.splitlines() if "differs from what the last build wrote" not in line)


def test_generated_sources_pass_every_check_and_the_shape_is_printed(built):
    proc = built.cli("check-report")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Report sources OK" in proc.stdout
    assert "1 embed(s)" in proc.stdout
    shape = next(line for line in proc.stdout.splitlines() if line.startswith("Shape of the main report"))
    assert re.search(r"about \d+ pages \(table of contents about [\d.]+\), \d+ words, \d+ tables \(\d+ rows; "
                     r"widest 4 columns at _build/report/_\w+\.qmd:\d+\), 1 figures, at most 1 dataset credited one by one "
                     r"under a figure \(alpha/default#fig-shares\); most datasets under one figure 1", shape)


def test_the_checks_see_every_generated_file_and_the_embed(built):
    from analysis.checks import check_report
    from analysis.paths import Layout
    from analysis.report import GENERATED_FILES

    result = check_report(Layout(built.root))
    assert result.ok, result.problems
    for name in GENERATED_FILES:
        if name.endswith(".qmd"):
            assert f"_build/report/{name}" in result.files
    assert {"report/index.qmd", "report/methods.qmd", "report/appendix.qmd"} <= set(result.files)
    assert result.embeds == 1 and result.citations >= 1 and result.references >= 1  # the catalog does not cite
    shape = result.shape
    assert shape.figures == 1 and shape.most_credited == 1 and shape.widest_table == 4
    assert 0 < shape.pages < 20 and shape.words > 500 and shape.toc_entries > 0


def test_embed_with_a_label_the_notebook_lacks_fails_with_file_and_line(copy):
    line = append(copy, "report/index.qmd", "{{< embed ../_build/notebooks/alpha/default.ipynb#fig-missing >}}")
    code, out = problems(copy)
    assert code == 1
    assert f"report/index.qmd:{line}: embed ../_build/notebooks/alpha/default.ipynb#fig-missing" in out
    assert "has no cell labelled fig-missing" in out and "fig-shares" in out  # lists the labels it has


def test_broken_embed_label_in_a_generated_file_names_that_file(copy):
    path = copy.path("_build/report/_claims.qmd")
    lines = path.read_text().splitlines()
    # the build writes the figure out itself; its marker names the notebook cell, checked as an embed
    n = next(i for i, line in enumerate(lines, 1) if line.startswith("<!-- output:") and "#fig-shares" in line)
    lines[n - 1] = lines[n - 1].replace("#fig-shares", "#fig-shars")
    path.write_text("\n".join(lines) + "\n")
    code, out = problems(copy)
    assert code == 1
    assert f"_build/report/_claims.qmd:{n}:" in out and "fig-shars" in out


def test_embed_of_a_source_notebook_or_unknown_run_fails(copy):
    line = append(copy, "report/index.qmd", "{{< embed ../notebooks/alpha.ipynb#fig-shares >}}\n\n"
                  "{{< embed ../_build/notebooks/alpha/nosuchset.ipynb#fig-other >}}")
    code, out = problems(copy)
    assert code == 1
    assert f"report/index.qmd:{line}:" in out and "not an executed notebook the build produces" in out
    assert f"report/index.qmd:{line + 2}:" in out


def test_missing_include_fails(copy):
    line = append(copy, "report/index.qmd", "{{< include _nowhere.qmd >}}")
    code, out = problems(copy)
    assert code == 1
    assert f"report/index.qmd:{line}: included file _nowhere.qmd does not exist" in out


def test_include_of_a_generated_file_that_was_never_built_says_to_build(copy):
    copy.path("_build/report/_changes.qmd").unlink()
    code, out = problems(copy)
    assert code == 1
    assert "report/index.qmd:" in out and "_changes.qmd does not exist" in out and "run the build" in out


def test_nested_include_in_a_generated_file_fails(copy):
    line = append(copy, "_build/report/_summary.qmd", "{{< include methods.qmd >}}")
    code, out = problems(copy)
    assert code == 1
    assert f"_build/report/_summary.qmd:{line}:" in out and "nested" in out


def test_cross_reference_without_target_fails(copy):
    line = append(copy, "report/methods.qmd", "See @fig-nothing and @sec-nowhere, but @fig-shares is fine.")
    code, out = problems(copy)
    assert code == 1
    assert f"report/methods.qmd:{line}: cross-reference @fig-nothing has no target" in out
    assert f"report/methods.qmd:{line}: cross-reference @sec-nowhere has no target" in out
    assert "@fig-shares has no target" not in out


def test_internal_link_without_target_fails(copy):
    line = append(copy, "report/methods.qmd", "See [the missing part](#sec-missing-part).")
    code, out = problems(copy)
    assert code == 1
    assert f"report/methods.qmd:{line}: link to #sec-missing-part has no target" in out


def test_citation_not_in_the_bibliography_fails(copy):
    line = append(copy, "report/methods.qmd", "As shown elsewhere [@no-such-source; @src-one].")
    code, out = problems(copy)
    assert code == 1
    assert f"report/methods.qmd:{line}: citation @no-such-source is not in report/references.bib" in out
    assert "@src-one is not" not in out


def test_missing_bibliography_fails_at_the_front_matter(copy):
    copy.path("report/references.bib").unlink()
    code, out = problems(copy)
    assert code == 1
    assert "report/index.qmd:" in out and "bibliography references.bib does not exist" in out
    assert "citation @src-one is not in report/references.bib" in out


def test_code_blocks_comments_escapes_and_emails_are_not_checked(copy):
    append(copy, "report/methods.qmd", "```\n{{< include nowhere.qmd >}} @fig-nothing [@nokey]\n```\n\n"
           "<!-- @fig-commented-out -->\n\nWrite to someone@example.org; \\@not-a-citation; `@in-code`.")
    code, out = problems(copy)
    assert code == 0, out


def test_figure_without_caption_fails(copy):
    path = copy.path("_build/notebooks/alpha/default.ipynb")
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if "#| fig-cap:" in src:
            cell["source"] = "\n".join(line for line in src.splitlines() if not line.startswith("#| fig-cap:"))
    path.write_text(json.dumps(nb))
    code, out = problems(copy)
    assert code == 1
    assert "_build/report/_claims.qmd:" in out and "has no caption" in out and "#| fig-cap:" in out


def test_figure_without_provenance_entry_fails(copy):
    path = copy.path("_build/report/_claims.qmd")
    text = path.read_text()
    start = text.index("::: {.figure-provenance")
    end = text.index(":::", start + 5) + 3
    path.write_text(text[:start] + text[end:])
    code, out = problems(copy)
    assert code == 1
    assert f"embedded figure {FIGURE} has no data credit and provenance entry" in out


def test_provenance_entry_without_data_credit_fails(copy):
    path = copy.path("_build/report/_claims.qmd")
    text = path.read_text()
    start = text.index("::: {.figure-provenance")
    data_line = text.index("**Data:**", start)
    path.write_text(text[:data_line] + text[text.index("\n", data_line) + 1:])
    code, out = problems(copy)
    assert code == 1
    assert f"embedded figure {FIGURE}: its provenance entry has no Data: line" in out


def test_a_label_embedded_twice_fails(copy):
    line = append(copy, "report/index.qmd", "{{< embed ../_build/notebooks/alpha/later.ipynb#fig-shares >}}")
    code, out = problems(copy)
    assert code == 1
    assert f"report/index.qmd:{line}: label fig-shares is embedded twice" in out


def test_duplicate_section_id_fails(copy):
    line = append(copy, "report/methods.qmd", "## Again {#sec-methods}")
    code, out = problems(copy)
    assert code == 1
    assert f"report/methods.qmd:{line}: id #sec-methods is defined twice" in out


def test_quarto_yml_problems(copy):
    path = copy.path("_quarto.yml")
    text = path.read_text()
    path.write_text(text.replace("- report/index.qmd", "- report/index.qmd\n    - report/absent.qmd"))
    code, out = problems(copy)
    assert code == 1
    assert "_quarto.yml:" in out and "render file report/absent.qmd does not exist" in out
    path.write_text("project:\n  render: [report/index.qmd\nformat: {")
    code, out = problems(copy)
    assert code == 1 and "_quarto.yml:" in out and "is not valid YAML" in out


def test_missing_generated_metadata_says_to_build(copy):
    copy.path("_build/report/_metadata.yml").unlink()
    code, out = problems(copy)
    assert code == 1
    assert "metadata file _build/report/_metadata.yml does not exist" in out and "run the build first" in out


def test_every_problem_is_listed_not_only_the_first(copy):
    append(copy, "report/methods.qmd", "@fig-a1 and [@nokey]\n\n{{< include _gone.qmd >}}")
    code, out = problems(copy)
    assert code == 1
    assert "@fig-a1" in out and "@nokey" in out and "_gone.qmd" in out
    assert "3 problem(s)" in out


def test_unbuilt_project_fails_clearly(tmp_path):
    project = report_mini(tmp_path / "unbuilt")
    code, out = problems(project)
    assert code == 1
    assert "run the build" in out
    assert not project.path("_build/report").exists()


def test_generated_file_names_match_what_index_includes():
    """Every generated .qmd is included by report/index.qmd, and index.qmd includes nothing else generated."""
    import re

    from analysis.report import GENERATED_FILES

    from conftest import REPO

    from analysis.report import APPENDIX_FILES, REPORT_FILES

    def included(name):
        return set(re.findall(r"\{\{< include \.\./_build/report/(\S+) >\}\}", (REPO / "report" / name).read_text()))

    # methods.qmd (hand-written, included by index.qmd) includes the review progress line
    report = included("index.qmd") | included("methods.qmd")
    assert report == set(REPORT_FILES) and included("appendix.qmd") == set(APPENDIX_FILES)
    assert set(REPORT_FILES) | set(APPENDIX_FILES) == {n for n in GENERATED_FILES if n.endswith(".qmd")}


def test_generated_text_escapes_markdown(built):
    claims = generated(built, "_claims.qmd")
    assert "U.S. R&D was \\$700 billion" in claims  # a dollar sign must not open TeX math


# --- what broke the last real render, caught before Quarto runs ------------------------------------
def test_a_straight_double_quote_in_an_embedded_notebooks_first_heading_fails(copy):
    path = copy.path("_build/notebooks/alpha/default.ipynb")
    nb = json.loads(path.read_text())
    nb["cells"].insert(0, {"cell_type": "markdown", "metadata": {}, "source": ['# The "global" share\n', "text"]})
    path.write_text(json.dumps(nb))
    # the generated sources write the figure out (no Quarto embed, so no notebook title): not a problem there
    assert "the first heading of" not in problems(copy)[1]
    line = append(copy, "report/index.qmd", "{{< embed ../_build/notebooks/alpha/default.ipynb#fig-shares >}}")
    code, out = problems(copy)
    assert code == 1
    assert f"report/index.qmd:{line}: the first heading of notebooks/alpha.ipynb" in out
    assert 'The "global" share' in out and "curly quotes" in out


def test_raw_div_markers_and_unbalanced_divs_fail(copy):
    line = append(copy, "_build/report/_claims.qmd", "Some text ::: with a raw marker.\n\n::: {.callout-note}\nopen")
    code, out = problems(copy)
    assert code == 1
    assert f"_build/report/_claims.qmd:{line}: raw ::: in the text" in out
    assert f"_build/report/_claims.qmd:{line + 2}: this div is never closed" in out
    assert problems(copy)[1].count("problem") >= 1
    append(copy, "report/methods.qmd", "`a ::: in code` and <!-- ::: in a comment --> are fine.")
    assert "report/methods.qmd" not in problems(copy)[1]


def test_absolute_paths_of_the_build_machine_fail(copy):
    line = append(copy, "_build/report/_claims.qmd", f"Read from {copy.root}/data/raw/x.csv and /home/someone/y.")
    code, out = problems(copy)
    assert code == 1
    assert f"_build/report/_claims.qmd:{line}: absolute path of the build machine" in out
    append(copy, "_build/report/_summary.qmd", "See <https://example.org/home/page> and data/raw/x.csv.")
    assert "_summary.qmd" not in problems(copy)[1]


def test_tables_too_wide_or_with_long_code_spans_fail_in_the_main_report_only(copy):
    wide = "| a | b | c | d | e | f | g |\n|---|---|---|---|---|---|---|\n| 1 | 2 | 3 | 4 | 5 | 6 | 7 |"
    long_code = "| a | b |\n|---|---|\n| `" + "x" * 41 + "` | 2 |"
    line = append(copy, "_build/report/_ledger.qmd", wide + "\n\n" + long_code)
    append(copy, "_build/report/_runs.qmd", wide + "\n\n" + long_code)  # the appendix may be wider
    code, out = problems(copy)
    assert code == 1
    assert f"_build/report/_ledger.qmd:{line}: a table of 7 columns in the main report (at most 6)" in out
    assert f"_build/report/_ledger.qmd:{line + 6}: a code span of 41 characters in a table of the main report" in out
    assert "_runs.qmd" not in out
    shape = next(x for x in out.splitlines() if x.startswith("Shape of"))
    assert f"widest 7 columns at _build/report/_ledger.qmd:{line}" in shape


def test_more_than_eight_datasets_credited_one_by_one_fail(copy):
    path = copy.path("_build/report/_claims.qmd")
    text = path.read_text()
    credit = "; ".join(f"Publisher {i} (2024), Table {i} [@src-one]" for i in range(9))
    path.write_text(re.sub(r"\*\*Data:\*\* [^\n]*?\. \*\*Provenance", f"**Data:** {credit}. **Provenance", text, count=1))
    code, out = problems(copy)
    assert code == 1
    assert f"figure {FIGURE} credits 9 datasets one by one (at most 8)" in out
    assert "at most 9 datasets credited one by one under a figure" in out


def test_figures_wider_than_the_text_width_at_their_dpi_fail(copy):
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def png(width_in, dpi):
        fig = plt.figure(figsize=(width_in, 2), dpi=dpi)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi)
        plt.close(fig)
        return base64.b64encode(buffer.getvalue()).decode()

    path = copy.path("_build/notebooks/alpha/default.ipynb")
    nb = json.loads(path.read_text())
    cell = next(c for c in nb["cells"] if "#| label: fig-shares" in "".join(c["source"]))
    output = next(o for o in cell["outputs"] if "image/png" in o.get("data", {}))
    output["data"]["image/png"] = png(11, 110)
    path.write_text(json.dumps(nb))
    code, out = problems(copy)
    assert code == 1 and f"figure {FIGURE} is 1210 px wide at 110 dpi (11.0 in); at most 6.5 in and 800 px" in out
    output["data"]["image/png"] = png(6.5, 120)
    path.write_text(json.dumps(nb))
    assert problems(copy)[0] == 0


def test_links_to_files_must_be_outputs_of_the_render(copy):
    line = append(copy, "report/methods.qmd", "See [the packet](../_build/review/alpha/default/fig-shares/README.html) "
                  "and [the appendix](claims-appendix-v0.1.0.pdf).")
    code, out = problems(copy)
    assert code == 1
    assert f"report/methods.qmd:{line}: link to ../_build/review/alpha/default/fig-shares/README.html, which no rendered" in out
    assert "claims-appendix-v0.1.0.pdf," not in out.split("which no rendered")[1].split("\n")[0].split("(they")[0]


def test_output_file_shared_by_every_document_fails(copy):
    path = copy.path("_quarto.yml")
    path.write_text(path.read_text() + "\nmetadata-files:\n  - _build/report/_metadata.yml\n")
    code, out = problems(copy)
    assert code == 1 and "sets output-file for every document of the project" in out


def test_page_estimate_is_calibrated_on_the_last_measured_render():
    """The page model reproduces, within 10%, the pages measured for two real renders (shapes recorded in
    docs/report.md when they were generated): 706 for the sources of commit 3820857, 72 for those of
    issue 23's render."""
    from analysis.checks import LINES_PER_PAGE, TOC_ENTRIES_PER_PAGE, Shape

    for shape, pages, toc in ((OLD_SHAPE, 706, 18), (ISSUE_23_SHAPE, 72, 1)):
        measured = Shape(toc_entries=shape["toc_entries"], lines=shape["lines"])
        assert abs(measured.pages - pages) <= pages / 10, (measured.pages, pages, LINES_PER_PAGE, TOC_ENTRIES_PER_PAGE)
        assert abs(measured.toc_pages - toc) <= 2


# the shapes check_report measured on report sources of which a real render was measured (docs/report.md)
OLD_SHAPE = {"toc_entries": 399, "lines": 22414.2}  # commit 3820857: 706 pages
ISSUE_23_SHAPE = {"toc_entries": 24, "lines": 2607.6}  # issue 23 (before merging issue 24): 72 pages


def test_a_notebook_table_too_wide_for_the_page_fails_unless_analysis_tables_fitted_it(copy):
    import pandas as pd

    from analysis.tables import markdown

    path = copy.path("_build/notebooks/alpha/default.ipynb")
    nb = json.loads(path.read_text())
    cell = next(c for c in nb["cells"] if "#| label: fig-shares" in "".join(c["source"]))
    table = pd.DataFrame({f"column_{i}_with_a_long_name": ["a value that is long enough"] for i in range(6)})
    output = {"output_type": "display_data", "metadata": {}, "data": {"text/markdown": table.to_markdown(index=False),
                                                                      "text/plain": "a table"}}
    cell["outputs"].append(output)
    path.write_text(json.dumps(nb))
    code, out = problems(copy)
    assert code == 1 and "table alpha/default#fig-shares is 162 characters wide in 6 columns" in out
    assert "analysis.tables.show" in out
    output["data"]["text/markdown"] = markdown(table)  # what show() displays: smaller type, fitted columns
    path.write_text(json.dumps(nb))
    code, out = problems(copy)
    assert "characters wide" not in out, out
