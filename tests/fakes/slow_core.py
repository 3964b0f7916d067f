"""A scriptable stand-in for Core that streams slowly and counts concurrent completions,
for tests of lanes, leases and streaming. It speaks the same wire format as Core."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse


@dataclass
class SlowCoreState:
    """What the fake does and what it saw."""

    chunk_delay_s: float = 0.05
    chunks: int = 6
    active: int = 0
    max_active: int = 0
    calls: int = 0
    gate: threading.Event | None = None
    seen_messages: list[list[dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _chunk(content: str | None, finish: str | None = None) -> bytes:
    delta = {"content": content} if content is not None else {}
    body = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": "fake",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + orjson.dumps(body) + b"\n\n"


def slow_core_app(state: SlowCoreState) -> FastAPI:
    """The fake Core app over `state`."""
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "backend": "fake", "models": ["fake"]}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": "fake", "object": "model"}]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        body = await request.json()
        with state.lock:
            state.calls += 1
            state.seen_messages.append(body["messages"])

        async def frames() -> AsyncIterator[bytes]:
            with state.lock:
                state.active += 1
                state.max_active = max(state.max_active, state.active)
            try:
                for i in range(state.chunks):
                    if state.gate is not None:
                        await asyncio.to_thread(state.gate.wait, 10)
                    await asyncio.sleep(state.chunk_delay_s)
                    yield _chunk(f"part{i} ")
                yield _chunk(None, "stop")
                usage = {
                    "prompt_tokens": 3,
                    "completion_tokens": state.chunks,
                    "total_tokens": 3 + state.chunks,
                }
                yield (
                    b"data: "
                    + orjson.dumps(
                        {
                            "id": "chatcmpl-fake",
                            "object": "chat.completion.chunk",
                            "created": 0,
                            "model": "fake",
                            "choices": [],
                            "usage": usage,
                        }
                    )
                    + b"\n\n"
                )
                yield b"data: [DONE]\n\n"
            finally:
                with state.lock:
                    state.active -= 1

        return StreamingResponse(frames(), media_type="text/event-stream")

    return app
