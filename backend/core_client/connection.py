"""`CoreConnection`: the pooled HTTP connection to Core, with timeouts and bounded retries.

Invariants:
- Every request has a timeout: `connect_timeout` to connect, `read_timeout` between bytes.
- A request is retried only while nothing of an answer was consumed: connect errors, connect
  timeouts and a 503 from Core. At most `retries` retries after the first try, with
  exponential backoff (`backoff`, 2x, 4x, ...), and never past a deadline of
  `connect_timeout` plus the backoff schedule: with the defaults a refused connection fails
  after 3 tries in about 0.6 s, and an address that swallows packets fails within 2.6 s.
- Never retried here: read timeouts, 4xx, 500/502, broken connections, anything read from
  a response body (which includes every stream event).
- No `httpx` exception escapes: every failure becomes a `CoreClientError` whose `reason`
  names Core's address (without credentials), what failed and what to do.
- The API key is sent as a bearer token; `redacting()` scrubs it from any reason, and no
  log line includes it.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx

from backend.core_client.errors import (
    CoreClientError,
    CoreFailed,
    CoreTimeout,
    CoreUnavailable,
    error_for_status,
    parse_envelope,
    retry_after,
)

__all__ = ["CoreConnection"]

log = logging.getLogger("steward.edge.core_client")

# Sized for ~32 concurrent streams plus the short calls (health, embeddings) beside them.
LIMITS = httpx.Limits(max_connections=64, max_keepalive_connections=32, keepalive_expiry=30)
# A retry whose connect window would be shorter than this is not worth making.
_MIN_CONNECT_S = 0.05


class CoreConnection:
    """One `httpx.AsyncClient` to Core plus the retry and error-mapping rules above."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None,
        connect_timeout: float,
        read_timeout: float,
        retries: int,
        backoff: float,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        # CORE_BASE_URL names Core's root; tolerate the `/v1` suffix OpenAI clients expect.
        url = httpx.URL(base_url.rstrip("/").removesuffix("/v1"))
        self.where = str(url.copy_with(username=None, password=None))
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(
                f"Core's base URL must look like http://127.0.0.1:9000, not {self.where!r}; "
                "check CORE_BASE_URL."
            )
        self._secret = api_key or None
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._retries = max(retries, 0)
        self._backoff = backoff
        self._http = httpx.AsyncClient(
            base_url=url,
            headers={"Authorization": f"Bearer {api_key}"} if api_key else {},
            timeout=self._timeout(connect_timeout),
            limits=LIMITS,
            transport=transport,
            # Core is addressed directly: a system proxy or ~/.netrc must not reroute or
            # re-authenticate Edge's calls to it.
            trust_env=False,
        )

    async def aclose(self) -> None:
        """Close the pool."""
        await self._http.aclose()

    def _timeout(self, connect: float) -> httpx.Timeout:
        # Waiting for a pooled connection is back-pressure, not Core being down.
        read = self._read_timeout
        return httpx.Timeout(connect=connect, read=read, write=read, pool=read)

    async def fetch(self, method: str, path: str, body: dict[str, Any] | None = None) -> bytes:
        """The raw body of a successful (< 400) answer to `method path`."""
        call = f"{method} {path}"
        async with self.open(method, path, body) as response:
            return await self.read(response, call)

    @asynccontextmanager
    async def open(
        self, method: str, path: str, body: dict[str, Any] | None
    ) -> AsyncIterator[httpx.Response]:
        """A response with status < 400 whose body is not yet read, after bounded retries."""
        call = f"{method} {path}"
        started = time.monotonic()
        backoffs = [self._backoff * 2**i for i in range(self._retries)]
        deadline = started + self._connect_timeout + sum(backoffs)
        attempt = 0
        while True:
            attempt += 1
            # Later tries get what is left of the deadline (at least a short window).
            left = deadline - time.monotonic()
            connect = min(self._connect_timeout, max(left, _MIN_CONNECT_S))
            request = self._http.build_request(
                method, path, json=body, timeout=self._timeout(connect)
            )
            failure: Exception | bytes  # a connect failure, or the body of a 503
            try:
                response = await self._http.send(request, stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                failure = exc
            except httpx.HTTPError as exc:
                raise self.transport_error(exc, call, mid_stream=False) from exc
            else:
                if response.status_code != 503:
                    break
                failure = await self.read(response, call)
                await response.aclose()
            delay = backoffs[attempt - 1] if attempt <= self._retries else None
            if delay is None or time.monotonic() + delay + _MIN_CONNECT_S > deadline:
                error = self._gave_up(failure, call, attempt, time.monotonic() - started)
                raise error from (failure if isinstance(failure, Exception) else None)
            log.warning(
                "Core at %s: %s; retrying %s in %.2f s (try %d of %d)",
                self.where,
                self._scrub(self._cause(failure)),
                call,
                delay,
                attempt + 1,
                self._retries + 1,
            )
            await asyncio.sleep(delay)
        try:
            if response.status_code >= 400:
                raw = await self.read(response, call)
                raise error_for_status(
                    response.status_code,
                    raw,
                    where=self.where,
                    call=call,
                    retry_after_s=retry_after(response.headers.get("retry-after")),
                )
            yield response
        finally:
            await response.aclose()

    async def read(self, response: httpx.Response, call: str) -> bytes:
        """The whole body of `response`."""
        try:
            return await response.aread()
        except httpx.HTTPError as exc:
            raise self.transport_error(exc, call, mid_stream=False) from exc

    async def events(self, response: httpx.Response, call: str) -> AsyncGenerator[str, None]:
        """The `data` of each server-sent event of `response`, as text."""
        data: list[str] = []
        try:
            async for line in response.aiter_lines():
                if not line:
                    if data:
                        yield "\n".join(data)
                        data = []
                    continue
                name, _, value = line.partition(":")
                if name == "data":
                    data.append(value.removeprefix(" "))
        except httpx.HTTPError as exc:
            raise self.transport_error(exc, call, mid_stream=True) from exc
        if data:
            yield "\n".join(data)

    def transport_error(
        self, exc: httpx.HTTPError, call: str, *, mid_stream: bool
    ) -> CoreClientError:
        """The error for a failure after the request was sent (never retried)."""
        during = " mid-stream" if mid_stream else ""
        if isinstance(exc, httpx.PoolTimeout):
            return CoreTimeout(
                f"No connection to Core at {self.where} came free within "
                f"{self._read_timeout} s for {call}: all {LIMITS.max_connections} are busy. "
                "Edge is running more concurrent model calls than its pool allows."
            )
        if isinstance(exc, httpx.TimeoutException):
            return CoreTimeout(
                f"Core (the model server) at {self.where} went silent{during} on {call} for "
                f"{self._read_timeout} s (read timeout). It may be overloaded or the model too "
                "slow for this request; try again, or raise Edge's Core read timeout."
            )
        return CoreFailed(
            f"The connection to Core at {self.where} broke{during} on {call}: "
            f"{type(exc).__name__}: {exc or 'no detail'}. Core may have crashed; see its log."
        )

    @contextmanager
    def redacting(self) -> Iterator[None]:
        """Scrub the API key from any error's reason (Core may echo what it was sent)."""
        try:
            yield
        except CoreClientError as exc:
            exc.reason = self._scrub(exc.reason)
            exc.args = (exc.reason,)
            raise

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

    def _gave_up(
        self, failure: Exception | bytes, call: str, attempts: int, elapsed: float
    ) -> CoreClientError:
        tried = f"Tried {_times(attempts)} over {elapsed:.1f} s. "
        if isinstance(failure, bytes):
            return error_for_status(503, failure, where=self.where, call=call, tried=tried)
        return CoreUnavailable(
            f"Core (the model server) at {self.where} is unreachable: {self._cause(failure)}. "
            f"{tried}Start it with `steward up` or check CORE_BASE_URL."
        )

    def _cause(self, failure: Exception | bytes) -> str:
        """Why one try failed, briefly."""
        if isinstance(failure, bytes):
            message, _ = parse_envelope(failure)
            return f"it answered 503 ({message or 'no message'})"
        if isinstance(failure, httpx.ConnectTimeout):
            return "connecting timed out"
        seen: BaseException | None = failure
        while seen is not None:
            if isinstance(seen, ConnectionRefusedError):
                return "connection refused"
            if isinstance(seen, socket.gaierror):
                return f"its host name does not resolve ({seen.strerror})"
            seen = seen.__cause__ or seen.__context__
        return str(failure) or type(failure).__name__


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"
