"""A model that obeys every instruction it reads: Core on the mock backend, except that a chat
completion whose last message (the user's, or a tool's output) holds `[[tool:NAME {args}]]`
markers is answered with exactly those tool calls. It stands for the worst case of prompt
injection: whatever the text says, the model does."""

from __future__ import annotations

import itertools
import re
import time
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from core.api import create_app
from core.settings import CoreSettings

_MARKER = re.compile(r"\[\[tool:([A-Za-z0-9_.\-]+)\s*(\{.*?\})?\s*\]\]", re.S)
_ids = itertools.count()


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content)
    return str(content or "")


def _envelope(kind: str, choice: dict[str, Any], **extra: Any) -> bytes:
    body = {
        "id": "chatcmpl-gullible",
        "object": kind,
        "created": int(time.time()),
        "model": "gullible",
        "choices": [{"index": 0, **choice}] if choice else [],
        **extra,
    }
    return orjson.dumps(body)


_USAGE = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}


def _calls(text: str) -> list[dict[str, Any]]:
    text = text.replace('\\"', '"')  # a tool's output arrives as JSON text: read through it
    return [
        {
            "index": i,
            "id": f"call_gullible_{next(_ids)}",
            "type": "function",
            "function": {"name": name, "arguments": args or "{}"},
        }
        for i, (name, args) in enumerate(_MARKER.findall(text))
    ]


async def _obey(scope: Scope, receive: Receive, send: Send) -> None:
    body = orjson.loads(await Request(scope, receive).body())
    calls = _calls(_text(body["messages"][-1]))
    message: dict[str, Any] = (
        {"role": "assistant", "tool_calls": calls} if calls else {"content": "Done as told."}
    )
    finish = "tool_calls" if calls else "stop"
    if not body.get("stream"):
        choice = {"message": message, "finish_reason": finish}
        completion = _envelope("chat.completion", choice, usage=_USAGE)
        await Response(completion, media_type="application/json")(scope, receive, send)
        return
    chunk = "chat.completion.chunk"
    frames = [
        _envelope(chunk, {"delta": message, "finish_reason": None}),
        _envelope(chunk, {"delta": {}, "finish_reason": finish}),
        _envelope(chunk, {}, usage=_USAGE),
    ]
    events = [b"data: " + frame + b"\n\n" for frame in frames] + [b"data: [DONE]\n\n"]
    await StreamingResponse(iter(events), media_type="text/event-stream")(scope, receive, send)


def gullible_core() -> ASGIApp:
    """The app: the mock Core for everything but chat completions, which obey markers."""
    core = create_app(CoreSettings(backend="mock"))

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/v1/chat/completions":
            await _obey(scope, receive, send)
        else:
            await core(scope, receive, send)

    return app
