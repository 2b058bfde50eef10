"""`make bench`: measure the spine and write bench/results/spine.json plus the README table.

(a) offline `reelforge make` of the three-scene example vs the same ffmpeg commands run directly
    (replayed from REELFORGE_FFMPEG_LOG with the same parallelism), target <= 1.25x;
(b) the three exports in one ffmpeg run vs three single-format runs, the median ratio of at
    least 5 interleaved pairs (BENCH_PAIRS), target <= 0.85x;
(c) `reelforge --help` cold start, target <= 0.5 s.
"""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
EXAMPLE = ROOT / "examples" / "rooftop-sunset.yaml"
RESULTS = ROOT / "bench" / "results"
README = ROOT / "README.md"
REPEATS = int(os.environ.get("BENCH_REPEATS", "2"))
PAIRS = max(5, int(os.environ.get("BENCH_PAIRS", "5")))
"""Bench (b): interleaved one-run/three-run pairs; the median of at least 5 is reported."""


def _timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def _make(data_dir: Path, log: Path) -> float:
    env = {**os.environ, "REELFORGE_DATA_DIR": str(data_dir), "REELFORGE_FFMPEG_LOG": str(log)}
    cmd = [str(BIN / "reelforge"), "make", str(EXAMPLE), "--out", str(data_dir / "out"), "--json"]
    return _timed(lambda: subprocess.run(cmd, env=env, check=True, capture_output=True))


def _groups(entries: list[dict[str, object]]) -> list[list[dict[str, object]]]:
    """Commands whose run times overlapped in the make, grouped to replay with that parallelism."""
    groups: list[list[dict[str, object]]] = []
    end = -1.0
    for entry in sorted(entries, key=lambda e: float(e["start"])):
        if groups and float(entry["start"]) < end:
            groups[-1].append(entry)
        else:
            groups.append([entry])
        end = max(end, float(entry["end"]))
    return groups


def _width(group: list[dict[str, object]]) -> int:
    events = sorted(
        [(float(e["start"]), 1) for e in group] + [(float(e["end"]), -1) for e in group]
    )
    live = peak = 0
    for _, step in events:
        live += step
        peak = max(peak, live)
    return peak


def _replay(log: Path) -> float:
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]

    def run(entry: dict[str, object]) -> None:
        subprocess.run(entry["argv"], check=True, capture_output=True)  # type: ignore[call-overload]

    def all_groups() -> None:
        for group in _groups(entries):
            with ThreadPoolExecutor(max_workers=_width(group)) as pool:
                list(pool.map(run, group))

    return _timed(all_groups)


def bench_make() -> dict[str, object]:
    make_times, direct_times = [], []
    for _ in range(REPEATS):
        with tempfile.TemporaryDirectory() as tmp:
            log = Path(tmp) / "ffmpeg.jsonl"
            make_times.append(_make(Path(tmp) / "data", log))
            direct_times.append(_replay(log))
            commands = len(log.read_text().splitlines())
    make_s, direct_s = min(make_times), min(direct_times)
    return {
        "make_s": round(make_s, 2),
        "direct_ffmpeg_s": round(direct_s, 2),
        "ratio": round(make_s / direct_s, 3),
        "target": 1.25,
        "ffmpeg_commands": commands,
        "runs": REPEATS,
    }


def bench_exports() -> dict[str, object]:
    from memory.store import ProjectStore
    from tools.post import builders as b
    from tools.post.finish import segments_from_shots
    from tools.post.platforms import delivery_plan
    from tools.post.runner import command

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        log = Path(tmp) / "ffmpeg.jsonl"
        _make(data, log)
        store = ProjectStore(data / "reelforge.db")
        ((project, _),) = store.list_projects()
        revision = store.latest(project.id)
        assert revision is not None and revision.production.master is not None
        production = revision.production
        master = production.master
        assert master is not None
        audio = _normalised_audio(log)
        segments = segments_from_shots(production.shots())
        aspect = production.shots()[0].aspect
        out = Path(tmp) / "exports"
        out.mkdir()
        # the export pass as the product builds it: the grade and each platform's encode
        plan = delivery_plan(production.brief.platform, production.brief.formats)
        specs = [
            b.ExportSpec(fmt, out / f"x-{fmt.replace(':', 'x')}.mp4", plan.delivery(fmt))
            for fmt in production.brief.formats
        ]
        grade = production.grade

        def export(chosen: list[b.ExportSpec]) -> None:
            args = b.export_formats(
                master, audio, chosen, segments=segments, master_aspect=aspect, grade=grade
            )
            subprocess.run(command(args), check=True, capture_output=True)

        def one_run() -> None:
            export(specs)

        def three_runs() -> None:
            for spec in specs:
                export([spec])

        # Interleaved pairs (one run, then three runs, alternating which goes first) so a
        # noisy neighbour hits both sides alike; the figure is the median of the pairs' ratios
        # (single runs swung 0.74x-0.94x).
        ratios, ones, threes = [], [], []
        for i in range(PAIRS):
            if i % 2 == 0:
                one, three = _timed(one_run), _timed(three_runs)
            else:
                three, one = _timed(three_runs), _timed(one_run)
            ones.append(one)
            threes.append(three)
            ratios.append(one / three)
    return {
        "one_run_s": round(statistics.median(ones), 2),
        "three_runs_s": round(statistics.median(threes), 2),
        "ratio": round(statistics.median(ratios), 3),
        "ratio_min": round(min(ratios), 3),
        "ratio_max": round(max(ratios), 3),
        "pairs": len(ratios),
        "target": 0.85,
        "formats": len(specs),
        "master_seconds": sum(s.duration for s in production.shots()),
    }


def _normalised_audio(log: Path) -> Path:
    """The audio file the logged export command used (the loudness-normalised mix)."""
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    for entry in reversed(entries):
        argv = entry["argv"]
        inputs = [re.sub(r"^file:", "", argv[i + 1]) for i, a in enumerate(argv) if a == "-i"]
        if len(inputs) == 2 and "/master-" in inputs[0] and "/audio-" in inputs[1]:
            return Path(inputs[1])
    raise RuntimeError("the make logged no export command")


def bench_cold_start() -> dict[str, object]:
    exe = str(BIN / "reelforge")
    times = [
        _timed(lambda: subprocess.run([exe, "--help"], check=True, capture_output=True))
        for _ in range(10)
    ]
    return {
        "median_s": round(statistics.median(times), 3),
        "max_s": round(max(times), 3),
        "target": 0.5,
        "runs": len(times),
    }


def _row(name: str, value: str, target: str, ok: bool) -> str:
    return f"| {name} | {value} | {target} | {'yes' if ok else '**no**'} |"


def spine_rows(results: dict[str, dict[str, object]]) -> list[str]:
    m, e, c = results["make_vs_direct"], results["exports_one_vs_three"], results["cold_start"]
    return [
        _row(
            "(a) `reelforge make` three-scene example vs the same ffmpeg work run directly",
            f"{m['make_s']} s vs {m['direct_ffmpeg_s']} s = {m['ratio']}x",
            "<= 1.25x",
            float(m["ratio"]) <= 1.25,
        ),
        _row(
            "(b) three exports in one ffmpeg run vs three runs "
            f"(median of {e.get('pairs', 1)} interleaved pairs)",
            f"{e['one_run_s']} s vs {e['three_runs_s']} s = {e['ratio']}x",
            "<= 0.85x",
            float(e["ratio"]) <= 0.85,
        ),
        _row(
            "(c) `reelforge --help` cold start (median of 10)",
            f"{c['median_s']} s",
            "<= 0.5 s",
            float(c["median_s"]) <= 0.5,
        ),
    ]


def _rows_refs(d: dict[str, Any]) -> list[dict[str, Any]]:
    e, q = d["embedding"], d["search"]
    return [
        {
            "measure": f"reference search at {q['references']} references (p95)",
            "result": f"{q['p95_ms']} ms (p50 {q['p50_ms']} ms)",
            "target": f"<= {q['target_p95_ms']} ms",
            "ok": q["ok"],
        },
        {
            "measure": "MiniLM embedding throughput, short texts",
            "result": f"{e['texts_per_s']} texts/s",
            "target": f">= {e['target_texts_per_s']} texts/s",
            "ok": e["ok"],
        },
    ]


def _rows_post(d: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for step in [*d["steps"], d["finishing_chain"]]:
        target = step.get("target")
        rows.append(
            {
                "measure": f"{step['step']} vs the same ffmpeg run directly",
                "result": f"{step['reelforge_s']} s vs {step['direct_ffmpeg_s']} s = {step['ratio']}x",
                "target": f"<= {target}x" if target else "reported",
                "ok": step["met"],
            }
        )
    return rows


def _rows_fanout(d: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "measure": f"{d['scenes']} scenes x {d['takes_per_scene']} takes against the sandbox, "
            f"latency {r['latency_s']} s, concurrency {r['concurrency']}",
            "result": f"{r['wall_s']} s ({r['ratio_to_floor']}x the floor, "
            f"{r['submissions']} submissions)",
            "target": f"<= {r['target_s']} s",
            "ok": r["meets_target"],
        }
        for r in d["runs"]
    ]


def _rows_slack(d: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "measure": f"{d['threads']} concurrent Slack threads against the fake Slack API",
            "result": f"{d['completed']}/{d['threads']} completed in {d['wall_s']} s, "
            f"cross-talk {len(d['cross_talk'])}, peak RSS {d['peak_rss_mb']} MB "
            f"(+{d['peak_child_rss_mb']} MB ffmpeg)",
            "target": "all complete, no cross-talk",
            "ok": d["ok"],
        }
    ]


ROW_READERS = {"refs": _rows_refs, "post": _rows_post, "fanout": _rows_fanout, "slack": _rows_slack}


def other_rows() -> list[str]:
    """Rows from the other benchmarks' results: `rows` in their JSON, or read by ROW_READERS."""
    rows = []
    for path in sorted(RESULTS.glob("*.json")):
        if path.name == "spine.json":
            continue
        data = json.loads(path.read_text())
        reader = ROW_READERS.get(path.stem)
        found = data.get("rows") or (reader(data) if reader else [])
        for row in found:
            rows.append(
                _row(f"{path.stem}: {row['measure']}", str(row["result"]), row["target"], row["ok"])
            )
    return rows


def update_readme(results: dict[str, dict[str, object]], machine: str) -> None:
    table = "\n".join(
        [
            f"Latest results on {machine} (each benchmark's date is in `bench/results/`).",
            "",
            "| measure | result | target | met |",
            "|---|---|---|---|",
            *spine_rows(results),
            *other_rows(),
        ]
    )
    text = README.read_text()
    text = re.sub(
        r"<!-- bench:start -->.*<!-- bench:end -->",
        f"<!-- bench:start -->\n{table}\n<!-- bench:end -->",
        text,
        flags=re.S,
    )
    README.write_text(text)


def main() -> None:
    machine = f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.machine()}"
    if "--readme-only" in sys.argv:
        spine = json.loads((RESULTS / "spine.json").read_text())
        update_readme(spine, spine["machine"])
        return
    results = {
        "cold_start": bench_cold_start(),
        "make_vs_direct": bench_make(),
        "exports_one_vs_three": bench_exports(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"machine": machine, "date": time.strftime("%Y-%m-%d"), **results}
    (RESULTS / "spine.json").write_text(json.dumps(payload, indent=2) + "\n")
    update_readme(results, machine)
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
