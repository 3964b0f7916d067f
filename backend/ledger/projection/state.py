"""The state a reduction builds: one dict of rows per projected table, keyed by primary key,
plus the little a reducer must remember between events that no table holds."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from backend.ledger.events import StoredEvent

__all__ = ["Row", "RowView", "State", "Table", "Target", "at", "dump"]

Row = dict[str, Any]
# A row as the handlers read and change it: a dict in a rebuild, an ORM object's columns live.
RowView = MutableMapping[str, Any]


class Table(Protocol):
    """One projected table, by key."""

    def get(self, key: Any, /) -> RowView | None: ...

    def __getitem__(self, key: Any, /) -> RowView: ...

    def __setitem__(self, key: Any, row: Row, /) -> None: ...


class Target(Protocol):
    """What the handlers apply events to: the in-memory `State` of a rebuild, or the live
    database (`backend.ledger.projection.live.LiveState`)."""

    pending_reply: dict[str, str]
    revisions: int

    def table(self, name: str) -> Table: ...


@dataclass(slots=True)
class State:
    """Rows by table, then by key."""

    tables: dict[str, dict[Any, Row]] = field(default_factory=dict)
    # The assistant message a task's completion created, until the task's `completed`
    # event stamps it (the live write stamps message and task with the same instant).
    pending_reply: dict[str, str] = field(default_factory=dict)
    # config_revisions.seq counts revisions (revisions are never removed).
    revisions: int = 0

    def table(self, name: str) -> dict[Any, Row]:
        rows = self.tables.get(name)
        if rows is None:
            rows = self.tables[name] = {}
        return rows


def at(event: StoredEvent) -> str:
    """When the live write stamped its rows: the payload's `at`, else the event's own time
    (ledgers written before `at` was recorded rebuild with the event time, and differ)."""
    stamp = event.payload.get("at")
    return stamp if isinstance(stamp, str) else event.ts


def dump(value: Any) -> str:
    """JSON text as the live writes store it (`json.dumps` defaults)."""
    return json.dumps(value)
