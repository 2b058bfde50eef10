"""A loopback fake of the Slack Web API: records every (method, params) and answers ok.

`files.getUploadURLExternal` returns an upload URL on this server, which accepts the raw upload
POST (recorded as `__upload__` with its size and first bytes); `/files/<name>` serves registered bytes to the bot token only;
`rate_limit(method)` makes the next call of `method` answer 429 with Retry-After: 0.
"""

from __future__ import annotations

import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

TOKEN = "xoxb-test"


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.files: dict[str, bytes] = {}
        self.limited: set[str] = set()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(
                self, status: int, body: bytes, headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                for k, v in {"Content-Type": "application/json", **(headers or {})}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                name = urlsplit(self.path).path.removeprefix("/files/")
                fake.record("__download__", {"name": name, "auth": self.headers["Authorization"]})
                if self.headers["Authorization"] != f"Bearer {TOKEN}" or name not in fake.files:
                    self._send(403, b"no")
                else:
                    self._send(200, fake.files[name], {"Content-Type": "image/png"})

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if parts.path.startswith("/upload/"):
                    fake.record(
                        "__upload__", {"id": parts.path[8:], "bytes": len(raw), "head": raw[:8]}
                    )
                    return self._send(200, b"OK", {"Content-Type": "text/plain"})
                method = parts.path.removeprefix("/api/")
                params: dict[str, Any] = dict(parse_qsl(parts.query))
                if "json" in (self.headers.get("Content-Type") or ""):
                    params.update(json.loads(raw or b"{}"))
                else:
                    params.update(parse_qsl(raw.decode()))
                with fake._lock:
                    limited = method in fake.limited
                    fake.limited.discard(method)
                fake.record(method, params)
                if limited:
                    body = {"ok": False, "error": "ratelimited"}
                    return self._send(429, json.dumps(body).encode(), {"Retry-After": "0"})
                self._send(200, json.dumps(fake.answer(method, params)).encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def record(self, method: str, params: dict[str, Any]) -> None:
        with self._lock:
            self.calls.append((method, params))

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        n = next(self._ids)
        if method == "auth.test":
            return {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1"}
        if method in ("chat.postMessage", "chat.update"):
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts", f"{n}.0")}
        if method == "files.getUploadURLExternal":
            return {"ok": True, "upload_url": f"{self.url}/upload/F{n}", "file_id": f"F{n}"}
        if method == "files.completeUploadExternal":
            return {"ok": True, "files": [{"id": f["id"]} for f in json.loads(params["files"])]}
        return {"ok": True}

    def methods(self) -> list[str]:
        with self._lock:
            return [m for m, _ in self.calls]

    def of(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [p for m, p in self.calls if m == method]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
