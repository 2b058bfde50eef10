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
PRODUCTIONS = 10  # through Slack; the engine test runs ENGINE_PRODUCTIONS
TAKES = 2
ENGINE_PRODUCTIONS = 4
BUDGET = 1.0  # each production: 2 Kling takes of 5 s at $0.07/s = $0.70


def brief(i: int, nonce: str) -> Brief:
    return Brief(
        title=f"Queue {i}",
        story=f"A paper lantern number {i} floats over a dark lake.",
        mood="calm",
        style="cinematic",
        duration=5,
        formats=["1:1"],  # the smallest export: the ffmpeg share is not what is tested here
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
         "--stalled-after", "5", "--name", name],
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


def kill_mid_take(
    url: str, doomed: subprocess.Popen[bytes], ids: set[int], killed: dict[str, Any]
) -> None:
    """SIGKILL the worker `doomed` once it holds a take job whose take is in flight."""
    with psycopg.connect(url, autocommit=True) as conn:
        while doomed.poll() is None:
            rows = conn.execute(
                "SELECT j.args->>'take_id' FROM procrastinate_jobs j "
                "JOIN takes t ON t.id = j.args->>'take_id' "
                "WHERE j.status = 'doing' AND j.worker_id = ANY(%s) "
                "AND t.status IN ('submitted', 'running')",
                (list(ids),),
            ).fetchall()
            if rows:
                doomed.send_signal(signal.SIGKILL)
                killed["takes"] = [r[0] for r in rows]
                return
            time.sleep(0.05)


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

        async def produce() -> list[Any]:
            killer = asyncio.create_task(
                asyncio.to_thread(kill_mid_take, url, doomed, doomed_ids, killed)
            )
            made = await asyncio.gather(
                *(
                    make(brief(i, nonce), services, takes=TAKES, budget_usd=BUDGET)
                    for i in range(ENGINE_PRODUCTIONS)
                )
            )
            await killer
            return made

        started = time.monotonic()
        made = asyncio.run(produce())
        wall = time.monotonic() - started
        assert doomed.wait(5) == -signal.SIGKILL and killed["takes"], "no worker was killed"
        print(
            f"{ENGINE_PRODUCTIONS} productions in {wall:.1f}s; killed with takes {killed['takes']}"
        )

        store = services.store
        price = default_profile("kling").price(5)
        submissions = sandbox.stats()["submissions"].get("kling", 0)
        takes = [t for project, _ in made for t in store.takes(project.id)]
        assert len(takes) == ENGINE_PRODUCTIONS * TAKES
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


# -- the same must-hold through Slack: signed requests into the bot in HTTP mode -------------

ROUNDS = ["calm", "you choose", "5 seconds", "1:1 square", "night walkers", "go"]


def _thread_ts(i: int) -> str:
    return f"{2000 + i}.000100"


def _approvals(slack: Any) -> dict[str, tuple[str, str, str]]:
    """thread ts -> (action_id, value, message ts) of each posted approval button."""
    import json

    from agent.slack import blocks

    found = {}
    for post in slack.of("chat.postMessage"):
        raw = post.get("blocks")
        for block in json.loads(raw) if isinstance(raw, str) else raw or []:
            for element in block.get("elements", []):
                if str(element.get("action_id", "")).startswith(blocks.APPROVE):
                    found[str(post["thread_ts"])] = (
                        str(element["action_id"]),
                        str(element["value"]),
                        str(post.get("_ts", "")),
                    )
    return found


def test_slack_bot_and_two_workers_serve_ten_productions_through_a_kill(
    pg_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from tests.slack.conftest import CHANNEL, TEAM, make_bot
    from tests.slack.fake_slack import FakeSlack

    with Sandbox(cache_dir=tmp_path / "sandbox-cache", latency=1.0) as sandbox:
        wanted = {k: v for k, v in sandbox.env().items() if "KLING" in k or k == "REELFORGE_MODEL"}
        config = {
            **wanted,  # only Kling is configured: "you choose" picks it
            "REELFORGE_DATABASE_URL": pg_database_url,
            "REELFORGE_DATA_DIR": str(tmp_path / "data"),  # the shared media folder
            "REELFORGE_TAKES": str(TAKES),
            "REELFORGE_BUDGET_USD": str(BUDGET),
        }
        for key in [k for k in os.environ if k.startswith("REELFORGE_") or k.endswith("_KEY")]:
            monkeypatch.delenv(key, raising=False)
        for key, value in config.items():
            monkeypatch.setenv(key, value)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        settings = Settings()
        services = Services.open(settings)
        assert services.jobs is not None
        services.jobs.ensure_schema()
        fake = FakeSlack()
        bot = make_bot(fake, settings, services=services)
        doomed = start_worker(env, "doomed", tmp_path / "doomed.log")
        survivor: subprocess.Popen[bytes] | None = None
        try:
            doomed_ids = wait_for(
                lambda: worker_ids(pg_database_url) if len(worker_ids(pg_database_url)) == 2
                else None, 60, "the first worker to register",
            )  # fmt: skip
            survivor = start_worker(env, "survivor", tmp_path / "survivor.log")
            wait_for(lambda: len(worker_ids(pg_database_url)) == 4, 60, "the second worker")
            started = time.monotonic()
            with ThreadPoolExecutor(PRODUCTIONS) as pool:
                sends = [
                    lambda i=i: bot.mention(
                        f"Let's make a video. A lantern number {i} drifts at night.",
                        ts=_thread_ts(i),
                    )
                    for i in range(PRODUCTIONS)
                ]
                assert list(pool.map(lambda send: send().status, sends)) == [200] * PRODUCTIONS
                bot.worker.join(timeout=120)
                for n, text in enumerate(ROUNDS, start=1):
                    replies = [
                        lambda i=i, n=n, text=text: bot.reply(
                            text, thread_ts=_thread_ts(i), ts=f"{2000 + i}.{n:06d}"
                        )
                        for i in range(PRODUCTIONS)
                    ]
                    assert list(pool.map(lambda send: send().status, replies)) == [200] * len(
                        replies
                    )
                    bot.worker.join(timeout=120)
                approvals = _approvals(fake)
                assert sorted(approvals) == sorted(_thread_ts(i) for i in range(PRODUCTIONS))
                killed: dict[str, Any] = {}
                killer = pool.submit(kill_mid_take, pg_database_url, doomed, doomed_ids, killed)
                presses = [
                    lambda ts=ts, a=a: bot.press(a[0], a[1], thread_ts=ts, message_ts=a[2])
                    for ts, a in approvals.items()
                ]
                assert list(pool.map(lambda send: send().status, presses)) == [200] * len(presses)
                bot.worker.join(timeout=240)
                killer.result(timeout=10)
            wall = time.monotonic() - started
            assert doomed.wait(5) == -signal.SIGKILL and killed["takes"], "no worker was killed"
            print(f"{PRODUCTIONS} Slack productions in {wall:.1f}s; killed {killed['takes']}")

            store = services.store
            projects = []
            for i in range(PRODUCTIONS):
                project = bot.worker.runtime.studio(
                    f"slack:{TEAM}:{CHANNEL}:{_thread_ts(i)}"
                ).project()
                assert project is not None
                projects.append(project)
                assert store.revisions(project.id), f"thread {i} has no export"
            posted = [
                f
                for done in fake.of("files.completeUploadExternal")
                for f in __import__("json").loads(done["files"])
                if str(f.get("title", "")).startswith("rev 1: ")
            ]
            assert len(posted) == PRODUCTIONS  # one export posted in every thread
            price = default_profile("kling").price(5)
            submissions = sandbox.stats()["submissions"].get("kling", 0)
            takes = [t for p in projects for t in store.takes(p.id)]
            assert len(takes) == PRODUCTIONS * TAKES
            assert all(t.status is TakeStatus.SUCCEEDED for t in takes)
            assert submissions == len(takes)
            for project in projects:
                assert not [e for e in store.spend(project.id) if e.kind == "unknown"]
                assert store.total_spend(project.id) <= BUDGET + 1e-9
            charged = sum(
                e.amount_usd for p in projects for e in store.spend(p.id) if e.kind == "submit"
            )
            assert charged == pytest.approx(submissions * price)
            assert bot.worker.failures == []
        finally:
            bot.worker.stop()
            fake.close()
            for proc in (doomed, survivor):
                if proc is not None and proc.poll() is None:
                    proc.terminate()
                    try:
                        proc.wait(30)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
            asyncio.run(services.aclose())
