"""One `redact()` for every text that may carry a secret: provider error bodies, exception
messages, take errors and tool results. Shown, logged or stored text goes through it.

It removes every secret registered by `Settings` (all provider keys, Slack tokens), every
environment value whose name says it is a secret, and anything shaped like a bearer token,
a JWT, a Slack token or an OpenAI-style key.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable

MASK = "[redacted]"
MIN_SECRET_CHARS = 6  # shorter values would mask ordinary words
_SECRET_NAME = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD)", re.IGNORECASE)
_SHAPES = re.compile(
    r"(?i:bearer)\s+[A-Za-z0-9._~+/=-]{6,}"
    r"|eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"
    r"|xox[abposre]-[A-Za-z0-9-]{6,}"
    r"|xapp-[A-Za-z0-9-]{6,}"
    r"|sk-[A-Za-z0-9_-]{16,}"
)
_lock = threading.Lock()
_registered: set[str] = set()


def register_secrets(values: Iterable[str | None]) -> None:
    """Remember configured secrets (from `.env` files too, not only the environment)."""
    with _lock:
        _registered.update(v for v in values if v and len(v) >= MIN_SECRET_CHARS)


def _secrets() -> list[str]:
    env = [
        value
        for name, value in os.environ.items()
        if _SECRET_NAME.search(name) and len(value) >= MIN_SECRET_CHARS
    ]
    with _lock:
        known = {*_registered, *env}
    return sorted(known, key=len, reverse=True)  # a longer secret first: no half-masked key


def redact(text: str) -> str:
    """`text` with every known secret and token-shaped value replaced by "[redacted]"."""
    if not text:
        return text
    for secret in _secrets():
        if secret in text:
            text = text.replace(secret, MASK)
    return _SHAPES.sub(MASK, text)
