"""`CircuitBreaker`: stop calling a model server that keeps failing, and try it again later.

States (SPEC §9):
- `closed`: calls go through. Each call that fails on the server's side (unreachable, timed
  out, 5xx, a broken stream, 429) adds one to a run of failures; a success ends the run.
  After `threshold` failures in a row the breaker opens. A 429 opens it at once, for as long
  as the server's `Retry-After` asks.
- `open`: calls fail at once with `CoreCircuitOpen`, whose reason says what failed, how
  often, and when the next try will be. No request leaves Edge.
- `half_open`: the cool-down has passed; exactly one call (a task's or the health monitor's
  probe of `/health`) goes through. Its success closes the breaker; its failure opens it
  again for twice the cool-down (at most `max_cooldown_s`).

Invariants:
- Refusals of the request itself (`CoreRejected`, 4xx) are not the server's fault and leave
  the count alone; so does a call abandoned for another reason (a task cancelled
  mid-stream), except that a probe abandoned this way frees the probe slot.
- The breaker is per process and in memory: after a restart Edge trusts Core again.
- Everything runs on one event loop; no locks are needed.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from backend.core_client.errors import CoreClientError, CoreRejected, CoreUnavailable

__all__ = ["BreakerSnapshot", "BreakerState", "CircuitBreaker", "CoreCircuitOpen"]


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CoreCircuitOpen(CoreUnavailable):
    """Edge is not calling the server for now: it failed too often. Retryable later."""


@dataclass(frozen=True, slots=True)
class BreakerSnapshot:
    """The breaker as `/health` and the Console show it."""

    state: BreakerState
    consecutive_failures: int
    last_error: str | None
    opened_at: str | None
    retry_at: str | None
    retry_in_s: float | None


class CircuitBreaker:
    """Closed, open, half-open, as the module says. `clock` is monotonic seconds."""

    def __init__(
        self,
        where: str,
        *,
        threshold: int = 3,
        cooldown_s: float = 5.0,
        max_cooldown_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.where = where
        self.threshold = max(threshold, 1)
        self.cooldown_s = cooldown_s
        self.max_cooldown_s = max(max_cooldown_s, cooldown_s)
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._last_error: str | None = None
        self._opened_at: float | None = None
        self._retry_at = 0.0
        self._next_cooldown = cooldown_s
        self._probing = False

    @property
    def state(self) -> BreakerState:
        """The state now (an open breaker whose cool-down passed reads `half_open`)."""
        if self._state == BreakerState.OPEN and self._clock() >= self._retry_at:
            return BreakerState.HALF_OPEN
        return self._state

    def snapshot(self) -> BreakerSnapshot:
        now = self._clock()
        waiting = self._state == BreakerState.OPEN
        return BreakerSnapshot(
            state=self.state,
            consecutive_failures=self._failures,
            last_error=self._last_error,
            opened_at=_wall(self._opened_at, now) if self._opened_at is not None else None,
            retry_at=_wall(self._retry_at, now) if waiting else None,
            retry_in_s=round(max(self._retry_at - now, 0.0), 3) if waiting else None,
        )

    @asynccontextmanager
    async def call(self, what: str) -> AsyncIterator[None]:
        """Guard one call named `what`: refuse it while open, count how it ends."""
        probe = self._admit(what)
        try:
            yield
        except CoreRejected:
            self._release(probe)
            raise
        except CoreClientError as exc:
            self.failure(exc)
            raise
        except BaseException:
            self._release(probe)
            raise
        else:
            self.success()

    def success(self) -> None:
        """The server answered: close, forget the run of failures."""
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = None
        self._next_cooldown = self.cooldown_s
        self._probing = False

    def failure(self, exc: CoreClientError) -> None:
        """The server failed a call: count it; open when the run is long enough."""
        self._failures += 1
        self._last_error = exc.reason
        probe_failed = self._probing or self._state != BreakerState.CLOSED
        self._probing = False
        if exc.retry_after_s is not None:
            self._open(max(exc.retry_after_s, 0.0))
        elif probe_failed:
            self._open(self._next_cooldown)
            self._next_cooldown = min(self._next_cooldown * 2, self.max_cooldown_s)
        elif self._failures >= self.threshold:
            self._open(self._next_cooldown)

    def _open(self, cooldown: float) -> None:
        now = self._clock()
        if self._state == BreakerState.CLOSED or self._opened_at is None:
            self._opened_at = now
        self._state = BreakerState.OPEN
        self._retry_at = now + cooldown

    def _admit(self, what: str) -> bool:
        """Let a call through (True if it is the half-open probe) or refuse it."""
        if self._state == BreakerState.CLOSED:
            return False
        now = self._clock()
        if now >= self._retry_at and not self._probing:
            self._state = BreakerState.HALF_OPEN
            self._probing = True
            return True
        raise CoreCircuitOpen(self._refusal(what, now))

    def _release(self, probe: bool) -> None:
        if probe:
            self._probing = False

    def _refusal(self, what: str, now: float) -> str:
        times = "once" if self._failures == 1 else f"{self._failures} times in a row"
        if self._probing and now >= self._retry_at:
            when = "a test call is in flight right now"
        else:
            wait = max(self._retry_at - now, 0.0)
            when = f"the next try is at {_wall(self._retry_at, now)} (in {wait:.0f} s)"
        return (
            f"Core (the model server) at {self.where} is unreachable: it failed {times} "
            f"(last: {self._last_error or 'no detail'}). Steward paused calls to it and did "
            f"not send {what}; {when}. Start Core with `steward up` or check CORE_BASE_URL."
        )


def _wall(at: float, now: float) -> str:
    """A monotonic instant as UTC wall-clock text."""
    moment = datetime.now(UTC).timestamp() + (at - now)
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
