"""Quarto: find the program and render the report. Quarto is an external program, like LaTeX."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .errors import QuartoFailed, QuartoMissing
from .paths import Layout

INSTALL_HINT = (
    "install Quarto (conda-forge package `quarto`, `pip install quarto-cli` where the internet is reachable, "
    "or https://quarto.org/docs/get-started/) and put it on PATH or in the QUARTO environment variable"
)


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


EXTENSIONS = {"html": "html", "typst": "pdf"}


def output_stem(layout: Layout) -> str:
    """The rendered files' name without extension, as the generated ``_metadata.yml`` sets it."""
    import yaml

    from .report import output_stem as default_stem

    meta_path = layout.generated_report_dir / "_metadata.yml"
    if meta_path.is_file():
        meta = yaml.safe_load(meta_path.read_text(encoding="utf-8")) or {}
        if meta.get("output-file"):
            return str(meta["output-file"])
    from . import __version__

    return default_stem(__version__)


def render(layout: Layout, *, formats=("html", "typst"), extra_args=(), echo=print) -> list[Path]:
    """Render the report in each format; return the output files (their names carry the version).

    Raises QuartoMissing when Quarto is not found and QuartoFailed when a render fails (Quarto's own
    error first, then any problem the static checks find); the executed notebooks, ledger, report
    sources and outputs of earlier formats are kept.
    """
    quarto = require_quarto()
    stem = output_stem(layout)
    outputs = []
    for fmt in formats:
        echo(f"Rendering the report ({fmt}) with {quarto} ...")
        proc = subprocess.run([str(quarto), "render", "--to", fmt, *extra_args], cwd=layout.root,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            tail = "\n    ".join((proc.stderr or proc.stdout).strip().splitlines()[-20:])
            raise QuartoFailed(
                f"quarto render --to {fmt} failed (exit {proc.returncode}):\n    {tail}" + _static_problems(layout),
                hint="the executed notebooks, ledger and report sources in _build/ are kept; fix the error and run `build` again",
            )
        name = f"{stem}.{EXTENSIONS.get(fmt, fmt)}"
        found = sorted((layout.root / "_site").rglob(name))
        if not found:
            raise QuartoFailed(
                f"quarto render --to {fmt} succeeded but wrote no {name} under _site/",
                hint="check output-dir in _quarto.yml and output-file in _build/report/_metadata.yml",
            )
        echo(f"  wrote {layout.relative(found[0])}")
        outputs.append(found[0])
    return outputs


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
