"""The words and limits the project's files share: the register's verdicts, claim kinds, comparisons,
tolerance types and chain-of-origin words, and the accepted range of a cell timeout. One place for the
code that uses them (``analysis.claims``, the command line) and the typed schemas that check the files
(``analysis.schemas``, imported only when a file changed)."""

import math

VERDICTS = ("reproduced", "reproduced-with-caveat", "mislabelled", "outdated", "not-reproduced", "unverifiable")
#: What a claim states: the comparison kinds of the register (see its header).
KINDS = ("share", "amount", "count", "date", "duration", "quantity", "rank", "trend", "membership")
COMPARISONS = ("=", "~", ">", ">=", "<", "<=")
TOLERANCE_TYPES = ("absolute", "relative", "exact")
#: The links of a claim's chain of origin (docs/verdict-policy.md).
ORIGIN_LINKS = ("cited", "cited-by-cited", "reproduced")
#: Why a claim is unverifiable: the classes of its search record.
SEARCH_CLASSES = ("no-public-record-expected", "public-record-not-found")
#: The longest claim title (headings and the ledger use it).
TITLE_LIMIT = 60

#: Every notebook has this parameter set: the verdict policy's reading of its claims.
DEFAULT_SET = "default"
#: A notebook cell may run this long by default, and at most MAX_CELL_TIMEOUT seconds (project.yml
#: ``cell_timeout``, ``build --timeout``).
DEFAULT_CELL_TIMEOUT = 600
MAX_CELL_TIMEOUT = 86400


def valid_timeout(value) -> bool:
    """A cell timeout in seconds: a number, more than 0 and at most :data:`MAX_CELL_TIMEOUT` (no NaN, no inf)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            and 0 < value <= MAX_CELL_TIMEOUT)
