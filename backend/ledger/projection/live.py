"""The projection applied to the live database: how every append changes the state tables.

`LedgerStore.append` calls `project(session, event)` in the writer's transaction, so the
rows an event explains are written by the same handlers `steward ledger rebuild` replays;
the services write only the operational columns (`schema.TABLES`) and nothing else of a
projected table.

Invariants:
- Rows are read and written through the session's ORM objects, so a service that holds
  one sees the projection's changes, and its own pending changes are not overwritten.
- Inserting a row whose key exists updates that row (an event applied to a row a
  service made earlier in the transaction must not fail on the duplicate key).
- The event given has the payload as the service wrote it, before redaction: a live row
  holds the real text, the ledger its redacted form (the rebuild compares such texts by
  their hash).
- Nothing else writes a projected column: a flush that inserts a projected row, or changes
  a projected column, that the projection did not write fails (`_only_the_projection`).
  Operational columns (`schema.TABLES`) are the services' own.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import Session, UOWTransaction

from backend.ledger.events import StoredEvent
from backend.ledger.projection.handlers import apply_event
from backend.ledger.projection.schema import TABLES
from backend.ledger.projection.state import Row
from backend.storage.models import Base

__all__ = ["LiveState", "models_by_table", "project"]

_PENDING_REPLY = "steward.pending_reply"


def models_by_table() -> dict[str, type[Any]]:
    """The ORM class of each mapped table."""
    return {str(m.class_.__tablename__): m.class_ for m in Base.registry.mappers}


_MODELS = models_by_table()
# The projected columns of each projected model: only the projection writes them.
_PROJECTED: dict[type[Any], tuple[str, ...]] = {_MODELS[t.name]: t.columns for t in TABLES}
_WRITTEN = "steward.projected"


def _written(session: Session, obj: Any, column: str, value: Any) -> None:
    session.info.setdefault(_WRITTEN, {})[(id(obj), column)] = (obj, value)


@event.listens_for(Session, "before_flush")
def _only_the_projection(session: Session, _ctx: UOWTransaction, _instances: object) -> None:
    written: dict[tuple[int, str], tuple[Any, Any]] = session.info.get(_WRITTEN, {})
    for obj in (*session.new, *session.dirty):
        columns = _PROJECTED.get(type(obj))
        if columns is None:
            continue
        attrs = inspect(obj).attrs
        for column in columns:
            added = attrs[column].history.added
            if not added:
                continue
            mark = written.get((id(obj), column))
            if mark is None or mark[1] != added[0]:
                raise RuntimeError(
                    f"{type(obj).__tablename__}.{column} was written outside the ledger's "
                    "projection: append the event that explains it instead"
                )


@event.listens_for(Session, "after_flush_postexec")
def _flushed(session: Session, _ctx: UOWTransaction) -> None:
    session.info.pop(_WRITTEN, None)


class _RowView(MutableMapping[str, Any]):
    """One ORM object seen as a row: keys are its column names."""

    __slots__ = ("_columns", "_obj", "_session")

    def __init__(self, session: Session, obj: Any, columns: frozenset[str]):
        self._session, self._obj, self._columns = session, obj, columns

    def __getitem__(self, column: str) -> Any:
        if column not in self._columns:
            raise KeyError(column)
        return getattr(self._obj, column)

    def __setitem__(self, column: str, value: Any) -> None:
        if column not in self._columns:
            raise KeyError(column)
        _written(self._session, self._obj, column, value)
        setattr(self._obj, column, value)

    def __delitem__(self, column: str) -> None:
        raise TypeError("a row's columns cannot be removed")

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)


class _LiveTable:
    """A projected table read and written through the session."""

    __slots__ = ("_columns", "_model", "_session")

    def __init__(self, session: Session, name: str):
        self._session, self._model = session, _MODELS[name]
        self._columns = frozenset(c.name for c in self._model.__table__.columns)

    def get(self, key: Any, default: None = None) -> _RowView | None:
        obj = self._session.get(self._model, key) if key is not None else None
        return _RowView(self._session, obj, self._columns) if obj is not None else default

    def __getitem__(self, key: Any) -> _RowView:
        row = self.get(key)
        if row is None:
            raise KeyError(key)
        return row

    def __setitem__(self, key: Any, row: Row) -> None:
        obj = self._session.get(self._model, key)
        if obj is None:
            obj = self._model(**row)
            self._session.add(obj)
        else:
            for column, value in row.items():
                setattr(obj, column, value)
        for column, value in row.items():
            _written(self._session, obj, column, value)
        # Rows of one event may depend on each other (a task on its conversation): write
        # each before the next so foreign keys hold whatever order the flush would pick.
        self._session.flush()


class LiveState:
    """The state tables of the database a session writes to."""

    def __init__(self, session: Session):
        self._session = session
        self._tables: dict[str, _LiveTable] = {}
        self._revisions: int | None = None
        # The completion's message until the task's `completed` event stamps it: both are
        # appended in one transaction, so the session is where it waits.
        self.pending_reply: dict[str, str] = session.info.setdefault(_PENDING_REPLY, {})

    def table(self, name: str) -> _LiveTable:
        table = self._tables.get(name)
        if table is None:
            table = self._tables[name] = _LiveTable(self._session, name)
        return table

    @property
    def revisions(self) -> int:
        if self._revisions is None:
            model = _MODELS["config_revisions"]
            count = self._session.scalar(select(func.count()).select_from(model))
            self._revisions = int(count or 0)
        return self._revisions

    @revisions.setter
    def revisions(self, value: int) -> None:
        self._revisions = value


def project(session: Session, event: StoredEvent) -> None:
    """Apply `event` to the live tables in `session`'s transaction."""
    apply_event(LiveState(session), event)
