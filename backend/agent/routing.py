"""Which model server answers a task's model call: Core, or the cloud fallback when Core
cannot and the owner allows it (SPEC §9).

Invariants:
- The fallback is tried only when all of these hold: Core's failure is one a later call
  may not repeat (`retryable`: unreachable, breaker open, timed out, 5xx, 429), nothing of
  Core's answer reached the task yet (no token was streamed, so no half reply is shown or
  kept), a fallback endpoint is configured (`STEWARD_FALLBACK_BASE_URL`), and the config in
  force allows it (`routing.cloud_fallback`, an L2 change only the owner commits).
- A `FallbackEvent` (from, to, model, Core's error and reason) is recorded before the
  fallback is called, so the ledger says why a reply came from elsewhere.
- When the fallback is not tried, Core's error says why not; when it fails too, the error
  names both failures. Either way the task fails at once with that reason.
- The health monitor lets an open breaker test Core with `/health` once its cool-down has
  passed, so Core coming back closes it without a user's task being the test.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from pydantic import SecretStr

from backend.core_client import CoreClient, CoreClientError
from backend.core_client.breaker import BreakerState
from backend.core_client.errors import error_code
from backend.core_client.openai_compat import OnDelta
from backend.core_client.results import ChatCompletion
from backend.settings import EdgeSettings

__all__ = ["ModelRouter", "core_client", "fallback_client", "watch_core"]

log = logging.getLogger("steward.edge.routing")

RecordFallback = Callable[[dict[str, Any]], Awaitable[None]]


def core_client(
    settings: EdgeSettings, transport: httpx.AsyncBaseTransport | None = None
) -> CoreClient:
    """The client for Core, with the timeouts, retries and breaker the settings give."""
    return _client(settings, settings.core_base_url, settings.core_api_key, transport)


def fallback_client(settings: EdgeSettings) -> CoreClient | None:
    """The client for the configured fallback endpoint (same timeouts and breaker), or None."""
    if not settings.fallback_base_url:
        return None
    return _client(settings, settings.fallback_base_url, settings.fallback_api_key, None)


def _client(
    settings: EdgeSettings,
    url: str,
    key: SecretStr | None,
    transport: httpx.AsyncBaseTransport | None,
) -> CoreClient:
    return CoreClient(
        url,
        api_key=key.get_secret_value() if key else None,
        connect_timeout=settings.core_connect_timeout_s,
        read_timeout=settings.core_read_timeout_s,
        retries=settings.core_retries,
        breaker_threshold=settings.core_breaker_threshold,
        breaker_cooldown_s=settings.core_breaker_cooldown_s,
        breaker_max_cooldown_s=settings.core_breaker_max_cooldown_s,
        transport=transport,
    )


class ModelRouter:
    """Core first; the fallback under the module's conditions."""

    def __init__(
        self, core: CoreClient, fallback: CoreClient | None, fallback_model: str = "default"
    ) -> None:
        self.core = core
        self.fallback = fallback
        self.fallback_model = fallback_model

    async def chat_stream(
        self,
        messages: list[dict[str, Any]],
        *,
        model: str,
        max_tokens: int,
        tools: list[dict[str, Any]] | None,
        tool_choice: Any,
        on_delta: OnDelta,
        fallback_allowed: bool,
        record_fallback: RecordFallback,
    ) -> ChatCompletion:
        """One streamed model turn, from Core or (before any token) the fallback."""
        streamed = False

        async def first_token_seen(text: str) -> None:
            nonlocal streamed
            streamed = True
            await on_delta(text)

        try:
            return await self.core.chat_stream(
                messages,
                model=model,
                max_tokens=max_tokens,
                tools=tools,
                tool_choice=tool_choice,
                on_delta=first_token_seen,
            )
        except CoreClientError as exc:
            self.refuse_unless_fallback(exc, fallback_allowed, streamed=streamed)
            failure = exc
        assert self.fallback is not None
        await record_fallback(
            {
                "from": self.core.base_url,
                "to": self.fallback.base_url,
                "model": self.fallback_model,
                "error": error_code(failure),
                "reason": failure.reason,
            }
        )
        try:
            return await self.fallback.chat_stream(
                messages,
                model=self.fallback_model,
                max_tokens=max_tokens,
                tools=tools,
                tool_choice=tool_choice,
                on_delta=on_delta,
            )
        except CoreClientError as exc:
            _add_note(
                exc,
                f"Steward fell back to {self.fallback.base_url} because {failure.reason}",
                before=True,
            )
            raise

    def refuse_unless_fallback(
        self, exc: CoreClientError, allowed: bool, *, streamed: bool = False
    ) -> None:
        """Raise `exc`, saying why, unless the fallback may answer in Core's place."""
        why_not = self._why_not(exc, streamed, allowed)
        if why_not is not None:
            _add_note(exc, why_not)
            raise exc

    def _why_not(self, exc: CoreClientError, streamed: bool, allowed: bool) -> str | None:
        """Why the fallback is not tried for `exc` ("" when that needs no saying: part of a
        reply was shown, or Core refused the request itself), or None if it is tried."""
        if streamed or not exc.retryable:
            return ""
        if self.fallback is None:
            return "No cloud fallback is configured (STEWARD_FALLBACK_BASE_URL)."
        if not allowed:
            return (
                f"A cloud fallback ({self.fallback.base_url}) is configured, but the config "
                'does not allow it; the owner can allow it by saying "you can use the cloud '
                'model".'
            )
        return None


def _add_note(exc: CoreClientError, note: str, *, before: bool = False) -> None:
    if not note or note in exc.reason:  # a replay re-raises a recorded, annotated error
        return
    exc.reason = f"{note.rstrip('.')}; then: {exc.reason}" if before else f"{exc.reason} {note}"
    exc.args = (exc.reason,)


async def watch_core(clients: list[CoreClient], every_s: float) -> None:
    """Test each client whose breaker's cool-down has passed, with `/health`."""
    while True:
        await asyncio.sleep(every_s)
        for client in clients:
            if client.breaker.state != BreakerState.HALF_OPEN:
                continue
            try:
                await client.health()
            except CoreClientError as exc:
                log.info("%s is still unreachable: %s", client.base_url, exc.reason)
            else:
                log.info("%s answers again; its circuit breaker closed", client.base_url)
