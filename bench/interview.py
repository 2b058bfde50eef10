"""The offline director's interview: how many recorded conversations leave exactly the right
brief, and what the director adds to a turn.

Every conversation under tests/agent/conversations/ runs through the real ChatRuntime with the
offline director (renders left out: a go-ahead is recorded, not rendered). A conversation
passes when the brief it leaves equals the brief written next to it, field for field. Director
overhead is the time spent inside the director's decisions per turn (reading the message,
classifying clauses, the MiniLM embeddings when keywords are not enough), warm: the one-time
model load (about 2 s, in a background thread at the first turn) is reported apart.
Target <= 50 ms per turn. Writes bench/results/interview.json.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.conversation import semantic  # noqa: E402
from tests.agent.conversations.runner import load, run  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def measure() -> dict[str, Any]:
    start = time.perf_counter()
    semantic._loaded()
    load_s = time.perf_counter() - start
    cases = load()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("REELFORGE_DATA_DIR", str(Path(tmp) / "data"))
        outcomes = run(cases, Path(tmp) / "data")
    passed = [o for o in outcomes if o.ok]
    times = sorted(t for o in outcomes for t in o.director_ms)
    return {
        "conversations": len(outcomes),
        "passed": len(passed),
        "pass_rate": round(len(passed) / len(outcomes), 4),
        "target_rate": 0.95,
        "failed": {o.name: {k: list(v) for k, v in o.diff().items()} for o in outcomes if not o.ok},
        "turns": len(times),
        "director_median_ms": round(statistics.median(times), 2),
        "director_p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
        "director_max_ms": round(times[-1], 2),
        "embedding_model_load_s": round(load_s, 2),
        "target_ms": 50,
    }


def main() -> None:
    m = measure()
    result: dict[str, Any] = {
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "interview": m,
        "rows": [
            {
                "measure": "offline interview: conversations giving exactly the right brief",
                "result": f"{m['passed']}/{m['conversations']} ({m['pass_rate']:.0%})",
                "target": ">= 95%",
                "ok": m["pass_rate"] >= 0.95,
            },
            {
                "measure": "offline director time per turn (median / p95), model warm",
                "result": f"{m['director_median_ms']} ms / {m['director_p95_ms']} ms",
                "target": "<= 50 ms",
                "ok": m["director_p95_ms"] <= 50,
            },
        ],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "interview.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
