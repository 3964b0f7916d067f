"""`CoreClient`: Edge's one pooled async HTTP client for Core's OpenAI-compatible API.

Invariants:
- One `httpx.AsyncClient` per `CoreClient` (see `connection.py` for timeouts, bounded
  retries and error mapping); close it with `aclose()` or `async with`.
- Every failure is a `CoreClientError` (`CoreUnavailable`, `CoreTimeout`, `CoreRejected`,
  `CoreFailed`) with a reason a person can act on, never containing the API key.
- A stream is never retried once its response has started: deltas already handed to
  `on_delta` are never repeated. An error event inside a stream is `CoreFailed`; a stream
  that ends without `data: [DONE]` is `CoreFailed` too, never a silently short reply.
- `chat_stream` returns the same `ChatCompletion` `chat` would: its content is exactly the
  concatenation of the deltas given to `on_delta`.
- An exception raised by `on_delta` propagates unchanged and closes the stream.
- Every call passes the client's `CircuitBreaker` (`breaker.py`): while Core keeps failing,
  calls fail at once with `CoreCircuitOpen` instead of waiting on it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import aclosing
from types import TracebackType
from typing import Any, Self

import httpx

from backend.core_client.breaker import CircuitBreaker
from backend.core_client.connection import CoreConnection
from backend.core_client.errors import CoreFailed, describe_error, parse_envelope
from backend.core_client.results import (
    ChatCompletion,
    EmbeddingsResult,
    StreamAssembler,
    parse_chat_completion,
    parse_embeddings,
    parse_json,
)

__all__ = ["CoreClient", "OnDelta"]

OnDelta = Callable[[str], Awaitable[None]]
"""Called with each content delta of a streamed reply, in order, as it arrives."""

_CHAT = "POST /v1/chat/completions"


class CoreClient:
    """Pooled async client for Core. Use as `async with CoreClient(url) as core: ...`.

    `retries` counts retries after the first try, spaced `backoff`, 2x, 4x ... seconds; only
    failures before any answer was read are retried (refused, connect timeout, 503).
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        connect_timeout: float = 2.0,
        read_timeout: float = 120.0,
        retries: int = 2,
        backoff: float = 0.2,
        breaker_threshold: int = 3,
        breaker_cooldown_s: float = 5.0,
        breaker_max_cooldown_s: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._conn = CoreConnection(
            base_url,
            api_key=api_key,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries=retries,
            backoff=backoff,
            transport=transport,
        )
        self.breaker = CircuitBreaker(
            self._conn.where,
            threshold=breaker_threshold,
            cooldown_s=breaker_cooldown_s,
            max_cooldown_s=breaker_max_cooldown_s,
        )

    def __repr__(self) -> str:
        return f"CoreClient({self._conn.where!r})"

    @property
    def base_url(self) -> str:
        """Core's address (without credentials)."""
        return self._conn.where

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._conn.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def health(self) -> dict[str, Any]:
        """Core's `/health` JSON (`status`, `backend`, `models`, ...)."""
        data = await self._json("GET", "/health")
        if not isinstance(data, dict):
            raise CoreFailed(f"Core's /health at {self.base_url} is not a JSON object.")
        return data

    async def models(self) -> list[str]:
        """Ids of the models Core serves."""
        data = await self._json("GET", "/v1/models")
        items = data.get("data") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise CoreFailed(f"Core's /v1/models at {self.base_url} has no 'data' list.")
        return [str(m["id"]) for m in items if isinstance(m, dict) and "id" in m]

    async def chat(
        self,
        messages: list[dict[str, Any]],
        *,
        model: str = "default",
        tools: list[dict[str, Any]] | None = None,
        tool_choice: Any = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        stop: list[str] | None = None,
    ) -> ChatCompletion:
        """One non-streaming chat completion."""
        body = _chat_body(messages, model, tools, tool_choice, max_tokens, temperature, stop)
        data = await self._json("POST", "/v1/chat/completions", body)
        with self._conn.redacting():
            return parse_chat_completion(data, model)

    async def chat_stream(
        self,
        messages: list[dict[str, Any]],
        *,
        model: str = "default",
        tools: list[dict[str, Any]] | None = None,
        tool_choice: Any = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        stop: list[str] | None = None,
        on_delta: OnDelta | None = None,
    ) -> ChatCompletion:
        """A streamed chat completion: `await on_delta(text)` per content delta as it
        arrives; returns the assembled completion once Core sends `data: [DONE]`."""
        body = _chat_body(messages, model, tools, tool_choice, max_tokens, temperature, stop)
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
        async with self.breaker.call("the chat request"):
            return await self._stream(body, model, on_delta)

    async def _stream(
        self, body: dict[str, Any], model: str, on_delta: OnDelta | None
    ) -> ChatCompletion:
        assembler = StreamAssembler(model)
        conn = self._conn
        with conn.redacting():
            async with conn.open("POST", "/v1/chat/completions", body) as response:
                content_type = response.headers.get("content-type", "")
                if not content_type.startswith("text/event-stream"):
                    raw = await conn.read(response, _CHAT)
                    raise CoreFailed(
                        f"Core answered {_CHAT} at {self.base_url} with "
                        f"{content_type or 'no content type'}, not an event stream: "
                        f"{raw[:120].decode('utf-8', 'replace')!r}.",
                        retryable=False,
                    )
                async with aclosing(conn.events(response, _CHAT)) as events:
                    async for data in events:
                        if data.strip() == "[DONE]":
                            return assembler.result()
                        chunk = parse_json(data.encode(), "a streamed chat completion")
                        if isinstance(chunk, dict) and "error" in chunk:
                            raise _stream_error(chunk, assembler.deltas, self.base_url)
                        text = assembler.add(chunk)
                        if text and on_delta is not None:
                            await on_delta(text)
            raise CoreFailed(
                f"Core's stream for {_CHAT} at {self.base_url} ended before `data: [DONE]` "
                f"(after {assembler.deltas} deltas): Core stopped or crashed mid-reply. "
                "See its log."
            )

    async def embeddings(self, inputs: list[str], *, model: str = "default") -> EmbeddingsResult:
        """One float vector per input, in input order. No inputs: no call."""
        if not inputs:
            return EmbeddingsResult(vectors=[], model=model, prompt_tokens=0)
        body = {"model": model, "input": inputs, "encoding_format": "float"}
        data = await self._json("POST", "/v1/embeddings", body)
        with self._conn.redacting():
            return parse_embeddings(data, len(inputs), model)

    async def _json(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        async with self.breaker.call(f"{method} {path}"):
            with self._conn.redacting():
                raw = await self._conn.fetch(method, path, body)
                return parse_json(raw, f"{method} {path}")


def _chat_body(
    messages: list[dict[str, Any]],
    model: str,
    tools: list[dict[str, Any]] | None,
    tool_choice: Any,
    max_tokens: int | None,
    temperature: float | None,
    stop: list[str] | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": messages}
    optional = {
        "tools": tools or None,
        "tool_choice": tool_choice,
        "max_tokens": max_tokens,
        "temperature": temperature,
        "stop": stop or None,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


def _stream_error(chunk: dict[str, Any], deltas: int, where: str) -> CoreFailed:
    message, code = parse_envelope(chunk)
    return CoreFailed(
        f"Core (the model server) at {where} reported an error in the middle of a streamed "
        f"reply, after {deltas} deltas: {describe_error(message or 'no message', code)}. The "
        "reply is incomplete; see Core's log.",
        code=code,
    )
