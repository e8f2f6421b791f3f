"""Notebook cells: their source, their Quarto options (``#| key: value``), their labels and the checksum
of a labelled cell's output.

A leaf module (it imports nothing of this package but ``files``): the review slicer, the figure
inventory and the report checks all read cells through it.

Checksum: the sha256 of the cell's image/png output bytes (base64-decoded; several images are hashed
in order). A table (``tbl-``) is hashed on its text/markdown output, else text/html, else text/plain.
"""

from __future__ import annotations

import base64
import functools
import hashlib

import yaml

from .files import parse_yaml

RECORD_MIMES = ("application/vnd.claimcheck.figure+json", "application/vnd.claimcheck.claim+json")
TABLE_MIMES = ("text/markdown", "text/html", "text/plain")


def payloads(notebook_json: dict, mime: str) -> list[dict]:
    """Every output payload of media type ``mime`` in an executed notebook, in cell order (the records
    that ``claims.record``, ``figures.record`` and ``latest.record`` display)."""
    return [output["data"][mime] for cell in notebook_json.get("cells", [])
            for output in cell.get("outputs", []) if mime in output.get("data", {})]


def cell_source(cell: dict) -> str:
    """A notebook cell's source as one string."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def blank_magics(source: str) -> str:
    """A code cell's source with IPython magics and shell lines blanked (line numbers stay)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def cell_options(source: str) -> dict:
    """The Quarto cell options (``#| key: value`` lines at the top of a code cell) as a mapping."""
    lines = []
    for line in source.splitlines():
        if not line.startswith("#|"):
            break
        lines.append(line[2:].removeprefix(" "))
    if not lines:
        return {}
    return dict(_options("\n".join(lines)))


@functools.lru_cache(maxsize=4096)
def _options(text: str) -> tuple:
    """Parsed ``#|`` option lines, once per distinct text (every run of a notebook has the same cells)."""
    try:
        parsed = parse_yaml(text)
        if isinstance(parsed, dict):
            return tuple(parsed.items())
    except yaml.YAMLError:
        pass
    options = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            options[key.strip()] = value.strip()
    return tuple(options.items())


def cell_labels(notebook_json: dict) -> dict[str, dict]:
    """Labelled code cells of a notebook: label -> {"index", "options", "source", "outputs"}."""
    found = {}
    for index, cell in enumerate(notebook_json.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        source = cell_source(cell)
        options = cell_options(source)
        label = options.get("label")
        if isinstance(label, str) and label:
            found[label] = {"index": index, "options": options, "source": source, "outputs": cell.get("outputs", [])}
    return found


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def output_checksum(label: str, outputs: list[dict]) -> tuple[str | None, bytes | None, tuple[str, str] | None]:
    """(sha256, png bytes, (mime, table text)) of a labelled cell's outputs; sha256 is None without output."""
    datas = [o.get("data", {}) for o in outputs if o.get("output_type") in ("display_data", "execute_result")]
    datas = [d for d in datas if not any(m in d for m in RECORD_MIMES)]
    if label.startswith("fig-"):
        images = [base64.b64decode(_text(d["image/png"])) for d in datas if "image/png" in d]
        if images:
            png = b"".join(images)
            return hashlib.sha256(png).hexdigest(), images[0], None
        svgs = [_text(d["image/svg+xml"]) for d in datas if "image/svg+xml" in d]
        if svgs:
            text = "".join(svgs)
            return hashlib.sha256(text.encode()).hexdigest(), None, ("image/svg+xml", text)
        return None, None, None
    for mime in TABLE_MIMES:
        parts = [_text(d[mime]) for d in datas if mime in d]
        if parts:
            text = "".join(parts)
            return hashlib.sha256(text.encode()).hexdigest(), None, (mime, text)
    return None, None, None
