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


class ReleaseError(ClaimcheckError):
    """A release cannot be recorded."""


class FigureRecordError(ClaimcheckError):
    """A notebook recorded a figure wrongly (bad label, undeclared or unloaded datasets)."""


class LookupFailed(ClaimcheckError):
    """A value lookup in a loaded table matched no row, or more than one."""
