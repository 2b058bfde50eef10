"""A real Postgres for the tests: Debian's `postgresql` binaries, a fresh cluster in a temp dir
on a free loopback port, run as a non-root user (root cannot run postgres), one per test session.

`postgres_url` (session) is the server's base URL; `pg_database_url` gives each test its own new
database on it, so tests never see each other's rows.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="reelforge-pg-"))
        self.port = _free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = "postgres"
            try:
                entry = pwd.getpwnam(self.user)
            except KeyError as e:
                raise RuntimeError("running as root and there is no 'postgres' user") from e
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        self.proc: subprocess.Popen[bytes] | None = None

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", self.user, "--", *args] if self.user else list(args)

    def start(self) -> None:
        data = self.dir / "data"
        subprocess.run(
            self._cmd(
                str(self.bindir / "initdb"), "-D", str(data), "-U", "postgres",
                "--auth=trust", "-E", "UTF8", "--no-sync",
            ),
            check=True,
            capture_output=True,
        )  # fmt: skip
        log = open(self.dir / "log", "wb")  # the child keeps its own copy of the descriptor
        self.proc = subprocess.Popen(
            self._cmd(
                str(self.bindir / "postgres"), "-D", str(data), "-p", str(self.port),
                "-h", "127.0.0.1", "-k", str(self.dir), "-c", "fsync=off",
                "-c", "max_connections=100",
            ),
            stdout=subprocess.DEVNULL,
            stderr=log,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited: {(self.dir / 'log').read_text()[-500:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        import psycopg

        while True:  # the port opens a moment before the server accepts logins
            try:
                psycopg.connect(self.url("postgres")).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: smart shutdown
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


_server: PgServer | None = None
_counter = 0


def server() -> PgServer:
    """The session's server, started on first use (skips if the binaries are absent)."""
    global _server
    if _server is None:
        bindir = _bindir()
        if bindir is None:
            pytest.skip("Postgres binaries not found (apt-get install postgresql): no initdb")
        try:
            import psycopg  # noqa: F401
        except ImportError:
            pytest.skip("psycopg is not installed")
        srv = PgServer(bindir)
        srv.start()
        atexit.register(srv.stop)
        _server = srv
    return _server


def stop_server() -> None:
    global _server
    if _server is not None:
        _server.stop()
        _server = None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    yield server().url("postgres")


@pytest.fixture
def pg_database_url() -> str:
    """A new, empty database on the session's server, for one test."""
    global _counter
    _counter += 1
    return server().create_database(f"t{os.getpid()}_{_counter}")
