"""A loopback fake of OpenAI's `/v1/chat/completions`, JSON and SSE streaming, with tool calls.

Its "model" is a function from the request's messages (converted to LangChain messages) to an
AIMessage; tests plug in the offline director (so a whole conversation runs through `ChatOpenAI`
and the real openai client over HTTP) or a script. Every request is recorded for assertions.
A brain that raises `Failure` makes the server answer with that HTTP status (a server error, a
rate limit), as OpenAI does. Structured output needs nothing special: the request's
`response_format` (json_schema) is recorded, and the brain's text is the JSON reply.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

Brain = Callable[[list[BaseMessage]], AIMessage]


class Failure(Exception):
    """Raised by a brain: the fake answers `status` with an OpenAI-shaped error body."""

    def __init__(self, status: int = 500, message: str = "the fake model failed") -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def to_langchain(messages: list[dict[str, Any]]) -> list[BaseMessage]:
    """OpenAI chat messages -> LangChain messages (tool names recovered from their calls)."""
    names: dict[str, str] = {}
    out: list[BaseMessage] = []
    for m in messages:
        role, content = m["role"], m.get("content") or ""
        if isinstance(content, list):
            content = "".join(part.get("text", "") for part in content)
        if role in ("system", "developer"):
            out.append(SystemMessage(content))
        elif role == "user":
            out.append(HumanMessage(content))
        elif role == "assistant":
            calls = []
            for call in m.get("tool_calls") or []:
                names[call["id"]] = call["function"]["name"]
                calls.append(
                    {
                        "id": call["id"],
                        "name": call["function"]["name"],
                        "args": json.loads(call["function"]["arguments"] or "{}"),
                    }
                )
            out.append(AIMessage(content, tool_calls=calls))
        elif role == "tool":
            out.append(
                ToolMessage(
                    content, tool_call_id=m["tool_call_id"], name=names.get(m["tool_call_id"])
                )
            )
    return out


def _tool_calls(message: AIMessage) -> list[dict[str, Any]]:
    return [
        {
            "id": call["id"],
            "type": "function",
            "function": {"name": call["name"], "arguments": json.dumps(call["args"])},
        }
        for call in message.tool_calls
    ]


@dataclass
class FakeOpenAI:
    brain: Brain
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    def completion(self, body: dict[str, Any]) -> AIMessage:
        return self.brain(to_langchain(body["messages"]))


def _handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid"}})
                return
            if not self.headers.get("Authorization", "").startswith("Bearer "):
                self._json(401, {"error": {"message": "missing bearer", "type": "auth"}})
                return
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            fake.requests.append(body)
            fake.headers.append({k.lower(): v for k, v in self.headers.items()})
            try:
                reply = fake.completion(body)
            except Failure as failure:
                self._json(
                    failure.status, {"error": {"message": failure.message, "type": "server_error"}}
                )
                return
            created = int(time.time())
            cid = f"chatcmpl-{len(fake.requests)}"
            finish = "tool_calls" if reply.tool_calls else "stop"
            if not body.get("stream"):
                message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
                if reply.tool_calls:
                    message["tool_calls"] = _tool_calls(reply)
                self._json(
                    200,
                    {
                        "id": cid,
                        "object": "chat.completion",
                        "created": created,
                        "model": body["model"],
                        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                    },
                )
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()

            def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> None:
                payload = {
                    "id": cid,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": body["model"],
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
                }
                self._write(f"data: {json.dumps(payload)}\n\n")

            chunk({"role": "assistant", "content": ""})
            text = reply.text
            for i in range(0, len(text), 16):
                chunk({"content": text[i : i + 16]})
            for index, call in enumerate(_tool_calls(reply)):
                args = call["function"]["arguments"]
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": index,
                                "id": call["id"],
                                "type": "function",
                                "function": {"name": call["function"]["name"], "arguments": ""},
                            }
                        ]
                    }
                )
                for i in range(0, len(args), 10):
                    chunk(
                        {
                            "tool_calls": [
                                {"index": index, "function": {"arguments": args[i : i + 10]}}
                            ]
                        }
                    )
            chunk({}, finish)
            self._write("data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")

        def _write(self, text: str) -> None:
            data = text.encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    return Handler


@contextmanager
def serve(brain: Brain) -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI(brain)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
