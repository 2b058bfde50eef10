"""The bot's own small state in the data dir: seen event ids (retry dedupe, with a TTL) and the
threads it is working in (so replies in those threads need no @-mention)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

EVENT_TTL_S = 24 * 3600.0  # Slack retries within minutes; a day is ample


class SlackState:
    """Thread-safe: bolt may call the dedupe middleware from several threads."""

    def __init__(
        self, path: Path, ttl_s: float = EVENT_TTL_S, clock: Callable[[], float] = time.time
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.ttl_s = ttl_s
        self.clock = clock
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS seen_events (id TEXT PRIMARY KEY, at REAL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS threads (key TEXT PRIMARY KEY, at REAL)")

    def seen_or_mark(self, event_id: str) -> bool:
        """True if `event_id` was seen within the TTL; otherwise mark it and return False."""
        now = self.clock()
        with self._lock:
            self._db.execute("DELETE FROM seen_events WHERE at < ?", (now - self.ttl_s,))
            cur = self._db.execute(
                "INSERT OR IGNORE INTO seen_events VALUES (?, ?)", (event_id, now)
            )
            return cur.rowcount == 0

    def remember_thread(self, key: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO threads VALUES (?, ?)", (key, self.clock()))

    def knows_thread(self, key: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM threads WHERE key = ?", (key,)).fetchone()
        return row is not None

    def close(self) -> None:
        with self._lock:
            self._db.close()
