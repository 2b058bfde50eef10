"""Behaving well: signatures checked, retries run once, the allow-list refuses politely, 429s
waited out, threads kept apart, tokens kept out of logs."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest

from agent.slack.allow import REFUSAL, AllowList
from agent.slack.app import RedactSecrets
from tests.slack.conftest import CHANNEL, TEAM, USER
from tools.settings import Settings

FIRST = "Let's make a video. A cat naps in a sunny window."


def test_a_mention_starts_the_interview_in_its_thread(bot_factory: Any) -> None:
    bot = bot_factory()
    assert bot.mention(FIRST, ts="100.1").status == 200
    bot.worker.join()
    thread = f"slack:{TEAM}:{CHANNEL}:100.1"
    assert bot.sent == [(thread, "Let's make a video. A cat naps in a sunny window.")]
    posts = bot.slack.of("chat.postMessage")
    assert posts and all(p["thread_ts"] == "100.1" and p["channel"] == CHANNEL for p in posts)
    assert "What mood" in posts[-1]["text"]
    # a reply in the thread (no mention) continues the same conversation
    bot.reply("dreamy", thread_ts="100.1", ts="100.2")
    # a message in another thread the bot was never asked into is not its business
    bot.reply("unrelated chatter", thread_ts="555.0", ts="555.1")
    # a message in the channel that mentions the bot comes as app_mention too: handled once
    bot.reply("<@UBOT> dreamy", thread_ts="100.1", ts="100.3")
    bot.worker.join()
    assert bot.sent[1:] == [(thread, "dreamy")]
    # the working reaction was put on and taken off the person's message
    assert [p["timestamp"] for p in bot.slack.of("reactions.add")] == ["100.1", "100.2"]
    assert [p["timestamp"] for p in bot.slack.of("reactions.remove")] == ["100.1", "100.2"]


def test_forged_and_stale_signatures_are_rejected_and_nothing_runs(bot_factory: Any) -> None:
    bot = bot_factory()
    forged = bot.mention(FIRST, ts="1.1", secret="not-the-secret")
    stale = bot.mention(FIRST, ts="1.2", timestamp=int(time.time()) - 10 * 60)
    assert (forged.status, stale.status) == (401, 401)
    bot.worker.join()
    assert bot.sent == []
    assert "chat.postMessage" not in bot.slack.methods()
    assert bot.mention(FIRST, ts="1.3").status == 200  # the same request signed right runs


def test_a_retried_event_runs_once(bot_factory: Any) -> None:
    bot = bot_factory()
    first = bot.mention(FIRST, ts="2.1", event_id="EvSAME")
    retry = bot.mention(
        FIRST,
        ts="2.1",
        event_id="EvSAME",
        headers={"x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"},
    )
    assert (first.status, retry.status) == (200, 200)
    bot.worker.join()
    assert len(bot.sent) == 1
    # a retry whose first delivery never arrived is not dropped
    bot.mention(
        "A dog runs on a beach.", ts="3.1", event_id="EvNEW", headers={"x-slack-retry-num": "2"}
    )
    bot.worker.join()
    assert len(bot.sent) == 2


def test_the_dedupe_survives_a_restart(bot_factory: Any, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    bot_factory(settings).mention(FIRST, ts="4.1", event_id="EvX")
    again = bot_factory(settings)
    again.mention(FIRST, ts="4.1", event_id="EvX", headers={"x-slack-retry-num": "1"})
    again.worker.join()
    assert again.sent == []


@pytest.mark.parametrize(
    "allow",
    [
        AllowList(teams=frozenset({"T-other"})),
        AllowList(channels=frozenset({"C-other"})),
        AllowList(users=frozenset({"U-other"})),
    ],
)
def test_outside_the_allow_list_a_polite_refusal_and_nothing_runs(
    bot_factory: Any, allow: AllowList
) -> None:
    bot = bot_factory(allow=allow)
    assert bot.mention(FIRST, ts="5.1").status == 200
    assert bot.press("rf_export", "export", thread_ts="5.1", message_ts="5.2").status == 200
    bot.worker.join()
    assert bot.sent == []
    refusals = bot.slack.of("chat.postEphemeral")
    assert [(r["user"], r["text"]) for r in refusals] == [(USER, REFUSAL)] * 2
    assert "chat.postMessage" not in bot.slack.methods()


def test_inside_the_allow_list_it_runs(bot_factory: Any) -> None:
    allow = AllowList(frozenset({TEAM}), frozenset({CHANNEL}), frozenset({USER}))
    bot = bot_factory(allow=allow)
    bot.mention(FIRST, ts="6.1")
    bot.worker.join()
    assert len(bot.sent) == 1 and bot.slack.of("chat.postEphemeral") == []


def test_allow_list_from_settings() -> None:
    settings = Settings(slack_allow_teams="T1, T2", slack_allow_users="U9")
    allow = AllowList.from_settings(settings)
    assert allow.allows("T2", "Cany", "U9")
    assert not allow.allows("T3", "Cany", "U9") and not allow.allows("T1", "C", "U1")
    assert not allow.allows("T1", "C", None)


def test_a_429_is_waited_out_and_the_reply_posted_once(bot_factory: Any) -> None:
    bot = bot_factory()
    bot.slack.limited.add("chat.postMessage")
    bot.mention(FIRST, ts="7.1")
    bot.worker.join()
    posts = bot.slack.of("chat.postMessage")
    assert len(posts) == 2 and posts[0] == posts[1]  # the 429, then the retry


def test_threads_are_separate_conversations(bot_factory: Any) -> None:
    bot = bot_factory()
    bot.mention("A cat naps in a sunny window.", ts="8.1")
    bot.mention("A dog runs on a beach. mood: energetic", ts="9.1")
    bot.worker.join()
    by_thread: dict[str, list[str]] = {}
    for post in bot.slack.of("chat.postMessage"):
        by_thread.setdefault(post["thread_ts"], []).append(post["text"])
    assert "What mood" in by_thread["8.1"][-1]
    assert "What mood" not in by_thread["9.1"][-1]  # the dog thread already has its mood
    assert {t for t, _ in bot.sent} == {
        f"slack:{TEAM}:{CHANNEL}:8.1",
        f"slack:{TEAM}:{CHANNEL}:9.1",
    }


def test_a_stale_approval_button_changes_nothing(bot_factory: Any) -> None:
    bot = bot_factory()
    bot.mention(FIRST, ts="10.1")
    bot.worker.join()
    bot.press("rf_approve", "deadbeef", thread_ts="10.1", message_ts="10.2")
    bot.worker.join()
    assert [t for _, t in bot.sent] == [FIRST]  # no decision reached the runtime
    assert "no longer waiting" in bot.texts()[-1]


def test_tokens_and_secrets_are_redacted_from_logs(caplog: pytest.LogCaptureFixture) -> None:
    redact = RedactSecrets(["s3cret-signing"])
    record = logging.LogRecord(
        "slack_sdk",
        logging.DEBUG,
        __file__,
        1,
        "headers: %s body: %s",
        ({"Authorization": "Bearer xoxb-123-abc"}, "s3cret-signing xapp-1-X"),
        None,
    )
    assert redact.filter(record)
    message = record.getMessage()
    assert "xoxb-123" not in message and "xapp-1" not in message and "s3cret" not in message
    assert message.count("[redacted]") == 3
