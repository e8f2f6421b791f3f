"""Report sources generated from the register, the catalog, the ledger and the manifest.

Generated files go to ``_build/report/`` and are pulled into ``report/index.qmd`` with include
shortcodes. Includes are textual, so paths inside them are written relative to ``report/``.
"""

from __future__ import annotations

from .cache import write_if_changed


def generate(context, result) -> None:
    """Write the generated report sources for the current build."""
    out = context.layout.generated_report_dir
    out.mkdir(parents=True, exist_ok=True)
    rows = result.ledger or []
    lines = ["| Claim | Stated | Reproduced | Verdict |", "|---|---|---|---|"]
    for row in rows:
        reproduced = "—" if row["reproduced"] is None else f"{row['reproduced']:g}"
        lines.append(f"| {row['claim']} | {row['stated']} {row['unit'] or ''} | {reproduced} | {row['verdict']} |")
    write_if_changed(out / "_ledger.qmd", "\n".join(lines) + "\n")
