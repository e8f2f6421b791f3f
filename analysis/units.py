"""Unit and currency conversion with the rate named.

A converted number is only as good as its rate, so a rate carries what it converts, its value and
where it comes from, and every conversion can say so in the notebook's prose.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import LookupFailed


@dataclass(frozen=True)
class Rate:
    """``value`` units of ``to_unit`` per one ``from_unit``, from ``source`` (a publication or dataset)."""

    value: float
    from_unit: str
    to_unit: str
    source: str

    def __post_init__(self):
        if not (isinstance(self.value, (int, float)) and self.value > 0):
            raise LookupFailed(f"rate {self.from_unit} -> {self.to_unit} from {self.source}: "
                               f"expected a positive number, got {self.value!r}")

    def describe(self) -> str:
        """'1 EUR = 1.3 USD (source)', for prose and tables."""
        return f"1 {self.from_unit} = {self.value:.4g} {self.to_unit} ({self.source})"

    def inverse(self) -> "Rate":
        """The same rate the other way round."""
        return Rate(1 / self.value, self.to_unit, self.from_unit, self.source)


def convert(amount: float, rate: Rate, *, unit: str | None = None) -> float:
    """``amount`` (in ``rate.from_unit``) expressed in ``rate.to_unit``.

    ``unit``, when given, is checked against the rate's ``from_unit`` so that a EUR amount is never
    converted with a rate meant for another currency.
    """
    if unit is not None and unit != rate.from_unit:
        raise LookupFailed(f"cannot convert an amount in {unit!r} with a rate from {rate.from_unit!r} ({rate.describe()})")
    return float(amount) * rate.value


def rate_from_pair(amount_from: float, amount_to: float, from_unit: str, to_unit: str, source: str) -> Rate:
    """The rate a publication implies when it prints one amount in two currencies."""
    if not amount_from:
        raise LookupFailed(f"{source}: cannot derive a {from_unit} -> {to_unit} rate from an amount of 0")
    return Rate(float(amount_to) / float(amount_from), from_unit, to_unit, source)
