"""Server-sent events of one task: its ledger events and the token deltas of its completion,
as they happen, resumable with `Last-Event-ID`.

Frame ids: a ledger event's id is its `seq`; a delta's id is `<seq>.<n>`, where `seq` is the
last ledger event sent before it and `n` the delta's number. A client that reconnects with
`Last-Event-ID` gets every ledger event after that seq and every delta after that number
still in memory (deltas are dropped once the completion is recorded, because the
`CompletionEvent` carries the whole text). A client that connects late gets the whole story.
The stream ends after the task's terminal state; a comment line every 15 s keeps proxies from
closing an idle stream. Ledger events written by other processes are found by polling.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import orjson

from backend.agent.bus import TERMINAL_STATUSES, TaskBus
from backend.ledger.events import EventType, StoredEvent
from backend.ledger.store import LedgerStore
from backend.storage.db import Database

KEEPALIVE_S = 15.0
POLL_S = 1.0


def parse_last_event_id(value: str | None) -> tuple[int, int]:
    """(ledger seq, delta number) from a `Last-Event-ID`; (0, 0) when absent or unreadable."""
    if not value:
        return 0, 0
    seq_text, _, delta_text = value.strip().partition(".")
    seq = int(seq_text) if seq_text.isdigit() else 0
    delta = int(delta_text) if delta_text.isdigit() else 0
    return seq, delta


def _frame(event_id: str, event: str, data: object) -> bytes:
    return b"id: %s\nevent: %s\ndata: %s\n\n" % (
        event_id.encode(),
        event.encode(),
        orjson.dumps(data),
    )


def _is_terminal(event: StoredEvent) -> bool:
    return event.type == EventType.TASK and event.payload.get("status") in TERMINAL_STATUSES


async def task_event_stream(
    task_id: str, last_event_id: str | None, db: Database, ledger: LedgerStore, bus: TaskBus
) -> AsyncIterator[bytes]:
    """SSE frames for `task_id` from the resume point until the task ends."""
    seq, delta_no = parse_last_event_id(last_event_id)
    channel = bus.subscribe(task_id)
    idle = 0.0
    try:
        yield b"retry: 1000\n\n"
        while True:
            channel.changed.clear()
            events = await asyncio.to_thread(_read, db, ledger, task_id, seq)
            done = False
            for event in events:
                seq = event.seq
                yield _frame(str(seq), event.type, event.public())
                done = done or _is_terminal(event)
            if done:
                return
            for n, text in bus.deltas_after(task_id, delta_no):
                delta_no = n
                yield _frame(f"{seq}.{n}", "delta", {"task_id": task_id, "index": n, "text": text})
            if events:
                idle = 0.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(channel.changed.wait(), POLL_S)
                idle = 0.0
                continue
            idle += POLL_S
            if idle >= KEEPALIVE_S:
                idle = 0.0
                yield b": keepalive\n\n"
    finally:
        bus.unsubscribe(task_id)


def seen_the_end(
    db: Database, ledger: LedgerStore, task_id: str, last_event_id: str | None
) -> bool:
    """Whether a client resuming from `last_event_id` already received the terminal event
    (then there is nothing more to send, ever)."""
    seq, _ = parse_last_event_id(last_event_id)
    if not seq:
        return False
    with db.read() as s:
        return any(_is_terminal(e) for e in ledger.for_task(s, task_id) if e.seq <= seq)


def _read(db: Database, ledger: LedgerStore, task_id: str, after: int) -> list[StoredEvent]:
    with db.read() as s:
        return ledger.for_task(s, task_id, after_seq=after)
