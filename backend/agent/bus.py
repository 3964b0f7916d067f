"""In-process notifications: which tasks have new ledger events, token deltas of running
completions, wake-ups for idle workers, and cancel requests.

The ledger is the source of truth; the bus only says "look again" (SSE readers then read
the ledger) and carries token deltas, which are not ledger events. Deltas of a task are kept
until its completion is recorded, so a subscriber that connects late still receives every
delta of the completion in progress. Commit listeners call `events_committed` from any
thread; everything else runs on the event loop. With several processes on PostgreSQL,
`backend.agent.relay` feeds the other processes' events and deltas into this bus too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from backend.ledger.events import EventType, StoredEvent

TERMINAL_STATUSES = ("completed", "failed", "cancelled")


@dataclass
class _TaskChannel:
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    deltas: list[tuple[int, str]] = field(default_factory=list)
    subscribers: int = 0


class TaskBus:
    """Notifications for one Edge process."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.work_available = asyncio.Event()
        self._channels: dict[str, _TaskChannel] = {}
        self._delta_counter = 0
        self._cancelled: set[str] = set()
        # Where this process's deltas also go (the relay to other processes), if anywhere.
        self.delta_sink: Callable[[str, str], None] | None = None

    # --- from any thread -------------------------------------------------------------------

    def wake_workers(self) -> None:
        """Thread-safe: tell idle workers to look for work now."""
        self.loop.call_soon_threadsafe(self.work_available.set)

    def events_committed(self, events: list[Any]) -> None:
        """Thread-safe: schedule delivery of freshly committed events."""
        self.loop.call_soon_threadsafe(self._deliver, events)

    def _deliver(self, events: list[StoredEvent]) -> None:
        for ev in events:
            ended_attempt = ev.type == EventType.COMPLETION
            if ev.type == EventType.TASK:
                status, phase = ev.payload.get("status"), ev.payload.get("phase")
                if status == "queued":
                    self.work_available.set()
                if status in TERMINAL_STATUSES or phase == "released":
                    self.work_available.set()
                if phase == "cancel_requested" and ev.task_id:
                    self.request_cancel(ev.task_id)
                ended_attempt = status != "running"
            if ended_attempt and ev.task_id in self._channels:
                self._channels[ev.task_id].deltas.clear()
            if ev.task_id:
                channel = self._channels.get(ev.task_id)
                if channel:
                    channel.changed.set()

    # --- subscribers ---------------------------------------------------------------------

    def subscribe(self, task_id: str) -> _TaskChannel:
        channel = self._channels.setdefault(task_id, _TaskChannel())
        channel.subscribers += 1
        return channel

    def unsubscribe(self, task_id: str) -> None:
        channel = self._channels.get(task_id)
        if channel:
            channel.subscribers -= 1
            if channel.subscribers <= 0 and not channel.deltas:
                del self._channels[task_id]

    # --- deltas (event loop) ----------------------------------------------------------------

    def poke_all(self) -> None:
        """Wake every SSE stream and idle worker to read the ledger again (after the relay
        reconnected and may have missed notifications)."""
        self.work_available.set()
        for channel in self._channels.values():
            channel.changed.set()

    def publish_delta(self, task_id: str, text: str, forward: bool = True) -> None:
        """Record and announce a token delta of `task_id`'s completion in progress (and,
        unless it came from another process, pass it to `delta_sink`)."""
        if forward and self.delta_sink is not None:
            self.delta_sink(task_id, text)
        self._delta_counter += 1
        channel = self._channels.setdefault(task_id, _TaskChannel())
        channel.deltas.append((self._delta_counter, text))
        channel.changed.set()

    def deltas_after(self, task_id: str, after: int) -> list[tuple[int, str]]:
        channel = self._channels.get(task_id)
        if not channel:
            return []
        return [(n, t) for n, t in channel.deltas if n > after]

    def drop_deltas(self, task_id: str) -> None:
        """Forget a task's deltas (its completion is recorded, or the attempt ended)."""
        channel = self._channels.get(task_id)
        if channel:
            channel.deltas.clear()
            if channel.subscribers <= 0:
                del self._channels[task_id]

    # --- cancellation -----------------------------------------------------------------------

    def request_cancel(self, task_id: str) -> None:
        self._cancelled.add(task_id)

    def cancel_requested(self, task_id: str) -> bool:
        return task_id in self._cancelled

    def forget_cancel(self, task_id: str) -> None:
        self._cancelled.discard(task_id)
