"""Reading an OpenAI-compatible upstream's answers: finish reasons, usage, tool calls,
stream deltas, and the text of its errors; tolerant of the small differences between
servers (arguments sent as objects, missing ids or indexes)."""

from __future__ import annotations

import json
import os
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from core.schemas import FinishReason, ToolCallOut

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
}
MODEL_WORD = re.compile(r"\bmodel\b", re.IGNORECASE)
_SNIPPET = 300


def redact_url(url: str) -> str:
    """`url` without any `user:password@` part."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _SNIPPET else text[:_SNIPPET] + "..."


def finish_reason(raw: object, has_tool_calls: bool) -> FinishReason:
    if isinstance(raw, str) and raw in _FINISH:
        return _FINISH[raw]
    return "tool_calls" if has_tool_calls else "stop"


def usage(raw: object) -> tuple[int, int]:
    if not isinstance(raw, dict):
        return 0, 0
    prompt, completion = raw.get("prompt_tokens"), raw.get("completion_tokens")
    return (
        prompt if isinstance(prompt, int) else 0,
        completion if isinstance(completion, int) else 0,
    )


def tool_call(raw: object) -> ToolCallOut:
    """A complete tool call in Core's shape; `ValueError` if `raw` is not one."""
    function = raw.get("function") if isinstance(raw, dict) else None
    if not isinstance(raw, dict) or not isinstance(function, dict):
        raise ValueError("tool call without a function")
    name, arguments = function.get("name"), function.get("arguments", "{}")
    if not isinstance(name, str):
        raise ValueError("tool call without a function name")
    if not isinstance(arguments, str):  # some servers send the arguments as an object
        arguments = json.dumps(arguments, ensure_ascii=False)
    call_id = raw.get("id")
    if not isinstance(call_id, str) or not call_id:
        call_id = "call_" + os.urandom(12).hex()
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def stream_tool_calls(raw: object) -> list[dict[str, Any]] | None:
    """Tool call deltas as the upstream sent them, each with an `index`."""
    if not isinstance(raw, list):
        return None
    calls = [
        tc if "index" in tc else {"index": i, **tc}
        for i, tc in enumerate(raw)
        if isinstance(tc, dict)
    ]
    return calls or None
