"""A real, scriptable OpenAI-compatible upstream for testing Core's `openai` backend.

`FakeUpstream().app` is a FastAPI app to run with `tests.servers.serve`. Every request is
recorded (method, path, headers, JSON body). A test scripts the next answers of a route with
`upstream.script("chat/completions", reply, ...)`; unscripted requests get a default answer
(an echo reply, deterministic embeddings, the `models` list).

A `Reply` is a status, headers and a list of frames. Each frame can be held back behind a
gate that the test opens (`release`), which is how a test proves Core passes a stream through
chunk by chunk: it receives chunk 1 from Core while chunk 2 is still held here. While a reply
waits on a gate it watches the connection, so `disconnected` tells when Core hung up (a
timeout, or a consumer that stopped early). Gates give up after `GATE_DEADLINE_S`, and
`reset()` opens every gate, so a forgotten gate never hangs a test run.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

GATE_DEADLINE_S = 10.0
_POLL_S = 0.002


@dataclass(frozen=True)
class Recorded:
    """One request the fake upstream received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


def _frame(event: dict[str, Any] | str) -> bytes:
    data = event if isinstance(event, str) else json.dumps(event)
    return f"data: {data}\n\n".encode()


class Reply(Response):
    """A scripted answer: `frames` sent in order, each after its gate opens (if gated)."""

    def __init__(
        self,
        status: int,
        frames: list[bytes],
        *,
        media_type: str = "application/json",
        headers: dict[str, str] | None = None,
        gated: bool = False,
    ):
        self.status_code = status
        self.frames = frames
        self.media_type = media_type
        self.header_list = [(b"content-type", media_type.encode())]
        self.header_list += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        self.background = None
        self.gates = [threading.Event() for _ in frames]
        if not gated:
            for gate in self.gates:
                gate.set()
        self.sent = 0
        self.disconnected = threading.Event()
        self.finished = threading.Event()

    def release(self, count: int = 1) -> None:
        """Open the next `count` closed gates."""
        closed = [g for g in self.gates if not g.is_set()]
        for gate in closed[:count]:
            gate.set()

    def release_all(self) -> None:
        for gate in self.gates:
            gate.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = {"type": "http.response.start", "status": self.status_code}
        await send({**start, "headers": self.header_list})
        hung_up = asyncio.Event()

        async def watch() -> None:
            while True:
                message: Message = await receive()
                if message["type"] == "http.disconnect":
                    hung_up.set()
                    return

        watcher = asyncio.create_task(watch())
        try:
            for gate, frame in zip(self.gates, self.frames, strict=True):
                deadline = time.monotonic() + GATE_DEADLINE_S
                while not gate.is_set() and not hung_up.is_set():
                    if time.monotonic() > deadline:
                        return  # abandon the reply; the connection closes unfinished
                    await asyncio.sleep(_POLL_S)
                if hung_up.is_set():
                    return
                self.sent += 1  # before sending, so a reader never sees a frame not yet counted
                await send({"type": "http.response.body", "body": frame, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            self.finished.set()
        finally:
            if hung_up.is_set():
                self.disconnected.set()
            watcher.cancel()


# --- reply builders -------------------------------------------------------------------


def json_reply(
    body: Any, status: int = 200, *, gated: bool = False, headers: dict[str, str] | None = None
) -> Reply:
    """A JSON answer (held until `release()` when gated: a slow upstream)."""
    return Reply(status, [json.dumps(body).encode()], headers=headers, gated=gated)


def raw_reply(text: str, status: int = 200, media_type: str = "text/html") -> Reply:
    """A body that is not what the API promises."""
    return Reply(status, [text.encode()], media_type=media_type)


def error_reply(
    status: int,
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """An OpenAI error envelope with `status`."""
    error = {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    return json_reply({"error": error}, status, headers=headers)


def completion(
    content: str | None = "Hello from upstream.",
    *,
    model: str = "fake-large",
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str = "stop",
    usage: tuple[int, int] | None = (7, 5),
) -> dict[str, Any]:
    """A `chat.completion` body."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    body: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
    }
    if usage is not None:
        body["usage"] = {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": sum(usage),
        }
    return body


def chunk(
    delta: dict[str, Any] | None = None,
    finish_reason: str | None = None,
    *,
    usage: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """A `chat.completion.chunk`; with `usage` and no delta, the final usage chunk."""
    body: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "fake-large",
        "choices": [],
    }
    if delta is not None or finish_reason is not None:
        body["choices"] = [{"index": 0, "delta": delta or {}, "finish_reason": finish_reason}]
    if usage is not None:
        body["usage"] = {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": sum(usage),
        }
    return body


def stream_reply(events: list[dict[str, Any] | str], *, gated: bool = False) -> Reply:
    """An SSE stream of `events` (dicts are JSON chunks, strings raw data such as
    `[DONE]`), one frame each; when gated, each frame waits for its own `release()`."""
    return Reply(200, [_frame(e) for e in events], media_type="text/event-stream", gated=gated)


def text_stream(
    pieces: list[str], *, usage: tuple[int, int] | None = (7, 3), gated: bool = False
) -> Reply:
    """A streamed text reply: role chunk, one chunk per piece, finish, usage, [DONE]."""
    events: list[dict[str, Any] | str] = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": p}) for p in pieces]
    events.append(chunk({}, "stop"))
    if usage is not None:
        events.append(chunk(usage=usage))
    events.append("[DONE]")
    return stream_reply(events, gated=gated)


# --- the app --------------------------------------------------------------------------


class FakeUpstream:
    """The scriptable upstream; `app` serves it."""

    def __init__(self, models: tuple[str, ...] = ("fake-large", "fake-small")):
        self.default_models = list(models)
        self.models = list(models)
        self.url = ""  # set by whoever serves `app`
        self.requests: list[Recorded] = []
        self.replies: list[Reply] = []
        self._scripts: defaultdict[str, deque[Reply]] = defaultdict(deque)
        self._lock = threading.Lock()
        self.app = self._build()

    def script(self, route: str, *replies: Reply) -> None:
        """Answer the next requests to `route` (e.g. "chat/completions") with `replies`."""
        with self._lock:
            self._scripts[route].extend(replies)

    def reset(self) -> None:
        """Forget requests and scripts, restore the model list, open every gate."""
        with self._lock:
            for reply in self.replies:
                reply.release_all()
            self.requests.clear()
            self.replies.clear()
            self._scripts.clear()
            self.models = list(self.default_models)

    def received(self, route: str) -> list[Recorded]:
        """Requests received on `route`, oldest first."""
        with self._lock:
            return [r for r in self.requests if r.path == f"/v1/{route}"]

    def _next(self, route: str, body: Any) -> Reply:
        with self._lock:
            queue = self._scripts[route]
            reply = queue.popleft() if queue else None
        reply = reply or self._default(route, body)
        with self._lock:
            self.replies.append(reply)
        return reply

    def _default(self, route: str, body: Any) -> Reply:
        if route == "models":
            return json_reply({"object": "list", "data": [{"id": m} for m in self.models]})
        if route == "embeddings" and isinstance(body, dict):
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            data = [
                {"object": "embedding", "index": i, "embedding": [float(len(t)), float(i), 1.0]}
                for i, t in enumerate(inputs)
            ]
            # Out of order on purpose: clients must sort by `index`.
            usage = {"prompt_tokens": len(inputs) * 2, "total_tokens": len(inputs) * 2}
            return json_reply({"object": "list", "data": data[::-1], "usage": usage})
        if route == "chat/completions" and isinstance(body, dict):
            text = f"You said: {body['messages'][-1].get('content')}"
            if body.get("stream"):
                return text_stream(re.findall(r"\S+\s*", text))
            return json_reply(completion(text, model=body["model"]))
        return error_reply(404, f"Unknown route /v1/{route}.")

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.api_route("/v1/{route:path}", methods=["GET", "POST"])
        async def handle(route: str, request: Request) -> Response:
            raw = await request.body()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            recorded = Recorded(request.method, request.url.path, dict(request.headers), body)
            with self._lock:
                self.requests.append(recorded)
            return self._next(route, body)

        return app
