"""Notifications between Edge processes on one PostgreSQL database (LISTEN/NOTIFY).

A process's `TaskBus` hears only its own commits. With several processes (API servers and
`steward worker`s) on one PostgreSQL, the relay carries the rest:

- Every write transaction that appended ledger events also sends, inside the transaction,
  `NOTIFY steward_events, '<origin> <first seq> <last seq>'` (an append holds the ledger
  head, so a transaction's events have consecutive seqs). PostgreSQL delivers it only if
  the transaction commits, after it does. Other processes read those events from the
  ledger and deliver them to their bus: SSE streams wake, idle workers look for work, a
  worker running a task asked to cancel hears it.
- Token deltas of a completion in progress, which are not ledger events, go out as
  `NOTIFY steward_deltas` from a sender thread (never blocking the event loop), at most
  `_DELTA_BYTES` of text per notification, in order.

Invariants:
- The ledger stays the truth: a notification only says where to look. A process that
  loses its listening connection reconnects and then wakes every SSE stream and worker, so
  nothing waits for a notification that was missed; workers also poll on their own.
- A process ignores its own notifications (its bus already heard its commits).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import uuid
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from backend.agent.bus import TaskBus
from backend.ledger.events import EventType, StoredEvent
from backend.ledger.store import LedgerStore
from backend.storage.db import Database

log = logging.getLogger("steward.edge.relay")

EVENTS, DELTAS = "steward_events", "steward_deltas"
# NOTIFY payloads must stay under 8000 bytes; deltas are split below that.
_DELTA_BYTES = 6000
_RECONNECT_FIRST_S, _RECONNECT_CAP_S = 0.2, 5.0
_NOTIFY = text("SELECT pg_notify(:channel, :payload)")
_FLUSH_WAIT_S = 2.0
# A notification to send, a flush marker to set once everything before it is sent, or stop.
_Item = tuple[str, str] | threading.Event | None


def libpq_url(url: str) -> str:
    """`url` (a SQLAlchemy URL) as psycopg's own connect string."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _split(text_: str, limit: int) -> list[str]:
    """`text_` in pieces of at most `limit` UTF-8 bytes, never splitting a character."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for char in text_:
        width = len(char.encode())
        if size + width > limit and current:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    if current:
        pieces.append("".join(current))
    return pieces


class Relay:
    """This process's end of the relay: sends its notifications, hears the others'."""

    def __init__(self, db: Database, ledger: LedgerStore, bus: TaskBus):
        self.db = db
        self.ledger = ledger
        self.bus = bus
        self.origin = uuid.uuid4().hex[:16]
        self._conninfo = libpq_url(db.url)
        self._stop = threading.Event()
        self._outbox: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self.listening = threading.Event()

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Hook into commits and the bus's deltas; start listening and sending."""
        self.db.before_commit(self._announce)
        self.bus.delta_sink = self._send_delta
        for name, target in (("listen", self._listen), ("send", self._send)):
            thread = threading.Thread(target=target, name=f"steward-relay-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self._outbox.put(None)
        self.bus.delta_sink = None
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    # --- outgoing ----------------------------------------------------------------------------

    def _announce(self, session: Session, events: list[StoredEvent]) -> None:
        if any(e.type == EventType.COMPLETION for e in events):
            # The completion replaces its deltas: they must reach the others before it.
            flushed = threading.Event()
            self._outbox.put(flushed)
            flushed.wait(_FLUSH_WAIT_S)
        payload = f"{self.origin} {events[0].seq} {events[-1].seq}"
        session.execute(_NOTIFY, {"channel": EVENTS, "payload": payload})

    def _send_delta(self, task_id: str, delta: str) -> None:
        for piece in _split(delta, _DELTA_BYTES):
            body = json.dumps({"o": self.origin, "t": task_id, "x": piece}, ensure_ascii=False)
            self._outbox.put((DELTAS, body))

    def _send(self) -> None:
        delay = _RECONNECT_FIRST_S
        pending: tuple[str, str] | None = None
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    delay = _RECONNECT_FIRST_S
                    while True:
                        item = pending or self._outbox.get()
                        if item is None:
                            return
                        if isinstance(item, threading.Event):
                            item.set()
                            continue
                        pending = item
                        conn.execute("SELECT pg_notify(%s, %s)", item)
                        pending = None
            except psycopg.Error as exc:
                log.warning("relay: cannot send (%s); reconnecting in %.1fs", exc, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, _RECONNECT_CAP_S)

    # --- incoming ----------------------------------------------------------------------------

    def _listen(self) -> None:
        delay = _RECONNECT_FIRST_S
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {EVENTS}")
                    conn.execute(f"LISTEN {DELTAS}")
                    if self.listening.is_set():
                        # Reconnected: whatever was sent meanwhile is in the ledger.
                        self.bus.loop.call_soon_threadsafe(self.bus.poke_all)
                    self.listening.set()
                    delay = _RECONNECT_FIRST_S
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.5):
                            self._hear(note)
            except psycopg.Error as exc:
                log.warning("relay: listening failed (%s); reconnecting in %.1fs", exc, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, _RECONNECT_CAP_S)

    def _hear(self, note: psycopg.Notify) -> None:
        if note.channel == EVENTS:
            origin, first, last = note.payload.split(" ")
            if origin != self.origin:
                with self.db.read() as session:
                    events = self.ledger.between(session, int(first), int(last))
                self.bus.events_committed(events)
        elif note.channel == DELTAS:
            body: dict[str, Any] = json.loads(note.payload)
            if body["o"] != self.origin:
                self.bus.loop.call_soon_threadsafe(
                    self.bus.publish_delta, body["t"], body["x"], False
                )
