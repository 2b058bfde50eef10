"""Images uploaded in a thread become references of that thread's production; the bot token
goes only to Slack's file host."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image

from tests.slack.conftest import CHANNEL, TEAM
from tests.slack.fake_slack import TOKEN

BRIEF = {
    "story": "A cat naps in a sunny window.",
    "mood": "calm",
    "style": "watercolor",
    "duration": 2,
    "formats": ["1:1"],
    "audience": "cat people",
}


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 40, 40)).save(out, format="PNG")
    return out.getvalue()


def _upload(bot: Any, thread: str, ts: str, url: str, text: str = "") -> None:
    files = [
        {
            "id": "F1",
            "name": "mia.png",
            "title": "mia.png",
            "mimetype": "image/png",
            "url_private_download": url,
        }
    ]
    bot.reply(text, thread_ts=thread, ts=ts, subtype="file_share", files=files)
    bot.worker.join()


def test_an_uploaded_image_becomes_a_reference_of_the_threads_project(bot_factory: Any) -> None:
    added: list[tuple[bytes, str, str, str]] = []

    def add(file: Path, kind: str, name: str, description: str, project: str) -> str:
        added.append((file.read_bytes(), kind, name, project))
        return "ref-1"

    bot = bot_factory(add_reference=add)
    bot.slack.files["mia.png"] = _png()
    url = f"{bot.slack.url}/files/mia.png"
    bot.mention("A cat naps in a sunny window.", ts="300.1")
    bot.worker.join()
    # before there is a plan: a clear message, nothing added
    _upload(bot, "300.1", "300.2", url)
    assert added == [] and "once there is a plan" in bot.texts()[-1]

    studio = bot.worker.runtime.studio(f"slack:{TEAM}:{CHANNEL}:300.1")
    studio.update_brief(**BRIEF)
    studio.plan()
    project = studio.project()
    assert project is not None
    _upload(bot, "300.1", "300.3", url, text="this is the character")
    assert added == [(_png(), "character", "mia", project.id)]
    assert len(bot.sent) == 1  # the words with the image described it; no turn ran
    assert bot.slack.of("__download__")[-1]["auth"] == f"Bearer {TOKEN}"
    assert "Added 'mia' as a character reference" in bot.texts()[-1]


def test_the_token_is_not_sent_to_other_hosts(bot_factory: Any) -> None:
    bot = bot_factory(add_reference=lambda *a: "never")
    studio = bot.worker.runtime.studio(f"slack:{TEAM}:{CHANNEL}:301.1")
    bot.mention("A cat naps in a sunny window.", ts="301.1")
    bot.worker.join()
    studio.update_brief(**BRIEF)
    studio.plan()
    _upload(bot, "301.1", "301.2", "http://127.0.0.2:9/files/mia.png")
    assert bot.slack.of("__download__") == []
    assert "not on Slack's file host" in bot.texts()[-1]
