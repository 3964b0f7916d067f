"""The gateway service: resolve the model to a backend (the chat backend or the dedicated
embedder, `core.routing`), check capabilities, call it, and shape OpenAI responses and
stream chunks.

Routes (`core.api`) only parse and call these functions. Every check that can refuse a
request happens before the backend is called; a stream's first delta is awaited before the
response starts, so a backend that cannot answer yields a proper HTTP error, not a broken
stream.
"""

from __future__ import annotations

import base64
import logging
import os
import struct
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import orjson

from core.backends.base import Backend, Capability, ChatDelta, ChatResult
from core.errors import CoreError, InvalidRequest
from core.routing import ModelRouter, Route
from core.schemas import ChatCompletionRequest, EmbeddingRequest, Usage

log = logging.getLogger("steward.core")
_DONE = b"data: [DONE]\n\n"


def _usage(prompt: int, completion: int) -> Usage:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _sse(obj: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def _float_vector(vector: list[float]) -> list[float] | str:
    return vector


def _base64_vector(vector: list[float]) -> list[float] | str:
    """Little-endian float32, base64: what OpenAI clients ask for by default."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def _model_card(route: Route) -> dict[str, Any]:
    return {
        "id": route.model,
        "object": "model",
        "created": 0,
        "owned_by": f"steward-{route.backend.name}",
    }


class Gateway:
    """Core's service layer over a chat backend and an optional dedicated embedder."""

    def __init__(self, backend: Backend, embedder: Backend | None = None):
        self.backend = backend
        self.embedder = embedder
        self.router = ModelRouter(backend, embedder)

    # --- models ---------------------------------------------------------------------

    def list_models(self) -> dict[str, Any]:
        """`GET /v1/models`: the chat backend's models, then the embedder's."""
        return {"object": "list", "data": [_model_card(r) for r in self.router.served()]}

    async def get_model(self, model_id: str) -> dict[str, Any]:
        """`GET /v1/models/{id}`."""
        return _model_card(await self.router.lookup(model_id))

    # --- chat -----------------------------------------------------------------------

    async def _check_chat(self, request: ChatCompletionRequest) -> Route:
        route = await self.router.for_chat(request.model)
        backend = route.backend
        if request.n is not None and request.n > 1:
            raise InvalidRequest(
                "n > 1 is not supported: Core returns one choice per request. Send n requests.",
                param="n",
                code="unsupported_parameter",
            )
        forcing = request.tool_choice not in (None, "auto", "none")
        if forcing and Capability.TOOLS not in backend.capabilities:
            raise InvalidRequest(
                f"The {backend.name} backend cannot be forced to call a tool; use "
                "tool_choice 'auto' or 'none', or a backend with tool support.",
                param="tool_choice",
                code="unsupported_parameter",
            )
        if forcing and not request.tools:
            raise InvalidRequest(
                "tool_choice asks for a tool call but no tools were given.", param="tool_choice"
            )
        return route

    async def complete(self, request: ChatCompletionRequest) -> dict[str, Any]:
        """A non-streaming `chat.completion` body."""
        backend, model = await self._check_chat(request)
        result: ChatResult = await backend.chat(request, model)
        message: dict[str, Any] = {"role": "assistant", "content": result.content}
        if result.tool_calls:
            message["tool_calls"] = result.tool_calls
        return {
            "id": "chatcmpl-" + os.urandom(12).hex(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": result.finish_reason,
                }
            ],
            "usage": _usage(result.prompt_tokens, result.completion_tokens),
            "system_fingerprint": f"steward-{backend.name}",
        }

    async def open_stream(self, request: ChatCompletionRequest) -> AsyncIterator[bytes]:
        """SSE frames of a streamed completion, ending in `data: [DONE]`.

        Raises before returning if the backend fails to produce its first delta.
        """
        backend, model = await self._check_chat(request)
        if Capability.STREAM not in backend.capabilities:
            deltas = Backend.chat_stream(backend, request, model)
        else:
            deltas = backend.chat_stream(request, model)
        try:
            first = await anext(deltas)
        except StopAsyncIteration:
            first = ChatDelta(finish_reason="stop")
        except BaseException:
            await deltas.aclose()
            raise
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        return self._frames(backend, model, first, deltas, include_usage)

    async def _frames(
        self,
        backend: Backend,
        model: str,
        first: ChatDelta,
        rest: AsyncGenerator[ChatDelta, None],
        include_usage: bool,
    ) -> AsyncIterator[bytes]:
        base: dict[str, Any] = {
            "id": "chatcmpl-" + os.urandom(12).hex(),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": f"steward-{backend.name}",
        }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return _sse({**base, "choices": [choice]})

        prompt_tokens = completion_tokens = 0
        finished = False
        try:
            yield chunk({"role": "assistant", "content": ""})
            delta: ChatDelta | None = first
            while delta is not None:
                body: dict[str, Any] = {}
                if delta.content:
                    body["content"] = delta.content
                if delta.tool_calls:
                    body["tool_calls"] = delta.tool_calls
                if body or delta.finish_reason:
                    yield chunk(body, delta.finish_reason)
                prompt_tokens = delta.prompt_tokens or prompt_tokens
                completion_tokens = delta.completion_tokens or completion_tokens
                if delta.finish_reason:
                    finished = True
                    break
                delta = await anext(rest, None)
            if not finished:
                yield chunk({}, "stop")
            if include_usage:
                yield _sse(
                    {**base, "choices": [], "usage": _usage(prompt_tokens, completion_tokens)}
                )
            yield _DONE
        except CoreError as exc:
            yield _sse(exc.body())
        except Exception:
            log.exception("backend %s failed mid-stream", backend.name)
            yield _sse(CoreError("The backend failed mid-stream; see Core's log.").body())
        finally:
            await rest.aclose()

    # --- embeddings -----------------------------------------------------------------

    async def embed(self, request: EmbeddingRequest) -> dict[str, Any]:
        """A `list` of embeddings in input order."""
        backend, model = await self.router.for_embeddings(request.model)
        result = await backend.embed(request.inputs, model)
        if request.dimensions is not None and request.dimensions != len(result.vectors[0]):
            raise InvalidRequest(
                f"The model '{model}' has {len(result.vectors[0])} dimensions; it cannot return "
                f"{request.dimensions}. Omit 'dimensions'.",
                param="dimensions",
                code="unsupported_parameter",
            )
        encode = _base64_vector if request.encoding_format == "base64" else _float_vector
        return {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": encode(v)}
                for i, v in enumerate(result.vectors)
            ],
            "model": model,
            "usage": {"prompt_tokens": result.prompt_tokens, "total_tokens": result.prompt_tokens},
        }
