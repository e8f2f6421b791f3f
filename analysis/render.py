"""Quarto: find the program and render the report. Quarto is an external program, like LaTeX.

Every WARNING Quarto prints is shown (Quarto exits 0 on warnings such as a broken embed, so they are
the only sign of it); in strict mode (``strict=True`` or ``CLAIMCHECK_STRICT_RENDER=1``) any warning
fails the render. The render is skipped, with one line saying so, when none of its inputs changed
since the last successful render: the generated sources, the executed notebooks they embed,
``_quarto.yml``, ``report/`` (bibliography included) and the Quarto version. The warnings of that
render are kept in ``_build/render.json`` and shown again when it is skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from .errors import QuartoFailed, QuartoMissing
from .paths import Layout

INSTALL_HINT = (
    "install Quarto (conda-forge package `quarto`, `pip install quarto-cli` where the internet is reachable, "
    "or https://quarto.org/docs/get-started/) and put it on PATH or in the QUARTO environment variable"
)
EXTENSIONS = {"html": "html", "typst": "pdf"}
STRICT_ENV = "CLAIMCHECK_STRICT_RENDER"
EMBED = re.compile(r"\{\{<\s*embed\s+([^#\s>]+)")


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


def render_inputs(layout: Layout, version: str) -> str:
    """sha256 over everything a render reads: ``_quarto.yml``, ``report/``, the generated sources, the
    executed notebooks they embed, and the Quarto version."""
    files = [layout.root / "_quarto.yml"]
    for folder in (layout.report_dir, layout.generated_report_dir):
        if folder.is_dir():
            files += sorted(p for p in folder.rglob("*") if p.is_file()
                            and not any(part.startswith(".") or part.endswith("_files") for part in p.relative_to(folder).parts))
    embedded = set()
    for path in files:
        if path.suffix == ".qmd":
            for m in EMBED.finditer(path.read_text(encoding="utf-8")):
                embedded.add((layout.report_dir / m.group(1)).resolve())
    digest = hashlib.sha256(f"quarto {version}\n".encode())
    for path in files + sorted(embedded):
        digest.update(layout.relative(path).encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
        digest.update(b"\0")
    return digest.hexdigest()


def warnings_in(output: str) -> list[str]:
    """Quarto's WARNING messages in its output, each with the lines that explain it."""
    found, current = [], None
    for line in output.splitlines():
        if re.match(r"^\s*(WARN|WARNING)\b", line):
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


def render(layout: Layout, *, formats=("html", "typst"), extra_args=(), echo=print, strict: bool | None = None,
           force: bool = False) -> list[Path]:
    """Render the report and its appendix in each format; return the output files (their names carry the version).

    Skipped, with one line saying so (and the earlier render's warnings shown again), when no input
    changed since the last successful render. Raises QuartoMissing when Quarto is not found, and
    QuartoFailed when a render fails or, in strict mode, prints a warning (Quarto's own message first,
    then any problem the static checks find); the executed notebooks, ledger, report sources and
    outputs of earlier formats are kept.
    """
    quarto = require_quarto()
    strict = strict_default() if strict is None else strict
    stems = output_stems(layout)
    stamp_path = layout.build_dir / "render.json"
    previous = _read_stamp(stamp_path)
    version, quarto_identity = quarto_version(quarto, previous.get("quarto"))
    key = render_inputs(layout, version)
    expected = [layout.root / "_site" / "report" / f"{stem}.{EXTENSIONS.get(f, f)}" for f in formats for stem in stems]
    if (not force and previous.get("inputs") == key and previous.get("formats") == list(formats)
            and all(p.is_file() for p in expected)):
        kept = previous.get("warnings", [])
        echo(f"Render not needed: nothing it reads changed since the last render ({previous.get('rendered', '?')}); "
             f"the report is {', '.join(layout.relative(p) for p in expected[:len(stems)])}"
             + (f" (that render printed {len(kept)} Quarto warning{'s' if len(kept) != 1 else ''}, shown again below)." if kept else "."))
        _show(kept, echo)
        if strict and kept:
            raise QuartoFailed(f"the last render printed {len(kept)} Quarto warning(s) (strict mode)",
                               hint="fix what they name, then build again")
        return expected
    stamp_path.unlink(missing_ok=True)
    outputs, warnings = [], []
    for fmt in formats:
        echo(f"Rendering the report ({fmt}) with {quarto} ...")
        proc = subprocess.run([str(quarto), "render", "--to", fmt, *extra_args], cwd=layout.root,
                              capture_output=True, text=True)
        found = warnings_in((proc.stderr or "") + "\n" + (proc.stdout or ""))
        _show(found, echo, fmt)
        warnings += [f"[{fmt}] {w}" for w in found]
        if proc.returncode != 0:
            tail = "\n    ".join((proc.stderr or proc.stdout).strip().splitlines()[-20:])
            raise QuartoFailed(
                f"quarto render --to {fmt} failed (exit {proc.returncode}):\n    {tail}" + _static_problems(layout),
                hint="the executed notebooks, ledger and report sources in _build/ are kept; fix the error and run `build` again",
            )
        if strict and found:
            raise QuartoFailed(
                f"quarto render --to {fmt} printed {len(found)} warning(s) (strict mode; shown above)" + _static_problems(layout),
                hint="a warning is a broken part of the report; fix it, then build again",
            )
        ext = EXTENSIONS.get(fmt, fmt)
        for stem in stems:
            name = f"{stem}.{ext}"
            found_files = sorted((layout.root / "_site").rglob(name))
            if not found_files:
                raise QuartoFailed(
                    f"quarto render --to {fmt} succeeded but wrote no {name} under _site/",
                    hint="check output-dir in _quarto.yml and output-file in the metadata files under _build/report/",
                )
            echo(f"  wrote {layout.relative(found_files[0])}")
            outputs.append(found_files[0])
    if warnings:
        echo(f"Quarto printed {len(warnings)} warning(s) (shown above); the report was rendered, but check them.")
    from .files import write_if_changed
    from .manifest import now

    write_if_changed(stamp_path, json.dumps({"inputs": key, "formats": list(formats), "rendered": now(),
                                             "warnings": warnings, "quarto": quarto_identity}, indent=2) + "\n")
    return outputs


def _read_stamp(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, json.JSONDecodeError):
        return {}


def _show(warnings: list[str], echo, fmt: str | None = None) -> None:
    for w in warnings:
        echo(f"  Quarto {'(' + fmt + ') ' if fmt else ''}{w}".replace("\n", "\n    "))


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
