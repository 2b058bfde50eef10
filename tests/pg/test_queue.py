"""Team scale, must hold: takes and productions run as procrastinate jobs on the project store's
Postgres, served by two `reelforge worker` processes; one is SIGKILLed while it has a take in
flight; every production still finishes, each take was submitted to the provider exactly once,
the ledger is exactly the accepted submissions times their price, and no budget was passed.

Real Postgres (tests/pg/server.py), real worker processes, the loopback provider sandbox; the
Kling fake is used because Kling can look a lost submit up (a take whose answer was in flight
when its worker died is reconciled, never resent)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from memory.models import Brief, TakeStatus
from tools.production import Services, make
from tools.providers.registry import default_profile
from tools.providers.sandbox import Sandbox
from tools.settings import Settings

pytestmark = pytest.mark.ffmpeg
ROOT = Path(__file__).resolve().parents[2]
PRODUCTIONS = 10
TAKES = 2
BUDGET = 1.0  # each production: 2 Kling takes of 5 s at $0.07/s = $0.70


def brief(i: int, nonce: str) -> Brief:
    return Brief(
        title=f"Queue {i}",
        story=f"A paper lantern number {i} floats over a dark lake.",
        mood="calm",
        style="cinematic",
        duration=5,
        formats=["16:9"],
        audience="test",
        scenes=[  # type: ignore[list-item]
            {"description": f"a paper lantern number {i} rises ({nonce})", "duration": 5,
             "provider": "kling"}
        ],
    )  # fmt: skip


def start_worker(env: dict[str, str], name: str, log: Path) -> subprocess.Popen[bytes]:
    out = open(log, "wb")  # the child keeps its own copy of the descriptor
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.cli.main", "worker", "--concurrency", "3",
         "--stalled-after", "2", "--name", name],
        env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
    )  # fmt: skip
    out.close()
    return proc


def worker_ids(url: str) -> set[int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT id FROM procrastinate_workers").fetchall()
    return {int(r[0]) for r in rows}


def wait_for(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def team(
    pg_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Settings, Sandbox, dict[str, str]]]:
    with Sandbox(cache_dir=tmp_path / "sandbox-cache", latency=1.0) as sandbox:
        for key, value in sandbox.env().items():
            monkeypatch.setenv(key, value)
        env = {
            **os.environ,
            "REELFORGE_DATABASE_URL": pg_database_url,
            "REELFORGE_DATA_DIR": str(tmp_path / "data"),  # the shared media folder
            "PYTHONPATH": str(ROOT),
        }
        settings = Settings(data_dir=tmp_path / "data", database_url=SecretStr(pg_database_url))
        yield settings, sandbox, env


def test_two_workers_one_killed_mid_take_every_production_finishes(
    team: tuple[Settings, Sandbox, dict[str, str]], tmp_path: Path
) -> None:
    settings, sandbox, env = team
    url = env["REELFORGE_DATABASE_URL"]
    services = Services.open(settings)
    assert services.jobs is not None
    services.jobs.ensure_schema()
    doomed = start_worker(env, "doomed", tmp_path / "doomed.log")
    survivor: subprocess.Popen[bytes] | None = None
    try:
        doomed_ids = wait_for(lambda: worker_ids(url) if len(worker_ids(url)) == 2 else None,
                              60, "the first worker to register")  # fmt: skip
        survivor = start_worker(env, "survivor", tmp_path / "survivor.log")
        wait_for(lambda: len(worker_ids(url)) == 4, 60, "the second worker to register")
        nonce = uuid.uuid4().hex[:8]
        killed: dict[str, Any] = {}

        def kill_mid_take() -> None:
            """SIGKILL the first worker once it holds a take job whose take is in flight."""
            with psycopg.connect(url) as conn:
                while doomed.poll() is None:
                    rows = conn.execute(
                        "SELECT j.args->>'take_id' FROM procrastinate_jobs j "
                        "JOIN takes t ON t.id = j.args->>'take_id' "
                        "WHERE j.status = 'doing' AND j.worker_id = ANY(%s) "
                        "AND t.status IN ('submitted', 'running')",
                        (list(doomed_ids),),
                    ).fetchall()
                    if rows:
                        doomed.send_signal(signal.SIGKILL)
                        killed["takes"] = [r[0] for r in rows]
                        return
                    time.sleep(0.05)

        async def produce() -> list[Any]:
            killer = asyncio.create_task(asyncio.to_thread(kill_mid_take))
            made = await asyncio.gather(
                *(
                    make(brief(i, nonce), services, takes=TAKES, budget_usd=BUDGET)
                    for i in range(PRODUCTIONS)
                )
            )
            await killer
            return made

        started = time.monotonic()
        made = asyncio.run(produce())
        wall = time.monotonic() - started
        assert doomed.wait(5) == -signal.SIGKILL and killed["takes"], "no worker was killed"
        print(f"{PRODUCTIONS} productions in {wall:.1f}s; killed with takes {killed['takes']}")

        store = services.store
        price = default_profile("kling").price(5)
        submissions = sandbox.stats()["submissions"].get("kling", 0)
        takes = [t for project, _ in made for t in store.takes(project.id)]
        assert len(takes) == PRODUCTIONS * TAKES
        assert all(t.status is TakeStatus.SUCCEEDED for t in takes), [
            (t.id, t.status, t.error) for t in takes if t.status is not TakeStatus.SUCCEEDED
        ]
        assert submissions == len(takes)  # the killed worker's takes were not sent again
        for project, revision in made:
            assert revision.production.exports and all(
                Path(p).exists() for p in revision.production.exports
            )
            entries = store.spend(project.id)
            assert not [e for e in entries if e.kind == "unknown"]  # every hold settled
            assert store.total_spend(project.id) <= BUDGET + 1e-9
        charged = sum(
            e.amount_usd for p, _ in made for e in store.spend(p.id) if e.kind == "submit"
        )
        assert charged == pytest.approx(submissions * price)
        with psycopg.connect(url) as conn:
            retried = conn.execute(
                "SELECT COUNT(*) FROM procrastinate_jobs WHERE attempts > 0"
            ).fetchone()
        assert retried is not None and retried[0] >= 1  # the stalled sweep put jobs back
    finally:
        for proc in (doomed, survivor):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        asyncio.run(services.aclose())
