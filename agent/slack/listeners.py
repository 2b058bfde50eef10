"""Thin listeners: work out which thread a request belongs to, check the allow-list, hand the
work to the background worker and return. Nothing slow runs here (Slack wants an ack in 3 s)."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext

from agent.slack.allow import AllowList
from agent.slack.blocks import ACTION_PREFIX
from agent.slack.state import SlackState
from agent.slack.worker import SlackWorker, Where

logger = logging.getLogger(__name__)

MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
HANDLED_SUBTYPES = (None, "file_share", "thread_broadcast")


def _team(context: BoltContext, body: dict[str, Any]) -> str:
    team = context.team_id or body.get("team_id") or (body.get("team") or {}).get("id")
    return str(team or context.enterprise_id or "-")


def register(app: App, worker: SlackWorker, allow: AllowList, state: SlackState) -> None:
    def admitted(where: Where, user: str | None) -> bool:
        if allow.allows(where.team, where.channel, user):
            return True
        logger.info("refused %s in %s", user, where.key)
        worker.refuse(where, user)
        return False

    @app.event("app_mention")
    def on_mention(event: dict[str, Any], context: BoltContext, body: dict[str, Any]) -> None:
        where = Where(
            _team(context, body),
            str(event["channel"]),
            str(event.get("thread_ts") or event["ts"]),
            event.get("channel_type"),
        )
        user = event.get("user")
        if user is None or not admitted(where, user):
            return
        state.remember_thread(where.key)
        text = MENTION.sub("", str(event.get("text") or "")).strip()
        worker.message(where, user, text, str(event["ts"]), list(event.get("files") or []))

    @app.event("message")
    def on_message(event: dict[str, Any], context: BoltContext, body: dict[str, Any]) -> None:
        if event.get("subtype") not in HANDLED_SUBTYPES or event.get("bot_id"):
            return
        user = event.get("user")
        text = str(event.get("text") or "")
        if user is None:
            return
        team = _team(context, body)
        channel = str(event["channel"])
        if event.get("channel_type") == "im":
            where = Where(team, channel, str(event.get("thread_ts") or event["ts"]), "im")
        else:
            # In channels the bot joins a thread when mentioned (app_mention handles that
            # message); later replies in that thread need no mention.
            bot = context.bot_user_id
            thread_ts = event.get("thread_ts")
            if thread_ts is None or (bot and f"<@{bot}>" in text):
                return
            where = Where(team, channel, str(thread_ts), event.get("channel_type"))
            if not state.knows_thread(where.key):
                return
        if not admitted(where, user):
            return
        state.remember_thread(where.key)
        worker.message(
            where,
            user,
            MENTION.sub("", text).strip(),
            str(event["ts"]),
            list(event.get("files") or []),
        )

    @app.event("assistant_thread_started")
    def on_assistant_thread(
        event: dict[str, Any], context: BoltContext, body: dict[str, Any]
    ) -> None:
        thread = event.get("assistant_thread") or {}
        where = Where(
            _team(context, body), str(thread["channel_id"]), str(thread["thread_ts"]), "im"
        )
        if admitted(where, thread.get("user_id")):
            state.remember_thread(where.key)
            worker.greet(where)

    @app.event("assistant_thread_context_changed")
    def on_context_changed() -> None:
        """The person switched channels beside the assistant pane; nothing to do."""

    @app.action(re.compile(f"^{ACTION_PREFIX}"))
    def on_action(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext
    ) -> None:
        ack()
        container = body.get("container") or {}
        message = body.get("message") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
        thread_ts = message.get("thread_ts") or container.get("thread_ts") or message.get("ts")
        if channel is None or thread_ts is None:
            return
        where = Where(
            _team(context, body), str(channel), str(thread_ts), container.get("channel_type")
        )
        user = (body.get("user") or {}).get("id")
        if user is None or not admitted(where, user):
            return
        worker.action(
            where,
            user,
            str(action["action_id"]),
            str(action.get("value") or ""),
            message.get("ts") or container.get("message_ts"),
        )
