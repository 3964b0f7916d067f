"""A scripted stand-in for Core that fails on demand, for testing Edge's `CoreClient`.

`FakeCore().app` is a FastAPI app to run with `tests.servers.serve`. A test queues the next
answers of `POST /v1/chat/completions` with `fake.script("503", "ok")` ("429:30" adds
`Retry-After: 30`); unscripted requests get "ok". Every request is counted by route (`hits`)
and its headers and JSON body are kept (`requests`), so a test can tell how many times the
client tried.

Answers that stall ("stall", "stream_stall") wait on `release`, which `reset()` sets, so a
stalled handler never outlives its test by more than `STALL_DEADLINE_S`.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

STALL_DEADLINE_S = 10.0
MODEL = "fake"
STREAM_TEXT = ["Hello ", "wide ", "world"]
PARTIAL_TEXT = ["partial ", "reply "]


@dataclass(frozen=True)
class Seen:
    """One request the fake received."""

    path: str
    headers: dict[str, str]
    body: Any


def _envelope(status: int, message: str, code: str) -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "api_error"
    error = {"message": message, "type": kind, "param": None, "code": code}
    return JSONResponse({"error": error}, status_code=status)


def _sse(obj: dict[str, Any] | str) -> bytes:
    return f"data: {obj if isinstance(obj, str) else json.dumps(obj)}\n\n".encode()


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return _sse(
        {"id": "c1", "object": "chat.completion.chunk", "model": MODEL, "choices": [choice]}
    )


def _usage_chunk() -> bytes:
    usage = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
    return _sse({"id": "c1", "object": "chat.completion.chunk", "choices": [], "usage": usage})


_COMPLETION = {
    "id": "c1",
    "object": "chat.completion",
    "model": MODEL,
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "".join(STREAM_TEXT)},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
}

# Two tool calls whose deltas interleave and split names' arguments across chunks, the way
# OpenAI and vLLM stream them.
_TOOL_FRAGMENTS: list[dict[str, Any]] = [
    {"index": 0, "id": "call_a", "type": "function", "function": {"name": "search"}},
    {"index": 0, "function": {"arguments": '{"query": '}},
    {"index": 1, "id": "call_b", "type": "function", "function": {"name": "get_time"}},
    {"index": 0, "function": {"arguments": '"lanes and'}},
    {"index": 1, "function": {"arguments": "{}"}},
    {"index": 0, "function": {"arguments": ' queues"}'}},
]


class FakeCore:
    """A FastAPI app answering like Core, or failing as scripted."""

    def __init__(self) -> None:
        self.plan: deque[str] = deque()
        self.hits: Counter[str] = Counter()
        self.requests: list[Seen] = []
        self.release = threading.Event()
        self.app = FastAPI()
        self.app.add_api_route("/health", self._health, methods=["GET"])
        self.app.add_api_route("/v1/chat/completions", self._chat, methods=["POST"])
        self.app.add_api_route("/v1/embeddings", self._embeddings, methods=["POST"])

    def script(self, *modes: str) -> None:
        """Answer the next chat requests with `modes`, in order."""
        self.plan.extend(modes)

    def reset(self) -> None:
        """Forget the script and the requests; let any stalled handler finish."""
        self.release.set()
        self.release = threading.Event()
        self.plan.clear()
        self.hits.clear()
        self.requests.clear()

    async def _record(self, request: Request) -> Any:
        raw = await request.body()
        body = json.loads(raw) if raw else None
        self.hits[request.url.path] += 1
        self.requests.append(Seen(request.url.path, dict(request.headers), body))
        return body

    async def _stall(self, release: threading.Event) -> None:
        await asyncio.to_thread(release.wait, STALL_DEADLINE_S)

    async def _health(self, request: Request) -> Response:
        await self._record(request)
        return JSONResponse({"status": "ok", "backend": "fake", "models": [MODEL]})

    async def _embeddings(self, request: Request) -> Response:
        body = await self._record(request)
        data = [
            {"object": "embedding", "index": i, "embedding": [float(i), 0.5]}
            for i, _ in reversed(list(enumerate(body["input"])))
        ]
        usage = {"prompt_tokens": 7, "total_tokens": 7}
        return JSONResponse({"object": "list", "data": data, "model": MODEL, "usage": usage})

    async def _chat(self, request: Request) -> Response:
        body = await self._record(request)
        mode = self.plan.popleft() if self.plan else "ok"
        release = self.release
        if mode.isdigit():
            return _envelope(int(mode), f"Scripted failure {mode}.", f"scripted_{mode}")
        if mode.startswith("429:"):  # "429:30": too many requests, Retry-After: 30
            answer = _envelope(429, "Slow down.", "rate_limited")
            answer.headers["Retry-After"] = mode.removeprefix("429:")
            return answer
        if mode == "echo_auth":
            said = request.headers.get("authorization", "")
            return _envelope(400, f"We did not like your header {said!r}.", "bad_header")
        if mode == "garbage":
            return Response(b"<html><body>502 Bad Gateway</body></html>", media_type="text/html")
        if mode == "stall":
            await self._stall(release)
        if not body.get("stream"):
            return JSONResponse(_COMPLETION)
        frames = self._frames(mode, release)
        return StreamingResponse(frames, media_type="text/event-stream")

    async def _frames(self, mode: str, release: threading.Event) -> AsyncIterator[bytes]:
        yield _chunk({"role": "assistant", "content": ""})
        if mode == "stream_error":
            for text in PARTIAL_TEXT:
                yield _chunk({"content": text})
            error = {"message": "The backend fell over.", "type": "api_error", "param": None}
            yield _sse({"error": {**error, "code": "backend_error"}})
            return
        if mode == "tool_fragments":
            for call in _TOOL_FRAGMENTS:
                yield _chunk({"tool_calls": [call]})
            yield _chunk({}, "tool_calls")
            yield _usage_chunk()
            yield _sse("[DONE]")
            return
        for text in STREAM_TEXT[:2]:
            yield _chunk({"content": text})
        if mode == "stream_stall":
            await self._stall(release)
        if mode == "truncated":
            return
        yield _chunk({"content": STREAM_TEXT[2]})
        yield _chunk({}, "stop")
        yield _usage_chunk()
        yield _sse("[DONE]")
