"""The circuit breaker's states and transitions, on an injected clock."""

from __future__ import annotations

import pytest

from backend.core_client import CoreCircuitOpen, CoreFailed, CoreRejected, CoreUnavailable
from backend.core_client.breaker import BreakerState, CircuitBreaker
from backend.core_client.errors import retry_after


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def _fail(breaker: CircuitBreaker, error: BaseException) -> None:
    with pytest.raises(type(error)):
        async with breaker.call("a call"):
            raise error


async def _ok(breaker: CircuitBreaker) -> None:
    async with breaker.call("a call"):
        pass


def _state(breaker: CircuitBreaker) -> BreakerState:
    return breaker.state  # read afresh each time (mypy would narrow the property)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker("http://core", threshold=3, cooldown_s=5, max_cooldown_s=12, clock=clock)


async def test_opens_after_the_threshold_and_refuses_without_calling(
    breaker: CircuitBreaker,
) -> None:
    for _ in range(2):
        await _fail(breaker, CoreUnavailable("refused"))
    assert _state(breaker) == BreakerState.CLOSED
    await _fail(breaker, CoreFailed("HTTP 500"))
    assert _state(breaker) == BreakerState.OPEN
    with pytest.raises(CoreCircuitOpen) as refused:
        async with breaker.call("the chat request"):
            raise AssertionError("an open breaker let a call through")
    assert "failed 3 times in a row (last: HTTP 500)" in refused.value.reason
    assert "in 5 s" in refused.value.reason


async def test_a_success_resets_the_run(breaker: CircuitBreaker) -> None:
    await _fail(breaker, CoreUnavailable("refused"))
    await _fail(breaker, CoreUnavailable("refused"))
    await _ok(breaker)
    await _fail(breaker, CoreUnavailable("refused"))
    assert _state(breaker) == BreakerState.CLOSED
    assert breaker.snapshot().consecutive_failures == 1


async def test_refusals_of_the_request_do_not_count(breaker: CircuitBreaker) -> None:
    for _ in range(5):
        await _fail(breaker, CoreRejected("HTTP 400"))
    assert _state(breaker) == BreakerState.CLOSED


async def test_half_open_lets_one_probe_through(breaker: CircuitBreaker, clock: Clock) -> None:
    for _ in range(3):
        await _fail(breaker, CoreUnavailable("refused"))
    clock.now += 5
    assert _state(breaker) == BreakerState.HALF_OPEN
    async with breaker.call("probe"):
        # A second call while the probe is in flight is refused.
        with pytest.raises(CoreCircuitOpen, match="test call is in flight"):
            async with breaker.call("another"):
                pass
    assert _state(breaker) == BreakerState.CLOSED


async def test_a_failed_probe_doubles_the_cool_down_up_to_the_cap(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    for _ in range(3):
        await _fail(breaker, CoreUnavailable("refused"))
    waits = []
    for _ in range(3):
        clock.now += 100
        await _fail(breaker, CoreUnavailable("refused"))
        waits.append(breaker.snapshot().retry_in_s)
    assert waits == [5, 10, 12]
    clock.now += 12
    await _ok(breaker)
    assert breaker.snapshot().consecutive_failures == 0


async def test_a_cancelled_probe_frees_the_slot(breaker: CircuitBreaker, clock: Clock) -> None:
    for _ in range(3):
        await _fail(breaker, CoreUnavailable("refused"))
    clock.now += 5
    await _fail(breaker, KeyboardInterrupt())
    await _ok(breaker)  # the next call is the probe again
    assert _state(breaker) == BreakerState.CLOSED


async def test_retry_after_opens_at_once_for_as_long_as_asked(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    await _fail(breaker, CoreUnavailable("busy", status=429, retry_after_s=40))
    snap = breaker.snapshot()
    assert snap.state == BreakerState.OPEN
    assert snap.retry_in_s == 40
    clock.now += 40
    assert _state(breaker) == BreakerState.HALF_OPEN


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("30", 30.0), ("0", 0.0), ("-5", 0.0), ("nan", None), ("soon", None), (None, None)],
)
def test_retry_after_header(header: str | None, seconds: float | None) -> None:
    assert retry_after(header) == seconds


def test_retry_after_as_a_date() -> None:
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert retry_after("1e9") == 3600.0  # capped at an hour
