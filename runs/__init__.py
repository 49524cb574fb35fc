"""Run folders: one owner for their layout, identity, signed manifest, saving and verified reading.

Below the domain packages (it imports only ``core``): the pipeline, ``strategy``, the app and Dask
workers read runs only through :func:`open_run`.
"""
from runs.folder import (ACCOUNTS, EDITS, MANIFEST, PERSONAS_JSON, PORTFOLIO, RUN_JSON, RunFolder, RunFolderError,
                         RunInfo, check_run_id, list_runs, manifest_fingerprint, new_run_id, open_run, run_path, save_run)

__all__ = ["ACCOUNTS", "EDITS", "MANIFEST", "PERSONAS_JSON", "PORTFOLIO", "RUN_JSON", "RunFolder", "RunFolderError",
           "RunInfo", "check_run_id", "list_runs", "manifest_fingerprint", "new_run_id", "open_run", "run_path", "save_run"]
