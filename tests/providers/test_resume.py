"""Crash safety end to end: `reelforge make` is killed with SIGKILL while its jobs run in a
separate `reelforge sandbox` process; `reelforge resume` finishes the production, and the
sandbox counts exactly one submission per take."""

from __future__ import annotations

import json
import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CLI = [sys.executable, "-m", "agent.cli.main"]
TAKES = 3  # Kling's concurrency: every take is submitted before the kill


@pytest.fixture
def sandbox_process(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    proc = subprocess.Popen(
        [*CLI, "sandbox", "--port", "0", "--latency", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("export "), line
        env = dict(item.split("=", 1) for item in shlex.split(line[len("export ") :]))
        url = env["REELFORGE_RUNWAY_BASE_URL"].rsplit("/", 1)[0]
        yield url, env
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _stats(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/_sandbox/stats", timeout=5) as response:
        data: dict[str, Any] = json.load(response)
    return data


def _post(address: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(
        address, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5):
        pass


def _count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql).fetchone()[0])


def _ledger(db: Path) -> float:
    with sqlite3.connect(db) as conn:
        (total,) = conn.execute(
            "SELECT COALESCE(SUM(CASE WHEN kind IN ('submit', 'unknown') THEN amount_usd "
            "WHEN kind = 'refund' THEN -amount_usd ELSE 0 END), 0) FROM spend"
        ).fetchone()
    return float(total)


def _take_price() -> float:
    from tools.providers.registry import default_profile

    profile = default_profile("kling")
    return profile.price(profile.fit_duration(5) or 5)


@pytest.mark.ffmpeg
def test_kill_during_make_then_resume_pays_each_take_once(
    sandbox_process: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, sandbox_env = sandbox_process
    data_dir = tmp_path / "data"
    env = {**os.environ, **sandbox_env, "REELFORGE_DATA_DIR": str(data_dir)}
    brief = tmp_path / "brief.yaml"
    brief.write_text(
        json.dumps(
            {
                "title": "Crash",
                "story": "A dancer spins in the rain.",
                "mood": "bold",
                "style": "cinematic",
                "duration": 5,
                "formats": ["16:9"],
                "audience": "everyone",
                "scenes": [{"description": "a dancer spins in the rain", "provider": "kling"}],
            }
        )
    )
    # The first take's submit is accepted but its answer is still in flight at the kill.
    _post(f"{url}/_sandbox/faults", {"provider": "kling", "kind": "slow_answer", "seconds": 30})
    out = tmp_path / "out"
    make = subprocess.Popen(
        [*CLI, "make", str(brief), "--takes", str(TAKES), "--out", str(out)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while _stats(url)["submissions"].get("kling", 0) < TAKES:
            assert make.poll() is None, "make ended before it could be killed"
            assert time.monotonic() < deadline, "make never submitted its takes"
            time.sleep(0.05)
    finally:
        make.send_signal(signal.SIGKILL)
        make.wait()
    db = data_dir / "reelforge.db"
    assert _count(db, "SELECT COUNT(*) FROM revisions") == 0  # killed mid-flight
    assert _count(db, "SELECT COUNT(*) FROM takes WHERE status = 'succeeded'") == 0
    # Killed with answers possibly in flight: every accepted submit is already in the ledger
    # (as `submit`, or held as `unknown`), so the ledger equals accepted submissions x price.
    accepted = _stats(url)["submissions"]["kling"]
    assert _ledger(db) == pytest.approx(accepted * _take_price())

    done = subprocess.run(
        [*CLI, "resume", "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["exports"] and all(Path(p).is_file() for p in result["exports"])
    assert all(Path(p).parent == out / "rev-1" for p in result["exports"])  # --out kept
    assert _stats(url)["submissions"] == {"kling": TAKES}
    assert _count(db, "SELECT COUNT(*) FROM spend WHERE kind = 'submit'") == TAKES
    assert _count(db, "SELECT COUNT(*) FROM takes WHERE status = 'succeeded'") == TAKES
    assert _count(db, "SELECT COUNT(*) FROM spend WHERE kind = 'unknown'") == 0
    assert _ledger(db) == pytest.approx(TAKES * _take_price())

    again = subprocess.run([*CLI, "resume"], env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "nothing to resume" in again.stdout
