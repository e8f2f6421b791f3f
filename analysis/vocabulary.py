"""The register's vocabulary: verdicts, claim kinds, comparisons, tolerance types and the words of a
claim's chain of origin. One place for both the code that judges claims (``analysis.claims``) and the
typed schema that checks the register (``analysis.schemas``), which is imported only when needed."""

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
