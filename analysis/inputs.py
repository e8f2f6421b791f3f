"""Input bookkeeping: the numbers a computation takes from the catalog, kept with their datasets.

A notebook registers each input as it reads it; the same object then shows the inputs table a
reviewer reads and lists the datasets to credit in ``figures.record`` and ``claims.record``.
"""

from __future__ import annotations

from .lookup import dataset_names


class Inputs:
    """An ordered set of named inputs, each with value, unit, dataset and a description."""

    def __init__(self):
        self._items: dict[str, dict] = {}

    def add(self, key: str, value: float, *, unit: str, dataset, what: str, symbol: str | None = None) -> float:
        """Register input ``key`` (read from ``dataset``, a loaded table or a name) and return ``value``."""
        if key in self._items:
            raise ValueError(f"input {key!r} is registered twice")
        name = dataset_names([dataset], what=f"input {key}")[0]
        self._items[key] = {"input": key, "symbol": symbol or key, "value": value, "unit": unit,
                            "dataset": name, "what": what}
        return value

    def __getitem__(self, key: str) -> float:
        return self._items[key]["value"]

    def __contains__(self, key: str) -> bool:
        return key in self._items

    @property
    def datasets(self) -> list[str]:
        """The datasets of all inputs, sorted (for the record calls' ``datasets``)."""
        return sorted({item["dataset"] for item in self._items.values()})

    def datasets_of(self, *keys: str) -> list[str]:
        """The datasets of the named inputs only."""
        return sorted({self._items[k]["dataset"] for k in keys})

    def table(self):
        """The inputs as a DataFrame (symbol, what, value, unit, dataset), in the order added."""
        import pandas as pd

        return pd.DataFrame([{k: item[k] for k in ("symbol", "what", "value", "unit", "dataset")}
                             for item in self._items.values()])
