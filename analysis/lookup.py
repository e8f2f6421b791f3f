"""Reading values out of loaded catalog tables, for notebooks.

Every notebook needs the same few moves: the one value for an entity, year and measure; several
tables of one kind stacked with their source; a table shown so that it fits the page
(``show``, from :mod:`analysis.tables`). They live here once, with
errors that name the dataset and the filter, so that a notebook reads like its method.
"""

from __future__ import annotations

from .errors import LookupFailed
from .tables import show  # noqa: F401  (notebooks show tables with lookup.show or tables.show)


def rows(table, **where):
    """The rows of ``table`` whose columns equal the given values (``year=2016, entity="USA"``)."""
    selected = table
    for column, wanted in where.items():
        if column not in selected.columns:
            raise LookupFailed(
                f"{_name(table)} has no column {column!r}",
                hint=f"its columns are: {', '.join(map(str, table.columns))}",
            )
        selected = selected[selected[column] == wanted]
    return selected


def row(table, **where):
    """The single row of ``table`` matching ``where``; fails, naming dataset and filter, on none or several."""
    found = rows(table, **where)
    if len(found) != 1:
        described = ", ".join(f"{k}={v!r}" for k, v in where.items()) or "(no filter)"
        problem = "no row" if len(found) == 0 else f"{len(found)} rows"
        raise LookupFailed(
            f"{_name(table)}: expected one row for {described}, found {problem}",
            hint="add a column to the filter to pick one row" if len(found) else "check the filter against the table",
        )
    return found.iloc[0]


def value(table, column: str = "value", **where) -> float:
    """The single ``column`` value (a float) of the row of ``table`` matching ``where``."""
    return float(row(table, **where)[column])


def stack(names, *, source_column: str = "source"):
    """Load several catalog tables and stack them, with each row's source id in ``source_column``.

    The result's ``attrs["datasets"]`` lists the tables it was built from (for figure provenance).
    """
    import pandas as pd

    from .catalog import load

    frames = []
    for name in names:
        frame = load(name)
        frame.insert(0, source_column, name.split(".")[0])
        frames.append(frame)
    stacked = pd.concat(frames, ignore_index=True)
    stacked.attrs = {"datasets": list(names)}
    return stacked


def dataset_names(items, *, what: str) -> list[str]:
    """Dataset names from names, loaded tables or stacked tables, each checked as loaded by this run.

    ``what`` names the record being made ("figure fig-x", "claim y") for the error message.
    """
    from .catalog import loaded

    loaded_names = {entry["dataset"] for entry in loaded}
    names: set[str] = set()
    for item in items:
        if isinstance(item, str):
            found = [item]
        else:
            attrs = getattr(item, "attrs", {}) or {}
            found = [attrs["dataset"]] if attrs.get("dataset") else list(attrs.get("datasets") or [])
        if not found:
            raise LookupFailed(
                f"{what}: a {type(item).__name__} in datasets does not say which catalog table it comes from",
                hint="name the dataset ('source-id.table'), or pass the table analysis.load returned",
            )
        for name in found:
            if loaded_names and name not in loaded_names:
                raise LookupFailed(f"{what}: dataset {name!r} was not loaded by this notebook",
                                   hint="load it with analysis.load(...) before naming it")
            names.add(name)
    return sorted(names)


def _name(table) -> str:
    return table.attrs.get("dataset") or "table"
