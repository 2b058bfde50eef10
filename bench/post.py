"""Post-production benchmark: each step through reelforge vs the same ffmpeg commands run
directly (target <= 1.1x), and the whole finishing chain on the three-scene example.

    .venv/bin/python bench/post.py            # writes bench/results/post.json

Each step runs with REELFORGE_FFMPEG_LOG set, so the exact commands it ran are replayed
directly for the comparison. BENCH_REPEATS (default 5) runs per measure; medians are kept.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from memory.models import Grade  # noqa: E402
from tools.post import ops, qc  # noqa: E402
from tools.post.builders import ClipSpec, media_arg  # noqa: E402
from tools.post.finish import finish, segments_from_shots  # noqa: E402
from tools.post.runner import run  # noqa: E402

EXAMPLE = ROOT / "examples" / "rooftop-sunset.yaml"
RESULTS = ROOT / "bench" / "results" / "post.json"
REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))
TARGET = 1.1


def _source(folder: Path, size: str, seconds: float) -> Path:
    out = folder / f"src-{size}.mp4"
    run(
        [
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={size}:rate=24:duration={seconds}",
            "-f",
            "lavfi",
            "-i",
            f"sine=f=440:sample_rate=48000:duration={seconds}",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            media_arg(out),
        ]
    )
    return out


def _logged(log: Path, fn: Callable[[], object]) -> tuple[float, list[list[str]]]:
    log.unlink(missing_ok=True)
    os.environ["REELFORGE_FFMPEG_LOG"] = str(log)
    try:
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
    finally:
        del os.environ["REELFORGE_FFMPEG_LOG"]
    argvs = [json.loads(line)["argv"] for line in log.read_text().splitlines() if line.strip()]
    return elapsed, argvs


def _direct(argvs: list[list[str]]) -> float:
    start = time.perf_counter()
    for argv in argvs:
        subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - start


def _measure(
    name: str, fn: Callable[[], object], log: Path, *, note: str | None = None
) -> dict[str, Any]:
    """Median time of `fn` and of its logged ffmpeg commands run directly; a warm-up run of
    both first (page cache, imports), then alternating which goes first."""
    _, argvs = _logged(log, fn)
    _direct(argvs)
    ours, direct = [], []
    for k in range(REPEATS):
        if k % 2:
            direct.append(_direct(argvs))
            t, argvs = _logged(log, fn)
        else:
            t, argvs = _logged(log, fn)
            direct.append(_direct(argvs))
        ours.append(t)
    o, d = statistics.median(ours), statistics.median(direct)
    row: dict[str, Any] = {
        "step": name,
        "reelforge_s": round(o, 3),
        "direct_ffmpeg_s": round(d, 3),
        "ratio": round(o / d, 3),
        "target": None if note else TARGET,
        "met": True if note else o / d <= TARGET,
        "ffmpeg_commands": len(argvs),
    }
    if note:
        row["note"] = note
    print(f"{name:28s} {o:7.2f}s vs {d:7.2f}s = {o / d:.3f}x", file=sys.stderr)
    return row


def _sync(coro: Callable[[], Coroutine[Any, Any, object]]) -> Callable[[], object]:
    return lambda: asyncio.run(coro())


def _steps(folder: Path, log: Path) -> list[dict[str, Any]]:
    hd = _source(folder, "1920x1080", 2.0)
    hd_short = _source(folder, "1920x1080", 0.5)
    sd = _source(folder, "1280x720", 1.0)
    out = folder / "out.mp4"
    moody = Grade(lut="moody", brightness=-0.04, contrast=1.1)
    return [
        _measure("upscale 1080p->2160p 0.5s", _sync(lambda: ops.upscale(hd_short, out)), log),
        _measure(
            "interpolate fast 2s->60fps", _sync(lambda: ops.interpolate(hd, out, fps=60)), log
        ),
        _measure(
            "interpolate best 720p 1s->48",
            _sync(lambda: ops.interpolate(sd, out, fps=48, quality="best")),
            log,
        ),
        _measure("grade LUT+eq 1080p 2s", _sync(lambda: ops.grade(hd, out, moody)), log),
        _measure(
            "stabilise vidstab 1080p 2s",
            _sync(lambda: ops.stabilise(hd, out, work_dir=folder)),
            log,
        ),
        _measure(
            "qc 1080p 2s",
            lambda: qc.check(hd, duration_s=2.0, expect_audio=True),
            log,
            note="no target: QC adds a PyAV luma pass for flicker, which has no ffmpeg twin",
        ),
    ]


def _render_example(data_dir: Path) -> tuple[list[ClipSpec], Any, Path]:
    env = {**os.environ, "REELFORGE_DATA_DIR": str(data_dir)}
    reelforge = Path(sys.executable).parent / "reelforge"
    cmd = [str(reelforge), "make", str(EXAMPLE), "--out", str(data_dir / "out"), "--json"]
    made = json.loads(subprocess.run(cmd, env=env, check=True, capture_output=True).stdout)
    from memory.store import ProjectStore

    store = ProjectStore(data_dir / "reelforge.db")
    try:
        production = store.revisions(made["project_id"])[-1].production
        clips = []
        for shot in production.shots():
            take = store.take(production.picks[shot.id])
            assert take.file is not None
            clips.append(ClipSpec(take.file, shot.duration))
    finally:
        store.close()
    return clips, production, data_dir


def _chain(folder: Path, log: Path) -> dict[str, Any]:
    """Master + audio + loudness + three exports + ebur128 checks + posters, from scratch."""
    clips, production, data_dir = _render_example(folder / "data")
    runs = iter(range(1000))

    def once() -> object:
        n = next(runs)
        exports = {
            a: folder / f"chain{n}" / f"{a.replace(':', 'x')}.mp4" for a in ("9:16", "16:9", "1:1")
        }
        return asyncio.run(
            finish(
                clips,
                segments_from_shots(production.shots()),
                work_dir=folder / f"chain{n}" / "work",
                exports=exports,
                master_aspect=production.scenes[0].shots[0].aspect,
                grade=production.grade,
                mood=production.brief.mood,
                music=None,
                seed=7,
                posters=True,
            )
        )

    row = _measure("finishing chain (3 scenes)", once, log)
    row["content_s"] = sum(c.duration_s for c in clips)
    row["x_realtime"] = round(row["content_s"] / row["reelforge_s"], 2)
    return row


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="reelforge-bench-post-") as tmp:
        folder = Path(tmp)
        log = folder / "ffmpeg.log"
        steps = _steps(folder, log)
        chain = _chain(folder, log)
    result = {
        "measured_at": time.strftime("%Y-%m-%d", time.gmtime()),
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "arch": platform.machine(),
        },
        "repeats": REPEATS,
        "steps": steps,
        "finishing_chain": chain,
        "all_met": all(r["met"] for r in [*steps, chain]),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(RESULTS)


if __name__ == "__main__":
    main()
