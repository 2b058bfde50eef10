"""The board's guards over HTTP (no browser): the run's token and media confinement; and
`reelforge takes --json`."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from agent.board.app import create_app
from agent.cli.main import app as cli
from tests.board.conftest import BoardProject

TOKEN = "t0ken-for-tests"


@pytest.fixture
def client(board_project: BoardProject) -> TestClient:
    return TestClient(create_app(board_project.services, board_project.project.id, TOKEN))


def media(path: object) -> str:
    return f"/media?token={TOKEN}&path=" + quote(str(path), safe="")


def test_no_token_is_refused(client: TestClient) -> None:
    assert client.get("/").status_code == 403
    assert client.get("/?token=wrong").status_code == 403
    assert client.get("/media?path=/etc/hostname").status_code == 403
    ok = client.get(f"/?token={TOKEN}")
    assert ok.status_code == 200 and "Garage Night" in ok.text
    # the cookie set by the first visit is enough for links; a form must still carry the token
    assert client.get("/").status_code == 200
    refused = client.post("/pick", data={"shot": "1.1", "number": "2"}, follow_redirects=False)
    assert refused.status_code == 403


def test_media_outside_the_project_is_refused(
    client: TestClient, board_project: BoardProject
) -> None:
    store = board_project.services.store
    take = store.takes(board_project.project.id)[0]
    assert take.file is not None
    got = client.get(media(take.file))
    assert got.status_code == 200 and got.headers["content-type"] == "video/mp4"
    data = board_project.data_dir
    for outside in (
        "/etc/passwd",
        data / "reelforge.db",
        data / "media" / "sheets" / board_project.project.id / ".." / ".." / ".." / "reelforge.db",
        take.file.parent / ".." / ".." / "reelforge.db",
        "relative/../../etc/passwd",
        data / "missing.mp4",
    ):
        assert client.get(media(outside)).status_code == 403, outside


def test_takes_json_lists_every_take_and_the_sheet(
    board_project: BoardProject, use_data_dir: None
) -> None:
    result = CliRunner().invoke(cli, ["takes", board_project.project.id, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    (shot,) = data["shots"]
    assert [t["number"] for t in shot["takes"]] == [1, 2, 3]
    assert sum(t["picked"] for t in shot["takes"]) == 1
    assert all(t["score"] is not None and t["file"] for t in shot["takes"])
    # each take names the design it was rendered from: three takes, three different designs
    variations = {t["variation"] for t in shot["takes"]}
    assert len(variations) == 3 and "as written" in variations, variations
    from pathlib import Path

    assert Path(shot["sheet"]).is_file() and shot["sheet"].endswith(".png")


def test_review_prints_a_url_with_a_token_and_serves_only_with_it(
    board_project: BoardProject, use_data_dir: None
) -> None:
    import os
    import subprocess
    import sys

    import httpx

    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.cli.main", "review", board_project.project.id],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("review board for Garage Night: http://127.0.0.1:"), line
        url = line.split(": ", 1)[1].strip()
        base, _, token = url.partition("/?token=")
        assert len(token) >= 24
        assert httpx.get(url, timeout=30).status_code == 200
        assert httpx.get(base + "/", timeout=30).status_code == 403
        assert httpx.get(base + "/?token=" + token[:-1] + "x", timeout=30).status_code == 403
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_each_take_shows_its_own_design_in_words(client: TestClient) -> None:
    """The board says which variation each take is (not a dump of the whole plan)."""
    import re

    page = client.get(f"/?token={TOKEN}").text
    shown = re.findall(r'<div class="variation">([^<]*)</div>', page)
    assert len(shown) == 3 and len(set(shown)) == 3, shown
    assert "prompt=" not in page and "camera_movement=" not in page
