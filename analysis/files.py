"""Small file helpers shared by the build and the notebooks: checksums and atomic writes.

Kept apart from ``analysis.cache`` so that code running inside notebook kernels does not import
the build's bookkeeping (a run is made stale only by changes to the modules it imports).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def notebook_code_sha256(path: Path) -> str:
    """sha256 of a notebook's code cells only: editing prose or outputs does not make runs stale."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    code = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            code.append("".join(source) if isinstance(source, list) else source)
    return hashlib.sha256(json.dumps(code).encode()).hexdigest()


def write_if_changed(path: Path, text: str) -> None:
    """Write ``text`` atomically, leaving the file (and its mtime) alone if it already holds it."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def canonical_json(obj) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"
