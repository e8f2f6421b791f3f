"""Reproducible checks of quantitative claims about U.S. international science collaboration.

Notebooks use these entry points:

* ``analysis.parameters.check(notebook, globals())``: the run's parameters meet project.yml's rules;
* ``analysis.load(name)``: a catalog dataset as a typed DataFrame (checksum and schema verified);
* ``analysis.lookup`` (``value``, ``row``, ``rows``, ``stack``, ``show``), ``analysis.units``
  (``Rate``, ``convert``) and ``analysis.inputs.Inputs``: the shared notebook helpers;
* ``analysis.figures.record(label, data, datasets=[...])``: the rows a figure plots and their datasets;
* ``analysis.claims.record(claim_id, value, ...)``: what the data give for a registered claim
  (the verdict follows ``docs/verdict-policy.md``).
"""

__version__ = "0.1.0"

__all__ = ["load", "__version__"]


def __getattr__(name):
    # Imported lazily so that the command line starts fast (pandas is only needed by notebooks).
    if name == "load":
        from .catalog import load

        return load
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")
