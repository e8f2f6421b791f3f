"""Report sources generated from the register, the catalog, the ledger, the manifest and the reviews.

The Python side assembles data; the wording and shape of every generated part live in the Jinja2
templates of ``analysis/templates/`` (one per generated file), which a writer can edit without reading
Python. The hand-written ``report/index.qmd`` (the report) and ``report/appendix.qmd`` (the technical
appendix) hold the structure and pull the generated parts in with include shortcodes. Generated files
go to ``_build/report/``:

===========================  ======================================================================
``_metadata.yml``            the report's title block and versioned output name (named in the
                             front matter of ``report/index.qmd``)
``_appendix-metadata.yml``   the same for the technical appendix (``report/appendix.qmd``)
``_summary.qmd``             page one: what was checked, verdict counts, the headline findings
``_ledger.qmd``              the claims ledger: quote, stated value as stated, what the data show,
                             verdict, one table per document
``_claims.qmd``              one section per checking run, one subsection per claim: quote, verdict,
                             finding, evidence figures with their own data credit, robustness line,
                             details (collapsed, HTML only)
``_verdict-policy.qmd``      ``docs/verdict-policy.md``, its headings shifted under Methods
``_changes.qmd``             what changed since the previous release and against the lock
``_figures.qmd``             appendix: the figures of the checking runs that are no claim's evidence,
                             and the full data credit of figures credited as a group
``_data-sources.qmd``        appendix: every dataset, its source, locator, how it was obtained
``_runs.qmd``                appendix: every run, its parameters, duration and package versions
``_reviews.qmd``             appendix: review status of every figure
===========================  ======================================================================

Quarto includes are textual, so every path inside a generated file is written relative to ``report/``.
Generated files never include other files. Each embedded figure is followed by a ``figure-provenance``
div naming its figure id, with ``Data:`` and ``Provenance:`` lines; ``analysis.checks`` relies on it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections import Counter
from functools import lru_cache
from pathlib import Path

import yaml

from . import wording
from .files import canonical_json, compact_json, dump_yaml, parse_yaml, write_if_changed
from .paths import Layout
from .wording import rounded, stated_words, value_words  # noqa: F401  (stated_words: re-exported)

GENERATED_FILES = ("_metadata.yml", "_appendix-metadata.yml", "_summary.qmd", "_ledger.qmd", "_claims.qmd",
                   "_verdict-policy.qmd", "_changes.qmd", "_figures.qmd", "_data-sources.qmd", "_runs.qmd",
                   "_reviews.qmd", "_review-progress.qmd")
#: the generated parts of each rendered document (the checks apply the report's limits to the first)
REPORT_FILES = ("_summary.qmd", "_ledger.qmd", "_claims.qmd", "_verdict-policy.qmd", "_changes.qmd", "_review-progress.qmd")
APPENDIX_FILES = ("_figures.qmd", "_data-sources.qmd", "_runs.qmd", "_reviews.qmd")
#: a grouped credit cites at most this many of its sources (those with the most tables)
GROUPED_CITES = 4
PROVENANCE_CLASS = "figure-provenance"
#: at most this many datasets are credited one by one under a figure; more get a grouped credit
MAX_CREDITED = 8
TEMPLATES = Path(__file__).resolve().parent / "templates"
HEADLINES_FILE = "headlines.yml"  # in report/: the claims page one leads with
#: the figure page one shows: every claim at once (notebooks/overview.ipynb, run after the claims ledger)
OVERVIEW_FIGURE = "overview/default#fig-overview"


# --- entry points ----------------------------------------------------------------------------------
def generate(context, result) -> bool:
    """Write the report sources and review packets for the build in ``result`` (called by ``build``).

    Skipped (returns False) when none of their inputs changed since they were last written, so a
    build that executes nothing also regenerates nothing.
    """
    from .review.figures import index_intact

    stamp = context.layout.generated_report_dir / ".inputs.sha256"
    key = inputs_fingerprint(context.layout, result)
    intact = not damaged_sources(context.layout, result.manifest)  # checked like executed notebooks
    intact = intact and index_intact(context.layout)  # a damaged figure index is written again
    if intact and stamp.is_file() and stamp.read_text(encoding="utf-8") == key:
        return False
    stamp.unlink(missing_ok=True)
    write_sources(context.layout, project=context.project, catalog=context.catalog, register=context.register,
                  rows=result.ledger or [], manifest=result.manifest)
    write_if_changed(stamp, key)
    return True


def damaged_sources(layout: Layout, manifest: dict | None) -> list[str]:
    """Generated report sources that are missing or differ from the sha256 the manifest recorded when the
    build wrote them (all of them when the manifest records none)."""
    from .files import file_sha256

    recorded = (manifest or {}).get("report_sources") or {}
    damaged = []
    for name in GENERATED_FILES:
        path = layout.generated_report_dir / name
        rel = layout.relative(path)
        try:
            ok = rel in recorded and file_sha256(path) == recorded[rel]
        except OSError:
            ok = False
        if not ok:
            damaged.append(rel)
    return damaged


def record_sources(layout: Layout, manifest: dict) -> None:
    """Record the sha256 of every generated report source in the manifest (``report_sources``)."""
    from .files import file_sha256, write_json_if_changed

    manifest["report_sources"] = {layout.relative(layout.generated_report_dir / name):
                                  file_sha256(layout.generated_report_dir / name) for name in GENERATED_FILES}
    write_json_if_changed(layout.manifest, manifest)


def inputs_fingerprint(layout: Layout, result) -> str:
    """sha256 over everything the generated sources depend on: runs, ledger, register, catalog, lock,
    reviews, releases, the package source (templates included), the headline list, the verdict
    policy, the version and the source commit."""
    from . import __version__

    digest = hashlib.sha256()
    digest.update(compact_json({"runs": result.manifest["runs"], "ledger": result.ledger or [],
                                  "version": __version__, "commit": git_state(layout.root)}).encode())
    files = [layout.register, layout.datapackage, layout.lock, layout.report_dir / HEADLINES_FILE,
             layout.root / "docs" / "verdict-policy.md", layout.report_dir / "references.bib"]
    for folder in (layout.reviews_dir, layout.releases_dir, layout.package_dir):
        if folder.is_dir():
            files += sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in files:
        digest.update(layout.relative(path).encode())
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
    return digest.hexdigest()


def regenerate(layout: Layout) -> bool:
    """Rewrite the report sources from the last build's outputs (after a review, say).

    Returns False, touching nothing, when the project was never fully built or a build is running.
    """
    from filelock import FileLock, Timeout

    from . import ledger
    from .catalog import Catalog
    from .claims import Register
    from .manifest import read_manifest
    from .project import Project

    if not layout.build_dir.is_dir():
        return False
    lock = FileLock(str(layout.build_lock))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return False
    try:
        manifest = read_manifest(layout)
        project = Project.load(layout)
        register = Register.load(layout) if layout.register.is_file() else None
        rows = ledger.read(layout) if register is not None else []
        if manifest is None or rows is None:
            return False
        if any(r.address not in manifest["runs"] for r in project.runs()):
            return False
        write_sources(layout, project=project, catalog=Catalog.read_only(layout), register=register,
                      rows=rows, manifest=manifest)
        return True
    finally:
        lock.release()


def build_info(layout: Layout, manifest: dict) -> dict:
    """Version, build date, source commit and data-package checksum shown in the title block."""
    from . import __version__

    finished = manifest.get("build_finished") or ""
    commit, dirty, why = git_state(layout.root)
    data_sha = hashlib.sha256(layout.datapackage.read_bytes()).hexdigest() if layout.datapackage.is_file() else None
    return {
        "version": manifest.get("project_version") or __version__,
        "date": finished[:10],
        "build_finished": finished,
        "commit": (commit + (" (with uncommitted changes)" if dirty else "")) if commit else f"none ({why})",
        "no_commit_reason": why,
        "commit_short": (commit[:10] + ("+" if dirty else "")) if commit else "none",
        "data_sha256": data_sha,
    }


def git_commit(root: Path) -> tuple[str | None, bool]:
    """(HEAD commit, whether tracked files differ from it) of the git checkout at ``root``, or (None, False)."""
    commit, dirty, _ = git_state(root)
    return commit, dirty


def git_state(root: Path) -> tuple[str | None, bool, str | None]:
    """(HEAD commit, uncommitted changes, why there is no commit): the reason is "git was not found on
    PATH", "not a git checkout" or "no commit yet" (None when there is a commit)."""
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=root, capture_output=True, text=True, timeout=20)
        if top.returncode != 0 or Path(top.stdout.strip()).resolve() != Path(root).resolve():
            return None, False, "not a git checkout"
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=20)
        if head.returncode != 0:
            return None, False, "no commit yet"
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                capture_output=True, text=True, timeout=60)
        return head.stdout.strip(), bool(status.stdout.strip()), None
    except FileNotFoundError:
        return None, False, "git was not found on PATH"
    except (OSError, subprocess.SubprocessError) as exc:
        return None, False, f"git could not be run ({exc})"


def output_stem(version: str) -> str:
    """The rendered report's file name without extension: ``claims-report-v<version>``."""
    return f"claims-report-v{version}"


def appendix_stem(version: str) -> str:
    """The rendered technical appendix's file name without extension: ``claims-appendix-v<version>``."""
    return f"claims-appendix-v{version}"


def bib_keys(path: Path) -> set[str]:
    """Entry keys of a BibTeX file (empty if it does not exist)."""
    if not path.is_file():
        return set()
    return set(re.findall(r"@\w+\s*\{\s*([^,\s]+)\s*,", path.read_text(encoding="utf-8")))


# --- text helpers (also the templates' filters) ------------------------------------------------------
_ESCAPE = re.compile(r"([\\`*_{}\[\]<>#$@|~^])")


def md(text) -> str:
    """Text escaped for Quarto markdown (no emphasis, math, citations, shortcodes or table breaks)."""
    return _ESCAPE.sub(r"\\\1", " ".join(str(text).split()))


def typst_string(text) -> str:
    """A Typst string literal holding ``text`` (runs of whitespace made one space): for raw Typst blocks."""
    text = re.sub(r"\s+", " ", str(text))
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def typst(text) -> str:
    """``text`` as Typst markup that prints it verbatim: an embedded string, ended by ``;``."""
    return f"#{typst_string(text)};" if str(text) else ""


def code(text) -> str:
    """An inline code span holding ``text`` verbatim."""
    text = " ".join(str(text).split())
    fence = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")


def claim_anchor(claim_id: str) -> str:
    return f"sec-claim-{slug(claim_id)}"


def run_anchor(address: str) -> str:
    return f"sec-run-{slug(address)}"


def fmt(value) -> str:
    """A number as a reader wants to see it (no exponent, no float noise); text escaped for markdown."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return md(value)
    return wording.fmt(value)


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """'1 claim', '3 claims' (or the given plural form)."""
    return f"{n} {singular if n == 1 else (plural_form or singular + 's')}"


def in_words(n: int) -> str:
    """'four' for 4 (one to ten), else the number."""
    return wording.CARDINALS.get(n, str(n))


def short(text: str, limit: int = 90) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with an ellipsis if cut."""
    text = " ".join(str(text).split()).strip(" |")
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def sentence(text) -> str:
    """``text`` as a sentence: whitespace squeezed, a capital first letter, a full stop at the end."""
    text = " ".join(str(text or "").split()).rstrip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def claim_title(claim: dict, quote: str) -> str:
    """A claim's heading: the register's hand-written ``title``; without one, its measure (or quote) in
    sentence case, cut at a word boundary."""
    if claim.get("title"):
        return " ".join(str(claim["title"]).split())
    text = " ".join(str((claim.get("stated") or {}).get("measure") or quote_text(quote)).split())
    return short(text[:1].upper() + text[1:], 80)


def quote_text(quote: str) -> str:
    """A quote as a reader sees it: a table row quoted as '| a | b |' becomes 'a · b'."""
    text = " ".join(str(quote).split())
    if text.startswith("|") and text.endswith("|"):
        return " · ".join(cell.strip() for cell in text.strip("|").split("|") if cell.strip())
    return text


def params_text(parameters: dict) -> str:
    """Parameters as short code spans (a long value is shown as escaped text so tables can wrap it)."""
    parts = []
    for k, v in parameters.items():
        item = f"{k} = {v!r}"
        parts.append(code(item) if len(item) <= 40 else md(item))
    return ", ".join(parts) or "none"


def params_plain(parameters: dict) -> str:
    """Parameters as escaped text (it wraps in a narrow table column, where a code span would not)."""
    return "; ".join(md(f"{k} = {v!r}") for k, v in parameters.items()) or "none"


def params_html(parameters: dict) -> str:
    """Parameters as HTML code spans, for the HTML-only details blocks."""
    from markupsafe import escape

    return ", ".join(f"<code>{escape(f'{k} = {v!r}')}</code>" for k, v in parameters.items()) or "none"


# --- data for the templates ------------------------------------------------------------------------
class _Data:
    """Everything the templates need, assembled once: claims, figures, credits, robustness, changes."""

    def __init__(self, layout: Layout, *, project, catalog, register, rows: list[dict], manifest: dict):
        from . import review
        from .history import what_changed

        self.layout = layout
        self.project = project
        self.catalog = catalog
        self.register = register
        self.rows = rows
        self.manifest = manifest
        self.runs: dict[str, dict] = manifest.get("runs", {})
        self.info = build_info(layout, manifest)
        self.version = self.info["version"]
        self.bib = bib_keys(layout.report_dir / "references.bib")
        self.figures = review.inventory(layout, self.runs)
        self.by_id = {f.id: f for f in self.figures}
        reviews = review.load_reviews(layout)
        self.status = {f.id: review.status_of(f.sha256, reviews.get(f.id, [])) for f in self.figures}
        self.changes = what_changed(layout, rows, {f.id: f.sha256 for f in self.figures}, self.version)
        self.documents = register.documents if register is not None else {}
        self.embedded: list[str] = []
        self.written_out: dict[str, bytes] = {}  # image files the report shows, relative to _build/report/
        self.in_appendix: list[str] = []
        self.shown_under: dict[str, str] = {}  # figure id -> the claim whose section shows it
        self.stems = {"report": output_stem(self.version), "appendix": appendix_stem(self.version)}
        self.latest = latest_lines(layout, project)

    # --- claims ---
    def claim_of(self, claim_id: str) -> dict:
        return self.register.claims.get(claim_id, {}) if self.register is not None else {}

    def document_name(self, doc_id: str) -> str:
        return str(self.documents.get(doc_id, {}).get("short", doc_id))

    def claim_view(self, r: dict) -> dict:
        """One ledger row as the templates show it."""
        claim = self.claim_of(r["claim"])
        stated = claim.get("stated") or {}
        unit = r.get("unit")
        found = r.get("found")
        has_data = r.get("reproduced") is not None
        tol = claim.get("tolerance") or {}
        tolerance = tol.get("type", "?") + ("" if tol.get("type") in ("exact", None) else
                                           f" {fmt(tol.get('value'))}{' ' + tol['unit'] if tol.get('unit') else ''}")
        return {
            "id": r["claim"],
            "anchor": claim_anchor(r["claim"]),
            "quote": quote_text(r["quote"]),
            "quote_short": short(quote_text(r["quote"]), 90),
            "document": self.document_name(r["document"]),
            "section": claim.get("section"),
            "source_given": claim.get("source_given"),
            "measure": stated.get("measure"),
            "title": claim_title(claim, r["quote"]),
            "stated": r.get("stated_text") or stated_words(claim, r),
            "data_show": r.get("reproduced_text") or wording.reproduced_words(r),
            "has_data": has_data,
            "verdict": r["verdict"],
            "reading": r.get("reading") or claim.get("reading"),
            "kind": claim.get("kind"),
            "reference_date": r.get("reference_date") or self.documents.get(r["document"], {}).get("reference_date"),
            "found": self.found_view(found, unit),
            "earlier": r.get("earlier"),
            "earlier_text": wording.earlier_words(r),
            "reason": r.get("reason"),
            "caveats": r.get("caveats") or [],
            "rationale": r.get("rationale") or "",
            "note": claim.get("note"),
            "projection": bool(claim.get("projection")),
            "duplicate_of": claim.get("duplicate_of"),
            "duplicate_anchor": claim_anchor(claim["duplicate_of"]) if claim.get("duplicate_of") else None,
            "tolerance": tolerance,
            "tolerance_why": tol.get("why"),
            "agreement": agreement_range(claim),
            "datasets": r.get("datasets") or [],
            "data_sha256": r.get("data_sha256") or {},
            "notebook": r["notebook"],
            "parameter_set": r["parameter_set"],
            "address": f"{r['notebook']}/{r['parameter_set']}",
            "latest": getattr(self, "latest", {}).get(r["claim"]),
            "notes": self.notes_view(r, claim),
        }

    def notes_view(self, r: dict, claim: dict) -> dict:
        """A claim's notes apart from its caveats (templates/_claim_notes.qmd.j2): confidence, coverage,
        leads, chain of origin and search record (docs/verdict-policy.md)."""
        leads = [{**lead, "catalog": self.catalog_link(lead.get("dataset"))} for lead in r.get("leads") or []]
        kinds = [(len(r.get("caveats") or []), "caveat"), (len(r.get("confidence") or []), "note on the evidence"),
                 (len(r.get("coverage") or []), "coverage note")]
        summary = ", ".join(plural(k, word, "notes on the evidence" if word.startswith("note on") else None) for k, word in kinds if k)
        if r.get("unverifiable_class"):
            summary = ", ".join(filter(None, [summary, r["unverifiable_class"].replace("-", " ")]))
        return {"summary": summary, "caveats": r.get("caveats") or [], "confidence": r.get("confidence") or [], "coverage": r.get("coverage") or [],
                "leads": leads, "register_leads": claim.get("leads") or [], "origin": r.get("origin") or claim.get("origin") or [],
                "search": r.get("search"), "unverifiable_class": r.get("unverifiable_class")}

    def written_output(self, fig) -> dict | None:
        """A labelled output as the report writes it itself instead of through Quarto's embed, which costs
        Quarto's filters about 0.1 s per embed for the same result: a PNG written to
        ``_build/report/outputs/`` or a Markdown table, with the cell's caption. None (embedded) for
        anything else: several outputs, other cell options, SVG or HTML, a caption with brackets."""
        from .cells import RECORD_MIMES

        cell = fig.cell
        if not cell or set(cell["options"]) - {"label", "fig-cap", "tbl-cap"}:
            return None
        datas = [o.get("data", {}) for o in cell["outputs"] if o.get("output_type") in ("display_data", "execute_result")]
        datas = [d for d in datas if not any(m in d for m in RECORD_MIMES)]
        caption = " ".join(str(fig.caption or "").split())
        if len(datas) != 1 or not caption or any(c in caption for c in "[]"):
            return None
        if fig.kind == "figure" and fig.png is not None and "image/png" in datas[0]:
            name = f"outputs/{fig.notebook}/{fig.parameter_set}/{fig.label}.png"
            self.written_out[name] = fig.png
            path = Path(os.path.relpath(self.layout.generated_report_dir / name, self.layout.report_dir)).as_posix()
            return {"image": path, "table": None, "caption": caption}
        if fig.kind == "table" and "text/markdown" in datas[0]:
            text = datas[0]["text/markdown"]
            return {"image": None, "table": ("".join(text) if isinstance(text, list) else str(text)).strip("\n"),
                    "caption": caption}
        return None

    def catalog_link(self, dataset: str | None) -> dict | None:
        """Where a dataset is listed in full: its short credit ('Publisher (year), locator') and the address
        of its entry in the technical appendix's data catalog; None if it is not in the catalog."""
        entry = self.catalog.resources.get(dataset) if dataset else None
        if entry is None:
            return None
        return {"text": short_credit([entry]), "href": f"{self.stems['appendix']}.html#sec-data-{slug(dataset)}"}

    def found_view(self, found: dict | None, unit: str | None) -> dict | None:
        """For a mislabelled claim: the number, the measure it really is, and where it is printed."""
        if not found:
            return None
        dataset = found.get("dataset")
        source = None
        if dataset:
            entry = self.catalog.resources.get(dataset)
            source = self.credit([dataset]) if entry else md(dataset)
        return {"value": value_words(found.get("value"), unit), "measure": found.get("measure") or "another measure",
                "source": source, "locator": found.get("locator")}

    # --- figures ---
    def credit(self, datasets: list[str], *, group: bool = True) -> str:
        """The data credit for ``datasets``: one entry per source id, each cited ``[@source-id]``. More than
        MAX_CREDITED datasets get one grouped entry (``group``) citing the sources read most; the technical
        appendix lists them all."""
        from .catalog import credit

        names = list(dict.fromkeys(datasets))
        by_source: dict[str, list[dict]] = {}
        parts = []
        for name in names:
            entry = self.catalog.resources.get(name)
            if entry is None and name.startswith("_build/"):  # what the build computed (a notebook's `reads`)
                parts.append(f"this build's {code(name)}, computed from the datasets credited in each claim's section")
            elif entry is None:
                parts.append(f"{code(name)} (not in the data catalog)")
            else:
                by_source.setdefault(name.partition(".")[0], []).append(entry)
        if group and len(names) > MAX_CREDITED:
            most = sorted(by_source, key=lambda s: (-len(by_source[s]), s))
            cited = [s for s in most if s in self.bib][:GROUPED_CITES]
            rest = len(by_source) - len(cited)
            cites = f" [{'; '.join(f'@{s}' for s in cited)}]" if cited else ""
            return (f"{plural(len(names), 'dataset')} from {plural(len(by_source), 'source')}, chiefly{cites}"
                    + (f" and {plural(rest, 'other source')}" if rest else "")
                    + ", each listed in the technical appendix")
        for source_id, entries in by_source.items():
            if source_id in self.bib:  # the citation carries the title: name publisher, year and where
                parts.append(f"{md(short_credit(entries))} [@{source_id}]")
                continue
            if len(entries) == 1:
                text = credit(entries[0])
            else:
                unlocated = {**entries[0], "sources": [{**s, "locator": ""} for s in entries[0].get("sources", [])]}
                text = credit(unlocated).rstrip(".") + f" ({len(entries)} tables)"
            parts.append(md(text.removeprefix("Data: ").rstrip(".").replace("; ", ", ")))
        return "; ".join(parts) or "no catalog dataset"

    def figure_view(self, address: str, label: str, *, write_out: bool = True) -> dict:
        """An embedded figure: the embed path (or its output written out, :meth:`written_output`), its own
        data credit, provenance and review status.

        The appendix's figures are embedded (``write_out=False``): in a document that embeds one
        notebook's cells Quarto shows them as notebook cells (small striped tables), not as the
        captioned floats the report shows, and the appendix is off the edit loop's longest path."""
        fid = f"{address}#{label}"
        fig = self.by_id.get(fid)
        self.embedded.append(fid)
        path = Path(os.path.relpath(self.layout.executed_notebook(address), self.layout.report_dir)).as_posix()
        view = {"id": fid, "embed": f"{path}#{label}", "label": label, "found": fig is not None, "output": None}
        if fig is None:
            return view
        view["output"] = self.written_output(fig) if write_out else None
        run = self.runs.get(address, {})
        datasets = fig.datasets()
        inputs = [i for i in run.get("inputs", []) if i["dataset"] in datasets] or run.get("inputs", [])
        status = self.status[fid]
        view.update({
            "kind": fig.kind,
            "credit": self.credit(datasets),
            "full_credit": self.credit(datasets, group=False),
            "grouped": len(set(datasets)) > MAX_CREDITED,
            "declared": bool(fig.record and fig.record.get("declared", True) and fig.record.get("datasets")),
            "datasets": datasets,
            "notebook": run.get("notebook", address),
            "parameter_set": fig.parameter_set,
            "parameters": params_text(run.get("parameters", {})),
            "parameters_html": params_html(run.get("parameters", {})),
            "inputs": [{"path": i["path"], "sha256": i["sha256"][:12]} for i in inputs],
            "sha256": (fig.sha256 or "no output")[:12],
            "review": status.describe(),
            "needs_review": status.state in ("needs review again", "changes requested", "not reviewed"),
            "packet": self.layout.relative(self.layout.review_packets_dir / fig.notebook / fig.parameter_set / fig.label) + "/",
        })
        return view

    # --- robustness ---
    def robustness(self, r: dict, claim: dict) -> dict:
        """The claim under every parameter set of its notebook (the check first): rows, the range of the
        values, and how many parameter sets give the check's verdict."""
        from .claims import verdict

        notebook, check = r["notebook"], f"{r['notebook']}/{r['parameter_set']}"
        base = self.runs.get(check, {}).get("parameters", {})
        addresses = sorted((a for a in self.runs if a.split("/")[0] == notebook), key=lambda a: (a != check, a))
        rows = []
        for address in addresses:
            record = _claim_records(self.layout.executed_notebook(address)).get(r["claim"])
            if record is None:
                continue
            v = (verdict(claim, record["reproduced"], caveats=record.get("caveats") or (), earlier=record.get("earlier"),
                         found=record.get("found"))
                 if claim else record.get("verdict"))
            params = self.runs[address].get("parameters", {})
            diff = {k: params.get(k) for k in sorted(set(params) | set(base)) if params.get(k) != base.get(k)}
            rows.append({"set": address.split("/")[1], "check": address == check,
                         "changed": "as above" if address == check else (params_text(diff) if diff else "same as the check"),
                         "changed_html": "as above" if address == check else (params_html(diff) if diff else "same as the check"),
                         "value": record["reproduced"], "verdict": v})
        values = [x["value"] for x in rows if isinstance(x["value"], (int, float))]
        agree = sum(1 for x in rows if x["verdict"] == r["verdict"])
        low, high = (rounded(min(values), r.get("stated"), r.get("unit")), rounded(max(values), r.get("stated"), r.get("unit"))) if values else (None, None)
        return {"rows": rows, "n": len(rows), "agree": agree, "low": low, "high": high,
                "unit": r.get("unit"), "verdict": r["verdict"]}

    # --- sections ---
    def claim_groups(self) -> list[dict]:
        """The claims grouped by the run that checks them, each with its figures (every figure once)."""
        groups: dict[str, list[dict]] = {}
        for r in self.rows:
            groups.setdefault(f"{r['notebook']}/{r['parameter_set']}", []).append(r)
        figures_by_run: dict[str, list] = {}
        for f in self.figures:
            figures_by_run.setdefault(f.run, []).append(f)
        out = []
        for address, rows in groups.items():
            notebook, set_name = address.split("/")
            cfg = self.project.notebooks.get(notebook)
            title = cfg.title if cfg else notebook
            run = self.runs.get(address, {})
            shown: set[str] = set()
            claims = []
            for r in rows:
                view = self.claim_view(r)
                view["figures"], view["see_also"] = [], []
                for label in r.get("figures") or []:
                    if label in shown:
                        view["see_also"].append(label)
                    else:
                        view["figures"].append(self.figure_view(address, label))
                        self.shown_under.setdefault(f"{address}#{label}", r["claim"])
                        shown.add(label)
                view["robustness"] = self.robustness(r, self.claim_of(r["claim"]))
                claims.append(view)
            rest = [self.figure_view(address, f.label, write_out=False) for f in figures_by_run.get(address, [])
                    if f.label not in shown]
            self.in_appendix += [f["id"] for f in rest]
            out.append({"address": address, "anchor": run_anchor(address), "title": title, "set": set_name,
                        "notebook": run.get("notebook", f"notebooks/{notebook}.ipynb"),
                        "parameters": params_text(run.get("parameters", {})), "claims": claims, "more": rest})
        return out

    def overview(self) -> dict | None:
        """Page one's figure of every claim (:data:`OVERVIEW_FIGURE`), or None when the build has none."""
        if OVERVIEW_FIGURE not in self.by_id:
            return None
        address, _, label = OVERVIEW_FIGURE.partition("#")
        return self.figure_view(address, label)

    def headlines(self) -> list[dict]:
        """The findings page one leads with (``report/headlines.yml``), with the claims the build has."""
        path = self.layout.report_dir / HEADLINES_FILE
        if not path.is_file():
            return []
        try:
            entries = parse_yaml(path.read_text(encoding="utf-8"), source=self.layout.relative(path)) or []
        except yaml.YAMLError:
            return []
        by_id = {r["claim"]: r for r in self.rows}
        out = []
        for entry in entries if isinstance(entries, list) else []:
            claims = [self.claim_view(by_id[c]) for c in entry.get("claims", []) if c in by_id]
            if claims:
                out.append({"title": entry.get("title") or claims[0]["title"], "claims": claims})
        return out

    def summary_data(self) -> dict:
        from .claims import VERDICTS

        counts = Counter(r["verdict"] for r in self.rows)
        order = list(VERDICTS) + sorted(set(counts) - set(VERDICTS))
        used = [d for d in self.documents if any(r["document"] == d for r in self.rows)]
        return {
            "counts": [{"verdict": v, "n": counts[v]} for v in order if counts.get(v)],
            "unverifiable_split": Counter(r.get("unverifiable_class") for r in self.rows if r["verdict"] == "unverifiable"),
            "n_claims": len(self.rows),
            "documents": [{"short": self.document_name(d), "citation": self.documents[d].get("citation", ""),
                           "n": sum(1 for r in self.rows if r["document"] == d),
                           "reference_date": self.documents[d].get("reference_date")} for d in used],
            "unused_documents": [{"short": self.document_name(d), "reason": _first_clause(self.documents[d].get("note"))}
                                 for d in self.documents if d not in used],
            "headlines": self.headlines(),
            "n_shown": len(set(self.embedded) - set(self.in_appendix)),
            "n_appendix": len(set(self.in_appendix)),
            "n_figures": len(self.figures),
            "review_states": sorted(Counter(s.state for s in self.status.values()).items()),
        }

    def ledger_data(self) -> list[dict]:
        by_doc: dict[str, list[dict]] = {}
        for r in self.rows:
            by_doc.setdefault(r["document"], []).append(self.claim_view(r))
        return [{"document": self.document_name(d), "reference_date": self.documents.get(d, {}).get("reference_date"),
                 "anchor": f"sec-ledger-{slug(d)}", "claims": claims} for d, claims in by_doc.items()]

    def data_sources(self) -> list[dict]:
        readers: dict[str, list[str]] = {}
        for address, run in self.runs.items():
            for i in run.get("inputs", []):
                readers.setdefault(i["dataset"], []).append(address)
        out = []
        for name, entry in self.catalog.resources.items():
            source_id = name.partition(".")[0]
            sources = []
            for s in entry.get("sources", []):
                where = str(s.get("path", ""))
                sources.append({"publisher": s.get("publisher", ""), "year": s.get("year"), "title": s.get("title", ""),
                                "locator": s.get("locator", ""), "url": where if re.match(r"https?://", where) else None,
                                "path": where if where and not re.match(r"https?://", where) else None})
            obtained = entry.get("obtained", {})
            out.append({
                "name": name, "anchor": f"sec-data-{slug(name)}", "title": entry.get("title", ""),
                "description": entry.get("description"), "sources": sources,
                "cite": source_id if source_id in self.bib else None,
                "obtained": obtained, "seen_in": obtained.get("seen_in") or [],
                "confidence": entry.get("confidence", "?"),
                "licences": [lic.get("title") or lic.get("name", "") for lic in entry.get("licenses", [])],
                "file": "data/" + entry["path"], "bytes": entry.get("bytes", "?"),
                "sha256": str(entry.get("hash", "")).removeprefix("sha256:"),
                "readers": sorted(readers.get(name, [])),
            })
        return out

    def runs_data(self) -> dict:
        claims_by_run: dict[str, list[str]] = {}
        for r in self.rows:
            claims_by_run.setdefault(f"{r['notebook']}/{r['parameter_set']}", []).append(r["claim"])
        runs = []
        total = 0.0
        for address, run in sorted(self.runs.items()):
            total += float(run.get("duration_seconds") or 0)
            runs.append({"address": address, "notebook": run.get("notebook", ""),
                         "code_sha256": str(run.get("notebook_code_sha256", ""))[:12],
                         "parameters": params_plain(run.get("parameters", {})),
                         "inputs": len(run.get("inputs", [])), "started": run.get("started", "?"),
                         "duration": run.get("duration_seconds"), "claims": claims_by_run.get(address, [])})
        versions: dict[str, set] = {}
        for run in self.runs.values():
            for pkg, v in (run.get("versions") or {}).items():
                versions.setdefault(pkg, set()).add(str(v))
        return {"runs": runs, "total": round(total, 2), "platform": self.manifest.get("platform", {}),
                "started": self.manifest.get("build_started", "?"), "finished": self.manifest.get("build_finished", "?"),
                "versions": [{"package": p, "version": ", ".join(sorted(v))} for p, v in sorted(versions.items())]}

    def reviews_data(self) -> list[dict]:
        shown = set(self.embedded)
        return [{"id": f.id, "shown": f.id in shown, "sha256": (f.sha256 or "none")[:12],
                 "review": self.status[f.id].describe()} for f in self.figures]

    def changes_data(self) -> dict:
        ch = self.changes

        def table(changes):
            out = []
            for c in changes:
                before, after = c["before"] or {}, c["after"] or {}
                kind = c["change"]
                if kind == "verdict" and fmt(before.get("reproduced")) != fmt(after.get("reproduced")):
                    kind = "value and verdict"
                out.append({"claim": c["claim"], "anchor": claim_anchor(c["claim"]) if c["after"] else None,
                            "change": kind, "before": before, "after": after, "causes": c.get("causes") or []})
            return out

        return {"previous": ch.previous, "claims": table(ch.claims), "figures": ch.figures,
                "same_version": table(ch.same_version) if ch.same_version else None,
                "lock": None if ch.lock is None else table(ch.lock)}

    def metadata(self, *, appendix: bool) -> str:
        info = self.info
        data = f"data sha256 {info['data_sha256'][:12]}" if info["data_sha256"] else "no data package"
        title = self.project.title + (": technical appendix" if appendix else "")
        meta = {
            "title": title,
            "subtitle": f"Version {self.version} · built {info['date']} · commit {info['commit_short']} · {data}",
            "date": info["date"],
            "pagetitle": f"{title} (version {self.version})",
            "version": self.version,
            "output-file": self.stems["appendix" if appendix else "report"],
            # the HTML's link to the same document as PDF (Quarto would name it after the Typst format);
            # the entry "html" links nothing but stops Quarto adding its own "Typst" link
            "format-links": ["html", {"text": "PDF", "href": self.stems["appendix" if appendix else "report"] + ".pdf",
                                      "icon": "file-pdf"}],
        }
        return ("# Generated by analysis/report.py at build time; do not edit.\n"
                + dump_yaml(meta, width=1000))


@lru_cache(maxsize=256)
def _claim_records_cached(path: str, mtime_ns: int) -> dict:
    from .claims import recorded_in

    return {x["claim"]: x for x in recorded_in(json.loads(Path(path).read_text(encoding="utf-8")))}


def _claim_records(path: Path) -> dict:
    if not path.is_file():
        return {}
    return _claim_records_cached(str(path), path.stat().st_mtime_ns)


def latest_lines(layout: Layout, project) -> dict[str, dict]:
    """What the latest data say per claim (analysis.latest), from each notebook's ``latest`` run."""
    from .latest import recorded_in

    out: dict[str, dict] = {}
    for name, cfg in (project.notebooks.items() if project is not None else ()):
        path = layout.executed_notebook(f"{name}/latest")
        if "latest" in cfg.parameter_sets and path.is_file():
            out.update(recorded_in(json.loads(path.read_text(encoding="utf-8"))))
    return out


def agreement_range(claim: dict) -> str | None:
    """In words: which reproduced values would support the stated value under the claim's tolerance."""
    stated = (claim.get("stated") or {}).get("value")
    if stated is None or not claim.get("tolerance"):
        return None
    tol = claim["tolerance"]
    kind = tol["type"]
    slack = 0.0 if kind == "exact" else float(tol["value"]) * (abs(float(stated)) if kind == "relative" else 1.0)
    comparison = claim["stated"].get("comparison", "=")
    lo, hi = float(stated) - slack, float(stated) + slack
    if comparison in ("=", "~"):
        return f"exactly {fmt(stated)}" if kind == "exact" else f"from {fmt(lo)} to {fmt(hi)}"
    return {">": f"above {fmt(lo)}", ">=": f"{fmt(lo)} or more", "<": f"below {fmt(hi)}",
            "<=": f"{fmt(hi)} or less"}.get(comparison, "?")


def _first_clause(note) -> str:
    """'summarises the paper with no new figures' from a register note 'Summarises the paper ...; ...'."""
    text = " ".join(str(note or "").split(";")[0].split()).rstrip(".")
    return text[:1].lower() + text[1:] if text[:1].isupper() and not text[1:2].isupper() else text


def short_credit(entries: list[dict]) -> str:
    """'Publisher (year), locator' for one table of a source, 'Publisher (year), N tables' for several.

    Used beside a citation, which names the title; a ';' in a publisher or locator becomes ','
    so that ';' only ever separates credited sources.
    """
    source = (entries[0].get("sources") or [{}])[0]
    publisher = str(source.get("publisher", "")).replace(";", ",").strip()
    head = f"{publisher} ({source['year']})" if source.get("year") else publisher
    where = str(source.get("locator") or "").replace(";", ",") if len(entries) == 1 else f"{len(entries)} tables"
    return ", ".join(x for x in (head, where) if x)


def write_outputs(folder: Path, files: dict[str, bytes]) -> None:
    """Make ``folder`` hold exactly ``files`` (relative path -> bytes): the images the generated sources
    show, each rewritten only when its bytes changed; any other file there is removed."""
    from .files import write_bytes_if_changed

    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        write_bytes_if_changed(folder / name, data)
    if folder.is_dir():
        keep = {(folder / name).resolve() for name in files}
        for path in sorted(folder.rglob("*"), reverse=True):
            if path.is_file() and path.resolve() not in keep:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()


def verdict_policy(layout: Layout) -> str:
    """``docs/verdict-policy.md`` under the report's Methods: its title dropped, headings one level down."""
    path = layout.root / "docs" / "verdict-policy.md"
    if not path.is_file():
        return "The verdict policy (docs/verdict-policy.md) is not in this project.\n"
    lines, out, fence = path.read_text(encoding="utf-8").splitlines(), [], False
    for line in lines:
        if line.lstrip().startswith("```"):
            fence = not fence
        if not fence and line.startswith("# "):
            continue
        if not fence and re.match(r"^#{2,5} ", line):
            title = line.lstrip("#").strip()
            line = "#" * (len(line) - len(line.lstrip("#")) + 1) + f" {title} {{#sec-policy-{slug(title)}}}"
        out.append(line)
    return "\n".join(out).strip() + "\n"


# --- templates -------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def environment():
    """The Jinja2 environment of the report templates (strict: a missing value is an error)."""
    import jinja2

    # comments are {## ... ##}, since "{#" opens a Quarto id attribute such as {#sec-ledger}
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                             bytecode_cache=_bytecode_cache(),
                             comment_start_string="{##", comment_end_string="##}", trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, autoescape=False)
    env.filters.update(md=md, code=code, fmt=fmt, plural=plural, short=short, value_words=value_words,
                       sentence=sentence, in_words=in_words, plain_number=wording.fmt, typst=typst,
                       typst_string=typst_string)
    env.globals.update(claim_anchor=claim_anchor, run_anchor=run_anchor, slug=slug, MAX_CREDITED=MAX_CREDITED)
    return env


def _bytecode_cache():
    """Jinja2's own cache of compiled templates (in the user's temporary folder, keyed by each template's
    source checksum): compiling the report's templates took a few tenths of a second per build. Best
    effort: an unwritable temporary folder only means compiling again."""
    import jinja2

    class BestEffort(jinja2.FileSystemBytecodeCache):
        def dump_bytecode(self, bucket) -> None:
            try:
                super().dump_bytecode(bucket)
            except OSError:
                pass

    try:
        return BestEffort()
    except (OSError, RuntimeError):  # no usable temporary folder
        return None


def render_template(name: str, **data) -> str:
    """The text of template ``name`` with ``data``; blank-line runs are squeezed to one."""
    text = environment().get_template(name).render(**data)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def write_sources(layout: Layout, *, project, catalog, register, rows: list[dict], manifest: dict) -> dict[str, Path]:
    """Write every generated report file and the review packets; return the files by name."""
    from .review.packets import write_packets
    from .review.records import count_progress

    d = _Data(layout, project=project, catalog=catalog, register=register, rows=rows, manifest=manifest)
    common = {"version": d.version, "info": d.info, "stems": d.stems}
    # the claim sections decide which figures are embedded, so they are assembled before the summary;
    # page one's figure is embedded too, before the review progress counts the report's figures
    groups = d.claim_groups()
    overview = d.overview()
    texts = {
        "_claims.qmd": render_template("claims.qmd.j2", groups=groups, **common),
        "_ledger.qmd": render_template("ledger.qmd.j2", documents=d.ledger_data(), **common),
        # after the claims: the same counts as `review list` and the review app (records.progress)
        "_review-progress.qmd": render_template("review-progress.qmd.j2", progress=count_progress(
            d.status[f].state for f in dict.fromkeys(d.embedded) if f in d.status), **common),
        "_summary.qmd": render_template("summary.qmd.j2", overview=overview, **d.summary_data(),
                                        changes=d.changes_data(), **common),
        "_changes.qmd": render_template("changes.qmd.j2", changes=d.changes_data(), **common),
        "_verdict-policy.qmd": render_template("verdict-policy.qmd.j2", policy=verdict_policy(layout), **common),
        "_figures.qmd": render_template("figures.qmd.j2", groups=groups,
                                        grouped=[f for g in groups for f in [x for c in g["claims"] for x in c["figures"]] + g["more"]
                                                 if f.get("grouped")], **common),
        "_data-sources.qmd": render_template("data-sources.qmd.j2", datasets=d.data_sources(), **common),
        "_runs.qmd": render_template("runs.qmd.j2", **d.runs_data(), **common),
        "_reviews.qmd": render_template("reviews.qmd.j2", figures=d.reviews_data(), **common),
        "_metadata.yml": d.metadata(appendix=False),
        "_appendix-metadata.yml": d.metadata(appendix=True),
    }
    out = layout.generated_report_dir
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in GENERATED_FILES:
        write_if_changed(out / name, texts[name])
        paths[name] = out / name
    write_outputs(out / "outputs", {name.removeprefix("outputs/"): png for name, png in d.written_out.items()})
    record_sources(layout, manifest)
    write_packets(layout, d.figures, manifest=manifest, catalog=catalog, build=d.info,
                  review_status=d.status, in_report=d.embedded, shown_under=d.shown_under)
    return paths
