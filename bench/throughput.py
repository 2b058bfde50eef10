"""Team-mode bench: throughput of N concurrent productions on 1 and 2 `reelforge worker`s, and
the latency a queued take adds over the same take run in-process.

    .venv/bin/python bench/throughput.py [--productions 4] [--latency 2] [--takes 2]

Starts a real Postgres (Debian's binaries, as tests/pg/server.py; skipped with the reason when
absent), the loopback provider sandbox (Kling, job latency L) and worker processes.

(a) N `make`s at once (one 5 s Kling shot each, `--takes` takes, one 16:9 export) followed from
    this process while 1, then 2 worker processes (`--concurrency 3` each) run them; the same N
    in-process (no queue) for reference. On one 2-core box the provider wait overlaps either way
    and the ffmpeg share competes for the same cores, so two workers there are not expected to
    double anything: they scale when they are on different machines.
(b) K single takes one after another, in-process vs enqueued and followed (1 worker idle and
    waiting): the median difference is the queue's added latency per job, target <= 100 ms.

Writes bench/results/throughput.json (with README rows).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402

from memory.models import Brief  # noqa: E402
from tools.production import Services, make, plan  # noqa: E402
from tools.providers.sandbox import Sandbox  # noqa: E402
from tools.settings import Settings  # noqa: E402
from tools.takes import generate_takes  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "throughput.json"
LATENCY_TARGET_MS = 100.0


def brief(i: int, nonce: str) -> Brief:
    return Brief(
        title=f"Throughput {i}",
        story=f"A paper lantern number {i} floats over a dark lake.",
        mood="calm",
        style="cinematic",
        duration=5,
        formats=["16:9"],
        audience="bench",
        scenes=[  # type: ignore[list-item]
            {"description": f"a paper lantern number {i} rises ({nonce})", "duration": 5,
             "provider": "kling"}
        ],
    )  # fmt: skip


def start_workers(n: int, env: dict[str, str], logs: Path) -> list[subprocess.Popen[bytes]]:
    procs = []
    for i in range(n):
        with open(logs / f"worker-{i}.log", "ab") as out:
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "agent.cli.main",
                        "worker",
                        "--concurrency",
                        "3",
                        "--name",
                        f"bench-{i}",
                    ],
                    env=env,
                    cwd=ROOT,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )  # fmt: skip
            )
    return procs


def wait_workers(url: str, n: int) -> None:
    import psycopg

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT COUNT(*) FROM procrastinate_workers "
                "WHERE last_heartbeat > NOW() - INTERVAL '20 seconds'"
            ).fetchone()
        if row and row[0] >= 2 * n:  # each worker process runs two procrastinate workers
            return
        time.sleep(0.2)
    raise RuntimeError(f"{n} worker(s) did not start")


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def productions(services: Services, n: int, takes: int) -> float:
    nonce = uuid.uuid4().hex[:8]
    started = time.perf_counter()
    await asyncio.gather(*(make(brief(i, nonce), services, takes=takes) for i in range(n)))
    return time.perf_counter() - started


async def one_take(services: Services, queued: bool) -> float:
    production = plan(brief(0, uuid.uuid4().hex[:10]), services)
    project = services.store.create_project("latency", production)
    started = time.perf_counter()
    batch = await generate_takes(
        project.id,
        production.shots(),
        1,
        store=services.store,
        registry=services.registry,
        take_dir=services.settings.media_dir / "takes",
        poll_interval_s=0.05,
        queue=services.jobs if queued else None,
    )
    wall = time.perf_counter() - started
    assert all(t.status.value == "succeeded" for ts in batch.takes.values() for t in ts)
    return wall


async def measure(
    settings: Settings,
    env: dict[str, str],
    url: str,
    tmp: Path,
    sandbox: Sandbox,
    n: int,
    latency: float,
    takes: int,
    samples: int,
) -> tuple[list[float], list[float], float, list[dict[str, Any]]]:
    """Everything on one event loop (the registry's HTTP clients live on it)."""
    services = Services.open(settings)
    jobs = services.jobs
    assert jobs is not None
    jobs.ensure_schema()
    try:
        await one_take(services, queued=False)  # warm the sandbox's clip cache
        # (b) added latency per queued job, sandbox latency 0
        workers = start_workers(1, env, tmp)
        try:
            await asyncio.to_thread(wait_workers, url, 1)
            await one_take(services, queued=True)  # the worker's first imports and connections
            inline, queued = [], []
            for _ in range(samples):
                services.jobs = None
                inline.append(await one_take(services, queued=False))
                services.jobs = jobs
                queued.append(await one_take(services, queued=True))
        finally:
            await asyncio.to_thread(stop, workers)
        # (a) throughput with the provider's latency L
        sandbox.state.latency = latency
        services.jobs = None
        inline_wall = await productions(services, n, takes)
        services.jobs = jobs
        runs = []
        for count in (1, 2):
            workers = start_workers(count, env, tmp)
            try:
                await asyncio.to_thread(wait_workers, url, count)
                wall = await productions(services, n, takes)
            finally:
                await asyncio.to_thread(stop, workers)
            runs.append(
                {"workers": count, "wall_s": round(wall, 2), "per_min": round(60 * n / wall, 2)}
            )
    finally:
        services.jobs = jobs
        await services.aclose()
    return inline, queued, inline_wall, runs


def run(n: int, latency: float, takes: int, samples: int) -> dict[str, Any]:
    from tests.pg.server import PgServer, _bindir

    bindir = _bindir()
    if bindir is None:
        return {"skipped": "Postgres binaries not found (apt-get install postgresql)"}
    pg = PgServer(bindir)
    pg.start()
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            Sandbox(cache_dir=Path(tmp) / "sandbox-cache", latency=0.0) as sandbox,
        ):
            url = pg.create_database("bench")
            kling = {k: v for k, v in sandbox.env().items() if "KLING" in k}
            os.environ.update({**kling, "REELFORGE_MODEL": "offline"})
            data = Path(tmp) / "data"
            env = {
                **os.environ,
                "REELFORGE_DATABASE_URL": url,
                "REELFORGE_DATA_DIR": str(data),
                "PYTHONPATH": str(ROOT),
            }
            settings = Settings(data_dir=data, database_url=SecretStr(url))
            measured = asyncio.run(measure(settings, env, url, Path(tmp), sandbox, n, latency,
                                           takes, samples))  # fmt: skip
    finally:
        pg.stop()
    inline, queued, inline_wall, runs = measured
    added_ms = (statistics.median(queued) - statistics.median(inline)) * 1000
    return {
        "productions": n,
        "takes_per_production": takes,
        "latency_s": latency,
        "in_process_wall_s": round(inline_wall, 2),
        "runs": runs,
        "take_in_process_median_ms": round(statistics.median(inline) * 1000, 1),
        "take_queued_median_ms": round(statistics.median(queued) * 1000, 1),
        "added_latency_ms": round(added_ms, 1),
        "samples": samples,
    }


def rows(r: dict[str, Any]) -> list[dict[str, Any]]:
    if "skipped" in r:
        return [{"measure": "team-mode throughput", "result": f"skipped: {r['skipped']}",
                 "target": "reported", "ok": True}]  # fmt: skip
    out = [
        {
            "measure": f"{r['productions']} concurrent productions ({r['takes_per_production']} "
            f"Kling takes, sandbox latency {r['latency_s']} s) on {run['workers']} worker(s)",
            "result": f"{run['wall_s']} s ({run['per_min']}/min; in-process "
            f"{r['in_process_wall_s']} s)",
            "target": "reported",
            "ok": True,
        }
        for run in r["runs"]
    ]
    out.append(
        {
            "measure": "added latency of a queued take vs in-process (median of "
            f"{r['samples']}, sandbox latency 0)",
            "result": f"{r['added_latency_ms']} ms ({r['take_queued_median_ms']} vs "
            f"{r['take_in_process_median_ms']} ms)",
            "target": f"<= {LATENCY_TARGET_MS:g} ms",
            "ok": r["added_latency_ms"] <= LATENCY_TARGET_MS,
        }
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--productions", type=int, default=4)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--takes", type=int, default=2)
    parser.add_argument("--samples", type=int, default=7)
    args = parser.parse_args()
    result = run(args.productions, args.latency, args.takes, args.samples)
    payload = {
        "bench": "throughput",
        **result,
        "rows": rows(result),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n")
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
