"""Rebuild every projected table from the ledger alone and compare it with the live state.

Invariants:
- The live database is only read, in one read transaction: the ledger and the tables it is
  compared with are one consistent snapshot even while Edge keeps writing (SQLite WAL and
  PostgreSQL both give a reader a snapshot).
- The chain is verified while it is read; a ledger that does not verify is not rebuilt
  (`ChainBroken`), since its events cannot be trusted to explain anything.
- The rebuild goes into a fresh SQLite file migrated with Edge's own migrations, so the
  rebuilt rows pass through the same schema (types, unique indexes) as the live ones.
- Only projection columns are compared (`backend.ledger.projection.schema`). A string
  equals its live value as the ledger would hold it (`redact(live)`); JSON columns are
  compared parsed; a memory text the ledger holds redacted is compared by its SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from backend.ledger.events import Actor, StoredEvent
from backend.ledger.hashing import GENESIS, event_hash
from backend.ledger.projection import TABLES, Projection, Row, TableSpec
from backend.ledger.redact import REDACTED, redact
from backend.memory.embeddings import content_hash
from backend.storage.db import Database
from backend.storage.models import Base, LedgerEvent, LedgerHead

__all__ = ["ChainBroken", "Difference", "RebuildReport", "read_events", "rebuild"]

Progress = Callable[[int, int], None]
_EVENTS = LedgerEvent.__table__
_INSERT_CHUNK = 5000


class ChainBroken(Exception):
    """The ledger does not verify; `where` names the first broken link."""

    def __init__(self, where: dict[str, Any]):
        super().__init__(f"the chain breaks at seq {where.get('seq')}: {where.get('reason')}")
        self.where = where


@dataclass(frozen=True, slots=True)
class Difference:
    """One way the rebuilt state differs from the live one. `kind` is `changed` (a column),
    `missing` (a live row the ledger does not explain) or `extra` (a rebuilt row that is
    not live)."""

    table: str
    key: Any
    kind: str
    column: str | None = None
    live: Any = None
    rebuilt: Any = None

    def describe(self) -> str:
        if self.kind == "changed":
            return (
                f"{self.table}[{self.key}].{self.column}: "
                f"live {self.live!r}, rebuilt {self.rebuilt!r}"
            )
        side = "only in the live database" if self.kind == "missing" else "only in the rebuild"
        return f"{self.table}[{self.key}]: {side}"


@dataclass(slots=True)
class RebuildReport:
    """What a rebuild found."""

    events: int = 0
    head_seq: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def equal(self) -> bool:
        return not self.differences


def _q(value: str | None) -> str:
    # A string or null as `canonical` writes it (ensure_ascii=False), without json.dumps'
    # per-call encoder: this runs nine times per event.
    return "null" if value is None else str(encode_basestring(value))


def _verifies(row: Any, event: StoredEvent) -> bool:
    """Whether the row's hash is `event_hash` of its envelope. Fast path: the stored payload
    is already canonical JSON (`LedgerStore.append` stores it so), so the canonical envelope
    is assembled around it as text; only if that fails is the payload re-canonicalised, so
    exactly what `LedgerStore.verify` accepts is accepted."""
    text = (
        f'{{"actor":{{"id":{_q(row.actor_id)},"role":{_q(row.actor_role)}}},'
        f'"causation_id":{_q(row.causation_id)},"conversation_id":{_q(row.conversation_id)},'
        f'"event_id":{_q(row.event_id)},"payload":{row.payload},'
        f'"prev_hash":{_q(row.prev_hash)},"seq":{int(row.seq)},"task_id":{_q(row.task_id)},'
        f'"ts":{_q(row.ts)},"type":{_q(row.type)}}}'
    )
    digest = hashlib.sha256()
    digest.update(row.prev_hash.encode())
    digest.update(text.encode())
    if digest.hexdigest() == row.hash:
        return True
    envelope = event.public()
    del envelope["hash"]
    return bool(event_hash(row.prev_hash, envelope) == row.hash)


def _where(row: Any, reason: str) -> dict[str, Any]:
    return {"seq": row.seq, "event_id": row.event_id, "reason": reason}


def read_events(
    session: Session, *, batch: int = 5000, progress: Progress | None = None
) -> Iterator[list[StoredEvent]]:
    """The ledger in `seq` order, in batches, each event's link checked as it is read."""
    head = session.execute(select(LedgerHead.seq, LedgerHead.hash)).one()
    prev_hash, expected, cols = GENESIS, 1, _EVENTS.c
    while True:
        rows = session.execute(
            select(_EVENTS).where(cols.seq >= expected).order_by(cols.seq).limit(batch)
        ).all()
        events = []
        for r in rows:
            if r.seq != expected:
                raise ChainBroken(_where(r, f"event {expected} is missing"))
            try:
                payload = json.loads(r.payload)
            except json.JSONDecodeError:
                raise ChainBroken(_where(r, "payload is not valid JSON")) from None
            event = StoredEvent(
                r.event_id,
                r.seq,
                r.ts,
                r.type,
                r.conversation_id,
                r.task_id,
                Actor(r.actor_id, r.actor_role),
                r.causation_id,
                payload,
                r.prev_hash,
                r.hash,
            )
            if r.prev_hash != prev_hash or not _verifies(r, event):
                raise ChainBroken(_where(r, "the event's hash does not verify"))
            events.append(event)
            prev_hash, expected = r.hash, r.seq + 1
        if events:
            yield events
            if progress is not None:
                progress(expected - 1, head.seq)
        if len(rows) < batch:
            break
    if head.seq != expected - 1 or head.hash != prev_hash:
        reason = f"the chain head says seq {head.seq}, but {expected - 1} events verify"
        raise ChainBroken({"seq": head.seq, "event_id": None, "reason": reason})


def write_rows(path: Path, projection: Projection) -> dict[str, int]:
    """Create a migrated SQLite database at `path` holding the projection's rows."""
    fresh = Database(f"sqlite:///{path}")
    fresh.migrate()
    fresh.dispose()
    counts: dict[str, int] = {}
    # Raw sqlite3 for the bulk load: no per-row ORM work, and foreign keys are left off
    # (the comparison, not the constraints, judges the rebuild).
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("BEGIN")
        for spec in TABLES:
            rows = projection.rows(spec.name)
            counts[spec.name] = len(rows)
            columns = (*spec.columns, *spec.operational)
            # Table and column names come from the constant `TABLES`, never from input.
            marks = ", ".join("?" for _ in columns)
            sql = f"INSERT INTO {spec.name} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
            for start in range(0, len(rows), _INSERT_CHUNK):
                chunk = rows[start : start + _INSERT_CHUNK]
                conn.executemany(sql, [tuple(row.get(c) for c in columns) for row in chunk])
        conn.execute("COMMIT")
    finally:
        conn.close()
    return counts


def _table_rows(session: Session, spec: TableSpec) -> dict[Any, Row]:
    table: Table = Base.metadata.tables[spec.name]
    query = select(*(table.c[c] for c in spec.columns))
    return {row[spec.key]: dict(row) for row in session.execute(query).mappings()}


def _same(spec: TableSpec, column: str, live: Any, rebuilt: Any, rebuilt_row: Row) -> bool:
    if live == rebuilt:
        return True
    if not isinstance(live, str) or not isinstance(rebuilt, str):
        return False
    if column in spec.json_columns:
        try:
            return bool(redact(json.loads(live)) == json.loads(rebuilt))
        except json.JSONDecodeError:
            return False
    if redact(live) == rebuilt:
        return True
    # A memory that may hold a credential is recorded redacted, with the live text's hash.
    return (
        spec.name.startswith("memory_")
        and column == "text"
        and rebuilt.startswith(REDACTED)
        and content_hash(live) == rebuilt_row.get("text_sha256")
    )


def compare(live: Session, rebuilt: Session, limit: int | None = None) -> list[Difference]:
    """Every difference in the projection columns, table by table, row by row."""
    out: list[Difference] = []
    for spec in TABLES:
        live_rows, new_rows = _table_rows(live, spec), _table_rows(rebuilt, spec)
        for key in sorted(live_rows.keys() | new_rows.keys(), key=str):
            a, b = live_rows.get(key), new_rows.get(key)
            if a is None or b is None:
                out.append(Difference(spec.name, key, "missing" if b is None else "extra"))
                continue
            for column in spec.columns:
                if not _same(spec, column, a[column], b[column], b):
                    out.append(Difference(spec.name, key, "changed", column, a[column], b[column]))
            if limit is not None and len(out) >= limit:
                return out
    return out


def rebuild(
    live: Database,
    target: Path,
    *,
    batch: int = 5000,
    progress: Progress | None = None,
) -> RebuildReport:
    """Replay `live`'s ledger into a new SQLite file at `target` and compare the two.
    Raises `ChainBroken` if the ledger does not verify."""
    report = RebuildReport()
    projection = Projection()
    with live.read() as s:
        started = time.perf_counter()
        reducing = 0.0
        for events in read_events(s, batch=batch, progress=progress):
            mark = time.perf_counter()
            projection.apply_all(events)
            reducing += time.perf_counter() - mark
        report.events, report.head_seq = projection.events, projection.last_seq
        report.seconds["read_verify"] = time.perf_counter() - started - reducing
        report.seconds["reduce"] = reducing
        mark = time.perf_counter()
        report.rows = write_rows(target, projection)
        report.seconds["write"] = time.perf_counter() - mark
        mark = time.perf_counter()
        fresh = Database(f"sqlite:///{target}")
        try:
            with fresh.read() as r:
                report.differences = compare(s, r)
        finally:
            fresh.dispose()
        report.seconds["compare"] = time.perf_counter() - mark
    return report
