"""The mock backend: deterministic, offline, instant.

Conventions (SPEC §2):
- When the last message is the user's and contains `[[tool:NAME {json args}]]` markers, the
  reply is those tool calls (`finish_reason: "tool_calls"`), unless `tool_choice` is "none".
  Malformed JSON arguments are passed through as written: the caller must validate them.
- When tool results are the last messages, the reply summarises them.
- Otherwise the reply is composed from the user's text in the style the system prompt asks
  for (`mock_style`), deterministically, and says back the first memory the system prompt
  lists, if any.
- Embeddings are lexical (`lexical_embedding`).
- Streams are instant unless `CORE_MOCK_STREAM_DELAY_S` paces them (demos, browser tests).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import AsyncGenerator

from core.backends.base import Backend, Capability, ChatDelta, ChatResult, EmbeddingResult
from core.backends.lexical_embedding import embed_text
from core.backends.mock_reply import (
    compose_reply,
    mention_memory,
    remembered,
    summarise_tool_results,
)
from core.backends.mock_style import parse_style
from core.schemas import ChatCompletionRequest, FinishReason, Message, ToolCallOut
from core.settings import CoreSettings
from core.tokens import count_prompt_tokens, count_tokens, split_stream_pieces, truncate_tokens

__all__ = ["MockBackend"]

MODEL_ID = "mock"
_MARKER = re.compile(r"\[\[tool:(?P<name>[A-Za-z0-9_.\-]+)\s*(?P<args>\{.*?\})?\s*\]\]", re.S)


def _tool_results(messages: list[Message]) -> list[tuple[str, str]]:
    """(tool name, content) of the tool messages that end the conversation."""
    names: dict[str, str] = {}
    for m in messages:
        for tc in m.tool_calls or ():
            names[tc.id] = tc.function.name
    results: list[tuple[str, str]] = []
    for m in reversed(messages):
        if m.role != "tool":
            break
        results.append((names.get(m.tool_call_id or "", m.name or "tool"), m.text))
    return list(reversed(results))


def _call_id(messages: list[Message], index: int) -> str:
    h = hashlib.blake2b(digest_size=12)
    for m in messages:
        h.update(m.role.encode())
        h.update(m.text.encode())
    h.update(str(index).encode())
    return "call_" + h.hexdigest()


def _requested_calls(request: ChatCompletionRequest) -> list[ToolCallOut]:
    last = request.messages[-1]
    choice = request.tool_choice
    if last.role != "user" or choice == "none":
        return []
    calls: list[tuple[str, str]] = []
    for match in _MARKER.finditer(last.text):
        raw = match.group("args") or "{}"
        try:
            args = json.dumps(json.loads(raw), ensure_ascii=False)
        except json.JSONDecodeError:
            args = raw
        calls.append((match.group("name"), args))
    if not isinstance(choice, str) and choice is not None:
        forced = choice.function.name
        calls = [c for c in calls if c[0] == forced][:1] or [(forced, "{}")]
    elif choice == "required" and not calls and request.tools:
        calls = [(request.tools[0].function.name, "{}")]
    if request.parallel_tool_calls is False:
        calls = calls[:1]
    return [
        {
            "id": _call_id(request.messages, i),
            "type": "function",
            "function": {"name": name, "arguments": args},
        }
        for i, (name, args) in enumerate(calls)
    ]


def _apply_limits(text: str, request: ChatCompletionRequest) -> tuple[str, FinishReason]:
    finish: FinishReason = "stop"
    cut = min((i for s in request.stop_sequences if (i := text.find(s)) >= 0), default=-1)
    if cut >= 0:
        text = text[:cut]
    if request.token_limit is not None:
        text, truncated = truncate_tokens(text, request.token_limit)
        if truncated:
            finish = "length"
    return text, finish


class MockBackend(Backend):
    """Deterministic replies and lexical embeddings; the default for tests."""

    name = "mock"
    capabilities = frozenset({Capability.STREAM, Capability.TOOLS, Capability.EMBEDDINGS})

    def __init__(self, settings: CoreSettings | None = None):
        self.settings = settings

    def models(self) -> list[str]:
        return [MODEL_ID]

    async def chat(self, request: ChatCompletionRequest, model: str) -> ChatResult:
        return self._complete(request)

    def _complete(self, request: ChatCompletionRequest) -> ChatResult:
        messages = request.messages
        prompt_tokens = count_prompt_tokens(messages)
        calls = _requested_calls(request)
        if calls:
            completion = sum(count_tokens(c["function"]["arguments"]) + 3 for c in calls)
            return ChatResult(None, "tool_calls", prompt_tokens, completion, calls)
        system = "\n".join(m.text for m in messages if m.role in ("system", "developer"))
        style = parse_style(system)
        user_text = next((m.text for m in reversed(messages) if m.role == "user"), "")
        results = _tool_results(messages)
        if results:
            text = summarise_tool_results(results, style, user_text)
        else:
            text = mention_memory(
                compose_reply(user_text, style), remembered(system), style, user_text
            )
        text, finish = _apply_limits(text, request)
        return ChatResult(text, finish, prompt_tokens, count_tokens(text))

    async def chat_stream(
        self, request: ChatCompletionRequest, model: str
    ) -> AsyncGenerator[ChatDelta, None]:
        result = self._complete(request)
        if result.tool_calls:
            yield ChatDelta(tool_calls=[{"index": i, **c} for i, c in enumerate(result.tool_calls)])
        else:
            delay = self.settings.mock_stream_delay_s if self.settings else 0.0
            for piece in split_stream_pieces(result.content or ""):
                if delay:
                    await asyncio.sleep(delay)
                yield ChatDelta(content=piece)
        yield ChatDelta(
            finish_reason=result.finish_reason,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
        )

    async def embed(self, inputs: list[str], model: str) -> EmbeddingResult:
        return EmbeddingResult(
            [embed_text(t) for t in inputs], sum(count_tokens(t) for t in inputs)
        )
