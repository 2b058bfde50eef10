"""Piped `reelforge chat` against the provider sandbox: paid work asks with its price, the answer
comes from the same stream, a rejection submits nothing, an approval submits each take once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.cli.chat import parse_decision
from memory.store import ProjectStore
from tools.providers.sandbox import Sandbox

pytestmark = pytest.mark.ffmpeg


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox(cache_dir=tmp_path / "cache") as server:
        server.state.latency = 0.0
        yield server


def test_approvals_are_answered_from_the_piped_stream(tmp_path: Path, sandbox: Sandbox) -> None:
    lines = [
        "A 4 second vertical video. A cup of coffee steams on a wooden table.",
        "calm",
        "cinematic",
        "coffee lovers",
        "go",
        "reject too pricey",
        "go",
        "approve",
    ]
    env = {**os.environ, **sandbox.env(), "REELFORGE_DATA_DIR": str(tmp_path / "data")}
    env["REELFORGE_TAKES"] = "1"  # chat's default is make's: 5 takes of a paid shot
    done = subprocess.run(
        [sys.executable, "-m", "agent.cli.main", "chat", "--out", str(tmp_path / "out")],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "runway" in out  # the plan names the paid provider
    asks = [line for line in out.splitlines() if line.startswith("Spend $")]
    assert len(asks) == 2 and "Reply 'approve'" in asks[0]
    assert "Nothing more was rendered" in out
    assert "Exported revision 1" in out
    assert sandbox.stats()["submissions"] == {"runway": 1}  # only after the approval

    store = ProjectStore(tmp_path / "data" / "reelforge.db")
    try:
        ((project, _),) = store.list_projects()
        kinds = [e.kind for e in store.spend(project.id)]
        assert kinds == ["rejection", "approval", "submit"]
    finally:
        store.close()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("approve", ("approve", None, None)),
        ("yes", ("approve", None, None)),
        ("reject too pricey", ("reject", "too pricey", None)),
        ("no", ("reject", None, None)),
        ("edit takes=2", ("edit", None, {"takes": 2})),
        ("edit", None),
        ("maybe later", None),
    ],
)
def test_parse_decision(line: str, expected: object) -> None:
    assert parse_decision(line) == expected
