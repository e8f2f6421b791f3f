"""Reproducible checks of quantitative claims about U.S. international science collaboration.

Notebooks use three entry points:

* ``analysis.load(name)``: a catalog dataset as a typed DataFrame (checksum and schema verified);
* ``analysis.claims.record(...)``: the reproduced value of a registered claim;
* ``analysis.figures.record(label, data)``: the rows a figure plots, for its review packet.
"""

__version__ = "0.1.0"

__all__ = ["load", "__version__"]


def __getattr__(name):
    # Imported lazily so that the command line starts fast (pandas is only needed by notebooks).
    if name == "load":
        from .catalog import load

        return load
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")
