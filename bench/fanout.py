"""Take fan-out bench: 4 scenes x 5 takes against the sandbox, fixed job latency L, concurrency c.

    .venv/bin/python bench/fanout.py [--latency 3] [--concurrency 4 10 20]

Each run renders 20 Runway takes through `generate_takes` (submit, record, poll, download, QC)
against an in-process `reelforge sandbox` whose jobs take L seconds, with the provider's
concurrency set to c. Jobs run in waves of c, so the floor is L x ceil(20 / c); the target is
wall time <= 1.2 x L x ceil(20 / c). The sandbox's clip cache is warmed first so the numbers
measure reelforge, not the sandbox's first ffmpeg renders. Writes bench/results/fanout.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from memory.models import Brief  # noqa: E402
from memory.store import ProjectStore  # noqa: E402
from tools.production import Services, plan  # noqa: E402
from tools.providers.registry import Registry  # noqa: E402
from tools.providers.sandbox import Sandbox  # noqa: E402
from tools.settings import Settings  # noqa: E402
from tools.takes import generate_takes  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "fanout.json"
SCENES = 4
TAKES = 5


def brief(nonce: str) -> Brief:
    """4 runway scenes with prompts unique to this run (no take is reused from another)."""
    scenes = [
        {"description": f"a paper boat number {i} drifts down a gutter ({nonce})", "duration": 4}
        for i in range(1, SCENES + 1)
    ]
    for scene in scenes:
        scene["provider"] = "runway"
    return Brief(
        title="Fanout",
        story="Paper boats drift down a rainy street.",
        mood="calm",
        style="cinematic",
        duration=4 * SCENES,
        formats=["16:9"],
        audience="bench",
        scenes=scenes,  # type: ignore[arg-type]
    )


async def one_run(settings: Settings, concurrency: int, takes: int = TAKES) -> dict[str, Any]:
    services = Services(settings, ProjectStore(settings.db_path), Registry(settings))
    production = plan(brief(uuid.uuid4().hex[:8]), services)
    project = services.store.create_project("fanout", production)
    shots = production.shots()
    started = time.perf_counter()
    try:
        batch = await generate_takes(
            project.id,
            shots,
            takes,
            store=services.store,
            registry=services.registry,
            take_dir=settings.media_dir / "takes",
            concurrency={"runway": concurrency},
            poll_interval_s=0.05,
        )
    finally:
        await services.aclose()
    wall = time.perf_counter() - started
    ok = sum(1 for ts in batch.takes.values() for t in ts if t.status.value == "succeeded")
    return {"wall_s": round(wall, 3), "succeeded": ok, "takes": len(shots) * takes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=3.0, help="Sandbox job latency L (s).")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[4, 10, 20])
    args = parser.parse_args()

    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        with Sandbox(cache_dir=Path(tmp) / "sandbox-cache", latency=0.0) as sandbox:
            os.environ.update(sandbox.env())
            settings = Settings(data_dir=Path(tmp) / "data")
            asyncio.run(one_run(settings, 4, takes=1))  # warm the sandbox's clip cache
            sandbox.state.latency = args.latency
            for c in args.concurrency:
                sandbox.reset()
                run = asyncio.run(one_run(settings, c))
                floor = args.latency * math.ceil(SCENES * TAKES / c)
                run.update(
                    {
                        "concurrency": c,
                        "latency_s": args.latency,
                        "floor_s": floor,
                        "target_s": round(1.2 * floor, 3),
                        "ratio_to_floor": round(run["wall_s"] / floor, 3),
                        "meets_target": run["wall_s"] <= 1.2 * floor
                        and run["succeeded"] == run["takes"],
                        "submissions": sandbox.stats()["submissions"].get("runway", 0),
                    }
                )
                results.append(run)
                print(json.dumps(run), flush=True)
    result = {
        "bench": "fanout",
        "scenes": SCENES,
        "takes_per_scene": TAKES,
        "runs": results,
        "all_meet_target": all(r["meets_target"] for r in results),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
