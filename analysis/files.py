"""Small file helpers shared by the build and the notebooks: checksums and atomic writes.

Kept apart from ``analysis.cache`` so that code running inside notebook kernels does not import
the build's bookkeeping (a run is made stale only by changes to the modules it imports).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from .errors import bad_format, from_os_error


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


_FINGERPRINTS: dict[tuple, str] = {}


def fingerprint(path: str | Path) -> str:
    """Content fingerprint of a file: the code-cells hash for a notebook, the sha256 otherwise.

    Kept per (path, inode, size, mtime) for the life of the process: a build asks for the same
    dataset files, notebooks and modules many times."""
    stat = os.stat(path)
    key = (str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if key not in _FINGERPRINTS:
        _FINGERPRINTS[key] = notebook_code_sha256(path) if str(path).endswith(".ipynb") else file_sha256(Path(path))
    return _FINGERPRINTS[key]


def read_text(path: Path, *, hint: str | None = None) -> str:
    """A UTF-8 text file's content; FileError naming the file if it cannot be read or decoded."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise bad_format(path, "UTF-8 text", f"byte {exc.start}: {exc.reason}", hint) from None
    except OSError as exc:
        raise from_os_error(exc, path, "reading") from None


def parse_yaml(text: str):
    """Parse YAML text safely, with libyaml's C parser when PyYAML has it (the project file and register
    are read on every command; the pure-Python parser took most of a second for them)."""
    import yaml

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 (a safe loader)


def read_json(path: Path, *, hint: str | None = None):
    """Parse a JSON file; FileError naming the file, line and column if it is damaged."""
    text = read_text(path, hint=hint)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        detail = f"{exc.msg} at line {exc.lineno}, column {exc.colno}" if text.strip() else "the file is empty"
        raise bad_format(path, "JSON", detail, hint) from None


def read_notebook(path: Path) -> dict:
    """A notebook source as JSON; FileError naming the notebook if it is damaged."""
    from .errors import shown

    nb = read_json(path, hint=f"restore it (git checkout -- {shown(path)}) or re-save it from Jupyter")
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise bad_format(path, "notebook JSON", "expected an object with a 'cells' list",
                         f"restore it (git checkout -- {shown(path)}) or re-save it from Jupyter")
    return nb


def notebook_code_sha256(path: Path) -> str:
    """sha256 of a notebook's code cells only: editing prose or outputs does not make runs stale."""
    nb = read_notebook(path)
    code = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            code.append("".join(source) if isinstance(source, list) else source)
    return hashlib.sha256(json.dumps(code).encode()).hexdigest()


def file_sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``.

    Readers see the old content or the new one, never a partial file; on error the old file stays.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            try:
                Path(tmp).unlink(missing_ok=True)
            except OSError:
                pass
        if isinstance(exc, OSError):
            raise from_os_error(exc, path, "writing") from None
        raise


def write_if_changed(path: Path, text: str) -> None:
    """Write ``text`` atomically, leaving the file (and its mtime) alone if it already holds it."""
    path = Path(path)
    try:
        if path.is_file() and path.read_bytes() == text.encode("utf-8"):
            return
    except OSError:
        pass
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json_if_changed(path: Path, obj) -> None:
    """Write ``obj`` as :func:`canonical_json` unless the file already holds the same JSON value.

    Comparing parsed values skips the slow indented encoding when nothing changed (a no-op build)."""
    try:
        if json.loads(Path(path).read_text(encoding="utf-8")) == json.loads(compact_json(obj)):
            return
    except (OSError, ValueError):
        pass
    atomic_write_bytes(path, canonical_json(obj).encode("utf-8"))


def canonical_json(obj) -> str:
    """JSON for files people read and diff: sorted keys, indent 2, trailing newline."""
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


def compact_json(obj) -> str:
    """The same normalised JSON as :func:`canonical_json`, on one line, for hashing and build state.

    Without indentation the json module uses its C encoder: about ten times faster, which a no-op
    build (hashing every run's inputs) notices."""
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=False, default=str)
