"""A papermill engine for the build: nbclient's engine, but the output notebook is written
once when the notebook ends (also when a cell fails), not before and after every cell.

Papermill's default saves the whole notebook ~2x per cell so that a watcher sees progress;
for the report notebook (embedded charts, large HTML outputs) that is most of its
overhead. The build prints its own progress per step, and the executed notebook with any
traceback is still saved for audit. Registered as engine "par-review".
"""

from __future__ import annotations

from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines


class _SaveAtEndManager(NotebookExecutionManager):
    _final = False

    def save(self, **kwargs):
        if self._final:
            super().save(**kwargs)

    def notebook_complete(self, **kwargs):
        self._final = True
        super().notebook_complete(**kwargs)


class SaveAtEndEngine(NBClientEngine):
    @classmethod
    def execute_notebook(
        cls,
        nb,
        kernel_name,
        output_path=None,
        progress_bar=True,
        log_output=False,
        autosave_cell_every=30,
        **kwargs,
    ):
        nb_man = _SaveAtEndManager(
            nb,
            output_path=output_path,
            progress_bar=progress_bar,
            log_output=log_output,
            autosave_cell_every=autosave_cell_every,
        )
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        return nb_man.nb


ENGINE = "par-review"
papermill_engines.register(ENGINE, SaveAtEndEngine)
