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

from .errors import ClaimcheckError, bad_format, from_os_error


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


def read_text(path: Path, *, hint: str | None = None, limit: int | None = None) -> str:
    """A UTF-8 text file's content; FileError naming the file if it cannot be read or decoded, or if it
    is larger than ``limit`` bytes (checked before reading: no input may take gigabytes of memory)."""
    from .errors import FileError, shown

    try:
        if limit is not None and (size := os.stat(path).st_size) > limit:
            raise FileError(f"{shown(path)} is too large ({size / 2**20:.0f} MB; at most {limit / 2**20:.0f} MB are read)",
                            hint=hint or f"restore it with `git checkout -- {shown(path)}`")
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise bad_format(path, "UTF-8 text", f"byte {exc.start}: {exc.reason}", hint) from None
    except OSError as exc:
        raise from_os_error(exc, path, "reading") from None


#: The largest project file (YAML or JSON) a command reads: the biggest real one is about 1 MB. A larger
#: file is refused before it is parsed, so no input can make a command use gigabytes of memory.
MAX_PROJECT_FILE_BYTES = 32 * 1024 * 1024


def _yaml():
    import yaml

    return yaml


_YAML_FILE_ERROR = None


def yaml_file_error(message: str, hint: str | None = None):
    """A FileError for a refused YAML file that is also a ``yaml.YAMLError`` (callers catching that still do)."""
    global _YAML_FILE_ERROR
    if _YAML_FILE_ERROR is None:
        from .errors import FileError

        _YAML_FILE_ERROR = type("YAMLFileError", (FileError, _yaml().YAMLError),
                                {"__doc__": "A project YAML file that is invalid or uses a refused feature."})
    return _YAML_FILE_ERROR(message, hint=hint)


class _NoAnchors(Exception):
    """Raised inside :func:`_check_yaml_graph`; becomes a FileError naming the file and lines."""


def _strict_loader_class():
    """The project's YAML loader: libyaml's C parser when PyYAML has it, dates kept as strings.

    A subclass (never ``SafeLoader`` itself, which every other ``safe_load`` in the process uses),
    with the timestamp resolver dropped as papermill's ``NoDatesSafeLoader`` does: ``2024-06-30``
    stays the string it is written as, not a ``datetime.date``.
    """
    global _STRICT_LOADER
    if _STRICT_LOADER is None:
        yaml = _yaml()
        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        resolvers = {first: [r for r in found if r[0] != "tag:yaml.org,2002:timestamp"]
                     for first, found in base.yaml_implicit_resolvers.items()}
        _STRICT_LOADER = type("StrictLoader", (base,), {"yaml_implicit_resolvers": resolvers})
    return _STRICT_LOADER


_STRICT_LOADER = None
_MERGE_TAG = "tag:yaml.org,2002:merge"


def _key_text(node) -> str:
    return repr(node.value) if not isinstance(node.value, list) else f"<{node.tag.rsplit(':', 1)[-1]} key>"


def _plain_yaml_graph(root) -> bool:
    """True if the node graph has no alias, merge key or duplicate key (the fast path of every command;
    :func:`_check_yaml_graph` then says what and where)."""
    yaml = _yaml()
    mapping, sequence, scalar = yaml.MappingNode, yaml.SequenceNode, yaml.ScalarNode
    seen: set[int] = set()
    add = seen.add
    stack = [root]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        node = pop()
        ident = id(node)
        if ident in seen:
            return False
        add(ident)
        kind = node.__class__
        if kind is mapping:
            pairs = node.value
            keys = {(k.tag, k.value) for k, _ in pairs if k.__class__ is scalar}
            if len(keys) != sum(1 for k, _ in pairs if k.__class__ is scalar) or (_MERGE_TAG, "<<") in keys:
                return False
            for key, value in pairs:
                push(key)
                push(value)
        elif kind is sequence:
            extend(node.value)
    return True


def _check_yaml_graph(root) -> None:
    """One linear walk over the composed node graph: refuse aliases, merge keys and duplicate keys.

    An alias is the very node object of its anchor, so a node reached twice is an alias; the walk
    never descends into a node twice, so a "billion laughs" file is refused after reading it once.
    Raises ``_NoAnchors(message)`` with the line numbers (1-based) of what it found.
    """
    yaml = _yaml()
    seen: set[int] = set()
    stack = [(root, None)]
    while stack:
        node, parent_key = stack.pop()
        if id(node) in seen:
            where = (f"line {parent_key.start_mark.line + 1}: an alias (*) under key {_key_text(parent_key)}"
                     if parent_key is not None else "an alias (*)")
            raise _NoAnchors(f"{where} repeats the value anchored (&) at line {node.start_mark.line + 1}; anchors "
                             "and aliases are not allowed in project files")
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[tuple, int] = {}
            for key, value in node.value:
                if key.tag == _MERGE_TAG:
                    raise _NoAnchors(f"line {key.start_mark.line + 1}: merge keys (<<) are not allowed in project files")
                if isinstance(key, yaml.ScalarNode):
                    ident = (key.tag, key.value)
                    if ident in first:
                        raise _NoAnchors(f"duplicate key {key.value!r} at line {key.start_mark.line + 1} (first at line "
                                         f"{first[ident]}); YAML would silently keep only the last one")
                    first[ident] = key.start_mark.line + 1
            children = [pair for key, value in node.value for pair in ((key, parent_key), (value, key))]
            stack.extend(reversed(children))  # visited in document order: an anchor comes before its aliases
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed([(item, parent_key) for item in node.value]))


def parse_yaml(text: str, *, source: str = "<text>", hint: str | None = None):
    """Parse one YAML document of the project (project.yml, the register, review records) strictly.

    libyaml's C parser when PyYAML has it (these files are read on every command). Refused, with
    FileError naming ``source`` and the line: invalid YAML, a duplicate key (naming both lines),
    anchors and aliases (refused after one linear pass over the node graph, so a "billion laughs"
    file costs no memory), merge keys, unknown tags (``!!python/...``) and text over
    :data:`MAX_PROJECT_FILE_BYTES`. Dates stay strings. An empty document is None.
    """
    from .errors import FileError

    yaml = _yaml()
    hint = hint or f"fix the line named above (git diff {source} shows what changed)"
    if len(text) > MAX_PROJECT_FILE_BYTES:
        raise yaml_file_error(f"{source} is too large to be a project file ({len(text) / 2**20:.0f} MB; at most "
                        f"{MAX_PROJECT_FILE_BYTES // 2**20} MB are read)", hint=f"restore it with `git checkout -- {source}`")
    loader = _strict_loader_class()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if not _plain_yaml_graph(node):
            _check_yaml_graph(node)  # says what and where
        return loader.construct_document(node)
    except _NoAnchors as exc:
        message = str(exc)
        kind = "is not valid YAML" if message.startswith("duplicate key") else "uses a YAML feature the project refuses"
        raise yaml_file_error(f"{source} {kind}: {message}",
                        hint=hint if message.startswith("duplicate key") else
                        "write the value out in full where it is needed (an alias can multiply a small file into gigabytes)"
                        ) from None
    except yaml.YAMLError as exc:
        raise yaml_file_error(f"{source} is not valid YAML: {_describe_yaml_error(exc)}", hint=hint) from None
    finally:
        loader.dispose()


def _describe_yaml_error(exc) -> str:
    """A YAML error in one line: what is wrong, at line L, column C (1-based)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    text = f"{problem} ({context})" if context else problem
    if mark is not None:
        text += f" at line {mark.line + 1}, column {mark.column + 1}"
    return text


def yaml_key_lines(text: str) -> dict[tuple, int]:
    """Line (1-based) of every mapping key and sequence item of a YAML text, by path (keys and indexes).

    For messages only (composed again when a file breaks its schema): a path is the tuple of keys and
    list indexes leading to the value, as pydantic's error locations give it.
    """
    yaml = _yaml()
    lines: dict[tuple, int] = {}
    try:
        root = _strict_loader_class()(text).get_single_node()
    except yaml.YAMLError:
        return lines
    stack = [(root, ())] if root is not None else []
    while stack:
        node, path = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    here = path + (key.value,)
                    lines[here] = key.start_mark.line + 1
                    stack.append((value, here))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines[path + (i,)] = item.start_mark.line + 1
                stack.append((item, path + (i,)))
    return lines


def dump_yaml(obj, **options) -> str:
    """YAML text for a project file: keys in their order, Unicode kept, and never an anchor or alias
    (``yaml.safe_dump`` writes ``&id001``/``*id001`` when one object appears twice, which
    :func:`parse_yaml` refuses)."""
    yaml = _yaml()
    base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    dumper = type("NoAliasDumper", (base,), {"ignore_aliases": lambda self, data: True})
    return yaml.dump(obj, Dumper=dumper, **{"sort_keys": False, "allow_unicode": True, **options})


def read_json(path: Path, *, hint: str | None = None, limit: int | None = MAX_PROJECT_FILE_BYTES):
    """Parse a JSON file; FileError naming the file, line and column if it is damaged, nested too
    deeply to parse or larger than ``limit`` bytes."""
    text = read_text(path, hint=hint, limit=limit)
    return parse_json(text, path, hint=hint)


def parse_json(text: str, path, *, hint: str | None = None):
    """Parse JSON text read from ``path``; FileError naming it (line and column) if it is damaged."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        detail = f"{exc.msg} at line {exc.lineno}, column {exc.colno}" if text.strip() else "the file is empty"
        raise bad_format(path, "JSON", detail, hint) from None
    except RecursionError:
        raise bad_format(path, "JSON", "its arrays or objects are nested too deeply to read", hint) from None


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
    write_bytes_if_changed(path, text.encode("utf-8"))


def write_bytes_if_changed(path: Path, data: bytes) -> None:
    """Write ``data`` atomically, leaving the file (and its mtime) alone if it already holds it."""
    path = Path(path)
    try:
        if path.is_file() and path.read_bytes() == data:
            return
    except OSError:
        pass
    atomic_write_bytes(path, data)


def write_json_if_changed(path: Path, obj) -> None:
    """Write ``obj`` as :func:`canonical_json` unless the file already holds the same JSON value.

    Comparing parsed values skips the slow indented encoding when nothing changed (a no-op build)."""
    try:
        if json.loads(Path(path).read_text(encoding="utf-8")) == json.loads(compact_json(obj)):
            return
    except (OSError, ValueError, RecursionError):  # missing or damaged: written afresh
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


_VALID: dict[str, list[str]] = {}  # state file -> keys of file versions that passed their schema


def seen_valid(layout, kind: str, text: str, *, remember: bool = False) -> bool:
    """Did this very text of a ``kind`` of project file pass its schema (``analysis.schemas``) before?

    The schemas are checked once per version of a file and of ``analysis/schemas.py``, the result kept
    in ``_build/.state/valid-files.json`` (a no-op command then never imports pydantic). With
    ``remember``, record that it passed (best effort: a read-only ``_build/`` only costs the reuse).
    """
    schemas = Path(__file__).resolve().with_name("schemas.py")
    key = file_sha256_bytes(f"{kind}\0{fingerprint(schemas)}\0{text}".encode("utf-8"))
    path = layout.state_dir / "valid-files.json"
    known = _VALID.get(str(path))
    if known is None:
        try:
            known = json.loads(path.read_text(encoding="utf-8"))
            known = [k for k in known if isinstance(k, str)] if isinstance(known, list) else []
        except (OSError, ValueError):
            known = []
        _VALID[str(path)] = known
    if not remember:
        return key in known
    if key not in known:
        known[:] = [*known[-255:], key]
        try:
            atomic_write_bytes(path, json.dumps(known).encode("utf-8"))
        except (OSError, ClaimcheckError):  # a full or read-only _build/: validated again next time
            pass
    return True
