"""Errors of Edge's Core client: one root, four kinds, each with a reason a person can act on.

Invariants:
- Every failure of a Core call surfaces as a `CoreClientError`; no `httpx` exception escapes.
- `reason` says what failed, what was tried and what to do. It never contains the API key:
  the client redacts it from everything Core sends back before it enters a reason.
- `retryable` tells the caller whether the same request may succeed later (Core down, busy,
  slow or failing); `CoreRejected` is never retryable, since Core refused the request itself.
- `status` and `code` are Core's HTTP status and OpenAI error `code` when Core sent them;
  `retry_after_s` is its `Retry-After` (seconds) on a 429 or 503.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import orjson

__all__ = [
    "CoreClientError",
    "CoreFailed",
    "CoreRejected",
    "CoreTimeout",
    "CoreUnavailable",
    "error_code",
]

# A server asking for more than an hour's pause is taken at an hour.
_MAX_RETRY_AFTER_S = 3600.0

# What a person can do about a refusal, by Core's error code.
_HINTS = {
    "model_not_found": "Use a model Core lists at GET /v1/models, or 'default'.",
    "invalid_api_key": "Set Edge's Core API key to the one Core was started with (CORE_API_KEY).",
    "payload_too_large": "Send less text per request, or raise CORE_MAX_BODY_BYTES.",
}


class CoreClientError(Exception):
    """A call from Edge to Core failed. `reason` is the human-readable explanation."""

    retryable: bool = False

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool | None = None,
        status: int | None = None,
        code: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        if retryable is not None:
            self.retryable = retryable
        self.status = status
        self.code = code
        self.retry_after_s = retry_after_s

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(reason={self.reason!r}, retryable={self.retryable}, "
            f"status={self.status}, code={self.code!r})"
        )


class CoreUnavailable(CoreClientError):
    """Core could not be reached (refused, DNS, connect timeout) or said it is not ready (503)."""

    retryable = True


class CoreTimeout(CoreClientError):
    """Core accepted the request but did not answer (or stopped streaming) in time."""

    retryable = True


class CoreRejected(CoreClientError):
    """Core refused the request (4xx): the request itself must change. Never retryable."""

    retryable = False


class CoreFailed(CoreClientError):
    """Core answered with a server error (500/502), nonsense, or an error inside a stream."""

    retryable = True


def parse_envelope(raw: bytes | dict[str, Any]) -> tuple[str | None, str | None]:
    """(message, code) of an OpenAI error envelope; (None, None) if `raw` is not one."""
    data: Any = raw
    if isinstance(raw, bytes):
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None, None
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return None, None
    message, code = error.get("message"), error.get("code")
    return (
        message if isinstance(message, str) else None,
        code if isinstance(code, str) else None,
    )


def error_for_status(
    status: int,
    body: bytes,
    *,
    where: str,
    call: str,
    tried: str = "",
    retry_after_s: float | None = None,
) -> CoreClientError:
    """The error for Core answering `status` (>= 400) with `body` to `call` at `where`;
    `tried` ("Tried 3 times over 0.6 s. ") says what retrying already did; `retry_after_s`
    is Core's `Retry-After`, if it sent one."""
    message, code = parse_envelope(body)
    said = describe_error(message, code) if message else _snippet(body)
    again = (
        f"It asked to be called again in {retry_after_s:g} s."
        if retry_after_s is not None
        else "Try again shortly."
    )
    if status == 503:
        return CoreUnavailable(
            f"Core (the model server) at {where} is not ready: {said}. {tried}Check its log, "
            "or start it with `steward up`.",
            status=status,
            code=code,
            retry_after_s=retry_after_s,
        )
    if status == 429:
        return CoreUnavailable(
            f"Core (the model server) at {where} is busy (HTTP 429, too many requests): "
            f"{said}. {again}",
            status=status,
            code=code,
            retry_after_s=retry_after_s,
        )
    if 400 <= status < 500:
        hint = _HINTS.get(code or "", "Fix the request; sending it again will not help.")
        return CoreRejected(
            f"Core refused {call} with HTTP {status}: {said}. {hint}", status=status, code=code
        )
    return CoreFailed(
        f"Core failed on {call} with HTTP {status}: {said}. See Core's log at {where}.",
        status=status,
        code=code,
    )


def retry_after(value: str | None) -> float | None:
    """A `Retry-After` header (delta-seconds or an HTTP date) in seconds from now."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return min(max(seconds, 0.0), _MAX_RETRY_AFTER_S) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max((when - datetime.now(UTC)).total_seconds(), 0.0), _MAX_RETRY_AFTER_S)


def error_code(exc: CoreClientError) -> str:
    """The stable code a task's error records for a Core failure (by its nearest kind)."""
    codes = {
        "CoreUnavailable": "core_unavailable",
        "CoreTimeout": "core_timeout",
        "CoreRejected": "core_rejected",
        "CoreFailed": "core_failed",
    }
    for kind in type(exc).__mro__:
        if kind.__name__ in codes:
            return codes[kind.__name__]
    return "core_error"


def describe_error(message: str, code: str | None) -> str:
    """Core's error message with its code, for use inside a sentence."""
    message = message.strip().removesuffix(".")
    return f"{message} ({code})" if code else message


def _snippet(body: bytes, limit: int = 200) -> str:
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return "an empty body"
    return repr(text if len(text) <= limit else text[:limit] + "...")
