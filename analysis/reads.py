"""Project files a notebook reads besides catalog datasets: project.yml's ``reads`` (for notebooks).

A notebook that draws on what the build itself computed (the claims ledger, ``_build/ledger.json``) or
on a project file (``report/headlines.yml``) lists those paths under ``reads:`` in project.yml. The
build then runs it after every other run, once this build's ledger is written, and executes it again
exactly when one of those files changes (they are part of its cache key, ``analysis.cache``). Each
read is recorded as an input of the run with its sha256, like a dataset load, so a figure drawn from
it names the file in its data credit and review packet.
"""

from __future__ import annotations

import hashlib
import json
import os

from .errors import FileError, UndeclaredDatasetError
from .paths import Layout

LEDGER = "_build/ledger.json"


def read_bytes(path: str, *, layout: Layout | None = None) -> bytes:
    """The bytes of project file ``path`` (relative to the project root), recorded as an input of the run.

    Raises UndeclaredDatasetError when the running notebook does not list ``path`` in its ``reads``,
    and FileError when the file does not exist.
    """
    from . import catalog, runlog

    declared = os.environ.get(runlog.READS_ENV)
    if declared is not None and path not in declared.split(","):
        run = os.environ.get(catalog.RUN_ENV, "this notebook")
        raise UndeclaredDatasetError(f"{run} read {path}, which project.yml does not list in its `reads`",
                                     hint=f"add {path} to the notebook's `reads` list in project.yml")
    layout = layout or Layout.find()
    full = layout.root / path
    try:
        data = full.read_bytes()
    except FileNotFoundError:
        hint = ("build the claims first: `python -m analysis build` writes it before running this notebook"
                if path == LEDGER else "restore the file, or remove it from the notebook's `reads`")
        raise FileError(f"{path} does not exist", hint=hint) from None
    record = {"dataset": path, "path": path, "sha256": hashlib.sha256(data).hexdigest()}
    catalog.loaded.append(record)
    runlog.append(record)
    return data


def ledger(*, layout: Layout | None = None):
    """This build's claims ledger (``_build/ledger.json``) as a DataFrame, one row per claim.

    ``frame.attrs["dataset"]`` is the file's path, so ``figures.record(..., datasets=[frame])`` credits it.
    """
    import pandas as pd

    data = read_bytes(LEDGER, layout=layout)
    frame = pd.DataFrame(json.loads(data.decode("utf-8")))
    frame.attrs.update({"dataset": LEDGER, "sha256": hashlib.sha256(data).hexdigest()})
    return frame


def yaml_file(path: str, *, layout: Layout | None = None):
    """A YAML project file (``report/headlines.yml``, say), parsed."""
    from .files import parse_yaml

    return parse_yaml(read_bytes(path, layout=layout).decode("utf-8"), source=path)
