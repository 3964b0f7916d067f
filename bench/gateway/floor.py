"""The floor: the least an OpenAI-compatible chat endpoint on FastAPI and uvicorn can do.

`POST /v1/chat/completions` reads and parses the JSON body (it must, to see `stream`), then
answers with fixed, pre-encoded bytes: a `chat.completion` object, or for `"stream": true` a
short SSE stream of `chat.completion.chunk` events ending in `data: [DONE]`. No validation,
no backend, no per-request ids. Any gateway built on the same stack can approach this only.

Run by the harness as
`uvicorn bench.gateway.floor:app --log-level warning --no-access-log` (uvloop + httptools).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request, Response
from fastapi.responses import StreamingResponse

MODEL = "mock"
CREATED = 1_700_000_000

_COMPLETION = json.dumps(
    {
        "id": "chatcmpl-floor",
        "object": "chat.completion",
        "created": CREATED,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello! How can I help you today?"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 2, "completion_tokens": 9, "total_tokens": 11},
    },
    separators=(",", ":"),
).encode()


def _chunk(delta: dict[str, str], finish_reason: str | None) -> bytes:
    event = {
        "id": "chatcmpl-floor",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
    return b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"


_STREAM: tuple[bytes, ...] = (
    _chunk({"role": "assistant", "content": ""}, None),
    _chunk({"content": "Hello!"}, None),
    _chunk({"content": " How can I help you today?"}, None),
    _chunk({}, "stop"),
    b"data: [DONE]\n\n",
)

app = FastAPI(title="gateway benchmark floor", docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/health")
async def health() -> dict[str, str]:
    """Readiness probe used by the harness."""
    return {"status": "ok"}


async def _events() -> AsyncIterator[bytes]:
    for event in _STREAM:
        yield event


@app.post("/v1/chat/completions")
async def chat_completions(request: Request) -> Response:
    """Fixed chat completion; SSE chunks when the body asks for `"stream": true`."""
    body = json.loads(await request.body())
    if isinstance(body, dict) and body.get("stream") is True:
        return StreamingResponse(_events(), media_type="text/event-stream")
    return Response(content=_COMPLETION, media_type="application/json")
