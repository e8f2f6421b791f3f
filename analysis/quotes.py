"""Every register quote must appear verbatim in its document.

The four documents are not part of the repository (they are their publishers' works, which the repository
does not redistribute); they sit beside it in
``../shared/seeds/`` (or wherever ``$CLAIMCHECK_DOCUMENTS`` points). The register records the sha256 of
each document's text (``documents.<id>.sha256``): the file with that checksum is the version the quotes
were taken from, whatever its name. When the folder or a file is not there, the check says it was not
made, and why; it is never skipped silently (``check`` and ``status`` print the outcome).

Comparison ignores whitespace runs and the difference between curly and straight quotes and dashes.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from .paths import Layout

DOCUMENTS_ENV = "CLAIMCHECK_DOCUMENTS"
_SAME = (("\u2019", "'"), ("\u2018", "'"), ("\u201c", '"'), ("\u201d", '"'), ("\u2014", "-"), ("\u2013", "-"))


def normalise(text: str) -> str:
    """Text as quotes are compared: curly quotes and dashes straightened, whitespace runs as one space."""
    for a, b in _SAME:
        text = text.replace(a, b)
    return " ".join(text.split())


def documents_dir(layout: Layout) -> Path:
    """Where the documents are: ``$CLAIMCHECK_DOCUMENTS``, else ``../shared/seeds`` beside the project."""
    env = os.environ.get(DOCUMENTS_ENV)
    return Path(env).expanduser().resolve() if env else (layout.root.parent / "shared" / "seeds").resolve()


@dataclass
class QuoteCheck:
    """The outcome: quotes checked per document, quotes not found, and documents not checked (with why)."""

    folder: Path
    checked: dict[str, int] = field(default_factory=dict)      # document -> quotes found verbatim
    versions: dict[str, str] = field(default_factory=dict)     # document -> "sha256 <12 hex> (<file name>)"
    missing: list[str] = field(default_factory=list)           # "claim <id>: quote ... not in <document>"
    skipped: dict[str, str] = field(default_factory=dict)      # document -> why it was not checked

    @property
    def ok(self) -> bool:
        return not self.missing

    def summary(self) -> str:
        """One line for a terminal: what was checked against which version, and what was not, and why."""
        total = sum(self.checked.values())
        parts = []
        if self.checked:
            parts.append(f"{total} quote(s) found verbatim in {len(self.checked)} document(s) ("
                         + ", ".join(f"{d} {self.versions[d]}" for d in sorted(self.checked)) + ")")
        if self.missing:
            parts.append(f"{len(self.missing)} quote(s) NOT found")
        if self.skipped:
            reasons = sorted(set(self.skipped.values()))
            parts.append(f"not checked for {', '.join(sorted(self.skipped))}: " + "; ".join(reasons))
        return "Quotes: " + ("; ".join(parts) if parts else "no claims to check") + "."


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def find_documents(folder: Path, documents: dict[str, dict]) -> tuple[dict[str, Path], dict[str, str]]:
    """The file holding each document (matched by the register's sha256), and why a document has none."""
    found, why = {}, {}
    if not folder.is_dir():
        hint = "" if DOCUMENTS_ENV in os.environ else f"; set ${DOCUMENTS_ENV} to the folder that holds them"
        for doc_id in documents:
            why[doc_id] = f"{folder} does not exist (the documents are kept outside the repository{hint})"
        return found, why
    by_sha = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix in (".txt", ".md") and path.name.lower() != "readme.md":
            by_sha.setdefault(file_sha256(path), path)
    for doc_id, doc in documents.items():
        sha = str((doc or {}).get("sha256") or "")
        if not sha:
            why[doc_id] = "the register records no sha256 for it (documents.<id>.sha256), so no file can be matched"
        elif sha in by_sha:
            found[doc_id] = by_sha[sha]
        else:
            why[doc_id] = (f"no file in {folder} has sha256 {sha[:12]}..., the version the quotes were taken from "
                           "(the documents there are another version)")
    return found, why


def check_quotes(layout: Layout, register, folder: Path | None = None) -> QuoteCheck:
    """Check every claim's quote against its document's text (the file whose sha256 the register records)."""
    folder = folder or documents_dir(layout)
    result = QuoteCheck(folder)
    used = {c["document"] for c in register.claims.values()}
    documents = {d: register.documents[d] for d in register.documents if d in used}
    files, why = find_documents(folder, documents)
    result.skipped.update(why)
    texts = {}
    for doc_id, path in files.items():
        texts[doc_id] = normalise(path.read_text(encoding="utf-8"))
        result.versions[doc_id] = f"sha256 {file_sha256(path)[:12]} ({path.name})"
        result.checked[doc_id] = 0
    for claim_id, claim in register.claims.items():
        doc_id = claim["document"]
        if doc_id not in texts:
            continue
        if normalise(str(claim["quote"])) in texts[doc_id]:
            result.checked[doc_id] += 1
        else:
            result.missing.append(f"claim {claim_id}: quote {claim['quote']!r} is not in {doc_id} "
                                  f"({result.versions[doc_id]})")
    return result


def quote_problem(layout: Layout, register, document: str, quote: str) -> tuple[bool | None, str]:
    """Is ``quote`` verbatim in ``document``? (True/False, the version) or (None, why it cannot be checked)."""
    folder = documents_dir(layout)
    files, why = find_documents(folder, {document: register.documents.get(document) or {}})
    if document not in files:
        return None, why[document]
    path = files[document]
    version = f"sha256 {file_sha256(path)[:12]} ({path.name})"
    return normalise(quote) in normalise(path.read_text(encoding="utf-8")), version
