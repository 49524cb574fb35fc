"""The run's risk step, fitted in a second process while persona discovery runs in this one.

Persona discovery is single-threaded on purpose (a seeded UMAP repeats exactly only on one thread),
so during discovery the second core of a laptop sits idle. :func:`start_risk_step` starts the risk
model (cross-validation, SHAP, fairness: :func:`explain.risk.fit_risk_model`) in a child Python
process before discovery begins, and :meth:`RiskStep.result` collects it afterwards and adds the
persona views (mean risk and SHAP per persona, ``RiskResult.with_personas``), because the personas
are only known at the end of discovery.

Why a child process and not a thread: UMAP's numba kernels hold the GIL for a whole epoch, which
would starve a risk thread. Why ``subprocess`` and not ``multiprocessing``: a spawned
``multiprocessing`` child re-runs ``__main__``, which inside Streamlit (and its AppTest) can be a
page script. The child is ``python -m application.risk_step``; the job and the result travel as pickles
over its stdin/stdout pipes only (no file, nothing a user supplied is ever unpickled), and the
result is checked against the SHA-256 the child reports before it is unpickled.

Small portfolios (below ``RunSettings.parallel_risk_min_rows``) and ``parallel_risk=False`` fit in
this process: starting a child costs ~1.3 s of imports, about what the whole risk step takes there. A child
that cannot start or dies without an answer is reported, and the step falls back to this process,
so a run never fails only because a second process was not available. The risk result is the same
either way (same data, same seeds).
"""
from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
import sys
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

RISK_SKIPPED = {"skipped": "no --target given; the risk model step was skipped"}
REPO = Path(__file__).resolve().parents[1]


@dataclass
class RiskJob:
    """What the risk step needs: the portfolio columns it may read and the settings."""

    frame: pd.DataFrame
    roles: Any
    target: str
    target_event: str
    risk_settings: Any

    def fit(self, progress: Callable[[str, float], None] | None = None) -> Any:
        from explain.risk import fit_risk_model

        # The job's frame is this job's own (sent to the child, or a column selection here): the fit may
        # delete the columns it has encoded (memory of the risk process at 1,000,000 accounts).
        return fit_risk_model(self.frame, self.roles, target=self.target, target_event=self.target_event,
                              persona_ids=None, settings=self.risk_settings, progress=progress,
                              release_frame=True)


@dataclass
class RiskStep:
    """A started risk step: running in a child process, or waiting to run here.

    Attributes
    ----------
    mode : str
        "child process" or "this process", with the reason for the latter (run.json
        ``model.computed_in``).
    """

    make_job: Callable[[], RiskJob]
    mode: str
    #: The portfolio frame of the run (not a copy): rows for waterfalls outside the stored SHAP table.
    source: pd.DataFrame | None = None
    _process: subprocess.Popen | None = None
    _thread: threading.Thread | None = None
    _answer: dict[str, Any] = field(default_factory=dict)
    _idle: threading.Event = field(default_factory=threading.Event)
    _job: RiskJob | None = None

    @property
    def job(self) -> RiskJob:
        """The job, built when first needed: a run whose child fits the model never holds a second
        copy of the portfolio's columns in this process (measured: ~0.7 GB at 1M accounts)."""
        if self._job is None:
            self._job = self.make_job()
        return self._job

    def result(self, persona_ids: np.ndarray, progress: Callable[[str, float], None] | None = None) -> Any:
        """The finished :class:`explain.risk.RiskResult` with its persona views added.

        ``progress`` sees the risk model's own stages when it is fitted here (the child reports none).
        """
        self._idle.set()  # discovery is over: the child may use both cores for what is left
        risk = self._child_result() if self._process is not None else None
        if risk is None:
            risk = self.job.fit(progress)
        if risk.rows_source is None and self.source is not None:  # waterfalls outside the stored table
            frame = self.source
            risk.rows_source = lambda: frame
        return risk.with_personas(persona_ids)

    def share_cores(self) -> Any:
        """Context for the work this process does while the child runs: one OpenMP/BLAS thread.

        With the child's thread, two here would put three busy threads on two cores, and OpenMP
        threads that share a core stall at every barrier (the k-NN assignment slowed the run).
        """
        from contextlib import nullcontext

        from core.threads import limit_threads

        return limit_threads(1) if self._process is not None else nullcontext()

    def threads_now(self) -> int | None:
        """OpenMP threads that work whose result does not depend on them (the k-NN assignment) may use
        now: every core this process may run on (:func:`core.threads.usable_cores`) once the child has
        ended (its answer is in the pipe), else ``None`` (the limit of
        :meth:`share_cores` holds). Measured at 100,000 accounts, the child ended while consolidation was
        still running, and the assignment, the map and the profiles had left the second core idle."""
        if self._process is not None and self._process.poll() is not None:
            from core.threads import usable_cores

            return usable_cores()
        return None

    def cancel(self) -> None:
        """Stop the child (discovery failed, so its result is not wanted)."""
        self._idle.set()
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _child_result(self) -> Any:
        self._thread.join()
        self._process.wait()
        out, err, code = self._answer.pop("out", b""), self._answer.get("err", b""), self._process.returncode
        status, payload = _decode(out)
        del out  # the answer's bytes (150 MB at 1,000,000 accounts) are not kept beside the result
        if status == "ok":
            self.mode = "child process"
            return payload
        if status == "error":  # the child's own exception, e.g. a UserError about the target column
            raise payload
        detail = self._answer.get("send") or (err.decode("utf-8", "replace").strip().splitlines()
                                               or [f"exit code {code}"])[-1]
        self.mode = f"this process (the child process gave no result: {detail[:200]})"
        return None


def start_risk_step(frame: pd.DataFrame, roles: Any, settings: Any, risk_settings: Any = None) -> RiskStep | None:
    """Start the risk step for a run (``settings``: :class:`personas.settings.RunSettings`).

    ``risk_settings`` (:class:`explain.settings.RiskSettings`, default: the defaults) says how the
    model is fitted; its seed, language and currency are always the run's. Returns None when the
    run has no target.
    """
    if not settings.target:
        discard_prestarted()
        return None
    from explain.risk import RiskSettings
    from portfolio.currency import portfolio_currency

    currency = portfolio_currency(frame, roles, getattr(settings, "currency", None)).code
    risk_settings = replace(risk_settings or RiskSettings(), seed=settings.seed, language=settings.language,
                            currency=currency)

    def make_job() -> RiskJob:
        return RiskJob(_columns_for_risk(frame, roles, settings), roles, settings.target, settings.target_event,
                       risk_settings)

    if not settings.parallel_risk:
        discard_prestarted()
        return RiskStep(make_job, "this process (parallel_risk is off)", frame)
    if len(frame) < settings.parallel_risk_min_rows:
        discard_prestarted()
        return RiskStep(make_job, f"this process (fewer than {settings.parallel_risk_min_rows:,} accounts)", frame)
    if (os.cpu_count() or 1) < 2:
        return RiskStep(make_job, "this process (one CPU core)", frame)
    # One thread for the trees: discovery needs the other core, and OpenMP threads that share a core
    # with UMAP stall at every barrier (measured: 3 threads on 2 cores made the whole run slower).
    # The trees give the same result on any number of threads.
    return _start_child(make_job, frame)


def _columns_for_risk(frame: pd.DataFrame, roles: Any, settings: Any) -> pd.DataFrame:
    """The portfolio without personal data and planted truth: the child needs neither."""
    drop = set(getattr(roles, "pii", []) or []) | set(getattr(roles, "truth", []) or [])
    drop.discard(settings.target)
    drop.discard("account_id")
    if settings.truth_col and settings.truth_col != settings.target:
        drop.add(settings.truth_col)
    return frame[[c for c in frame.columns if c not in drop]]


_prestarted: dict[str, subprocess.Popen] = {}


def prestart() -> None:
    """Start the risk process now, before the portfolio is read, so that its imports (~1 s) overlap
    the reading; the next :func:`start_risk_step` that fits in a child hands it its job.

    For a command-line run with a target (``personas run``): call it first, from the thread that will
    run the pipeline (see :func:`_die_with_parent`). Harmless when unused: a run that fits the risk model
    here, or none, closes it (:func:`discard_prestarted`), and it ends with this process anyway.
    """
    if "process" not in _prestarted and (os.cpu_count() or 1) >= 2:
        try:
            _prestarted["process"] = _spawn()
        except OSError:
            pass


def discard_prestarted() -> None:
    """End a prestarted risk process that no run will use."""
    process = _prestarted.pop("process", None)
    if process is not None:
        process.kill()
        try:
            process.communicate(timeout=10)  # reaps it and closes its pipes
        except (OSError, subprocess.TimeoutExpired):
            pass


def _spawn() -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
               OMP_WAIT_POLICY="PASSIVE",  # idle OpenMP threads must not spin while UMAP needs the core
               PERSONAS_RISK_PARENT=str(os.getpid()))  # the child ends when this process ends
    env.update(_numba_cache_env())
    return subprocess.Popen([sys.executable, "-m", "application.risk_step"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=str(REPO))


def _numba_cache_env() -> dict[str, str]:
    """``NUMBA_CACHE_DIR`` for the child: the folder :func:`application.numba_cache.enable_disk_cache`
    uses, so the SHAP kernel (:mod:`explain.treeshap`) is loaded from the prepared cache, not compiled.

    ``personas run`` prestarts the child before the pipeline enables the cache in this process, so the
    child used to inherit no cache folder and compiled the kernel in every run: measured at 100,000
    accounts, 15.3 CPU-s for the child without the folder against 12.0-13.2 s with it. Nothing when
    the folder is not safe to use (the kernel then compiles in memory, as before).
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return {}  # inherited as it is
    from application.numba_cache import usable_folder

    folder = usable_folder()
    return {"NUMBA_CACHE_DIR": folder} if folder else {}


def _start_child(make_job: Callable[[], RiskJob], frame: pd.DataFrame) -> RiskStep:
    """Start the job in a child process (the prestarted one when there is one, still waiting);
    ``make_job`` builds it again here if the child fails."""
    process = _prestarted.pop("process", None)
    if process is not None and process.poll() is not None:
        process = None  # it ended (e.g. killed): start a new one
    try:
        process = process or _spawn()
    except OSError as err:
        return RiskStep(make_job, f"this process (could not start a child process: {err})", frame)
    step = RiskStep(make_job, "child process", frame, _process=process)
    job = make_job()
    # The job is pickled straight into the pipe by the thread below, never into one bytes object here:
    # at 1,000,000 accounts that object was 344 MB of this process while the child read it. The job's
    # columns share this process's frame (pandas copy-on-write), so holding the job costs nothing.
    wire = [replace(job, risk_settings=replace(job.risk_settings, threads=job.risk_settings.threads or 1))]
    del job  # once sent, nothing here refers to it while discovery runs

    def drain(name: str, stream: Any) -> None:
        step._answer[name] = stream.read()

    def talk() -> None:
        # The job, then the pipe stays open while discovery runs here: its end (EOF) tells the child
        # that this process is idle, so the child's SHAP chunks may use a second thread.
        readers = [threading.Thread(target=drain, args=(name, stream), daemon=True)
                   for name, stream in (("out", process.stdout), ("err", process.stderr))]
        for reader in readers:
            reader.start()
        try:
            pickle.dump(wire.pop(), process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            process.stdin.flush()
            while not step._idle.wait(0.5) and process.poll() is None:
                pass
        except OSError:  # the child ended early: its stderr says why
            pass
        except Exception as err:  # the job could not be pickled: the child gets no job, the run fits here
            step._answer["send"] = f"{type(err).__name__}: {err}"
        finally:
            wire.clear()
            try:
                process.stdin.close()
            except OSError:
                pass
        for reader in readers:
            reader.join()
        process.wait()

    step._thread = threading.Thread(target=talk, name="risk-step-child", daemon=True)
    step._thread.start()
    return step


# ---------------------------------------------------------------------------- the wire format
# One line "<status> <sha256>\n" then the pickle. status: ok (a RiskResult) or error (an exception).
def _encode(status: str, payload: Any) -> bytes:
    return b"".join(_encoded_parts(status, payload))


def _encoded_parts(status: str, payload: Any) -> tuple[bytes, bytes]:
    """The header line and the pickle, apart: the child writes them one after the other rather than
    joining them into a second copy of the pickle (150 MB at 1,000,000 accounts)."""
    body = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    return f"{status} {hashlib.sha256(body).hexdigest()}\n".encode(), body


def _decode(out: bytes) -> tuple[str | None, Any]:
    end = out.find(b"\n")
    head, body = out[:max(end, 0)], memoryview(out)[end + 1:]  # a view: the pickle is not copied
    parts = head.decode("ascii", "replace").split()
    if end < 0 or len(parts) != 2 or parts[0] not in ("ok", "error") or hashlib.sha256(body).hexdigest() != parts[1]:
        return None, None  # no answer, a truncated one, or stray output: never unpickled
    return parts[0], pickle.loads(body)


def _die_with_parent(parent: int) -> None:
    """End this child when its parent ends, even by SIGKILL: the kernel sends SIGKILL on the
    parent's death (Linux ``PR_SET_PDEATHSIG``); elsewhere a watcher thread notices the orphaning.

    The kernel ties ``PR_SET_PDEATHSIG`` to the *thread* that started the child; that is fine here,
    because :func:`start_risk_step` and :meth:`RiskStep.result` run in one pipeline call on one
    thread, which lives until the child has answered.
    """
    import signal

    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)

    def watch() -> None:
        import time

        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _watch_parent_idle() -> None:
    """After the job, stdin stays open until the parent's discovery is over; then SHAP may use two
    threads (:data:`explain.cores.threads_hook`: model fits and SHAP chunks), never three busy
    threads on two cores before."""
    import explain.cores as cores

    idle = threading.Event()
    usable = min(2, os.cpu_count() or 1)

    def watch() -> None:
        try:
            while sys.stdin.buffer.read(65536):
                pass
        except OSError:
            pass
        idle.set()

    threading.Thread(target=watch, name="parent-idle", daemon=True).start()
    cores.threads_hook = lambda: usable if idle.is_set() else 1


def _get_ready() -> None:
    """What every job needs, done before the job is read: a prestarted child does it while the run
    still reads the portfolio, when the second core is otherwise idle, instead of beside discovery.

    The imports (~1.3 CPU-s), the SHAP kernel from numba's disk cache (0.5 CPU-s, measured at its first
    use in a new process) and skops, which writes the model files at the end (0.6 CPU-s: it imports
    every scikit-learn module to list its estimators; 25 MB). The work is the same, only earlier.
    """
    import explain.risk  # noqa: F401
    import skops.io  # noqa: F401
    from application.numba_cache import install_portable_locator
    from explain.treeshap import warm_up

    install_portable_locator()  # the kernel's cache entry is found whatever folder the app is installed in

    warm_up()


def _child_main() -> int:
    """Entry of the child: read a RiskJob from stdin, write the answer to stdout."""
    _die_with_parent(int(os.environ.get("PERSONAS_RISK_PARENT", os.getppid())))
    wire = os.fdopen(os.dup(1), "wb")
    sys.stdout = sys.stderr  # stray prints from libraries must not corrupt the answer
    _get_ready()
    try:
        job = pickle.load(sys.stdin.buffer)
    except EOFError:  # prestarted and never given a job
        return 0
    _watch_parent_idle()
    try:
        result = job.fit()
        from explain.model_io import risk_model_files

        result.model_files = risk_model_files(result.model)  # off the run's critical path (skops import)
        answer = _encoded_parts("ok", result)
    except Exception as err:  # sent back and raised in the parent as it is
        try:
            answer = _encoded_parts("error", err)
        except Exception:
            answer = _encoded_parts("error", RuntimeError(f"risk step failed: {type(err).__name__}: {err}"))
    for part in answer:
        wire.write(part)
    wire.flush()
    return 0


if __name__ == "__main__":
    code = _child_main()
    sys.stderr.flush()
    # Leave without the interpreter's teardown: the answer is written, nothing is left to save, and the
    # thread that waits for the parent's end of discovery may still be blocked reading stdin, which made
    # the teardown abort the process ("could not acquire lock for stdin at interpreter shutdown", SIGABRT).
    os._exit(code)
