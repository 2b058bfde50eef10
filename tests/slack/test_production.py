"""Must hold: a full production in one faked Slack thread. A mention starts the interview, the
formats come from a button, paid takes wait for the approval button (with the price), the shot's
contact sheet is uploaded into the thread just before the pick buttons, take 2 is picked with a
button, three exports are posted in the thread; then "make it moodier" -> a, and
three new exports. A paid provider is faked so that an approval is asked for."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from agent.slack import blocks
from memory.store import ProjectStore
from tests.fakes.providers import FakePaidProvider
from tests.slack.conftest import CHANNEL, TEAM, Bot
from tools.production import Services
from tools.providers.registry import Registry, default_profile
from tools.settings import Settings
from tools.studio import Studio

pytestmark = pytest.mark.ffmpeg
THREAD = "200.1"


def _buttons(bot: Bot, prefix: str) -> list[tuple[str, dict[str, Any], str]]:
    """(action_id, button, message ts) of every posted button whose action_id starts with prefix."""
    found = []
    for post in bot.slack.of("chat.postMessage"):
        for block in (
            json.loads(post["blocks"])
            if isinstance(post.get("blocks"), str)
            else post.get("blocks") or []
        ):
            for element in block.get("elements", []):
                if str(element.get("action_id", "")).startswith(prefix):
                    found.append((element["action_id"], element, str(post.get("_ts", ""))))
    return found


def _exports(bot: Bot) -> list[str]:
    """Titles of the files completed into the thread, in order."""
    titles = []
    for done in bot.slack.of("files.completeUploadExternal"):
        assert (done["channel_id"], done["thread_ts"]) == (CHANNEL, THREAD)
        titles += [f["title"] for f in json.loads(done["files"])]
    return [t for t in titles if t.startswith("rev ")]


def test_a_whole_production_in_one_thread(
    bot_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tmp_path / "data", runwayml_api_secret=SecretStr("key"), takes=2)
    fake = FakePaidProvider()
    services = Services(
        settings,
        ProjectStore(settings.db_path),
        Registry(settings, adapters={"runway": lambda _s: fake}),
    )
    picks: list[tuple[str, int]] = []
    real_pick = Studio.pick

    def spy_pick(self: Studio, shot_id: str, take_number: int) -> Any:
        picks.append((shot_id, take_number))
        return real_pick(self, shot_id, take_number)

    monkeypatch.setattr(Studio, "pick", spy_pick)
    bot: Bot = bot_factory(settings, services=services)
    thread_id = f"slack:{TEAM}:{CHANNEL}:{THREAD}"

    def say(text: str, n: int) -> None:
        assert bot.reply(text, thread_ts=THREAD, ts=f"{THREAD}{n}").status == 200
        bot.worker.join()

    bot.mention("Let's make a video. A cup of coffee steams on a wooden table.", ts=THREAD)
    bot.worker.join()
    for n, text in enumerate(["calm", "you choose", "3 seconds"], start=1):
        say(text, n)
    # the formats question comes with buttons; "All three" is pressed
    ((action_id, button, _),) = [
        b for b in _buttons(bot, blocks.FORMAT) if b[1]["value"] == "all three formats"
    ]
    bot.press(action_id, button["value"], thread_ts=THREAD, message_ts="m1")
    bot.worker.join()
    say("coffee lovers", 5)
    assert 'Plan for "' in "\n".join(bot.texts())
    say("go", 6)

    # paid takes wait for the approval button, which shows the price; nothing rendered yet
    assert fake.submits == []
    ((approve_id, approve, _),) = _buttons(bot, blocks.APPROVE)
    price = default_profile("runway").price(default_profile("runway").fit_duration(3) or 3) * 2
    assert approve["text"]["text"] == f"Approve ${price:.2f}"
    assert bot.press(approve_id, approve["value"], thread_ts=THREAD, message_ts="m2").status == 200
    bot.worker.join()
    assert len(fake.submits) == 2
    # the approval message lost its buttons and says who approved
    (decided,) = [u for u in bot.slack.of("chat.update") if u["ts"] == "m2"]
    assert "<@U1> approved" in json.dumps(decided["blocks"]) and "rf_approve" not in str(decided)
    assert bot.sent[-1] == (thread_id, "<approve>")
    rev1 = _exports(bot)
    assert len(rev1) == 3 and all(t.startswith("rev 1: ") for t in rev1)
    # progress was shown while the pipeline ran
    assert any("rendering takes" in text for text in bot.texts())

    # the takes came as previews, the shot's contact sheet (the PNG the engine drew, uploaded
    # into this thread) and then the pick-a-take buttons; take 2 of shot 1.1 is picked
    studio = bot.worker.runtime.studio(thread_id)
    ((sheet_shot, sheet),) = studio.contact_sheets()
    assert sheet_shot == "1.1" and sheet.is_file()
    (asked,) = [
        u for u in bot.slack.of("files.getUploadURLExternal") if u["filename"].endswith("sheet.png")
    ]
    assert (
        asked["filename"] == "shot-1.1-sheet.png" and int(asked["length"]) == sheet.stat().st_size
    )
    png = b"\x89PNG\r\n\x1a\n"
    assert [u["bytes"] for u in bot.slack.of("__upload__") if u["head"] == png] == [
        sheet.stat().st_size
    ]
    calls = bot.slack.calls
    (at_sheet,) = [
        i
        for i, (m, p) in enumerate(calls)
        if m == "files.completeUploadExternal"
        and [f["title"] for f in json.loads(p["files"])] == ["shot 1.1: contact sheet"]
    ]
    assert calls[at_sheet][1]["thread_ts"] == THREAD
    assert calls[at_sheet][1]["initial_comment"] == blocks.SHEETS_COMMENT
    at_buttons = next(
        i for i, (m, p) in enumerate(calls) if m == "chat.postMessage" and "rf_pick_" in str(p)
    )
    assert at_sheet < at_buttons
    take_buttons = _buttons(bot, blocks.PICK)
    assert [b[0] for b in take_buttons] == ["rf_pick_1", "rf_pick_2"]
    value = take_buttons[1][1]["value"]
    assert json.loads(value) == {"shot": "1.1", "take": 2}
    bot.press("rf_pick_2", value, thread_ts=THREAD, message_ts="m3")
    bot.worker.join()
    assert picks == [("1.1", 2)]
    project = services.store.list_projects()[0][0]
    ranked = [t.id for t in bot.worker.runtime.studio(thread_id).ranked_takes("1.1")]
    assert services.store.working(project.id).picks["1.1"] == ranked[1]
    # ...then exported with the button: three more exports in the thread
    bot.press(blocks.EXPORT, "export", thread_ts=THREAD, message_ts="m3")
    bot.worker.join()
    rev2 = _exports(bot)[3:]
    assert sorted(t.split(": ")[1].rsplit("-", 1)[1] for t in rev2) == [
        "16x9.mp4",
        "1x1.mp4",
        "9x16.mp4",
    ]
    assert all(t.startswith("rev 2: ") for t in rev2)
    assert services.store.revisions(project.id)[-1].production.picks["1.1"] == ranked[1]

    # a revision in the same thread: option a is free, and three new exports arrive
    say("make it moodier", 7)
    assert "a or b" in bot.texts()[-1]
    say("a", 8)
    rev3 = _exports(bot)[6:]
    assert len(rev3) == 3 and all(t.startswith("rev 3: ") for t in rev3)
    assert len(fake.submits) == 2  # the regrade rendered nothing
    assert services.store.revisions(project.id)[-1].note.startswith("revision: moodier")
    # every file of every upload was sent, into this thread only
    assert len(bot.slack.of("__upload__")) == len(bot.slack.of("files.getUploadURLExternal"))
    assert {p["thread_ts"] for p in bot.slack.of("chat.postMessage")} == {THREAD}

    # a "new take" button pressed after the price went up renders nothing and says both prices
    one = price / 2
    stale = json.dumps({"shot": "1.1", "usd": one / 2})
    bot.press(f"{blocks.REGENERATE}1.1", stale, thread_ts=THREAD, message_ts="m4")
    bot.worker.join()
    assert bot.texts()[-1] == (
        f"A new take of shot 1.1 now costs ${one:.2f}, not ${one / 2:.2f}; nothing was rendered."
    )
    assert len(fake.submits) == 2
    # at the price shown, it renders one more take and says so in the takes' words
    fresh = json.dumps({"shot": "1.1", "usd": one})
    bot.press(f"{blocks.REGENERATE}1.1", fresh, thread_ts=THREAD, message_ts="m5")
    bot.worker.join()
    assert len(fake.submits) == 3
    assert any(t.startswith("Rendered takes for 1 shot(s); spent $") for t in bot.texts())
