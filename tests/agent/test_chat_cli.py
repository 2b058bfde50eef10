"""Must hold: a piped conversation with no keys makes three exports, then "make it moodier" makes
measurably moodier exports with no generation spend, and `show --json` reports two revisions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from memory.store import ProjectStore
from tests.agent.conversation import CONVERSATION
from tools.post.probe import mean_luma, probe

pytestmark = pytest.mark.ffmpeg

REELFORGE = [sys.executable, "-m", "agent.cli.main"]


def _reelforge(args: list[str], data: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REELFORGE_DATA_DIR": str(data)}
    return subprocess.run(
        [*REELFORGE, *args], input=stdin, capture_output=True, text=True, env=env, timeout=300
    )


def test_piped_conversation_makes_exports_then_a_free_moodier_regrade(tmp_path: Path) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    done = _reelforge(["chat", "--out", str(out)], data, "\n".join(CONVERSATION) + "\n")
    assert done.returncode == 0, done.stderr
    # replies on stdout, progress on stderr
    assert "Which formats" not in done.stdout  # "all three formats" was understood, not re-asked
    assert "What mood" in done.stdout and "rendering takes" not in done.stdout
    assert "rendering takes" in done.stderr

    first = sorted((out / "rev-1").glob("*.mp4"))
    second = sorted((out / "rev-2").glob("*.mp4"))
    assert [p.name.rsplit("-", 1)[1] for p in first] == ["16x9.mp4", "1x1.mp4", "9x16.mp4"]
    assert len(second) == 3
    for a, b in zip(first, second, strict=True):
        assert (probe(a).width, probe(a).height) == (probe(b).width, probe(b).height)
        assert mean_luma(b) < mean_luma(a) - 5, f"{b.name} is not darker than {a.name}"

    store = ProjectStore(data / "reelforge.db")
    try:
        ((project, revisions),) = store.list_projects()
        takes = store.takes(project.id)
        assert revisions == 2
        # the regrade rendered nothing: every take was made before revision 1
        rev1 = store.revisions(project.id)[0]
        assert all(t.created_at <= rev1.created_at for t in takes)
        assert store.total_spend(project.id) == 0
        assert store.revisions(project.id)[1].note.startswith("revision: moodier (regrade")
    finally:
        store.close()

    shown = _reelforge(["show", project.id, "--json"], data)
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["revisions"] == 2
    assert report["spend_usd"] == 0
    assert sorted(Path(p).parent.name for p in report["exports"]) == ["rev-2"] * 3


def test_chat_resumes_a_project_and_its_conversation(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = _reelforge(
        ["chat"], data, "A cat naps in a sunny window. mood: calm. style: watercolor. 4 seconds.\n"
    )
    assert first.returncode == 0, first.stderr
    assert "Which formats" in first.stdout or "Who is it for" in first.stdout
    project = (
        first.stderr.split("reelforge chat --project ")[1].split()[0]
        if ("--project" in first.stderr)
        else None
    )
    assert project is None  # no project until the brief is planned
    thread = first.stderr.split("thread ")[1].split()[0]
    second = _reelforge(["chat", "--thread", thread], data, "square\nfor cat people\n")
    assert second.returncode == 0, second.stderr
    assert 'Plan for "A Cat' in second.stdout  # it remembered the story, mood, style and length
    project = second.stderr.split("reelforge chat --project ")[1].split()[0]
    third = _reelforge(["chat", "--project", project], data, "status\n")
    assert third.returncode == 0, third.stderr
    assert f"Project {project}" in third.stdout
