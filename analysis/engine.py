"""The papermill engine the build's workers execute notebooks with: papermill's nbclient engine, saving
the running notebook less often.

papermill's ``NotebookExecutionManager`` writes the whole notebook (JSON encoding plus a schema
validation) before and after every cell, markdown cells included: about 120 writes of a growing
notebook per run, 1-2 s of CPU that a 2-core build pays next to the kernels. Here the notebook is
written when a code cell starts (so the partial file always shows the cell that is running: what a
killed or interrupted build leaves, and what the fault tests watch), at the end (always, after a
failure too: papermill's engine calls ``notebook_complete`` in a ``finally``), and otherwise at most
every ``autosave_cell_every`` seconds (papermill's own autosave interval, 30 s by default).

Only the end of a run is written by nbformat's writer (a copy of the notebook with its text split into
lines, a schema validation, indented JSON: the bytes the build keeps). The writes while the run goes
are compact JSON of the same notebook (json's C encoder, no copy, no validation): a valid notebook
that Jupyter and nbformat read, at about a tenth of the CPU; on the real project those writes had
cost about 1 s of each run's 4. Kernels, parameters and outputs are papermill's.

Imported only in worker processes, where papermill is loaded anyway.
"""

from __future__ import annotations

import json

from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines
from papermill.iorw import papermill_io

ENGINE_NAME = "claimcheck"


class ThrottledSaves(NotebookExecutionManager):
    """papermill's execution manager, writing the notebook when a code cell starts and at the end only
    (and at most every ``autosave_cell_every`` seconds otherwise)."""

    final = False
    starting_code_cell = False

    def cell_start(self, cell, cell_index=None, **kwargs):
        self.starting_code_cell = cell.get("cell_type") == "code"
        try:
            super().cell_start(cell, cell_index, **kwargs)
        finally:
            self.starting_code_cell = False

    def save(self, **kwargs):
        if self.final:
            super().save(**kwargs)
            return
        elapsed = (self.now() - self.last_save_time).total_seconds()
        if self.starting_code_cell or elapsed >= self.autosave_cell_every:
            self.save_running()

    def save_running(self):
        """Write the running notebook as compact JSON (see the module docstring); the end of the run is
        written by papermill's own ``save``."""
        if self.output_path:
            papermill_io.write(json.dumps(self.nb, ensure_ascii=False), self.output_path)
        self.last_save_time = self.now()

    def notebook_complete(self, **kwargs):
        self.final = True
        super().notebook_complete(**kwargs)


class Engine(NBClientEngine):
    """nbclient execution, managed by :class:`ThrottledSaves` (the body of papermill's ``Engine.execute_notebook``)."""

    @classmethod
    def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True, log_output=False,
                         autosave_cell_every=30, **kwargs):
        nb_man = ThrottledSaves(nb, output_path=output_path, progress_bar=progress_bar, log_output=log_output,
                                autosave_cell_every=autosave_cell_every)
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        return nb_man.nb


papermill_engines.register(ENGINE_NAME, Engine)
