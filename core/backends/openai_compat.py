"""The `openai` backend: any OpenAI-compatible upstream (Ollama, a llama.cpp server, vLLM, a
cloud API), reached by base URL and key.

Invariants:
- One pooled `httpx.AsyncClient`, opened in `start()` and closed in `aclose()`. Connecting is
  bounded by `upstream_connect_timeout_s`; every other phase (read, write, pool wait) by
  `upstream_timeout_s`, so in a stream it bounds the silence between two chunks, not the
  whole reply.
- The API key goes to the upstream only, as `Authorization: Bearer`. It never appears in a log
  line, an error message, a health report or a repr: upstream messages are scrubbed of it, and
  a base URL's `user:password@` is dropped before the URL is shown.
- Models: `upstream_models` when configured, else the upstream's `GET /models`, fetched at
  `start()`. An unreachable upstream never stops Core from starting: the list stays empty, a
  warning is logged, and the fetch is retried lazily (by `health()`, by a background refresh
  whenever `models()` finds the list empty, and by `ensure_models()`).
- Streams pass through chunk by chunk as the upstream sends them, one `ChatDelta` per upstream
  chunk. The one thing held back is the finish reason, until the usage chunk that follows it
  (or `[DONE]`) has arrived, because the gateway stops reading at the finishing delta.
  Closing the generator closes the upstream response.
- Every failure reaches the client as a `CoreError` (the OpenAI envelope): unreachable -> 503;
  timeout -> 503 `upstream_timeout`; upstream 400/413/422 -> 400 with the upstream's message;
  upstream 404 about the model -> 404, other 404 -> 502; 401/403 -> 502
  `upstream_auth_failed` (Core's credentials are wrong, not the client's); 429 -> 429;
  503 (e.g. still loading the model) -> 503; any other status, a body that is not what the
  API promises, or an error event inside a stream -> 502.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator
from typing import Any

import httpx

from core.backends.base import Backend, Capability, ChatDelta, ChatResult, EmbeddingResult
from core.backends.openai_wire import (
    MODEL_WORD,
    finish_reason,
    redact_url,
    snippet,
    stream_tool_calls,
    tool_call,
    usage,
)
from core.errors import (
    BackendFailed,
    BackendUnavailable,
    CoreError,
    InvalidRequest,
    ModelNotFound,
    RateLimited,
)
from core.schemas import ChatCompletionRequest, FinishReason
from core.settings import CoreSettings

__all__ = ["OpenAICompatBackend"]

log = logging.getLogger("steward.core.openai")


class _Unreachable(BackendUnavailable):
    """The upstream gave no answer at all (refused, unresolvable, timed out)."""


class OpenAICompatBackend(Backend):
    """Forwards Core's requests to an OpenAI-compatible upstream and maps its answers back."""

    name = "openai"
    capabilities = frozenset({Capability.STREAM, Capability.TOOLS, Capability.EMBEDDINGS})

    def __init__(self, settings: CoreSettings):
        self._base_url = settings.upstream_base_url.rstrip("/")
        self.url = redact_url(self._base_url)
        key = settings.upstream_api_key
        self._key = key.get_secret_value() if key else None
        self._configured = list(settings.upstream_models)
        self._fetched: list[str] = []
        self._timeout_s = settings.upstream_timeout_s
        self._connect_s = settings.upstream_connect_timeout_s
        self._client: httpx.AsyncClient | None = None
        self._refresh: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"OpenAICompatBackend(upstream={self.url!r})"

    # --- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        if self._client is None:
            headers = {"User-Agent": "steward-core"}
            if self._key:
                headers["Authorization"] = f"Bearer {self._key}"
            self._client = httpx.AsyncClient(
                base_url=self._base_url + "/",
                headers=headers,
                timeout=httpx.Timeout(self._timeout_s, connect=self._connect_s),
            )
        if self._configured:
            return
        try:
            ids = await self._fetch_models(quiet=True)
        except CoreError as exc:
            log.warning(
                "Core starts without a model list; it will ask the upstream again later. %s",
                exc.message,
            )
        else:
            log.info("upstream %s serves: %s", self.url, ", ".join(ids) or "no models")

    async def aclose(self) -> None:
        if self._refresh is not None:
            self._refresh.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresh
            self._refresh = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # --- models and health ------------------------------------------------------------

    def models(self) -> list[str]:
        if self._configured:
            return list(self._configured)
        if not self._fetched:
            self._refresh_soon()
        return list(self._fetched)

    async def ensure_models(self) -> list[str]:
        """The served ids, asking the upstream now if the list is still empty.

        Raises `BackendUnavailable` (with the reason) when there is still no model to serve.
        """
        if self._configured or self._fetched:
            return self.models()
        if not await self._fetch_models(quiet=True):
            raise BackendUnavailable(
                f"The upstream at {self.url} lists no models. Load a model there, or name the "
                "served models in CORE_UPSTREAM_MODELS."
            )
        return self.models()

    async def health(self) -> dict[str, Any]:
        """Probe the upstream's `GET /models`; never raises, so Core's /health still answers.

        `upstream` is `ok` (it answered), `error` (it answered with an error, see
        `upstream_error`) or `unreachable` (no answer). A successful probe also refreshes a
        fetched model list.
        """
        report: dict[str, Any] = {"upstream_url": self.url}
        try:
            if self._configured:
                await self._request_json("GET", "models", quiet=True, probe=True)
            else:
                await self._fetch_models(quiet=True, probe=True)
        except _Unreachable as exc:
            report.update(upstream="unreachable", upstream_error=exc.message)
        except CoreError as exc:
            report.update(upstream="error", upstream_error=exc.message)
        else:
            report["upstream"] = "ok"
        return report

    async def _fetch_models(self, *, quiet: bool = False, probe: bool = False) -> list[str]:
        body = await self._request_json("GET", "models", quiet=quiet, probe=probe)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise self._bad_answer("GET /models", body)
        self._fetched = [
            m["id"] for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)
        ]
        return list(self._fetched)

    def _refresh_soon(self) -> None:
        """Fetch the model list in the background (one attempt at a time)."""
        if self._client is None or (self._refresh is not None and not self._refresh.done()):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._refresh = loop.create_task(self._refresh_quietly())

    async def _refresh_quietly(self) -> None:
        try:
            await self._fetch_models(quiet=True)
        except CoreError as exc:
            log.debug("model list refresh failed: %s", exc.message)

    # --- chat -------------------------------------------------------------------------

    def _payload(
        self, request: ChatCompletionRequest, model: str, *, stream: bool
    ) -> dict[str, Any]:
        payload = request.model_dump(mode="json", exclude_none=True)
        payload["model"] = model
        payload["stream"] = stream
        payload.pop("stream_options", None)
        if stream:
            payload["stream_options"] = {"include_usage": True}
        return payload

    async def chat(self, request: ChatCompletionRequest, model: str) -> ChatResult:
        payload = self._payload(request, model, stream=False)
        body = await self._request_json("POST", "chat/completions", payload, model=model)
        try:
            choice = body["choices"][0]
            message = choice["message"]
            content = message.get("content")
            if content is not None and not isinstance(content, str):
                raise ValueError("content is not a string")
            tool_calls = [tool_call(tc) for tc in message.get("tool_calls") or ()]
            finish = finish_reason(choice.get("finish_reason"), bool(tool_calls))
        except (KeyError, IndexError, TypeError, AttributeError, ValueError):
            raise self._bad_answer("a chat completion", body) from None
        prompt, completion = usage(body.get("usage"))
        return ChatResult(content, finish, prompt, completion, tool_calls)

    async def chat_stream(
        self, request: ChatCompletionRequest, model: str
    ) -> AsyncGenerator[ChatDelta, None]:
        response = await self._open_stream(self._payload(request, model, stream=True), model)
        try:
            async for delta in self._deltas(response):
                yield delta
        finally:
            await response.aclose()

    async def _open_stream(self, payload: dict[str, Any], model: str) -> httpx.Response:
        client = self._http()
        while True:
            try:
                response = await client.send(
                    client.build_request("POST", "chat/completions", json=payload), stream=True
                )
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise self._logged(self._transport_error(exc)) from exc
            if response.is_success:
                return response
            try:
                await response.aread()
            except httpx.HTTPError as exc:
                raise self._logged(self._transport_error(exc)) from exc
            finally:
                await response.aclose()
            error = self._status_error(response, model)
            # Some servers predate `stream_options`; usage is then unknown (reported as 0).
            retry = response.status_code in (400, 422) and "stream_options" in payload
            if retry and "stream_options" in error.message:
                log.info("upstream %s refuses stream_options; streaming without usage", self.url)
                payload = {k: v for k, v in payload.items() if k != "stream_options"}
                continue
            raise self._logged(error)

    async def _deltas(self, response: httpx.Response) -> AsyncGenerator[ChatDelta, None]:
        finish: FinishReason | None = None
        has_tool_calls = False
        prompt = completion = 0
        done = False
        try:
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue  # blank separators, `event:` lines, `: keep-alive` comments
                data = line[5:].strip()
                if data == "[DONE]":
                    done = True
                    break
                chunk = self._stream_chunk(data)
                if chunk.get("usage"):
                    prompt, completion = usage(chunk["usage"])
                choices = chunk.get("choices")
                if not isinstance(choices, list) or not choices:
                    continue
                choice = choices[0] if isinstance(choices[0], dict) else {}
                delta = choice.get("delta")
                delta = delta if isinstance(delta, dict) else {}
                content = delta.get("content")
                tool_calls = stream_tool_calls(delta.get("tool_calls"))
                has_tool_calls = has_tool_calls or tool_calls is not None
                if choice.get("finish_reason"):
                    finish = finish_reason(choice["finish_reason"], has_tool_calls)
                yield ChatDelta(
                    content=content if isinstance(content, str) else None, tool_calls=tool_calls
                )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            if finish is None:
                raise self._logged(self._transport_error(exc)) from exc
            # The reply is complete; only the usage chunk or [DONE] went missing.
            log.info("upstream %s stream ended after finishing: %s", self.url, exc)
        if finish is None and not done:
            raise self._logged(
                BackendFailed(
                    f"The upstream at {self.url} closed the stream before finishing the reply."
                )
            )
        yield ChatDelta(
            finish_reason=finish or "stop", prompt_tokens=prompt, completion_tokens=completion
        )

    def _stream_chunk(self, data: str) -> dict[str, Any]:
        try:
            chunk = json.loads(data)
        except ValueError:
            chunk = None
        if not isinstance(chunk, dict):
            raise self._logged(self._bad_answer("a stream chunk", snippet(data)))
        error = chunk.get("error")
        if error:
            message = error.get("message") if isinstance(error, dict) else error
            detail = snippet(self._scrub(str(message or error)))
            raise self._logged(
                BackendFailed(f"The upstream at {self.url} failed mid-stream: {detail}")
            )
        return chunk

    # --- embeddings -------------------------------------------------------------------

    async def embed(self, inputs: list[str], model: str) -> EmbeddingResult:
        body = await self._request_json(
            "POST", "embeddings", {"model": model, "input": inputs}, model=model
        )
        try:
            items = sorted(enumerate(body["data"]), key=lambda p: p[1].get("index", p[0]))
            vectors = [[float(x) for x in item["embedding"]] for _, item in items]
        except (KeyError, TypeError, AttributeError, ValueError):
            raise self._bad_answer("embeddings", body) from None
        if len(vectors) != len(inputs):
            raise self._logged(
                BackendFailed(
                    f"The upstream at {self.url} returned {len(vectors)} embeddings for "
                    f"{len(inputs)} inputs."
                )
            )
        return EmbeddingResult(vectors, usage(body.get("usage"))[0])

    # --- HTTP and error mapping -------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            raise BackendUnavailable("The openai backend is not started (start() was not awaited).")
        return self._client

    async def _request_json(
        self,
        method: str,
        path: str,
        payload: dict[str, Any] | None = None,
        *,
        model: str | None = None,
        quiet: bool = False,
        probe: bool = False,
    ) -> Any:
        """The upstream's JSON answer; any failure as a `CoreError`. A probe uses the connect
        timeout for every phase, so a health check stays quick."""
        timeout = httpx.Timeout(self._connect_s) if probe else httpx.USE_CLIENT_DEFAULT
        try:
            response = await self._http().request(method, path, json=payload, timeout=timeout)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise self._logged(self._transport_error(exc), quiet) from exc
        if not response.is_success:
            raise self._logged(self._status_error(response, model), quiet)
        try:
            return response.json()
        except ValueError:
            raise self._logged(
                self._bad_answer(f"{method} /{path}", snippet(response.text)), quiet
            ) from None

    def _logged(self, error: CoreError, quiet: bool = False) -> CoreError:
        if not quiet:
            log.warning("upstream request failed (%s): %s", error.code, error.message)
        return error

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text

    def _bad_answer(self, what: str, body: object) -> BackendFailed:
        shown = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        return BackendFailed(
            f"The upstream at {self.url} did not answer with {what} as the OpenAI API defines "
            f"it: {snippet(self._scrub(shown)) or 'an empty body'}. Check that "
            "CORE_UPSTREAM_BASE_URL points at an OpenAI-compatible API (it usually ends in /v1)."
        )

    def _transport_error(self, exc: Exception) -> CoreError:
        detail = self._scrub(str(exc) or type(exc).__name__)
        check = "check CORE_UPSTREAM_BASE_URL and that the server is running"
        if isinstance(exc, httpx.ConnectTimeout):
            return _Unreachable(
                f"The upstream at {self.url} did not accept a connection within "
                f"{self._connect_s:g}s (CORE_UPSTREAM_CONNECT_TIMEOUT_S): {check}.",
                code="upstream_timeout",
            )
        if isinstance(exc, httpx.TimeoutException):
            return _Unreachable(
                f"The upstream at {self.url} did not answer within {self._timeout_s:g}s "
                "(CORE_UPSTREAM_TIMEOUT_S); it may be overloaded or still loading the model. "
                "Retry, or raise the timeout.",
                code="upstream_timeout",
            )
        if isinstance(exc, httpx.ConnectError | httpx.UnsupportedProtocol | httpx.InvalidURL):
            return _Unreachable(f"The upstream at {self.url} is unreachable ({detail}): {check}.")
        return BackendFailed(
            f"The connection to the upstream at {self.url} failed ({type(exc).__name__}: "
            f"{detail}). Retry."
        )

    def _status_error(self, response: httpx.Response, model: str | None) -> CoreError:
        status = response.status_code
        message, code, param = self._upstream_error(response)
        where = f"The upstream at {self.url}"
        if status in (400, 413, 422):
            return InvalidRequest(
                f"The upstream refused the request: {message}", param=param, code=code
            )
        if status == 404:
            if model is not None and (code == "model_not_found" or MODEL_WORD.search(message)):
                return ModelNotFound(
                    f"{where} does not serve the model '{model}': {message}. Choose a model it "
                    "serves, or fix CORE_UPSTREAM_MODELS.",
                    param="model",
                )
            return BackendFailed(
                f"{where} answered 404 for {response.request.url.path}: {message}. Check that "
                "CORE_UPSTREAM_BASE_URL is the API root (it usually ends in /v1)."
            )
        if status in (401, 403):
            return BackendFailed(
                f"{where} rejected Core's credentials (HTTP {status}: {message}). Set "
                "CORE_UPSTREAM_API_KEY to a key the upstream accepts; the request to Core "
                "itself was fine.",
                code="upstream_auth_failed",
            )
        if status == 429:
            after = response.headers.get("retry-after")
            hint = f"retry after {after}s" if after else "retry later"
            return RateLimited(f"{where} is rate limiting Core ({message}); {hint}.")
        if status == 503:
            return BackendUnavailable(
                f"{where} is not ready (HTTP 503: {message}); it may still be loading the "
                "model. Retry shortly."
            )
        return BackendFailed(f"{where} failed with HTTP {status}: {message}")

    def _upstream_error(self, response: httpx.Response) -> tuple[str, str | None, str | None]:
        """(message, code, param) of an upstream error answer, whatever its dialect."""
        try:
            body = response.json()
        except ValueError:
            body = None
        message: object = None
        code = param = None
        if isinstance(body, dict):
            error = body.get("error")
            if isinstance(error, dict):
                message, code, param = error.get("message"), error.get("code"), error.get("param")
            elif isinstance(error, str):
                message = error
            for key in ("message", "detail"):
                if message is None and body.get(key) is not None:
                    message = body[key]
        if message is None:
            message = response.text or f"HTTP {response.status_code} with an empty body"
        if not isinstance(message, str):
            message = json.dumps(message, ensure_ascii=False)
        return (
            snippet(self._scrub(message)),
            self._scrub(code) if isinstance(code, str) else None,
            self._scrub(param) if isinstance(param, str) else None,
        )
