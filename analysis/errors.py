"""Typed errors. Each says what went wrong, where, what was expected and how to fix it."""


class ClaimcheckError(Exception):
    """Base class: ``str(error)`` is a complete message a user can act on."""

    def __init__(self, message: str, *, hint: str | None = None):
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message}\n  How to fix: {hint}")


class ProjectFileError(ClaimcheckError):
    """project.yml is missing, malformed or refers to something that does not exist."""


class ParameterError(ClaimcheckError):
    """A parameter set names an unknown parameter or gives a value of the wrong type or range."""


class CatalogError(ClaimcheckError):
    """data/datapackage.json is malformed or names a dataset that does not exist."""


class DataIntegrityError(ClaimcheckError):
    """A data file's checksum differs from the one accepted in the catalog, or the file is missing."""


class SchemaError(ClaimcheckError):
    """A data file does not match its Table Schema."""


class UndeclaredDatasetError(ClaimcheckError):
    """A notebook loaded a dataset that project.yml does not declare for it."""


class NotebookFailed(ClaimcheckError):
    """A notebook raised an exception while the build executed it."""


class RegisterError(ClaimcheckError):
    """claims/register.yml is malformed, or notebooks and register disagree."""


class ClaimRecordError(ClaimcheckError):
    """A notebook recorded a claim wrongly (unknown id, missing value, bad caveat)."""


class DriftError(ClaimcheckError):
    """A claim's value or verdict moved against the committed lock."""


class ReportSourceError(ClaimcheckError):
    """A report source points at something that does not exist."""


class BuildLocked(ClaimcheckError):
    """Another build holds the project's build lock."""


class QuartoMissing(ClaimcheckError):
    """The quarto program was not found."""


class QuartoFailed(ClaimcheckError):
    """quarto render exited with an error."""


class RefreshError(ClaimcheckError):
    """A refresh download failed (bad URL, HTTP error, timeout, too large) or the dataset cannot be refreshed."""


class ReviewError(ClaimcheckError):
    """A review record is malformed or names a figure that does not exist."""


class PreflightError(ClaimcheckError):
    """A build would fail before any kernel starts (a claim never recorded, a dataset undeclared, a file
    missing or uncatalogued): found from the sources, nothing executed."""


class ReleaseError(ClaimcheckError):
    """A release cannot be recorded."""


class FigureRecordError(ClaimcheckError):
    """A notebook recorded a figure wrongly (bad label, undeclared or unloaded datasets)."""


class LookupFailed(ClaimcheckError):
    """A value lookup in a loaded table matched no row, or more than one."""


class FileError(ClaimcheckError):
    """A file or folder could not be read or written, or is not in its expected format (JSON, YAML, UTF-8)."""


class CellTimeout(NotebookFailed):
    """A notebook cell ran longer than the cell timeout."""


# The one place that turns operating-system and file-format failures into messages with a path and a fix.

def shown(path) -> str:
    """``path`` as a user reads it: relative to the working directory when inside it."""
    from pathlib import Path

    p = Path(path)
    try:
        return p.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError):
        return str(path)


def from_os_error(exc: OSError, path=None, doing: str | None = None) -> FileError:
    """A FileError for ``exc`` naming ``path`` (default: the path the OS names) and what to do about it."""
    import errno

    target = shown(path if path is not None else (exc.filename or "?"))
    doing = doing or "accessing"
    code = exc.errno
    if code == errno.ENOSPC or code == errno.EDQUOT:
        return FileError(f"no space left on device while {doing} {target}",
                         hint="free some space on that disk (or remove _build/ with `python -m analysis clean`) and run the "
                              "command again; earlier outputs were kept")
    if code == errno.EROFS:
        return FileError(f"cannot write {target}: it is on a read-only file system",
                         hint="make the folder writable (or copy the project to a writable place) and run the command again; "
                              "nothing was changed")
    if code in (errno.EACCES, errno.EPERM):
        if doing == "accessing":  # not said: a file we cannot read is what the user must fix first
            import os

            named = path if path is not None else exc.filename
            unreadable = named is not None and os.path.exists(named) and not os.access(named, os.R_OK)
            doing = "reading" if unreadable else doing
        access = "read" if doing.startswith(("reading", "hashing", "loading", "opening")) else "write"
        place = "that file and its folder" if access == "read" else "that folder"
        return FileError(f"permission denied while {doing} {target}",
                         hint=f"give your user {access} access to {place} (`ls -l` shows owner and mode; e.g. "
                              f"`chmod u+{access[0]} {target}`)")
    if code == errno.ENOENT:
        return FileError(f"{target} does not exist (while {doing} it)",
                         hint="restore it (git checkout -- FILE for a committed file; `python -m analysis build` for outputs)")
    if code == errno.EISDIR:
        return FileError(f"{target} is a folder, where a file was expected", hint="remove or rename the folder")
    return FileError(f"{exc.strerror or exc} while {doing} {target}",
                     hint="check the file and its folder, then run the command again")


def bad_format(path, kind: str, detail: str, hint: str | None = None) -> FileError:
    """A FileError for a file that is not valid ``kind`` (JSON, YAML, UTF-8 text)."""
    target = shown(path)
    return FileError(f"{target} is not valid {kind}: {detail}",
                     hint=hint or f"fix the file, or restore it with `git checkout -- {target}`")


def translate(exc: BaseException) -> ClaimcheckError | None:
    """The project's error for an exception that escaped a command, or None if it is a bug."""
    import json
    import sqlite3

    if isinstance(exc, ClaimcheckError):
        return exc
    if isinstance(exc, OSError):
        return from_os_error(exc)
    if isinstance(exc, sqlite3.DatabaseError):
        return FileError(f"the build state database is damaged ({exc})",
                         hint="remove _build/.state/doit.sqlite (or run `python -m analysis clean`) and build again")
    if isinstance(exc, UnicodeDecodeError):
        return FileError(f"a file is not UTF-8 text (byte {exc.start}: {exc.reason})",
                         hint="save it as UTF-8; run with --debug to see which file")
    if isinstance(exc, RecursionError):
        return FileError("an input file is nested too deeply to read (arrays or mappings inside each other thousands "
                         "of levels deep)", hint="run with --debug to see which file, then restore it")
    if isinstance(exc, MemoryError):
        return FileError("the machine ran out of memory while reading the project's files",
                         hint="run with --debug to see which file; no project file should be larger than a few MB")
    if isinstance(exc, json.JSONDecodeError):
        return FileError(f"a JSON file is damaged: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                         hint="run with --debug to see which file, then restore it")
    return None
