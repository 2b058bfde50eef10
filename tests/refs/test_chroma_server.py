"""References against a real `chroma run` server (REELFORGE_CHROMA_URL), not only embedded."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from agent.cli.main import app
from memory.embeddings import MiniLM
from tests.refs.conftest import make_png

CHROMA = Path(sys.executable).parent / "chroma"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = str(CHROMA) if CHROMA.exists() else shutil.which("chroma")
    if binary is None:
        pytest.skip("the `chroma` CLI is not installed in this environment")
    port = _free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen(
        [binary, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={"ANONYMIZED_TELEMETRY": "False", "PATH": "/usr/bin:/bin"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"chroma run did not come up on {url} (exit {proc.poll()})")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_add_and_search_against_a_chroma_server(
    chroma_url: str, model: MiniLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REELFORGE_CHROMA_URL", chroma_url)
    runner = CliRunner()
    for name, kind, desc in [
        ("Mia", "character", "a girl with a red scarf"),
        ("Harbour", "environment", "a fishing harbour with wooden boats"),
    ]:
        png = make_png(Path.cwd() / f"{name}.png", name)
        r = runner.invoke(
            app, ["ref", "add", str(png), "--kind", kind, "--name", name, "--desc", desc]
        )
        assert r.exit_code == 0, r.output
    hits = json.loads(runner.invoke(app, ["ref", "search", "the port", "--json"]).stdout)
    assert hits[0]["name"] == "Harbour"
    # The server holds the data: the embedded store in the data dir was never created.
    assert not (Path.cwd() / "data" / "chroma").exists()
    collections = httpx.get(
        f"{chroma_url}/api/v2/tenants/default_tenant/databases/default_database/collections"
    ).json()
    assert [c["name"] for c in collections] == ["refs-library-minilm"]


def test_an_unreachable_server_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REELFORGE_CHROMA_URL", f"http://127.0.0.1:{_free_port()}")
    r = CliRunner().invoke(app, ["ref", "list"])
    assert r.exit_code == 2
    assert r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1
