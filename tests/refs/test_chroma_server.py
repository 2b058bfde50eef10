"""References against a real `chroma run` server (REELFORGE_CHROMA_URL), not only embedded."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from agent.cli.main import app
from memory.embeddings import MiniLM
from tests.chroma.server import chroma_url
from tests.refs.conftest import make_png

__all__ = ["chroma_url"]  # the real `chroma run` fixture, one server for this module


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
