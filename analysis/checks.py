"""Static checks of the report sources: everything that can be verified without Quarto.

Starting from ``_quarto.yml``, every document in its ``render`` list is read with the files it includes
(includes are textual, so paths in included files resolve against the including document's folder).
Checked:

* ``_quarto.yml`` parses; its ``render`` files and ``metadata-files`` exist;
* every ``{{< include >}}`` file exists; generated files (and any file outside the document's folder)
  do not include further files;
* every ``{{< embed PATH#LABEL >}}`` points at an executed notebook the build produces
  (``_build/notebooks/<notebook>/<set>.ipynb`` for a run in ``project.yml``) and at a code cell with that
  ``#| label:``, which has output and a caption (``#| fig-cap:`` / ``#| tbl-cap:``); a label is embedded
  only once in the whole report;
* every embedded figure has a data credit and a provenance entry (a ``figure-provenance`` div naming
  its figure id, with ``Data:`` and ``Provenance:`` lines) in the generated sources;
* every ``@fig-``/``@tbl-``/``@sec-`` cross-reference and every ``[text](#id)`` link has a target (an
  embedded cell label or an ``{#id}`` attribute), and no id is defined twice;
* every ``[@key]`` citation is an entry of the bibliography (``report/references.bib``), which exists.

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


@dataclass(frozen=True)
class Problem:
    """One problem in a report source: file (relative to the project root), line (1-based) and message."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


@dataclass
class Report:
    """The outcome of :func:`check_report`."""

    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    embeds: int = 0
    includes: int = 0
    references: int = 0
    citations: int = 0

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
        self._notebooks: dict[Path, dict | None] = {}
        self.run_paths = self._run_paths()

    def problem(self, file: str, line: int | None, message: str) -> None:
        self.result.problems.append(Problem(file, line, message))

    def rel(self, path: Path) -> str:
        return self.layout.relative(path)

    def _run_paths(self) -> dict[Path, str]:
        """Executed-notebook path -> run address, for every run project.yml defines."""
        try:
            raw = yaml.safe_load(self.layout.project_file.read_text(encoding="utf-8")) or {}
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
            config = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            self.problem("_quarto.yml", mark.line + 1 if mark else None, f"is not valid YAML: {exc}")
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
                    yaml.safe_load(target.read_text(encoding="utf-8"))
                except yaml.YAMLError as exc:
                    self.problem(self.rel(target), None, f"is not valid YAML: {exc}")
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
                    front = yaml.safe_load("\n".join(lines[1:end])) or {}
                except yaml.YAMLError as exc:
                    self.problem(self.rel(path), 1, f"front matter is not valid YAML: {exc}")
                    front = {}
                for item in _as_list(front.get("bibliography")):
                    bib = path.parent / str(item)
                    self.bibliographies.append(bib)
                    if not bib.is_file():
                        self.problem(self.rel(path), _line_of(text, str(item)),
                                     f"bibliography {item} does not exist (expected at {self.rel(bib)}); it is generated "
                                     "from the data catalog (BibTeX keys are the source ids)")
                start = end + 1
        self.scan(path, lines, start, top_dir=path.parent, stack=[path])

    def scan(self, path: Path, lines: list[str], start: int, *, top_dir: Path, stack: list[Path]) -> None:
        rel = self.rel(path)
        self.seen_files.add(path)
        if rel not in self.result.files:
            self.result.files.append(rel)
        generated = self.layout.generated_report_dir in path.parents
        fence = None
        in_comment = False
        provenance_id, provenance_text = None, []
        for number, line in enumerate(lines[start:], start=start + 1):
            # fenced code blocks
            m = FENCE.match(line)
            if fence is None and m:
                fence = m.group(1)
                continue
            if fence is not None:
                if line.strip().startswith(fence[0] * len(fence)) and not line.strip().strip(fence[0]):
                    fence = None
                continue
            # provenance divs (in generated files)
            pm = PROVENANCE_DIV.match(line.strip())
            if pm:
                provenance_id, provenance_text = pm.group(1), []
                continue
            if provenance_id is not None:
                if re.match(r"^:::+\s*$", line.strip()):
                    if generated:
                        self.provenance[provenance_id] = "\n".join(provenance_text)
                    provenance_id = None
                else:
                    provenance_text.append(line)
            loc = _Loc(rel, number)
            for sc in SHORTCODE.finditer(line):
                name, args = sc.group(1), sc.group(2)
                if name == "include":
                    self.include(args, loc, path, top_dir, stack)
                elif name == "embed":
                    self.embed(args, loc, top_dir)
            # references, citations and ids, outside comments and code spans
            visible, in_comment = _strip_comments(line, in_comment)
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
            no_urls = re.sub(r"<[a-z]+://[^>]*>|\]\([^)]*\)|\{[^}]*\}", " ", visible)
            for rm in REF.finditer(no_urls):
                key = rm.group(1)
                if key.startswith(CROSSREF_PREFIXES):
                    self.refs.append((key, loc))
                else:
                    self.cites.append((key, loc))
        if fence is not None:
            self.problem(rel, None, f"a code block opened with {fence} is never closed")

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

    def embed(self, args: str, loc: _Loc, top_dir: Path) -> None:
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
        from .review import cell_labels

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
        self.embeds.append((figure_id, loc, True))

    def notebook(self, path: Path) -> dict | None:
        if path not in self._notebooks:
            try:
                self._notebooks[path] = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
            except json.JSONDecodeError:
                self._notebooks[path] = None
        return self._notebooks[path]

    # --- cross-file checks -------------------------------------------------------------------------
    def finish(self) -> None:
        targets = set(self.ids) | set(self.labels) | {"refs"}
        for key, loc in self.refs:
            self.result.references += 1
            if key not in targets:
                self.problem(loc.file, loc.line, f"cross-reference @{key} has no target (no embedded cell labelled "
                             f"{key} and no {{#{key}}} in the report sources)")
        for key, loc in self.links:
            if key not in targets:
                self.problem(loc.file, loc.line, f"link to #{key} has no target (no {{#{key}}} in the report sources)")
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
    for doc in checker.quarto_yml():
        checker.document(doc)
    checker.finish()
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
