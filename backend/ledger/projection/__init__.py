"""The ledger's meaning for the state: a pure reducer from events to table rows.

This package is the single definition of what each event means for the state tables
(`users`, `conversations`, `messages`, `tasks`, `tool_calls`, `approvals`, `config_seed`,
`config_patches`, `config_revisions`, `memory_items`, `memory_candidates`). The live code
writes rows and events in one transaction; `steward ledger rebuild` replays the events
through this reducer into a fresh database and compares it with the live one, column by
column (`schema.TABLES` names the columns that are projections and those that are
operational). `tests/ledger/test_rebuild.py` runs the real Edge through every kind of write
and asserts the two agree: that test is what keeps the live writes and this reducer from
drifting apart. When a write changes, change its slice here in the same commit.

Invariants:
- Pure: `Projection.apply` reads only the event and the rows built so far; no clock, no
  database, no randomness. Events must be applied in `seq` order.
- Timestamps come from the payload's `at` (the instant the live write stamped its rows)
  or, where the live write uses the event's own time, from `ts`.
- Unknown event types and phases change nothing, so a ledger with newer event kinds still
  rebuilds (and the comparison shows what this reducer does not know yet).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from backend.ledger.events import StoredEvent
from backend.ledger.projection.handlers import apply_event
from backend.ledger.projection.schema import TABLES, TableSpec
from backend.ledger.projection.state import Row, State

__all__ = ["TABLES", "Projection", "Row", "TableSpec", "apply_event", "reduce"]


class Projection:
    """The state tables as the events applied so far explain them."""

    def __init__(self) -> None:
        self.state = State()
        self.events = 0
        self.last_seq = 0

    def apply(self, event: StoredEvent) -> None:
        """Apply one event (the next in `seq` order)."""
        if event.seq <= self.last_seq:
            raise ValueError(f"event {event.seq} applied after {self.last_seq}: out of order")
        apply_event(self.state, event)
        self.events += 1
        self.last_seq = event.seq

    def apply_all(self, events: Iterable[StoredEvent]) -> None:
        for event in events:
            self.apply(event)

    def rows(self, table: str) -> list[Row]:
        """The rows of `table`, in key order."""
        rows = self.state.tables.get(table, {})
        return [rows[k] for k in sorted(rows, key=_sort_key)]


def _sort_key(key: Any) -> str:
    return str(key)


def reduce(events: Iterable[StoredEvent]) -> Projection:
    """The state `events` (in seq order) explain."""
    projection = Projection()
    projection.apply_all(events)
    return projection
