"""A throw-away PostgreSQL server for the tests that run the review store on PostgreSQL.

``PERSONAS_DB_URL=postgresql+psycopg://...`` is a documented way to run the app; these tests hold that
claim to a real server, not a mock. The server is PostgreSQL's own ``initdb`` + ``pg_ctl`` in a temporary
folder, listening on a Unix socket only (no TCP port), with trust authentication for its one local
user; one per test process, each test in a schema of its own (:meth:`PostgresServer.new_schema_url`).
It runs as the ``postgres`` system user when the tests run as root (PostgreSQL refuses to run as root).

Where PostgreSQL's server programs are not installed the tests are skipped with the reason, except
under ``CI=true``, where that is a failure: CI must exercise the PostgreSQL path (the machine's image
has PostgreSQL 15; ``apt-get install postgresql`` installs it elsewhere).
"""
from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

_counter = itertools.count()
DATABASE = "personas_tests"


def server_programs() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres`` (Debian's versioned folder first)."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if all(os.access(Path(folder) / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres")):
            return Path(folder)
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


class PostgresServer:
    """Start with :meth:`start`, stop with :meth:`stop`; :meth:`new_schema_url` gives each test its own database."""

    def __init__(self, programs: Path) -> None:
        self.programs = programs
        self.folder = Path(tempfile.mkdtemp(prefix="personas-pg-"))
        self.data = self.folder / "data"
        self.port = 5432  # only names the socket file in this server's own folder: no TCP port is opened
        self._as_postgres = os.geteuid() == 0
        self._database_ready = False

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        command = [str(self.programs / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)

    def start(self) -> None:
        if self._as_postgres:
            shutil.chown(self.folder, "postgres")
        done = self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr[-2000:]}")
        options = f"-k {self.folder} -p {self.port} -c listen_addresses='' -c fsync=off"
        done = self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "server.log"),
                         "-w", "-t", "60", "start")
        if done.returncode != 0:
            log = (self.folder / "server.log").read_text(errors="replace") if (self.folder / "server.log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {done.stderr[-1000:]} {log[-2000:]}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.folder}&port={self.port}"

    def _execute(self, statement: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(host=str(self.folder), port=self.port, user="postgres", dbname=database,
                             autocommit=True) as conn:
            conn.execute(statement)

    def new_schema_url(self) -> str:
        """The URL of a database of its own for one test: a new, empty schema in the server's one test
        database, first on the connection's search path. (A schema rather than a ``CREATE DATABASE`` per
        test: that forces a checkpoint, 0.3 s once earlier tests have written.)"""
        if not self._database_ready:
            self._execute(f'CREATE DATABASE "{DATABASE}"')
            self._database_ready = True
        schema = f"test_{next(_counter)}"
        self._execute(f'CREATE SCHEMA "{schema}"', database=DATABASE)
        return f"{self.url(DATABASE)}&options=-csearch_path%3D{schema}"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
