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
    quarto = find_quarto()
    if quarto is None:
        where = f"$QUARTO ({os.environ['QUARTO']}) is not an executable file" if os.environ.get("QUARTO") else "quarto is not on PATH"
        raise QuartoMissing(f"the report was not rendered: {where}", hint=INSTALL_HINT)
    return quarto


def render(layout: Layout, *, formats=("html", "typst"), echo=print) -> list[Path]:
    """Render the report in each format; raise QuartoMissing or QuartoFailed (earlier outputs are kept)."""
    quarto = require_quarto()
    outputs = []
    for fmt in formats:
        echo(f"Rendering the report ({fmt}) with {quarto} ...")
        proc = subprocess.run([str(quarto), "render", "--to", fmt], cwd=layout.root, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = "\n    ".join((proc.stderr or proc.stdout).strip().splitlines()[-20:])
            raise QuartoFailed(
                f"quarto render --to {fmt} failed (exit {proc.returncode}):\n    {tail}",
                hint="the executed notebooks, ledger and report sources in _build/ are kept; fix the error and run `build` again",
            )
        outputs.append(layout.root / "_site")
    return outputs
