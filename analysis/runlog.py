"""The run log: what a notebook run touched, written from inside its kernel for the build to read.

The build points ``$CLAIMCHECK_LOAD_LOG`` at a per-run JSON-lines file. Each dataset load appends
its name and checksum; loads and records also append which ``analysis`` modules the kernel has
imported, so a run is made stale only by changes to code it actually ran.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

LOG_ENV = "CLAIMCHECK_LOAD_LOG"
#: the project files (besides catalog datasets) the running notebook may read: project.yml `reads`
READS_ENV = "CLAIMCHECK_READS"


#: module file path -> its path relative to the package folder (None: outside it); resolving every
#: module's path at each of a run's hundred log entries had cost the real project 0.7 s per run
_relative: dict[str, str | None] = {}


def imported_modules() -> list[str]:
    """Files of the ``analysis`` package imported in this process, relative to the package folder."""
    package = Path(__file__).resolve().parent
    found = set()
    for name, module in list(sys.modules.items()):
        if name != "analysis" and not name.startswith("analysis."):
            continue
        path = getattr(module, "__file__", None)
        if not path:
            continue
        if path not in _relative:
            resolved = Path(path).resolve()
            _relative[path] = resolved.relative_to(package).as_posix() if resolved.is_relative_to(package) else None
        if _relative[path] is not None:
            found.add(_relative[path])
    return sorted(found)


def append(entry: dict) -> None:
    """Append ``entry`` (plus the imported modules) to this run's log, if the build set one."""
    log = os.environ.get(LOG_ENV)
    if not log:
        return
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({**entry, "modules": imported_modules()}) + "\n")
