"""A papermill engine for the build: nbclient's engine, but
- the output notebook is written once when the notebook ends (also when a cell fails), not
  before and after every cell. Papermill's default saves the whole notebook ~2x per cell so
  that a watcher sees progress; for the report notebook (embedded charts, large HTML
  outputs) that is most of its overhead. The build prints its own progress per step, and
  the executed notebook with any traceback is still saved for audit;
- it runs on a kernel client the caller keeps (`kc=`, see kernels.Worker.client): nbclient
  otherwise starts a new client per notebook and waits for it to be ready, which costs a
  kernel_info round trip plus jupyter_client's 0.2 s IOPub flush every time.
Registered as engine "par-review".
"""

from __future__ import annotations

from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines
from papermill.log import logger
from papermill.utils import merge_kwargs, remove_args


class _SaveAtEndManager(NotebookExecutionManager):
    """Saves only when asked to (`final`): papermill's execute_notebook writes the executed
    notebook itself once the engine returns, with or without a failed cell. The engine asks
    only when it raises (a dead kernel, a timeout), so that notebook is on disk too."""

    final = False

    def save(self, **kwargs):
        if self.final:
            super().save(**kwargs)


class SaveAtEndEngine(NBClientEngine):
    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man,
        kernel_name,
        log_output=False,
        stdout_file=None,
        stderr_file=None,
        start_timeout=60,
        execution_timeout=None,
        kc=None,
        **kwargs,
    ):
        """nbclient's execution as in papermill's NBClientEngine, on the client `kc` when
        one is given (it is ready and stays open: nbclient does not own it)."""
        timeout = execution_timeout or kwargs.get("timeout")
        kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
        final_kwargs = merge_kwargs(
            kwargs,
            timeout=timeout,
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log=logger,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
        )
        client = PapermillNotebookClient(nb_man, **final_kwargs)
        if kc is not None:
            client.kc = kc
            kc.allow_stdin = False
        return client.execute()

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
        except BaseException:
            nb_man.final = True  # papermill will not get to write it
            raise
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        return nb_man.nb


ENGINE = "par-review"
papermill_engines.register(ENGINE, SaveAtEndEngine)
