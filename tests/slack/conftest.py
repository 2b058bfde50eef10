"""The bot under test: the real App in HTTP mode with a signing secret, slack-sdk's WebClient
pointed at a loopback fake of the Web API, the worker's runtime on the offline director, and
requests sent as signed `BoltRequest`s into `app.dispatch()`."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk.signature import SignatureVerifier

from agent.slack.allow import AllowList
from agent.slack.app import build_app, make_client
from agent.slack.state import SlackState
from agent.slack.worker import SlackWorker
from tests.slack.fake_slack import TOKEN, FakeSlack
from tools.production import Services
from tools.settings import Settings

SECRET = "test-signing-secret"
TEAM, CHANNEL, USER = "T1", "C1", "U1"


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    yield fake
    fake.close()


@dataclass
class Bot:
    app: App
    worker: SlackWorker
    slack: FakeSlack
    services: Services
    sent: list[tuple[str, str]] = field(default_factory=list)  # runtime calls, recorded
    _ids: int = 0

    def dispatch(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str = SECRET,
        headers: dict[str, str] | None = None,
    ) -> BoltResponse:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
        request = BoltRequest(
            body=body,
            headers={
                "content-type": content_type,
                "x-slack-request-timestamp": ts,
                "x-slack-signature": signature,
                **(headers or {}),
            },
        )
        return self.app.dispatch(request)

    def event(
        self, event: dict[str, Any], *, event_id: str | None = None, **kwargs: Any
    ) -> BoltResponse:
        self._ids += 1
        body = {
            "type": "event_callback",
            "team_id": TEAM,
            "api_app_id": "A1",
            "event_id": event_id or f"Ev{self._ids}",
            "event_time": int(time.time()),
            "event": {"channel": CHANNEL, "user": USER, "channel_type": "channel", **event},
        }
        return self.dispatch(json.dumps(body), "application/json", **kwargs)

    def mention(self, text: str, ts: str, **kwargs: Any) -> BoltResponse:
        return self.event({"type": "app_mention", "text": f"<@UBOT> {text}", "ts": ts}, **kwargs)

    def reply(self, text: str, thread_ts: str, ts: str, **event: Any) -> BoltResponse:
        return self.event(
            {"type": "message", "text": text, "ts": ts, "thread_ts": thread_ts, **event}
        )

    def press(
        self, action_id: str, value: str, thread_ts: str, message_ts: str, user: str = USER
    ) -> BoltResponse:
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM},
            "user": {"id": user},
            "channel": {"id": CHANNEL},
            "container": {
                "type": "message",
                "channel_id": CHANNEL,
                "message_ts": message_ts,
                "thread_ts": thread_ts,
            },
            "message": {"ts": message_ts, "thread_ts": thread_ts},
            "actions": [
                {"action_id": action_id, "value": value, "type": "button", "block_id": "b"}
            ],
        }
        body = urlencode({"payload": json.dumps(payload)})
        return self.dispatch(body, "application/x-www-form-urlencoded")

    def texts(self) -> list[str]:
        return [str(p.get("text", "")) for p in self.slack.of("chat.postMessage")]


def make_bot(
    fake: FakeSlack,
    settings: Settings,
    services: Services | None = None,
    allow: AllowList | None = None,
    add_reference: Any = None,
) -> Bot:
    services = services or Services.open(settings)
    client = make_client(TOKEN, f"{fake.url}/api/")
    worker = SlackWorker(settings, client, services=services, add_reference=add_reference)
    worker.start()
    state = SlackState(settings.data_dir / "slack.db")
    app = build_app(client, worker, allow or AllowList(), state, signing_secret=SECRET)
    bot = Bot(app, worker, fake, services)
    runtime = worker.runtime
    real_send, real_decide = runtime.send, runtime.decide

    async def send(thread_id: str, text: str) -> Any:
        bot.sent.append((thread_id, text))
        return await real_send(thread_id, text)

    async def decide(thread_id: str, decision: Any, **kw: Any) -> Any:
        bot.sent.append((thread_id, f"<{decision}>"))
        return await real_decide(thread_id, decision, **kw)

    runtime.send = send  # type: ignore[method-assign]
    runtime.decide = decide  # type: ignore[method-assign]
    return bot


@pytest.fixture
def bot_factory(fake_slack: FakeSlack, tmp_path: Path) -> Iterator[Any]:
    made: list[Bot] = []

    def factory(settings: Settings | None = None, **kw: Any) -> Bot:
        settings = settings or Settings(data_dir=tmp_path / "data")
        bot = make_bot(fake_slack, settings, **kw)
        made.append(bot)
        return bot

    yield factory
    for bot in made:
        bot.worker.join()
        bot.worker.stop()
        bot.services.store.close()
        assert bot.worker.failures == []
