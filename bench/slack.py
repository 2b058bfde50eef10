"""Slack bench: N concurrent threads (default 20), each a whole production, through the real bolt
App in HTTP mode (signed requests), the background worker and the offline director on the free
animatic, against a loopback fake of the Slack Web API.

    .venv/bin/python bench/slack.py [--threads 20]     # writes bench/results/slack.json

Checks: every thread completes (one export posted in it), no cross-talk (every message and file
lands in its own thread, and the files posted in a thread are exactly its project's exports),
no failed jobs. Reports wall time per round, Web API calls and peak memory (ru_maxrss).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.slack.conftest import CHANNEL, TEAM, Bot, make_bot  # noqa: E402
from tests.slack.fake_slack import FakeSlack  # noqa: E402
from tools.settings import Settings  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "slack.json"
STORIES = ("cat", "dog", "fox", "owl", "bee", "cow", "elk", "yak", "ram", "emu")
ROUNDS = ["calm", "you choose", "2 seconds", "9:16 vertical", "young travellers", "go"]


def _thread_ts(i: int) -> str:
    return f"{1000 + i}.000100"


def _story(i: int) -> str:
    animal = STORIES[i % len(STORIES)]
    return f"Let's make a video. A {animal} number {i} naps in a sunny window."


def _round(bot: Bot, pool: ThreadPoolExecutor, sends: list[Any]) -> float:
    start = time.perf_counter()
    statuses = list(pool.map(lambda send: send().status, sends))
    assert statuses == [200] * len(sends), statuses
    bot.worker.join(timeout=600)
    return round(time.perf_counter() - start, 2)


def run(threads: int) -> dict[str, Any]:
    fake = FakeSlack()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", model="offline")
        bot = make_bot(fake, settings)
        rounds: list[float] = []
        try:
            with ThreadPoolExecutor(threads) as pool:
                rounds.append(
                    _round(
                        bot,
                        pool,
                        [
                            lambda i=i: bot.mention(_story(i), ts=_thread_ts(i))
                            for i in range(threads)
                        ],
                    )
                )
                for n, text in enumerate(ROUNDS, start=1):
                    rounds.append(
                        _round(
                            bot,
                            pool,
                            [
                                lambda i=i, n=n, text=text: bot.reply(
                                    text, thread_ts=_thread_ts(i), ts=f"{1000 + i}.{n:06d}"
                                )
                                for i in range(threads)
                            ],
                        )
                    )
            report = _check(bot, threads)
        finally:
            bot.worker.stop()
            bot.services.store.close()
            fake.close()
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "threads": threads,
        "rounds_s": rounds,
        "wall_s": round(sum(rounds), 2),
        **report,
        "web_api_calls": len(fake.calls),
        "peak_rss_mb": round(me / 1024, 1),
        "peak_child_rss_mb": round(children / 1024, 1),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


def _check(bot: Bot, threads: int) -> dict[str, Any]:
    slack = bot.slack
    wanted = {_thread_ts(i) for i in range(threads)}
    cross_talk: list[str] = []
    for post in slack.of("chat.postMessage"):
        ts = post.get("thread_ts")
        if ts not in wanted:
            cross_talk.append(f"message outside the threads: {ts}")
            continue
        i = int(str(ts).split(".")[0]) - 1000
        for j in range(threads):
            if j != i and f"number {j} " in str(post.get("text")):
                cross_talk.append(f"thread {i} got thread {j}'s text")
    uploaded: dict[str, list[str]] = {}
    for done in slack.of("files.completeUploadExternal"):
        for f in json.loads(done["files"]):
            if str(f.get("title", "")).startswith("rev "):
                uploaded.setdefault(done["thread_ts"], []).append(f["title"].split(": ", 1)[1])
    completed = 0
    for i in range(threads):
        ts = _thread_ts(i)
        studio = bot.worker.runtime.studio(f"slack:{TEAM}:{CHANNEL}:{ts}")
        project = studio.project()
        exports = []
        if project is not None:
            revisions = bot.services.store.revisions(project.id)
            exports = sorted(Path(p).name for r in revisions for p in r.production.exports)
        posted = sorted(uploaded.get(ts, []))
        if exports and posted == exports:
            completed += 1
        elif posted != exports:
            cross_talk.append(f"thread {i}: posted {posted}, its exports {exports}")
    return {
        "completed": completed,
        "cross_talk": cross_talk,
        "failed_jobs": len(bot.worker.failures),
        "ok": completed == threads and not cross_talk and not bot.worker.failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=20)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    result = run(args.threads)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "cross_talk"}, indent=2))
    for line in result["cross_talk"][:20]:
        print("cross-talk:", line, file=sys.stderr)
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
