"""A real Chroma server for the tests: the `chroma run` that ships with chromadb, on a free loopback
port over a temp dir, one per test module.

It is started as `python -c "<chromadb.cli.cli.app>" run ...` with this interpreter, so it is the
chromadb of the running venv whatever is on PATH. A test that needs it skips, with the reason,
only when chromadb's CLI is not importable or the server does not answer its heartbeat.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

START_TIMEOUT_S = 30.0
# chromadb's console script, without depending on where the venv's bin/ is or what PATH holds
LAUNCH = "import sys; sys.argv[0] = 'chroma'; from chromadb.cli.cli import app; sys.exit(app())"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def heartbeat_ok(url: str, timeout: float = 1.0) -> bool:
    try:
        return httpx.get(f"{url}/api/v2/heartbeat", timeout=timeout).status_code == 200
    except httpx.TransportError:
        return False


class ChromaServer:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="reelforge-chroma-"))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.dir / "log", "wb")  # the child keeps its own copy of the descriptor
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        self.proc = subprocess.Popen(
            [
                sys.executable, "-c", LAUNCH, "run", "--path", str(self.dir / "data"),
                "--host", "127.0.0.1", "--port", str(self.port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not heartbeat_ok(self.url, timeout=0.5):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = (self.dir / "log").read_text(errors="replace")[-400:]
                self.stop()
                raise RuntimeError(f"`chroma run` did not answer a heartbeat on {self.url}: {tail}")
            time.sleep(0.1)

    def restart(self) -> None:
        """Stop the server and start it again on the same port and data (what a deployment's
        restart does); clients keep their URL."""
        self._terminate()
        self.start()

    def _terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        self._terminate()
        shutil.rmtree(self.dir, ignore_errors=True)


def start_server() -> ChromaServer:
    """A new, empty server (skips, saying why, if it cannot start)."""
    try:
        import chromadb.cli.cli  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"chromadb's CLI is not importable: {exc}")
    srv = ChromaServer()
    try:
        srv.start()
    except (OSError, RuntimeError) as exc:
        pytest.skip(f"cannot start a Chroma server: {exc}")
    atexit.register(srv.stop)  # also when the session is interrupted
    return srv


@pytest.fixture(scope="module")
def chroma_url() -> Iterator[str]:
    """The base URL of a real `chroma run`, new and empty for each test module (it starts in
    about 2 s), stopped after the module."""
    srv = start_server()
    try:
        yield srv.url
    finally:
        srv.stop()
