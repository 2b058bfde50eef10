"""`reelforge doctor`: one line per configured server or key; exit 1 only when something that is
configured cannot be reached (a real Postgres, a real `chroma run`, dead ports)."""

from __future__ import annotations

import importlib.util
import socket
from importlib.machinery import ModuleSpec
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli.doctor_cmd import check_queue
from agent.cli.main import app
from tests.chroma.server import chroma_url
from tools.settings import Settings

__all__ = ["chroma_url"]  # a real `chroma run` for this module

runner = CliRunner()


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _lines(output: str) -> dict[str, str]:
    return {line.split(":")[0][5:]: line for line in output.splitlines()}


def test_reachable_servers_pass(pg_database_url: str, chroma_url: str, tmp_path: Path) -> None:
    env = {
        "REELFORGE_DATA_DIR": str(tmp_path),
        "REELFORGE_DATABASE_URL": pg_database_url,
        "REELFORGE_CHROMA_URL": chroma_url,
        "RUNWAYML_API_SECRET": "k",
    }
    result = runner.invoke(app, ["doctor"], env=env)
    assert result.exit_code == 0, result.output
    lines = _lines(result.output)
    assert lines["database"].startswith("ok   database: Postgres ")
    assert lines["database"].endswith(", no schema yet (created on first use)")
    assert lines["chroma"] == f"ok   chroma: Chroma server at {chroma_url}"
    assert lines["media"] == f"ok   media: {tmp_path / 'media'} is writable"
    assert lines["queue"].startswith("--   queue: ")
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
    assert lines["queue"] == "--   queue: not checked: the database is unreachable"
    assert "hunter2pw" not in result.output
    assert len(result.output.splitlines()) == len(lines)  # one line per check


def test_nothing_configured_is_fine(tmp_path: Path) -> None:
    result = runner.invoke(app, ["doctor"], env={"REELFORGE_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    lines = _lines(result.output)
    assert lines["database"].startswith("ok   database: SQLite at ")
    assert lines["chroma"].startswith("ok   chroma: embedded")


def test_a_chroma_url_that_is_not_chroma_fails(pg_database_url: str, tmp_path: Path) -> None:
    """Something answers on the port, but not Chroma's heartbeat (here: Postgres's port)."""
    port = pg_database_url.rsplit(":", 1)[1].split("/")[0]
    env = {"REELFORGE_DATA_DIR": str(tmp_path), "REELFORGE_CHROMA_URL": f"127.0.0.1:{port}"}
    result = runner.invoke(app, ["doctor"], env=env)
    assert result.exit_code == 1
    assert _lines(result.output)["chroma"].startswith(
        f"FAIL chroma: cannot reach Chroma at http://127.0.0.1:{port}"
    )


def test_an_unwritable_media_folder_fails(tmp_path: Path) -> None:
    (tmp_path / "media").write_text("a file where the media folder should be")
    result = runner.invoke(app, ["doctor"], env={"REELFORGE_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 1
    assert _lines(result.output)["media"].startswith(
        f"FAIL media: cannot write to {tmp_path / 'media'}: "
    )


def test_the_queue_schema_is_checked_when_the_queue_is_installed(
    pg_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if importlib.util.find_spec("procrastinate") is None:  # the check is guarded on the import
        settings = Settings(data_dir=tmp_path, database_url=pg_database_url)
        assert check_queue(settings).line() == (
            "--   queue: jobs run in-process (procrastinate is not installed)"
        )
        real = importlib.util.find_spec

        def find_spec(name: str, package: str | None = None) -> ModuleSpec | None:
            return ModuleSpec(name, None) if name == "procrastinate" else real(name, package)

        monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    settings = Settings(data_dir=tmp_path, database_url=pg_database_url)
    missing = check_queue(settings)
    assert missing.status == "--" and "run `reelforge worker` once" in missing.detail
    import psycopg

    with psycopg.connect(pg_database_url, autocommit=True) as conn:
        # stands in for procrastinate's schema when the package is absent; with it installed
        # the queue helper's `reelforge worker` creates the same table
        conn.execute("CREATE TABLE IF NOT EXISTS procrastinate_jobs (id bigint)")
    assert check_queue(settings).line() == "ok   queue: job queue schema present"


def test_nothing_configured_lists_the_queue_as_in_process(tmp_path: Path) -> None:
    result = runner.invoke(app, ["doctor"], env={"REELFORGE_DATA_DIR": str(tmp_path)})
    assert _lines(result.output)["queue"].startswith("--   queue: jobs run in-process")
