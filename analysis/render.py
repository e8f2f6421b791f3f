"""Quarto: find the program and render the report. Quarto is an external program, like LaTeX.

Every WARNING (and ERROR line) Quarto prints is shown (Quarto exits 0 on warnings such as a broken
embed, so they are the only sign of it); in strict mode (``strict=True`` or
``CLAIMCHECK_STRICT_RENDER=1``) any warning fails the render.

Each document (report, appendix) is rendered to each format (HTML, Typst PDF) by its own Quarto
process, several at once where there are cores, and only when what that output reads changed since
its last successful render: ``_quarto.yml``, the shared files of ``report/``, the document and what
it includes, its metadata file and the executed notebooks it embeds, and the Quarto version. The key
and warnings of each output are kept in ``_build/render.json``; a kept output's warnings are shown
again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .errors import QuartoFailed, QuartoMissing
from .paths import Layout

INSTALL_HINT = (
    "install Quarto (conda-forge package `quarto`, `pip install quarto-cli` where the internet is reachable, "
    "or https://quarto.org/docs/get-started/) and put it on PATH or in the QUARTO environment variable"
)
EXTENSIONS = {"html": "html", "typst": "pdf"}
STRICT_ENV = "CLAIMCHECK_STRICT_RENDER"
JOBS_ENV = "CLAIMCHECK_RENDER_JOBS"
EMBED = re.compile(r"\{\{<\s*embed\s+([^#\s>]+)|^<!--\s*output:\s*([^#\s]+)#", re.M)  # an embed, or an output the build wrote out


def find_quarto() -> Path | None:
    """The quarto executable from $QUARTO or PATH, or None."""
    env = os.environ.get("QUARTO")
    if env:
        path = Path(env)
        return path if path.is_file() and os.access(path, os.X_OK) else None
    found = shutil.which("quarto")
    return Path(found) if found else None


def require_quarto() -> Path:
    """The quarto executable; QuartoMissing (one sentence, with how to install it) if there is none."""
    quarto = find_quarto()
    if quarto is None:
        where = f"$QUARTO ({os.environ['QUARTO']}) is not an executable file" if os.environ.get("QUARTO") else "quarto is not on PATH"
        raise QuartoMissing(f"the report was not rendered: {where}", hint=INSTALL_HINT)
    return quarto


def output_stems(layout: Layout) -> list[str]:
    """The rendered files' names without extension (report first, then the appendix), as the generated
    metadata files set them."""
    from . import __version__
    from .files import parse_yaml
    from .report import appendix_stem, output_stem

    stems = []
    for name, default in (("_metadata.yml", output_stem), ("_appendix-metadata.yml", appendix_stem)):
        path = layout.generated_report_dir / name
        meta = (parse_yaml(path.read_text(encoding="utf-8"), source=layout.relative(path)) or {}) if path.is_file() else {}
        stems.append(str(meta.get("output-file") or default(__version__)))
    return stems


def output_stem(layout: Layout) -> str:
    """The rendered report's file name without extension."""
    return output_stems(layout)[0]


def quarto_version(quarto: Path, known: dict | None = None) -> tuple[str, dict]:
    """``quarto --version`` (part of the render's inputs), and what identifies the executable asked.

    ``known`` is what an earlier call returned: if the executable is the same file (path, size,
    modification time), its version is reused instead of starting Quarto again.
    """
    try:
        resolved = Path(quarto).resolve()
        stat = resolved.stat()
        identity = {"path": str(resolved), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    except OSError:
        identity = {"path": str(quarto)}
    if known and {k: known.get(k) for k in identity} == identity and known.get("version"):
        return known["version"], known
    try:
        proc = subprocess.run([str(quarto), "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown ({exc})", identity
    version = (proc.stdout or proc.stderr).strip()
    if proc.returncode != 0 or not version:
        return version or f"unknown (exit {proc.returncode})", identity
    return version, {**identity, "version": version}


INCLUDE = re.compile(r"\{\{<\s*include\s+([^\s>]+)")


def documents(layout: Layout) -> list[tuple[Path, str]]:
    """The documents the project renders (``_quarto.yml``'s ``project: render:``), each with its output
    name without extension: the report first, then the appendix."""
    import yaml

    from .errors import ClaimcheckError
    from .files import parse_yaml

    config = layout.root / "_quarto.yml"
    try:
        listed = ((parse_yaml(config.read_text(encoding="utf-8"), source="_quarto.yml") or {}).get("project")
                  or {}).get("render") or []
    except (OSError, ValueError, AttributeError, yaml.YAMLError, ClaimcheckError):  # Quarto says what is wrong
        listed = []
    sources = [(layout.root / str(item)).resolve() for item in listed] or [
        (layout.report_dir / "index.qmd").resolve(), (layout.report_dir / "appendix.qmd").resolve()]
    stems = output_stems(layout)
    return [(source, stems[i] if i < len(stems) else source.stem) for i, source in enumerate(sources)]


def document_inputs(layout: Layout, source: Path, others: list[Path]) -> list[Path]:
    """Every file rendering ``source`` reads: ``_quarto.yml``, the shared files of its folder (styles,
    bibliography; not the other documents), the document with the files it includes (includes are
    textual: paths resolve against the document's folder), the metadata files of its front matter,
    and the executed notebooks it embeds (or whose outputs the build wrote into the sources: an image
    written out changes only with its notebook)."""
    folder = source.parent
    shared = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix != ".qmd"
                    and not p.name.startswith(".")) if folder.is_dir() else []
    files, queue, seen = [layout.root / "_quarto.yml", *shared], [source], set()
    embedded: set[Path] = set()
    while queue:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        files.append(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        if path == source:
            files += [(folder / m).resolve() for m in re.findall(r"^\s*-\s*(\S+\.ya?ml)\s*$", text.split("\n---", 1)[0], re.M)]
        queue += [(folder / m.group(1)).resolve() for m in INCLUDE.finditer(text)
                  if (folder / m.group(1)).resolve() not in others]
        embedded |= {(folder / (m.group(1) or m.group(2))).resolve() for m in EMBED.finditer(text)}
    return files + sorted(embedded)


def output_key(layout: Layout, version: str, fmt: str, inputs: list[Path]) -> str:
    """sha256 over what one document's render to ``fmt`` reads (and the Quarto version)."""
    digest = hashlib.sha256(f"quarto {version}\nformat {fmt}\n".encode())
    for path in inputs:
        digest.update(layout.relative(path).encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
        digest.update(b"\0")
    return digest.hexdigest()


def warnings_in(output: str) -> list[str]:
    """Quarto's WARNING (and ERROR) messages in its output, each with the lines that explain it; an ERROR
    printed by a render that exits 0 is a broken part of the output just the same."""
    found, current = [], None
    for line in output.splitlines():
        if re.match(r"^\s*(WARN|WARNING|ERROR)\b", line):
            if current:
                found.append("\n".join(current).strip())
            current = [line.strip()]
        elif current is not None:
            if not line.strip() or re.match(r"^\s*(ERROR|Output created|pandoc|metadata|\[\s*\d+/\d+\])", line):
                found.append("\n".join(current).strip())
                current = None
            else:
                current.append(line.rstrip())
    if current:
        found.append("\n".join(current).strip())
    return found


def strict_default() -> bool:
    return os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true", "yes")


@dataclass
class Job:
    """One document rendered to one format."""

    source: Path
    fmt: str
    output: Path
    key: str
    name: str  # e.g. "claims-report-v0.1.0.pdf"
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None


def render_jobs() -> int | None:
    """How many renders run at once: ``$CLAIMCHECK_RENDER_JOBS``, else None (one per core)."""
    text = os.environ.get(JOBS_ENV, "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def render(layout: Layout, *, formats=("html", "typst"), extra_args=(), echo=print, strict: bool | None = None,
           force: bool = False, jobs: int | None = None) -> list[Path]:
    """Render each document (report, appendix) to each format; return the output files (names carry the version).

    Only the outputs whose inputs changed since their last successful render are rendered (each
    document and format has its own key: :func:`document_inputs`); the others are kept, with the
    warnings their render printed shown again. The renders run concurrently, one per core (``jobs``
    or ``$CLAIMCHECK_RENDER_JOBS``), never two of the same document at once (they share its
    intermediate files). Raises QuartoMissing when Quarto is not found, and QuartoFailed when a render
    fails or, in strict mode, prints a warning (Quarto's own message first, then any problem the static
    checks find); the executed notebooks, ledger, report sources and the other outputs are kept.
    """
    quarto = require_quarto()
    strict = strict_default() if strict is None else strict
    stamp_path = layout.build_dir / "render.json"
    previous = _read_stamp(stamp_path)
    version, quarto_identity = quarto_version(quarto, previous.get("quarto"))
    done: dict = {k: v for k, v in (previous.get("outputs") or {}).items() if isinstance(v, dict)}
    docs = documents(layout)
    sources = [source for source, _ in docs]
    todo, kept, expected = [], [], []
    for source, stem in docs:
        inputs = document_inputs(layout, source, [s for s in sources if s != source])
        for fmt in formats:
            output = layout.root / "_site" / "report" / f"{stem}.{EXTENSIONS.get(fmt, fmt)}"
            job = Job(source, fmt, output, output_key(layout, version, fmt, inputs), output.name)
            expected.append(output)
            entry = done.get(job.name) or {}
            if not force and entry.get("inputs") == job.key and output.is_file():
                job.warnings = list(entry.get("warnings") or [])
                kept.append(job)
            else:
                job.seconds = float(entry.get("seconds") or 0)
                todo.append(job)
    shown = ", ".join(layout.relative(p) for p in expected[:len(formats)])
    if not todo:
        warned = [w for job in kept for w in job.warnings]
        echo(f"Render not needed: nothing it reads changed since the last render ({previous.get('rendered', '?')}); "
             f"the report is {shown}"
             + (f" (that render printed {len(warned)} Quarto warning{'s' if len(warned) != 1 else ''}, shown again below)."
                if warned else "."))
        _show(warned, echo)
        if strict and warned:
            raise QuartoFailed(f"the last render printed {len(warned)} Quarto warning(s) (strict mode)",
                               hint="fix what they name, then build again")
        return expected
    workers = max(1, min(len(todo), jobs or render_jobs() or os.cpu_count() or 1))
    echo(f"Rendering {len(todo)} of {len(expected)} outputs with {quarto}, {workers} at a time"
         + (f" (not changed, kept: {', '.join(j.name for j in kept)})" if kept else "") + " ...")
    for job in kept:
        _show(job.warnings, echo, job.name)
    _run_jobs(layout, quarto, todo, workers, extra_args, echo)
    failed = [job for job in todo if job.error]
    warned = [job for job in todo if job.warnings]
    for job in todo:  # what was rendered well is kept, even when another render failed
        if not job.error and (not strict or not job.warnings):
            done[job.name] = {"inputs": job.key, "warnings": job.warnings, "seconds": round(job.seconds, 1)}
        else:
            done.pop(job.name, None)
    from .files import write_if_changed
    from .manifest import now

    write_if_changed(stamp_path, json.dumps({"rendered": now(), "quarto": quarto_identity, "outputs": done},
                                            indent=2) + "\n")
    if failed:
        job = failed[0]
        raise QuartoFailed(
            f"quarto render --to {job.fmt} failed {job.error}" + _static_problems(layout),
            hint="the executed notebooks, ledger and report sources in _build/ are kept; fix the error and run `build` again",
        )
    if strict and warned:
        n = sum(len(j.warnings) for j in warned)
        raise QuartoFailed(
            f"quarto render printed {n} warning(s) (strict mode; shown above) in {', '.join(j.name for j in warned)}"
            + _static_problems(layout),
            hint="a warning is a broken part of the report; fix it, then build again",
        )
    count = sum(len(j.warnings) for j in todo + kept)
    if count:
        echo(f"Quarto printed {count} warning(s) (shown above); the report was rendered, but check them.")
    return expected


def _run_jobs(layout: Layout, quarto: Path, todo: list[Job], workers: int, extra_args, echo) -> None:
    """Run the renders, ``workers`` at a time, the longest (by their last render) first, never two of one
    document at once; each job gets its warnings, time and error (if it failed)."""
    import threading
    import time
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    lock = threading.Lock()
    queue = sorted(todo, key=lambda j: -j.seconds)

    def run(job: Job) -> Job:
        t0 = time.monotonic()
        proc = subprocess.run([str(quarto), "render", layout.relative(job.source), "--to", job.fmt, *extra_args],
                              cwd=layout.root, capture_output=True, text=True)
        job.seconds = time.monotonic() - t0
        job.warnings = warnings_in((proc.stderr or "") + "\n" + (proc.stdout or ""))
        if proc.returncode != 0:
            job.error = f"(exit {proc.returncode}) for {layout.relative(job.source)}:\n    " + "\n    ".join(
                (proc.stderr or proc.stdout).strip().splitlines()[-20:])
        elif not job.output.is_file():
            job.error = (f"for {layout.relative(job.source)}: it exited 0 but wrote no {layout.relative(job.output)} "
                         "(check output-dir in _quarto.yml and output-file in the metadata files under _build/report/)")
        with lock:
            _show(job.warnings, echo, job.name)
            echo(f"  {'wrote ' + layout.relative(job.output) if not job.error else 'FAILED ' + job.name} ({job.seconds:.0f}s)")
        return job

    running: dict = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        while queue or running:
            busy = {job.source for job in running.values()}
            for job in list(queue):
                if len(running) >= workers:
                    break
                if job.source not in busy:
                    queue.remove(job)
                    busy.add(job.source)
                    running[pool.submit(run, job)] = job
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                running.pop(future)
                future.result()


def _read_stamp(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, json.JSONDecodeError):
        return {}


def _show(warnings: list[str], echo, where: str | None = None) -> None:
    for w in warnings:
        echo(f"  Quarto {'(' + where + ') ' if where else ''}{w}".replace("\n", "\n    "))


def _static_problems(layout: Layout) -> str:
    """The static checks' findings, as a paragraph to append to a render error (empty if none)."""
    from .checks import check_report

    try:
        problems = check_report(layout).problems
    except Exception:  # a diagnostic must never hide Quarto's own error
        return ""
    if not problems:
        return ""
    return (f"\n  The static checks (python -m analysis check-report) also find {len(problems)} problem(s):\n    "
            + "\n    ".join(str(p) for p in problems[:20]))
