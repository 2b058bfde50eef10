"""`reelforge doctor`: one line per configured server or key; exit 1 only when something that is
configured cannot be reached (a real Postgres, a loopback Chroma heartbeat, dead ports)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli.main import app

runner = CliRunner()


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def heartbeat() -> Iterator[str]:
    """Chroma's `GET /api/v2/heartbeat`, nothing else."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ok = self.path == "/api/v2/heartbeat"
            body = b'{"nanosecond heartbeat": 1}' if ok else b"{}"
            self.send_response(200 if ok else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _lines(output: str) -> dict[str, str]:
    return {line.split(":")[0][5:]: line for line in output.splitlines()}


def test_reachable_servers_pass(pg_database_url: str, heartbeat: str, tmp_path: Path) -> None:
    env = {
        "REELFORGE_DATA_DIR": str(tmp_path),
        "REELFORGE_DATABASE_URL": pg_database_url,
        "REELFORGE_CHROMA_URL": heartbeat,
        "RUNWAYML_API_SECRET": "k",
    }
    result = runner.invoke(app, ["doctor"], env=env)
    assert result.exit_code == 0, result.output
    lines = _lines(result.output)
    assert lines["database"].startswith("ok   database: Postgres ")
    assert lines["database"].endswith(", no schema yet (created on first use)")
    assert lines["chroma"].startswith("ok   chroma: Chroma server at")
    assert lines["ffmpeg"].startswith("ok   ffmpeg: ")
    assert lines["runway"] == "ok   runway: key present"
    assert lines["kling"].startswith("--   kling: ") and "KLING_ACCESS_KEY" in lines["kling"]


def test_unreachable_configured_servers_fail_one_line_each(tmp_path: Path) -> None:
    env = {
        "REELFORGE_DATA_DIR": str(tmp_path),
        "REELFORGE_DATABASE_URL": f"postgresql://u:hunter2pw@127.0.0.1:{_dead_port()}/x",
        "REELFORGE_CHROMA_URL": f"http://127.0.0.1:{_dead_port()}",
    }
    result = runner.invoke(app, ["doctor"], env=env)
    assert result.exit_code == 1
    lines = _lines(result.output)
    assert lines["database"].startswith("FAIL database: cannot reach Postgres at 127.0.0.1:")
    assert lines["chroma"].startswith("FAIL chroma: cannot reach Chroma at http://127.0.0.1:")
    assert "hunter2pw" not in result.output
    assert len(result.output.splitlines()) == len(lines)  # one line per check


def test_nothing_configured_is_fine(tmp_path: Path) -> None:
    result = runner.invoke(app, ["doctor"], env={"REELFORGE_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    lines = _lines(result.output)
    assert lines["database"].startswith("ok   database: SQLite at ")
    assert lines["chroma"].startswith("ok   chroma: embedded")
