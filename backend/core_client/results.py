"""What Edge gets back from Core, and how Core's OpenAI-shaped JSON becomes it.

Invariants:
- Results are frozen dataclasses; a caller never sees Core's raw dicts.
- A body that does not have the documented shape raises `CoreFailed` (not retryable: sending
  the same request again yields the same nonsense), naming what was missing.
- `ToolCall.arguments` is the raw JSON string the model produced, unparsed: validating it is
  the tool runner's job.
- `StreamAssembler` folds `chat.completion.chunk` deltas into the same `ChatCompletion` the
  non-streaming call returns: content concatenated (None if no text came), tool calls
  assembled by `index` (first id, name, concatenated arguments), the last finish reason, and
  the usage chunk if Core sent one (zeros otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from backend.core_client.errors import CoreFailed

__all__ = [
    "ChatCompletion",
    "EmbeddingsResult",
    "StreamAssembler",
    "ToolCall",
    "Usage",
    "parse_chat_completion",
    "parse_embeddings",
    "parse_json",
]


@dataclass(frozen=True)
class Usage:
    """Token counts Core reported for one call (zeros if it reported none)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counts as the ledger records them."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


@dataclass(frozen=True)
class ToolCall:
    """One tool call the model asked for. `arguments` is the raw JSON string."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ChatCompletion:
    """One assistant turn: text and/or tool calls, why it ended, and what it cost."""

    content: str | None
    tool_calls: list[ToolCall]
    finish_reason: str
    model: str
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True)
class EmbeddingsResult:
    """One vector per input, in input order."""

    vectors: list[list[float]]
    model: str
    prompt_tokens: int


def _bad(what: str, detail: str) -> CoreFailed:
    return CoreFailed(
        f"Core's answer to {what} is not what the OpenAI API specifies: {detail}. This is a "
        "bug or a version mismatch in Core (or whatever answers at its address).",
        retryable=False,
    )


def parse_json(raw: bytes, what: str) -> Any:
    """`raw` decoded as JSON, or `CoreFailed` saying it was not JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        text = raw[:120].decode("utf-8", "replace")
        raise _bad(what, f"the body is not JSON (starts with {text!r})") from None


def _usage(data: Any) -> Usage:
    if not isinstance(data, dict):
        return Usage()
    prompt = _int(data.get("prompt_tokens"))
    completion = _int(data.get("completion_tokens"))
    total = _int(data.get("total_tokens")) or prompt + completion
    return Usage(prompt, completion, total)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _arguments(value: Any) -> str:
    # Some OpenAI-compatible servers send arguments as an object rather than a string.
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def parse_chat_completion(data: Any, requested_model: str) -> ChatCompletion:
    """A non-streaming `chat.completion` body as a `ChatCompletion`."""
    what = "POST /v1/chat/completions"
    try:
        choice = data["choices"][0]
        message = choice["message"]
    except (KeyError, IndexError, TypeError):
        raise _bad(what, "it has no choices[0].message") from None
    if not isinstance(message, dict):
        raise _bad(what, "choices[0].message is not an object")
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        raise _bad(what, "message.content is neither a string nor null")
    calls: list[ToolCall] = []
    for i, raw in enumerate(message.get("tool_calls") or []):
        fn = raw.get("function") if isinstance(raw, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise _bad(what, f"tool_calls[{i}] has no function name")
        calls.append(
            ToolCall(str(raw.get("id") or f"call_{i}"), fn["name"], _arguments(fn.get("arguments")))
        )
    return ChatCompletion(
        content=content,
        tool_calls=calls,
        finish_reason=str(choice.get("finish_reason") or ("tool_calls" if calls else "stop")),
        model=str(data.get("model") or requested_model),
        usage=_usage(data.get("usage")),
    )


def parse_embeddings(data: Any, count: int, requested_model: str) -> EmbeddingsResult:
    """An embeddings `list` body as vectors in input order."""
    what = "POST /v1/embeddings"
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list) or len(items) != count:
        raise _bad(what, f"it does not hold {count} embeddings")
    try:
        ordered = sorted(items, key=lambda item: int(item["index"]))
        vectors = [[float(x) for x in item["embedding"]] for item in ordered]
    except (KeyError, TypeError, ValueError):
        raise _bad(what, "an embedding is not a list of floats with an index") from None
    usage = data.get("usage")
    return EmbeddingsResult(
        vectors=vectors,
        model=str(data.get("model") or requested_model),
        prompt_tokens=_int(usage.get("prompt_tokens")) if isinstance(usage, dict) else 0,
    )


@dataclass
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class StreamAssembler:
    """Folds streamed `chat.completion.chunk` objects into one `ChatCompletion`."""

    def __init__(self, requested_model: str) -> None:
        self._model = requested_model
        self._text: list[str] = []
        self._calls: dict[int, _PartialCall] = {}
        self._finish: str | None = None
        self._usage = Usage()
        self.deltas = 0  # chunks that carried content or tool-call deltas so far

    def add(self, chunk: Any) -> str:
        """Take one chunk; returns its content delta ('' if it carried none)."""
        if not isinstance(chunk, dict):
            raise _bad("a streamed chat completion", "a chunk is not a JSON object")
        if isinstance(chunk.get("model"), str) and chunk["model"]:
            self._model = chunk["model"]
        if chunk.get("usage"):
            self._usage = _usage(chunk["usage"])
        choices = chunk.get("choices") or []
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return ""
        choice = choices[0]
        if choice.get("finish_reason"):
            self._finish = str(choice["finish_reason"])
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            return ""
        calls = delta.get("tool_calls") or []
        for position, raw in enumerate(calls):
            self._add_call(position, raw)
        text = delta.get("content")
        if not isinstance(text, str):
            text = ""
        if text:
            self._text.append(text)
        if text or calls:
            self.deltas += 1
        return text

    def _add_call(self, position: int, raw: Any) -> None:
        if not isinstance(raw, dict):
            raise _bad("a streamed chat completion", "a tool call delta is not an object")
        index = raw.get("index")
        partial = self._calls.setdefault(
            index if isinstance(index, int) else position, _PartialCall()
        )
        if raw.get("id") and not partial.id:
            partial.id = str(raw["id"])
        fn = raw.get("function")
        if not isinstance(fn, dict):
            return
        name = fn.get("name")
        # OpenAI sends the name once; some servers repeat it whole in every delta.
        if isinstance(name, str) and name and name != partial.name:
            partial.name += name
        partial.arguments.append(_arguments(fn.get("arguments")))

    def result(self) -> ChatCompletion:
        """The assembled completion; call once the stream has ended with `[DONE]`."""
        calls: list[ToolCall] = []
        for index in sorted(self._calls):
            partial = self._calls[index]
            if not partial.name:
                raise _bad("a streamed chat completion", f"tool call {index} has no name")
            calls.append(
                ToolCall(partial.id or f"call_{index}", partial.name, "".join(partial.arguments))
            )
        finish = self._finish or ("tool_calls" if calls else "stop")
        content = "".join(self._text) if self._text else None
        return ChatCompletion(content, calls, finish, self._model, self._usage)
