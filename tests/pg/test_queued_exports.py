"""Team mode: a chat revision that re-cuts (a free regrade) is finished, exported and committed
by a `reelforge worker` process, never by the process that asked for it.

Real Postgres (tests/pg/server.py), a real worker process; the calling process cannot render at
all (its `assemble_and_export` raises), so a revision that appears was made by the worker."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from tests.pg.test_queue import ROOT, wait_for, worker_ids
from tools.production import Services
from tools.settings import Settings
from tools.studio import Studio

pytestmark = pytest.mark.ffmpeg

FIELDS: dict[str, Any] = {
    "title": "Queued Cut",
    "story": "A cup of coffee steams on a wooden table.",
    "mood": "calm",
    "style": "cinematic",
    "duration": 4,
    "formats": ["1:1"],
    "audience": "test",
}


@pytest.fixture
def worker(pg_database_url: str, tmp_path: Path) -> Iterator[tuple[Settings, set[int]]]:
    """One `reelforge worker` process on the test's database and media folder."""
    settings = Settings(data_dir=tmp_path / "data", database_url=SecretStr(pg_database_url))
    env = {
        **os.environ,
        "REELFORGE_DATABASE_URL": pg_database_url,
        "REELFORGE_DATA_DIR": str(settings.data_dir),
        "PYTHONPATH": str(ROOT),
    }
    services = Services.open(settings)
    assert services.jobs is not None
    services.jobs.ensure_schema()
    asyncio.run(services.aclose())
    with open(tmp_path / "worker.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agent.cli.main", "worker", "--concurrency", "1",
             "--name", "cutter"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        ids = wait_for(
            lambda: worker_ids(pg_database_url) if len(worker_ids(pg_database_url)) == 2 else None,
            60,
            "the worker to register",
        )
        yield settings, ids
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _export_jobs(url: str) -> list[tuple[str, int | None, str]]:
    """(status, worker id, note) of every export job, oldest first."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT status::text, worker_id, args->>'note' FROM procrastinate_jobs "
            "WHERE task_name = 'reelforge.export' ORDER BY id"
        ).fetchall()
    return [(str(r[0]), r[1], str(r[2])) for r in rows]


def test_a_chat_regrade_is_committed_by_a_worker_not_the_caller(
    worker: tuple[Settings, set[int]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tools.production.assembly as assembly
    import tools.studio as studio_module

    settings, ids = worker
    url = settings.database_url.get_secret_value() if settings.database_url else ""

    def no_render_here(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("the calling process rendered an export")

    monkeypatch.setattr(studio_module, "assemble_and_export", no_render_here)
    monkeypatch.setattr(assembly, "assemble_and_export", no_render_here)
    services = Services.open(settings)
    try:
        studio = Studio(services, "chat:queued", out_dir=tmp_path / "out")
        studio.update_brief(**FIELDS)
        studio.plan()
        asyncio.run(studio.generate())  # the takes are jobs too
        first = asyncio.run(studio.export())
        studio.revise("make it warmer")
        second = asyncio.run(studio.apply_revision("regrade"))
        project = studio.project()
        assert project is not None
        revisions = services.store.revisions(project.id)
    finally:
        asyncio.run(services.aclose())
    assert (first.revision, second.revision) == (1, 2)
    assert revisions[1].note.startswith("revision: warmer (regrade")
    assert second.files and all(Path(p).is_file() for p in second.files)
    assert all(Path(p).parent.name == "rev-2" for p in second.files)
    jobs = _export_jobs(url)
    assert [(status, note) for status, _, note in jobs] == [
        ("succeeded", "exported from chat"),
        ("succeeded", revisions[1].note),
    ]
    assert all(worker_id in ids for _, worker_id, _ in jobs)  # that worker process ran both


def test_resume_in_team_mode_finishes_on_a_worker_not_the_caller(
    worker: tuple[Settings, set[int]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `make` stopped after planning: `reelforge resume --json` enqueues the rest (takes,
    picks, finishing, exports, the revision) for a worker and reports it as before."""
    import json

    from typer.testing import CliRunner

    import tools.production.runs as runs
    from agent.cli.main import app
    from memory.models import Brief
    from tools.production.planning import plan

    settings, ids = worker
    url = settings.database_url.get_secret_value() if settings.database_url else ""

    def no_render_here(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("the calling process rendered an export")

    monkeypatch.setattr(runs, "assemble_and_export", no_render_here)
    monkeypatch.setenv("REELFORGE_DATABASE_URL", url)
    monkeypatch.setenv("REELFORGE_DATA_DIR", str(settings.data_dir))
    brief = Brief(**FIELDS)
    services = Services.open(settings)
    try:  # what `make` had written when it stopped: the project, its plan, its unfinished run
        project = services.store.create_project(brief.title, plan(brief, services))
        spec = runs.RunSpec(out_dir=tmp_path / "out", brief_key=runs.brief_key(brief))
        services.store.save_run(project.id, spec.model_dump_json())
    finally:
        asyncio.run(services.aclose())

    result = CliRunner().invoke(app, ["resume", project.id, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["project_id"] == project.id and summary["revision"] == 1
    assert summary["exports"] and all(Path(p).is_file() for p in summary["exports"])
    assert summary["unreconciled"] == []
    with psycopg.connect(url) as conn:
        jobs = conn.execute(
            "SELECT status::text, worker_id, args->>'resuming' FROM procrastinate_jobs "
            "WHERE task_name = 'reelforge.production'"
        ).fetchall()
        finished = conn.execute(
            "SELECT finished FROM runs WHERE project_id = %s", (project.id,)
        ).fetchone()
    assert [(status, resuming) for status, _, resuming in jobs] == [("succeeded", "true")]
    assert jobs[0][1] in ids  # that worker process finished it
    assert finished is not None and finished[0]
