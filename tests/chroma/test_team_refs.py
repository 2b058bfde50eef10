"""Team mode: separate `reelforge` processes (separate data dirs, as on separate machines) share
references only through the Chroma server at REELFORGE_CHROMA_URL; none opens embedded Chroma."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.refs.conftest import make_png

ROOT = Path(__file__).resolve().parents[2]
BRIEF = """\
title: Dawn
story: A girl walks home along the water.
mood: calm
style: realistic, cinematic
duration: 8
formats: ["16:9"]
audience: everyone
scenes:
  - description: Mia walks along the harbour at dawn
    duration: 8
"""


def _env(chroma_url: str, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "REELFORGE_CHROMA_URL": chroma_url,
        "REELFORGE_DATA_DIR": str(data_dir),
        "ANONYMIZED_TELEMETRY": "False",
    }


def _reelforge(*args: str) -> list[str]:
    return [sys.executable, "-m", "agent.cli.main", *args]


def _run(chroma_url: str, data_dir: Path, *args: str) -> str:
    done = subprocess.run(
        _reelforge(*args),
        env=_env(chroma_url, data_dir),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_a_reference_added_by_one_process_is_planned_with_by_another(
    chroma_url: str, tmp_path: Path
) -> None:
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    png = make_png(tmp_path / "mia.png", "Mia")
    added = json.loads(
        _run(chroma_url, alice, "ref", "add", str(png), "--kind", "character", "--name", "Mia",
             "--desc", "a girl with a red scarf", "--json")
    )  # fmt: skip
    assert added["created"] is True

    listed = json.loads(_run(chroma_url, bob, "ref", "list", "--json"))
    assert [r["id"] for r in listed] == [added["id"]]
    (tmp_path / "brief.yaml").write_text(BRIEF)
    plan = json.loads(_run(chroma_url, bob, "plan", str(tmp_path / "brief.yaml"), "--json"))
    shot = plan["scenes"][0]["shots"][0]
    # the planner (Services.refs()) attached the reference the other process stored
    assert shot["references"] == [added["id"]]
    assert "a girl with a red scarf" in shot["prompt"]
    # neither process opened an embedded store: the server holds everything
    assert not (alice / "chroma").exists() and not (bob / "chroma").exists()


def test_two_processes_adding_at_once_both_land(chroma_url: str, tmp_path: Path) -> None:
    names = {"Harbour": "a fishing harbour with wooden boats", "Lighthouse": "a white lighthouse"}
    procs = []
    for i, (name, desc) in enumerate(names.items()):
        png = make_png(tmp_path / f"{name}.png", name)
        procs.append(
            subprocess.Popen(
                _reelforge(
                    "ref", "add", str(png), "--kind", "environment", "--name", name, "--desc", desc
                ),
                env=_env(chroma_url, tmp_path / f"writer{i}"),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]

    hits = json.loads(_run(chroma_url, tmp_path / "reader", "ref", "search", "the port", "--json"))
    assert {h["name"] for h in hits} >= set(names)
    assert hits[0]["name"] == "Harbour"
    ids = httpx.get(
        f"{chroma_url}/api/v2/tenants/default_tenant/databases/default_database/collections"
    ).json()
    assert "refs-library-minilm" in [c["name"] for c in ids]
