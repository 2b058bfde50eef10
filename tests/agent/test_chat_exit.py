"""Piped chat exits non-zero when a turn failed (a script can tell), and says so in one line."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest


class _Refuses(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        body = b'{"error": {"message": "model not found", "type": "invalid_request_error"}}'
        self.send_response(400)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def refusing_model() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Refuses)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_piped_chat_exits_non_zero_when_a_turn_failed(tmp_path: Path, refusing_model: str) -> None:
    env = {
        **os.environ,
        "REELFORGE_DATA_DIR": str(tmp_path / "data"),
        "REELFORGE_MODEL": "some-model",
        "OPENAI_BASE_URL": refusing_model,
        "OPENAI_API_KEY": "k",
    }
    env.pop("REELFORGE_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-m", "agent.cli.main", "chat"],
        input="hello\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "this turn failed" in done.stderr
    assert "Traceback" not in done.stderr
