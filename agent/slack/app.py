"""The bolt App for reelforge's Slack bot.

A sync `App` with a background asyncio loop (the worker) rather than `AsyncApp`: Socket Mode's
stdlib handler and bolt's HTTP server are sync and need no extra stack, listeners only enqueue,
and the runtime keeps its own loop whichever way requests arrive.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from agent.slack import listeners
from agent.slack.allow import AllowList
from agent.slack.state import SlackState
from agent.slack.worker import SlackWorker

logger = logging.getLogger(__name__)

TOKENS = re.compile(r"\b(?:xox[a-z]|xapp)-[A-Za-z0-9-]+")


def make_client(token: str, base_url: str | None = None) -> WebClient:
    """slack-sdk's WebClient; it sleeps out a 429's Retry-After and retries (3 times)."""
    kwargs: dict[str, Any] = {"base_url": base_url} if base_url else {}
    return WebClient(
        token=token,
        retry_handlers=[
            ConnectionErrorRetryHandler(),
            RateLimitErrorRetryHandler(max_retry_count=3),
        ],
        **kwargs,
    )


def build_app(
    client: WebClient,
    worker: SlackWorker,
    allow: AllowList,
    state: SlackState,
    *,
    signing_secret: str | None = None,
) -> App:
    """The App; `signing_secret` given: HTTP mode (every request's signature checked)."""
    app = App(
        client=client,
        signing_secret=signing_secret or "",
        request_verification_enabled=signing_secret is not None,
        # listeners only enqueue, so answering after them is still well within 3 s; and it
        # keeps the order of events deterministic
        process_before_response=True,
        logger=logging.getLogger("reelforge.slack.bolt"),
    )
    app.middleware(dedupe(state))
    listeners.register(app, worker, allow, state)
    if allow.unrestricted:
        logger.warning(
            "no Slack allow-list set: anyone in a workspace the app is installed in can use it "
            "(REELFORGE_SLACK_ALLOW_TEAMS / _CHANNELS / _USERS)"
        )
    return app


def dedupe(state: SlackState) -> Callable[..., BoltResponse | None]:
    """Slack redelivers an event it thinks was not acked: run each event id once."""

    def middleware(body: dict[str, Any], next_: Callable[[], BoltResponse]) -> BoltResponse | None:
        event_id = body.get("event_id")
        if isinstance(event_id, str) and state.seen_or_mark(event_id):
            logger.info("event %s already handled; acking the retry", event_id)
            return BoltResponse(status=200, body="")  # returning None here would be a 404
        return next_()

    return middleware


class RedactSecrets(logging.Filter):
    """Scrubs Slack tokens (and any given secret) from log records, e.g. slack-sdk debug logs."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = TOKENS.sub("[redacted]", message)
        for secret in self.secrets:
            clean = clean.replace(secret, "[redacted]")
        if clean != message:
            record.msg, record.args = clean, None
        return True


def install_redaction(secrets: Iterable[str] = ()) -> None:
    """Attach the filter to every root handler (handler filters also see propagated records)."""
    redact = RedactSecrets(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
