"""Time as Steward records it: UTC, RFC 3339 with microseconds (sortable as text)."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now() -> datetime:
    """The current UTC time."""
    return datetime.now(UTC)


def rfc3339(dt: datetime) -> str:
    """`2026-11-25T01:27:40.123456Z`."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_text() -> str:
    """The current UTC time as RFC 3339 text."""
    return rfc3339(now())


def monotonic() -> float:
    """Seconds on a clock that never goes back (for durations)."""
    return time.monotonic()
