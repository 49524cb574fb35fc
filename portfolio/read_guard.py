"""Parser budgets: Parquet and XLSX files are parsed in a child process with a memory limit.

A small file can expand enormously: a 1 MB Parquet file whose dictionary-encoded column repeats
large strings millions of times, or an XLSX whose sheet declares (or holds) tens of millions of
cells. The readers in :mod:`portfolio.read_binary` check what they can from the metadata before
decompressing anything and count while they read (see :class:`ReadBudget`); on top of that they run
in a child process (``python -m portfolio.read_guard``) whose address space is limited with
``RLIMIT_AS`` and whose run time is limited by the parent. A file that gets past every check and
still explodes kills only the child; the user gets one :class:`~core.errors.PortfolioError` naming
the file, the budget that was exceeded and what to do.

Wire format: the job goes to the child's stdin as a pickle (the parent is trusted). The child
answers on stdout with an 8-byte length, a pickle of plain values (``str``, numbers, lists, dicts and
``datetime`` objects only; the parent unpickles it with a loader that refuses every other class) and,
for Parquet, an Arrow IPC stream of the table.
"""
from __future__ import annotations

import io
import os
import pickle
import struct
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from core.errors import Message, Number, PortfolioError, from_plain, to_plain
from core.i18n import N_

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ReadBudget:
    """What reading one Parquet or XLSX file may cost (the documented defaults are below).

    Attributes
    ----------
    max_rows
        Data rows (Parquet: declared in the metadata, and counted while reading).
    max_uncompressed_bytes
        Parquet: the declared uncompressed size, and the size of the decoded data counted row
        group by row group (a dictionary-encoded column counted as the strings it expands to).
    max_string_chars
        Longest text cell (Parquet), checked on the dictionary or the column before it is expanded.
    max_cells
        Rows x columns (XLSX: from the sheet's declared dimension before reading, then counted while
        iterating; Parquet: rows x columns read).
    seconds
        Wall-clock time for parsing one file in the child (the child checks it while iterating; the
        parent kills the child a little later).
    memory_bytes
        Address space the child may add to what it holds after importing its libraries
        (``RLIMIT_AS``).
    """

    max_rows: int = 5_000_000
    max_uncompressed_bytes: int = 2 * 2**30
    max_string_chars: int = 10_000
    max_cells: int = 50_000_000
    seconds: float = 120.0
    memory_bytes: int = 6 * 2**30


#: The budgets every read uses unless a caller passes others (docs/security.md, "Resource limits").
DEFAULT_BUDGET = ReadBudget()
#: Peak resident memory the last parser child reported (None if it gave no answer); diagnostics for
#: tests and benchmarks.
last_child_peak_bytes: int | None = None
#: Seconds the parent waits beyond ``seconds`` (interpreter and library start-up) before killing the child.
START_GRACE_SECONDS = 15.0


def _mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MB"


def memory_message(name: str, budget: ReadBudget) -> Message:
    return Message(N_("{file}: reading it needs more than the reader's memory budget of {mb} MB; refused (a file "
                      "this small should not need that much: it may be a decompression bomb). Export the portfolio "
                      "again as CSV, or split it into smaller files."), file=name,
                   mb=Number(budget.memory_bytes / 2**20, 0))


# ---------------------------------------------------------------------------------------- parent
def run(kind: str, data: bytes, name: str, *, sheet: str | None, max_columns: int,
        budget: ReadBudget = DEFAULT_BUDGET):
    """Parse ``data`` (``kind`` "parquet" or "xlsx") in a child process; returns a ``SheetData``.

    Raises
    ------
    PortfolioError
        What the reader refused, or that the child ran out of memory or time.
    """
    from portfolio.read_binary import SheetData

    job = {"kind": kind, "name": name, "sheet": sheet, "max_columns": max_columns,
           "budget": asdict(budget), "data": data, "parent": os.getpid()}
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
               ARROW_DEFAULT_MEMORY_POOL="system",  # plain malloc: predictable under RLIMIT_AS
               OMP_NUM_THREADS="1")
    try:
        done = subprocess.run([sys.executable, "-m", "portfolio.read_guard"], input=pickle.dumps(job, protocol=5),
                              capture_output=True, env=env, cwd=str(REPO),
                              timeout=budget.seconds + START_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        raise PortfolioError(Message(N_("{file}: reading it took longer than the reader's time budget of {seconds} s; "
                                        "refused. Export the portfolio as CSV or split it into smaller files."),
                                     file=name, seconds=Number(budget.seconds, 0))) from None
    except OSError as err:
        raise PortfolioError(Message(N_("{file}: could not start the file reader ({detail}); try again, and tell "
                                        "the administrator if it persists."), file=name,
                                     detail=str(err.strerror or err))) from None
    header, rest = _split_answer(done.stdout)
    global last_child_peak_bytes
    last_child_peak_bytes = header.get("peak_rss_bytes") if header else None
    if header is None:
        if done.returncode == -9 or b"MemoryError" in done.stderr or b"bad_alloc" in done.stderr:
            raise PortfolioError(memory_message(name, budget))
        raise PortfolioError(Message(N_("{file}: the file reader stopped without an answer (exit code {code}); the "
                                        "file may be damaged. Open it and save it again, or export it as CSV."),
                                     file=name, code=str(done.returncode)))
    if header["status"] == "error":
        raise PortfolioError(from_plain(header["message"]))
    header["notes"] = [from_plain(note) for note in header.get("notes", [])]
    try:
        if kind == "xlsx":
            import pandas as pd

            frame = pd.DataFrame(header["rows"], columns=range(header["width"]), dtype=object) \
                if header["rows"] else pd.DataFrame(dtype=object)
            return SheetData(frame=frame, notes=header["notes"], row_numbers=header["row_numbers"])
        from portfolio.read_binary import parquet_frame
        import pyarrow as pa

        table = pa.ipc.open_stream(pa.py_buffer(rest)).read_all()
        return SheetData(frame=parquet_frame(table, name), notes=header["notes"], skipped=header["skipped"])
    except (PortfolioError, MemoryError):
        raise
    except Exception:
        raise PortfolioError(Message(N_("{file}: the file reader gave an answer that could not be used; try again, "
                                        "and export the portfolio as CSV if it persists."), file=name)) from None


def _split_answer(out: bytes) -> tuple[dict | None, memoryview]:
    if len(out) < 8:
        return None, memoryview(b"")
    (length,) = struct.unpack(">Q", out[:8])
    if length > len(out) - 8:
        return None, memoryview(b"")
    try:
        header = _PlainUnpickler(io.BytesIO(out[8:8 + length])).load()
    except Exception:
        return None, memoryview(b"")
    if not isinstance(header, dict) or header.get("status") not in ("ok", "error"):
        return None, memoryview(b"")
    return header, memoryview(out)[8 + length:]


class _PlainUnpickler(pickle.Unpickler):
    """Plain values and ``datetime`` objects only: the child parsed hostile data."""

    def find_class(self, module: str, name: str):
        if module == "datetime" and name in ("datetime", "date", "time", "timedelta", "timezone"):
            import datetime

            return getattr(datetime, name)
        raise pickle.UnpicklingError(f"refused class {module}.{name}")


# ----------------------------------------------------------------------------------------- child
def peak_rss_bytes() -> int:
    """This process's peak resident memory since it started (``VmHWM``; unlike ``ru_maxrss`` it
    does not carry over the peak of the process that forked it)."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration, ValueError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _limit_memory(extra: int) -> None:
    import resource

    try:
        with open("/proc/self/status") as status:
            vm = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
    except (OSError, StopIteration, ValueError):
        vm = 0
    limit = vm + extra
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _plain(value):
    """Cell values as plain Python objects (what the parent's loader accepts)."""
    import datetime

    if value is None or isinstance(value, (str, bool, int, float, datetime.datetime, datetime.date,
                                           datetime.time, datetime.timedelta)):
        return value
    return str(value)


def _child(job: dict, wire) -> None:
    from portfolio import read_binary

    budget = ReadBudget(**job["budget"])
    name = job["name"]
    rest = b""
    try:
        if job["kind"] == "xlsx":
            sheet = read_binary.read_xlsx(job["data"], name, job["sheet"], job["max_columns"], budget)
            rows = [[_plain(v) for v in row] for row in sheet.frame.itertuples(index=False, name=None)]
            header = {"status": "ok", "rows": rows, "width": int(sheet.frame.shape[1]),
                      "notes": [to_plain(n) for n in sheet.notes], "row_numbers": [int(n) for n in sheet.row_numbers]}
        else:
            import pyarrow as pa

            table, notes, skipped = read_binary.scan_parquet(job["data"], name, job["max_columns"], budget)
            job["data"] = None
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, table.schema) as writer:
                writer.write_table(table)
            del table
            rest = sink.getvalue()
            header = {"status": "ok", "notes": [to_plain(n) for n in notes], "skipped": dict(skipped)}
    except PortfolioError as err:
        header = {"status": "error", "message": to_plain(err.message)}
    except MemoryError:
        header = {"status": "error", "message": to_plain(memory_message(name, budget))}
    except Exception as err:  # pyarrow's out-of-memory error is its own type
        if read_binary._out_of_memory(err):
            header = {"status": "error", "message": to_plain(memory_message(name, budget))}
        else:
            header = {"status": "error", "message": to_plain(Message(
                N_("{file}: could not be read ({detail})."), file=name,
                detail=str(err).strip()[:200] or type(err).__name__))}
    header["peak_rss_bytes"] = peak_rss_bytes()
    body = pickle.dumps(header, protocol=5)
    wire.write(struct.pack(">Q", len(body)))
    wire.write(body)
    wire.write(memoryview(rest))
    wire.flush()


def _die_with_parent(parent: int) -> None:
    """The kernel kills this child when its parent ends (Linux ``PR_SET_PDEATHSIG``); elsewhere the
    parent's time budget is the bound."""
    import signal

    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)


def _main() -> int:
    wire = os.fdopen(os.dup(1), "wb")
    sys.stdout = sys.stderr  # stray prints from libraries must not corrupt the answer
    job = pickle.load(sys.stdin.buffer)
    _die_with_parent(int(job.get("parent") or os.getppid()))
    # the libraries are loaded before the limit is set: the limit is what parsing may add
    if job["kind"] == "xlsx":
        from portfolio.read_binary import install_bounded_dimension_reader

        install_bounded_dimension_reader()  # no full parse of a sheet without <dimension> when opening
        import pandas  # noqa: F401  (the sheet becomes a frame here; Parquet stays Arrow: no pandas, ~0.2 s less)
    else:
        import pyarrow
        import pyarrow.compute  # noqa: F401
        import pyarrow.parquet  # noqa: F401

        pyarrow.set_cpu_count(1)  # one file, one thread: no thread pools to start under the limit
        pyarrow.set_io_thread_count(1)

    _limit_memory(ReadBudget(**job["budget"]).memory_bytes)
    _child(job, wire)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
