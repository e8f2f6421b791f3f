"""Static checks of the report sources: everything that can be verified without Quarto.

Starting from ``_quarto.yml``, every document in its ``render`` list is read with the files it includes
(includes are textual, so paths in included files resolve against the including document's folder).
Checked:

* ``_quarto.yml`` parses; its ``render`` files and ``metadata-files`` exist;
* every ``{{< include >}}`` file exists; generated files (and any file outside the document's folder)
  do not include further files;
* every ``{{< embed PATH#LABEL >}}`` (and every notebook output the build writes into a generated file
  itself, between ``<!-- output: PATH#LABEL -->`` and ``<!-- end of output -->``) points at an
  executed notebook the build produces
  (``_build/notebooks/<notebook>/<set>.ipynb`` for a run in ``project.yml``) and at a code cell with that
  ``#| label:``, which has output and a caption (``#| fig-cap:`` / ``#| tbl-cap:``); a label is embedded
  only once in the whole report;
* every embedded figure has a data credit and a provenance entry (a ``figure-provenance`` div naming
  its figure id, with ``Data:`` and ``Provenance:`` lines) in the generated sources;
* every ``@fig-``/``@tbl-``/``@sec-`` cross-reference and every ``[text](#id)`` link has a target (an
  embedded cell label or an ``{#id}`` attribute), and no id is defined twice;
* every ``[@key]`` citation is an entry of the bibliography (``report/references.bib``), which exists;
* every link to a file (``[text](name.html)``) names an output of a rendered document;

and what broke a real render (Quarto 1.10.18, ``../shared/render/README.md``) before Quarto ever runs:

* an embedded notebook whose first heading has a straight double quote (Quarto writes it unescaped into
  ``notebook-title="..."`` and the embed prints as raw text);
* a raw ``:::`` that is not a div fence, and div fences that do not balance;
* any absolute path of the build machine in the generated sources or in the embedded cells' outputs;
* in an embedded notebook table (a Markdown output): more characters across than fit the page, unless
  ``analysis.tables.show`` fitted it (it then carries its own type size);
* in the main report (the first document of ``project: render:``): a table wider than
  :data:`MAX_COLUMNS` columns or with a code span longer than :data:`MAX_CODE_IN_TABLE` characters,
  more than :data:`MAX_CREDITED` datasets credited one by one under a figure, and a figure wider than
  the text width (:data:`TEXT_WIDTH_IN` inches) at its dpi or than :data:`HTML_MAX_PX` pixels.

The result also gives the shape of the main report as printed (:class:`Shape`): words, tables, the
widest table, the most datasets credited under one figure, and an estimate of its PDF pages.

Fenced code blocks are skipped; HTML comments are skipped for references and citations.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .paths import Layout

SHORTCODE = re.compile(r"(?<!\{)\{\{<\s*([\w-]+)\s*(.*?)\s*>\}\}(?!\})")
ID_ATTR = re.compile(r"\{#([A-Za-z][\w:.\-]*)[\s}]")
REF = re.compile(r"(?<![\w\\@])@([A-Za-z0-9_](?:\w|[:.#$%&\-+?~/](?=\w))*)")
LINK = re.compile(r"\]\(#([^)\s]+)\)")
FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
CROSSREF_PREFIXES = ("fig-", "tbl-", "sec-", "eq-", "lst-")
PROVENANCE_DIV = re.compile(r'^:::+\s*\{\.figure-provenance\s+data-figure="([^"]+)"\s*\}\s*$')
DIV_OPEN = re.compile(r"^:{3,}\s*(\{.*\}|[A-Za-z][\w-]*)\s*$")
DIV_CLOSE = re.compile(r"^:{3,}\s*$")
HTML_ONLY = re.compile(r'^:{3,}\s*\{[^}]*\.content-visible\b[^}]*when-format="html"')
# a notebook output the build wrote into a generated source itself (analysis.report): checked as an embed
OUTPUT_START = re.compile(r"^<!--\s*output:\s*(\S+#\S+)\s*-->\s*$")
OUTPUT_END = re.compile(r"^<!--\s*end of output\s*-->\s*$")
TABLE_SEPARATOR = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
FILE_LINK = re.compile(r"\]\(([^)#:\s]+\.(?:html|pdf))\)")
#: absolute paths of a machine: home, temporary and project folders (Unix, macOS, Windows)
MACHINE_PATH = re.compile(r"(?<![\w.:/])(/(?:home|Users|tmp|root|work|mnt|var|opt|private)/[\w.\-]+|[A-Za-z]:\\\\?[\w.\-]+\\)")

# Limits of the main report (issue 11): readable in print, and at most MAX_PAGES US-letter pages.
MAX_COLUMNS = 6
MAX_CODE_IN_TABLE = 40
MAX_CREDITED = 8
from .figures import TEXT_WIDTH_IN  # noqa: E402  (US letter with 1 in margins, _quarto.yml)
HTML_MAX_PX = 800  # wider images are scaled down to the HTML text column
MAX_PAGES = 80
MAX_TOC_PAGES = 2


@dataclass(frozen=True)
class Problem:
    """One problem in a report source: file (relative to the project root), line (1-based) and message."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


# The page model, calibrated on two measured Typst renders (docs/report.md): the sources of commit
# 3820857 (706 US-letter pages, ../shared/render/README.md) and those of issue 23's real render (72
# pages): printed lines of CHARS_PER_LINE characters, LINES_PER_PAGE to a page; a heading takes
# HEADING_LINES, a figure FIGURE_LINES, a table row as many lines as its fullest cell wraps to in its
# column; the table of contents holds TOC_ENTRIES_PER_PAGE headings (of the levels the PDF's toc-depth
# shows) a page. 36 lines a page fits the prose of both within 10% (33, fitted to the first alone, was
# pulled down by its long runs table and overestimated the second by 14%).
CHARS_PER_LINE = 100
LINES_PER_PAGE = 36
HEADING_LINES = 3
FIGURE_LINES = 22
TOC_ENTRIES_PER_PAGE = 22


@dataclass
class Shape:
    """The main report as printed (HTML-only blocks left out): what check-report prints."""

    words: int = 0
    tables: int = 0
    table_rows: int = 0
    widest_table: int = 0
    widest_table_at: str = ""
    figures: int = 0
    most_credited: int = 0
    most_credited_figure: str = ""
    most_datasets: int = 0  # including figures credited as a group ("37 datasets from 24 sources")
    most_datasets_figure: str = ""
    grouped_credits: int = 0
    headings: int = 0
    toc_entries: int = 0
    lines: float = 0.0
    toc_depth: int = 3

    @property
    def toc_pages(self) -> float:
        return self.toc_entries / TOC_ENTRIES_PER_PAGE

    @property
    def pages(self) -> int:
        """Estimated PDF pages: the table of contents plus the body."""
        import math

        return math.ceil(self.toc_pages) + math.ceil(self.lines / LINES_PER_PAGE)

    def describe(self) -> str:
        return (f"main report as printed: about {self.pages} pages (table of contents about {self.toc_pages:.1f}), "
                f"{self.words} words, {self.tables} tables ({self.table_rows} rows; widest {self.widest_table} columns"
                f"{' at ' + self.widest_table_at if self.widest_table_at else ''}), {self.figures} figures, at most "
                f"{self.most_credited} dataset{'s' if self.most_credited != 1 else ''} credited one by one under a figure"
                f"{' (' + self.most_credited_figure + ')' if self.most_credited_figure else ''}; most datasets under one "
                f"figure {self.most_datasets}{' (' + self.most_datasets_figure + ')' if self.most_datasets_figure else ''}, "
                f"{self.grouped_credits} figure{'s' if self.grouped_credits != 1 else ''} with a grouped credit")


@dataclass
class Report:
    """The outcome of :func:`check_report`."""

    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    embeds: int = 0
    includes: int = 0
    references: int = 0
    citations: int = 0
    shape: Shape = field(default_factory=Shape)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _Loc:
    file: str
    line: int


class _Checker:
    def __init__(self, layout: Layout):
        self.layout = layout
        self.result = Report()
        self.ids: dict[str, _Loc] = {}
        self.labels: dict[str, tuple[str, _Loc]] = {}  # embedded label -> (figure id, where)
        self.embeds: list[tuple[str, _Loc, bool]] = []  # (figure id, where, cell exists)
        self.refs: list[tuple[str, _Loc]] = []
        self.links: list[tuple[str, _Loc]] = []
        self.cites: list[tuple[str, _Loc]] = []
        self.bibliographies: list[Path] = []
        self.provenance: dict[str, str] = {}
        self.seen_files: set[Path] = set()
        self.file_links: list[tuple[str, _Loc]] = []
        self.outputs: set[str] = set()  # file names the rendered documents will have
        self.titled: set[Path] = set()
        self.in_main = False  # scanning the main report (the first document of project: render:)
        self._notebooks: dict[Path, dict | None] = {}
        self.run_paths = self._run_paths()

    def problem(self, file: str, line: int | None, message: str) -> None:
        self.result.problems.append(Problem(file, line, message))

    def rel(self, path: Path) -> str:
        return self.layout.relative(path)

    def _run_paths(self) -> dict[Path, str]:
        """Executed-notebook path -> run address, for every run project.yml defines."""
        try:
            raw = _load_yaml(self.layout.project_file.read_text(encoding="utf-8"), "project.yml") or {}
        except (OSError, yaml.YAMLError):
            return {}
        out = {}
        for name, entry in (raw.get("notebooks") or {}).items():
            for set_name in ((entry or {}).get("parameter_sets") or {"default": {}}):
                address = f"{name}/{set_name}"
                out[self.layout.executed_notebook(address).resolve()] = address
        return out

    # --- _quarto.yml -------------------------------------------------------------------------------
    def quarto_yml(self) -> list[Path]:
        path = self.layout.root / "_quarto.yml"
        if not path.is_file():
            self.problem("_quarto.yml", None, "does not exist; the report project needs it at the project root "
                         "(see docs and the layout in _quarto.yml of the repository)")
            return []
        text = path.read_text(encoding="utf-8")
        try:
            config = _load_yaml(text, "_quarto.yml") or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            self.problem("_quarto.yml", mark.line + 1 if mark else None, _yaml_problem(exc, "_quarto.yml"))
            return []
        if not isinstance(config, dict):
            self.problem("_quarto.yml", 1, "expected a mapping (project:, format:, ...)")
            return []
        renders = (config.get("project") or {}).get("render") or []
        if not renders:
            self.problem("_quarto.yml", _line_of(text, "project:"), "project: render: lists no document to render")
        docs = []
        for item in renders:
            target = self.layout.root / str(item)
            if not target.is_file():
                self.problem("_quarto.yml", _line_of(text, str(item)), f"render file {item} does not exist")
            else:
                docs.append(target)
        for item in config.get("metadata-files") or []:
            target = self.layout.root / str(item)
            if not target.is_file():
                generated = self.layout.generated_report_dir in target.parents
                self.problem("_quarto.yml", _line_of(text, str(item)), f"metadata file {item} does not exist"
                             + ("; it is generated by `python -m analysis build`: run the build first" if generated else ""))
            else:
                try:
                    _load_yaml(target.read_text(encoding="utf-8"), self.rel(target))
                except yaml.YAMLError as exc:
                    self.problem(self.rel(target), None, _yaml_problem(exc, self.rel(target)))
        shared = [item for item in config.get("metadata-files") or []
                  if "output-file" in _yaml_mapping(self.layout.root / str(item))]
        if shared and len(renders) > 1:
            self.problem("_quarto.yml", _line_of(text, str(shared[0])), f"{shared[0]} sets output-file for every document "
                         "of the project, so the rendered documents would overwrite each other; name it in each "
                         "document's own front matter (metadata-files) instead")
        typst = ((config.get("format") or {}).get("typst") or {}) if isinstance(config.get("format"), dict) else {}
        self.result.shape.toc_depth = int(typst.get("toc-depth", 3)) if isinstance(typst, dict) else 3
        for item in _as_list(config.get("bibliography")):
            self.bibliographies.append(self.layout.root / str(item))
        return docs

    # --- documents ---------------------------------------------------------------------------------
    def document(self, path: Path) -> None:
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        start = 0
        if lines and lines[0].strip() == "---":
            end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
            if end is None:
                self.problem(self.rel(path), 1, "front matter opened with --- is never closed")
            else:
                try:
                    front = _load_yaml("\n".join(lines[1:end]), "front matter") or {}
                except yaml.YAMLError as exc:
                    self.problem(self.rel(path), 1, _yaml_problem(exc, "front matter", "front matter "))
                    front = {}
                for item in _as_list(front.get("bibliography")):
                    bib = path.parent / str(item)
                    self.bibliographies.append(bib)
                    if not bib.is_file():
                        self.problem(self.rel(path), _line_of(text, str(item)),
                                     f"bibliography {item} does not exist (expected at {self.rel(bib)}); it is generated "
                                     "from the data catalog (BibTeX keys are the source ids)")
                stems = [self.metadata_file(path, text, item) for item in _as_list(front.get("metadata-files"))]
                stem = front.get("output-file") or next((s for s in reversed(stems) if s), None)
                self.document_output(path, stem)
                start = end + 1
        else:
            self.document_output(path, None)
        self.scan(path, lines, start, top_dir=path.parent, stack=[path])

    def metadata_file(self, path: Path, text: str, item) -> str | None:
        """Check a metadata file named in a document's front matter; return the output-file it sets."""
        target = (path.parent / str(item)).resolve()
        if not target.is_file():
            generated = self.layout.generated_report_dir.resolve() in target.parents
            self.problem(self.rel(path), _line_of(text, str(item)), f"metadata file {self.rel(target)} does not exist"
                         + ("; it is generated by `python -m analysis build`: run the build first" if generated else ""))
            return None
        try:
            meta = _load_yaml(target.read_text(encoding="utf-8"), self.rel(target)) or {}
        except yaml.YAMLError as exc:
            self.problem(self.rel(target), None, _yaml_problem(exc, self.rel(target)))
            return None
        return str(meta["output-file"]) if isinstance(meta, dict) and meta.get("output-file") else None

    def document_output(self, path: Path, stem) -> None:
        """Remember the files a rendered document will have (links to them are valid); no two may collide."""
        stem = str(stem) if stem else path.stem
        for ext in ("html", "pdf"):
            name = f"{stem}.{ext}"
            if name in self.outputs:
                self.problem(self.rel(path), None, f"renders to {name}, like another document of the project; give each "
                             "document its own versioned output-file (in the metadata file its front matter names)")
            self.outputs.add(name)

    def scan(self, path: Path, lines: list[str], start: int, *, top_dir: Path, stack: list[Path]) -> None:
        rel = self.rel(path)
        self.seen_files.add(path)
        if rel not in self.result.files:
            self.result.files.append(rel)
        generated = self.layout.generated_report_dir in path.parents
        main = self.in_main
        shape = self.result.shape
        fence = None
        in_comment = False
        provenance_id, provenance_text = None, []
        divs: list[tuple[bool, int]] = []  # (html only, line) of each open div
        paragraph = 0  # characters of the printed paragraph being read
        table: dict | None = None
        if generated:
            self.machine_paths(rel, lines)
        in_output = False
        for number, line in enumerate(lines[start:], start=start + 1):
            printed = main and not any(h for h, _ in divs)
            # a notebook output written out by the build: checked against its notebook cell, like an embed
            if in_output:
                in_output = not OUTPUT_END.match(line.strip())
                continue
            om = OUTPUT_START.match(line.strip()) if generated else None
            if om:
                self.embed(om.group(1), _Loc(rel, number), top_dir, written_out=True)
                if printed:
                    shape.figures += 1
                    shape.lines += FIGURE_LINES
                in_output = True
                continue
            # fenced code blocks
            m = FENCE.match(line)
            if fence is None and m:
                fence = m.group(1)
                continue
            if fence is not None:
                if line.strip().startswith(fence[0] * len(fence)) and not line.strip().strip(fence[0]):
                    fence = None
                continue
            stripped = line.strip()
            if table is not None and not stripped.startswith("|"):
                table = None
            if not stripped or stripped.startswith(("|", ":::", "{{<", "#")):
                if paragraph and printed:
                    shape.lines += -(-paragraph // CHARS_PER_LINE)
                paragraph = 0
            # provenance divs (in generated files)
            pm = PROVENANCE_DIV.match(stripped)
            if pm:
                provenance_id, provenance_text = pm.group(1), []
                divs.append((False, number))
                continue
            if provenance_id is not None:
                if DIV_CLOSE.match(stripped):
                    if generated:
                        self.provenance[provenance_id] = "\n".join(provenance_text)
                        self.credited(provenance_id, provenance_text, _Loc(rel, number), main)
                    provenance_id = None
                else:
                    provenance_text.append(line)
            # divs: balanced fences, no raw ::: in text
            if DIV_OPEN.match(stripped):
                divs.append((bool(HTML_ONLY.match(stripped)), number))
                continue
            if DIV_CLOSE.match(stripped):
                if divs:
                    divs.pop()
                else:
                    self.problem(rel, number, "::: closes a div that was never opened; Quarto would print it as text")
                continue
            if ":::" in line and not _in_comment_or_code(line):
                self.problem(rel, number, "raw ::: in the text (not a div fence on a line of its own); Quarto would "
                             "print it, as it did for the broken embeds of the last render")
            loc = _Loc(rel, number)
            for sc in SHORTCODE.finditer(line):
                name, args = sc.group(1), sc.group(2)
                if name == "include":
                    self.include(args, loc, path, top_dir, stack)
                elif name == "embed":
                    self.embed(args, loc, top_dir)
                    if printed:
                        shape.figures += 1
                        shape.lines += FIGURE_LINES
            # references, citations and ids, outside comments and code spans
            visible, in_comment = _strip_comments(line, in_comment)
            if main and stripped.startswith("|"):
                if table is None and number < len(lines) and TABLE_SEPARATOR.match(lines[number].strip()):
                    table = {"columns": len(_cells(stripped))}
                    self.table_line(table, rel, number, line, printed, header=True)
                elif table is not None:
                    self.table_line(table, rel, number, line, printed)
            if printed and visible.strip() and not stripped.startswith(("|", ":::", "{{<")):
                heading = re.match(r"^(#{1,6})\s", visible)
                if heading:
                    shape.headings += 1
                    shape.lines += HEADING_LINES
                    if len(heading.group(1)) <= shape.toc_depth:
                        shape.toc_entries += 1
                else:
                    text = _plain(visible)
                    shape.words += len(text.split())
                    paragraph += len(text) + 1
            visible = re.sub(r"(`+).*?\1", " ", SHORTCODE.sub(" ", visible))
            for idm in ID_ATTR.finditer(visible):
                ident = idm.group(1)
                if ident in self.ids:
                    first = self.ids[ident]
                    self.problem(rel, number, f"id #{ident} is defined twice (first at {first.file}:{first.line}); "
                                 "ids and cross-reference labels must be unique")
                else:
                    self.ids[ident] = loc
            for lm in LINK.finditer(visible):
                self.links.append((lm.group(1), loc))
            for fm in FILE_LINK.finditer(visible):
                self.file_links.append((fm.group(1), loc))
            no_urls = re.sub(r"<[a-z]+://[^>]*>|\]\([^)]*\)|\{[^}]*\}", " ", visible)
            for rm in REF.finditer(no_urls):
                key = rm.group(1)
                if key.startswith(CROSSREF_PREFIXES):
                    self.refs.append((key, loc))
                else:
                    self.cites.append((key, loc))
        if paragraph and main:
            shape.lines += -(-paragraph // CHARS_PER_LINE)
        if fence is not None:
            self.problem(rel, None, f"a code block opened with {fence} is never closed")
        for _, opened in divs:
            self.problem(rel, opened, "this div is never closed (::: on a line of its own); Quarto would print "
                         "the rest of the file inside it, or the fence as text")

    def table_line(self, table: dict, rel: str, number: int, line: str, printed: bool, header: bool = False) -> None:
        """Count a pipe-table row of the main report; flag too many columns and long code spans."""
        if TABLE_SEPARATOR.match(line.strip()):
            return
        shape = self.result.shape
        cells = _cells(line.strip())
        if header:
            shape.tables += printed
            if table["columns"] > shape.widest_table:
                shape.widest_table, shape.widest_table_at = table["columns"], f"{rel}:{number}"
            if table["columns"] > MAX_COLUMNS:
                self.problem(rel, number, f"a table of {table['columns']} columns in the main report (at most "
                             f"{MAX_COLUMNS}); move it to the technical appendix or split it")
        else:
            shape.table_rows += printed
        for span in CODE_SPAN.finditer(line):
            if len(span.group(2).strip()) > MAX_CODE_IN_TABLE:
                self.problem(rel, number, f"a code span of {len(span.group(2).strip())} characters in a table of the "
                             f"main report (at most {MAX_CODE_IN_TABLE}): Typst does not wrap code, so it would print "
                             f"over the next column: {span.group(0)[:60]}")
        if printed:
            width = max(CHARS_PER_LINE // max(table["columns"], 1) - 2, 8)
            shape.lines += max((-(-len(_plain(c)) // width) for c in cells), default=1) + 0.4

    def credited(self, figure_id: str, text: list[str], loc: _Loc, main: bool) -> None:
        """Count the datasets credited one by one in a provenance entry's Data: line."""
        line = next((x for x in text if "Data:" in x), None)
        if line is None or not main:
            return
        credit = line.split("Data:", 1)[1].split("**Provenance", 1)[0]
        credit = re.sub(r"\[@[^\]]*\]", "", credit).strip(" *.")
        entries = [e for e in re.split(r";\s+", credit) if e.strip()]
        shape = self.result.shape
        grouped = re.match(r"^(\d+) datasets? from \d+ sources?\b", credit)
        drawn = int(grouped.group(1)) if grouped else len(entries)
        shape.grouped_credits += bool(grouped)
        if drawn > shape.most_datasets:
            shape.most_datasets, shape.most_datasets_figure = drawn, figure_id
        if grouped:
            return
        if len(entries) > shape.most_credited:
            shape.most_credited, shape.most_credited_figure = len(entries), figure_id
        if len(entries) > MAX_CREDITED:
            self.problem(loc.file, loc.line, f"figure {figure_id} credits {len(entries)} datasets one by one (at most "
                         f"{MAX_CREDITED}); a figure drawing on more needs a grouped credit")

    def machine_paths(self, rel: str, lines: list[str]) -> None:
        """Absolute paths of the build machine in a generated file (a published report must not show them)."""
        root = str(self.layout.root.resolve())
        for number, line in enumerate(lines, start=1):
            found = root if root in line else None
            m = MACHINE_PATH.search(line)
            if found or m:
                self.problem(rel, number, f"absolute path of the build machine in a generated source "
                             f"({found or m.group(0)}); the report must name files relative to the project")

    def include(self, args: str, loc: _Loc, path: Path, top_dir: Path, stack: list[Path]) -> None:
        self.result.includes += 1
        target_text = args.strip().strip('"').strip("'")
        if not target_text:
            self.problem(loc.file, loc.line, "include shortcode names no file")
            return
        if path.parent.resolve() != top_dir.resolve():
            self.problem(loc.file, loc.line, f"{loc.file} includes {target_text}, but it is itself included from "
                         f"another folder; includes are textual, so nested paths are ambiguous: include the file "
                         f"from the top-level document instead")
            return
        target = (top_dir / target_text).resolve()
        if not target.is_file():
            generated = self.layout.generated_report_dir.resolve() in target.parents
            self.problem(loc.file, loc.line, f"included file {target_text} does not exist (resolved against "
                         f"{self.rel(top_dir)}/ to {self.rel(target)})"
                         + ("; it is generated by `python -m analysis build`: run the build" if generated
                            else "; fix the path (it is relative to the document that includes it)"))
            return
        if target in stack:
            self.problem(loc.file, loc.line, f"include of {target_text} is circular")
            return
        self.scan(target, target.read_text(encoding="utf-8").splitlines(), 0, top_dir=top_dir, stack=[*stack, target])

    def embed(self, args: str, loc: _Loc, top_dir: Path, *, written_out: bool = False) -> None:
        """Check one ``{{< embed >}}`` (or a notebook output the build wrote out, ``written_out``)."""
        self.result.embeds += 1
        ref = args.split()[0].strip('"').strip("'") if args.split() else ""
        notebook_text, _, label = ref.partition("#")
        if not label:
            self.problem(loc.file, loc.line, f"embed {ref!r} names no cell label; write PATH#fig-<label> or PATH#tbl-<label>")
            return
        target = (top_dir / notebook_text).resolve()
        address = self.run_paths.get(target)
        if address is None:
            self.problem(loc.file, loc.line, f"embed {ref}: {self.rel(target)} is not an executed notebook the build "
                         "produces; embeds must point at _build/notebooks/<notebook>/<parameter-set>.ipynb "
                         "(relative to report/) for a run defined in project.yml")
            return
        figure_id = f"{address}#{label}"
        if label in self.labels:
            first_id, first = self.labels[label]
            self.problem(loc.file, loc.line, f"label {label} is embedded twice ({first_id} at {first.file}:{first.line} "
                         f"and {figure_id}); Quarto cross-reference labels must be unique in the report: give the "
                         "notebook cells distinct labels")
        else:
            self.labels[label] = (figure_id, loc)
        nb = self.notebook(target)
        if nb is None:
            self.problem(loc.file, loc.line, f"embed {ref}: {self.rel(target)} does not exist yet; run "
                         "`python -m analysis build` to execute the notebook")
            self.embeds.append((figure_id, loc, False))
            return
        from .cells import cell_labels

        cells = cell_labels(nb)
        if label not in cells:
            known = ", ".join(sorted(k for k in cells if k.startswith(("fig-", "tbl-")))) or "none"
            self.problem(loc.file, loc.line, f"embed {ref}: notebook run {address} has no cell labelled {label} "
                         f"(its fig-/tbl- labels: {known}); labels are the `#| label:` lines at the top of code cells")
            self.embeds.append((figure_id, loc, False))
            return
        cell = cells[label]
        cap_key = "tbl-cap" if label.startswith("tbl-") else "fig-cap"
        if not cell["options"].get(cap_key):
            self.problem(loc.file, loc.line, f"embed {ref}: the cell has no caption; add `#| {cap_key}: ...` after its "
                         f"`#| label:` line in notebooks/{address.split('/')[0]}.ipynb")
        if not [o for o in cell["outputs"] if o.get("output_type") in ("display_data", "execute_result")]:
            self.problem(loc.file, loc.line, f"embed {ref}: the cell has no output in the executed notebook "
                         "(do not switch matplotlib to a non-inline backend; end the cell with plt.show())")
        if not written_out:  # the title matters to Quarto's embed only
            self.notebook_title(target, address, loc)
        self.cell_outputs(cell, figure_id, loc)
        self.embeds.append((figure_id, loc, True))

    def notebook_title(self, target: Path, address: str, loc: _Loc) -> None:
        """Quarto writes an embedded notebook's first heading into notebook-title="..." unescaped."""
        if target in self.titled:
            return
        self.titled.add(target)
        heading = first_heading(self.notebook(target) or {})
        if heading and '"' in heading:
            source = f"notebooks/{address.split('/')[0]}.ipynb"
            self.problem(loc.file, loc.line, f"the first heading of {source} has a straight double quote ({heading}); "
                         "Quarto copies it unescaped into notebook-title=\"...\" and every embed of the notebook prints "
                         "as raw text with the build folder's path: use curly quotes (“ ”) in that heading")

    def cell_outputs(self, cell: dict, figure_id: str, loc: _Loc) -> None:
        """An embedded cell's outputs: images at most the text width at their dpi; no machine paths in text."""
        import base64

        root = str(self.layout.root.resolve())
        main = self.in_main
        for output in cell["outputs"]:
            data = output.get("data", {})
            if "image/png" in data and main:
                try:
                    width, dpi = png_size(base64.b64decode(data["image/png"]))
                except ValueError:
                    width, dpi = None, None
                if width:
                    inches = width / (dpi or 96)
                    if inches > TEXT_WIDTH_IN + 0.05 or width > HTML_MAX_PX:
                        self.problem(loc.file, loc.line, f"figure {figure_id} is {width} px wide at {dpi or 'unknown (96)'} dpi "
                                     f"({inches:.1f} in); at most {TEXT_WIDTH_IN} in and {HTML_MAX_PX} px, or the PDF and the "
                                     "HTML shrink it and its labels: draw it with analysis.figures.style() sizes")
            if "text/markdown" in data:
                self.table_output(data["text/markdown"], figure_id, loc)
            texts = [output.get("text", "")] + [data.get(k, "") for k in ("text/plain", "text/html", "text/markdown")]
            for text in texts:
                text = "".join(text) if isinstance(text, list) else str(text)
                m = MACHINE_PATH.search(text)
                if root in text or m:
                    self.problem(loc.file, loc.line, f"embedded {figure_id} shows an absolute path of the build machine "
                                 f"({root if root in text else m.group(0)}) in its output")
                    break

    def table_output(self, markdown, figure_id: str, loc: _Loc) -> None:
        """A notebook's Markdown table too wide for the page and not fitted by analysis.tables.show (no type
        size of its own): Typst would print its columns over each other and past the margin."""
        from .tables import BODY_PT, capacity

        text = "".join(markdown) if isinstance(markdown, list) else str(markdown)
        if "typst:text:size" in text:
            return
        lines = text.splitlines()
        for i, line in enumerate(lines[:-1]):
            if not (line.strip().startswith("|") and TABLE_SEPARATOR.match(lines[i + 1].strip())):
                continue
            rows = [_cells(r.strip()) for r in [line, *lines[i + 2:]] if r.strip().startswith("|")]
            width = [max(len(_plain(row[c])) for row in rows if c < len(row)) for c in range(len(rows[0]))]
            room = capacity(BODY_PT, len(width))
            if sum(width) > room:
                self.problem(loc.file, loc.line, f"table {figure_id} is {sum(width)} characters wide in {len(width)} "
                             f"columns, more than fit the page ({room:.0f}); show it with analysis.tables.show(...), "
                             "which prints it in smaller type with fitted columns")
            return

    def notebook(self, path: Path) -> dict | None:
        if path not in self._notebooks:
            try:
                self._notebooks[path] = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
            except json.JSONDecodeError:
                self._notebooks[path] = None
        return self._notebooks[path]

    # --- cross-file checks -------------------------------------------------------------------------
    def end_document(self) -> None:
        """Resolve one rendered document's cross-references and links against its own ids and labels."""
        targets = set(self.ids) | set(self.labels) | {"refs"}
        for key, loc in self.refs:
            self.result.references += 1
            if key not in targets:
                self.problem(loc.file, loc.line, f"cross-reference @{key} has no target (no embedded cell labelled "
                             f"{key} and no {{#{key}}} in the same document's sources)")
        for key, loc in self.links:
            if key not in targets:
                self.problem(loc.file, loc.line, f"link to #{key} has no target (no {{#{key}}} in the same document's sources)")
        self.ids, self.labels, self.refs, self.links = {}, {}, [], []

    def finish(self) -> None:
        for name, loc in self.file_links:
            if name not in self.outputs:
                known = ", ".join(sorted(self.outputs)) or "none"
                self.problem(loc.file, loc.line, f"link to {name}, which no rendered document produces (they produce: "
                             f"{known}); link only to files that exist in the rendered output")
        keys: set[str] = set()
        for bib in self.bibliographies:
            if bib.is_file():
                from .report import bib_keys

                keys |= bib_keys(bib)
        for key, loc in self.cites:
            self.result.citations += 1
            if not self.bibliographies:
                self.problem(loc.file, loc.line, f"citation @{key} but no bibliography is declared "
                             "(add `bibliography: references.bib` to the front matter of report/index.qmd)")
            elif key not in keys:
                names = ", ".join(self.rel(b) for b in self.bibliographies)
                self.problem(loc.file, loc.line, f"citation @{key} is not in {names}; BibTeX keys are the data "
                             "catalog's source ids (the part of a dataset name before the dot)")
        for figure_id, loc, exists in self.embeds:
            if not exists:
                continue
            text = self.provenance.get(figure_id)
            if text is None:
                self.problem(loc.file, loc.line, f"embedded figure {figure_id} has no data credit and provenance entry "
                             "in the generated sources (a figure-provenance div naming it)")
                continue
            for needed in ("Data:", "Provenance:"):
                if needed not in text:
                    self.problem(loc.file, loc.line, f"embedded figure {figure_id}: its provenance entry has no {needed} line")


def check_report(layout: Layout) -> Report:
    """Run every static check of the report sources; the result lists each problem with file and line."""
    checker = _Checker(layout)
    for number, doc in enumerate(checker.quarto_yml()):
        checker.in_main = number == 0
        checker.document(doc)
        checker.end_document()
    checker.in_main = False
    checker.finish()
    shape = checker.result.shape
    if checker.result.files and shape.pages > MAX_PAGES:
        checker.problem("report/index.qmd", None, f"the main report would print on about {shape.pages} pages (at most "
                        f"{MAX_PAGES}): move material to the technical appendix")
    if checker.result.files and shape.toc_pages > MAX_TOC_PAGES:
        checker.problem("_quarto.yml", None, f"the printed table of contents would take about {shape.toc_pages:.1f} "
                        f"pages (at most {MAX_TOC_PAGES}): lower toc-depth for typst or merge sections")
    checker.result.problems.sort(key=lambda p: (p.file, p.line or 0))
    return checker.result


def _line_of(text: str, needle: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return None


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _strip_comments(line: str, in_comment: bool) -> tuple[str, bool]:
    """The part of ``line`` outside HTML comments, and whether a comment is still open at its end."""
    out, i = [], 0
    while i < len(line):
        if in_comment:
            end = line.find("-->", i)
            if end < 0:
                return "".join(out), True
            i, in_comment = end + 3, False
        else:
            start = line.find("<!--", i)
            if start < 0:
                out.append(line[i:])
                break
            out.append(line[i:start])
            i, in_comment = start + 4, True
    return "".join(out), in_comment


def _cells(row: str) -> list[str]:
    """The cells of a pipe-table row (pipes inside code spans or escaped do not split)."""
    masked = CODE_SPAN.sub(lambda m: "x" * len(m.group(0)), row.replace("\\|", "xx"))
    cells, last = [], 0
    for i, ch in enumerate(masked):
        if ch == "|":
            cells.append(row[last:i])
            last = i + 1
    cells.append(row[last:])
    if cells and not cells[0].strip():
        cells = cells[1:]
    if cells and not cells[-1].strip():
        cells = cells[:-1]
    return cells


def _plain(text: str) -> str:
    """Markdown reduced to the words a reader sees (links to their text, attributes and markup dropped)."""
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"[\\*_`>\[\]]", "", text)
    return " ".join(text.split())


def _in_comment_or_code(line: str) -> bool:
    """Whether every ``:::`` of ``line`` sits inside a code span or an HTML comment."""
    visible, _ = _strip_comments(line, False)
    return ":::" not in re.sub(r"(`+).*?\1", " ", visible)


def _load_yaml(text: str, source: str):
    """The project's strict YAML loader (no aliases, no duplicate keys; dates stay text) for the report's files."""
    from .files import parse_yaml

    return parse_yaml(text, source=source)


def _yaml_problem(exc, source: str, prefix: str = "") -> str:
    """What is wrong with a YAML text, without the file name the problem line already gives."""
    message = getattr(exc, "message", None)
    return prefix + message.removeprefix(f"{source} ") if message else f"{prefix}is not valid YAML: {exc}"


def _yaml_mapping(path: Path) -> dict:
    """The mapping in a YAML file, or {} if it is missing, invalid or not a mapping."""
    try:
        value = _load_yaml(path.read_text(encoding="utf-8"), str(path)) if path.is_file() else None
    except (OSError, yaml.YAMLError):
        return {}
    return value if isinstance(value, dict) else {}


def first_heading(notebook_json: dict) -> str | None:
    """The first markdown heading of a notebook (what Quarto takes as its title), or None."""
    for cell in notebook_json.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        source = "".join(cell["source"]) if isinstance(cell.get("source"), list) else str(cell.get("source", ""))
        for line in source.splitlines():
            m = re.match(r"^#{1,6}\s+(.*\S)", line)
            if m:
                return m.group(1)
    return None


def png_size(png: bytes) -> tuple[int, float | None]:
    """(width in pixels, dots per inch from the pHYs chunk or None) of a PNG image; ValueError if not a PNG."""
    import struct

    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG image")
    width, dpi, i = None, None, 8
    while i + 8 <= len(png):
        (length,), kind = struct.unpack(">I", png[i:i + 4]), png[i + 4:i + 8]
        body = png[i + 8:i + 8 + length]
        if kind == b"IHDR":
            width = struct.unpack(">I", body[:4])[0]
        elif kind == b"pHYs" and len(body) >= 9 and body[8] == 1:
            dpi = struct.unpack(">I", body[:4])[0] * 0.0254
        elif kind == b"IDAT":
            break
        i += 12 + length
    if width is None:
        raise ValueError("PNG without IHDR")
    return width, (round(dpi) if dpi else None)
