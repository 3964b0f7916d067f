"""Rebuild every projected table from the ledger alone and compare it with the live state.

Invariants:
- The live database is only read, in one read session (one snapshot, `Database.read`): the ledger
  and the tables it is compared with are one consistent state even while Edge keeps
  writing, on SQLite and on PostgreSQL.
- The chain is verified while it is read; a ledger that does not verify is not rebuilt
  (`ChainBroken`), since its events cannot be trusted to explain anything.
- The rebuild goes into a fresh SQLite file migrated with Edge's own migrations, so the
  rebuilt rows pass through the same schema (types, unique indexes) as the live ones.
- Only projection columns are compared (`backend.ledger.projection.schema`). A string
  equals its live value as the ledger would hold it (`redact(live)`); JSON columns are
  compared parsed; a memory text the ledger holds redacted is compared by its SHA-256.
"""

from __future__ import annotations

import gc
import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.ledger.events import Actor, StoredEvent
from backend.ledger.hashing import GENESIS, event_hash
from backend.ledger.projection import TABLES, Projection, TableSpec
from backend.ledger.redact import REDACTED, redact
from backend.memory.embeddings import content_hash
from backend.storage.db import Database
from backend.storage.models import LedgerEvent, LedgerHead

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


_FIELDS = (
    "seq, event_id, ts, type, conversation_id, task_id, actor_id, actor_role, causation_id, "
    "payload, prev_hash, hash"
)
# SQLite assembles each event's canonical envelope itself (`LedgerStore.append` stores the
# payload already canonical), so Python only hashes it: the envelope's keys in sorted
# order, strings quoted by json_quote. Where SQLite's quoting differs from `canonical`'s
# (control characters), the hash will not match and the exact check decides.
_SQLITE_ENVELOPE = (
    """'{"actor":{"id":' || json_quote(actor_id) || ',"role":' || json_quote(actor_role)"""
    """ || '},"causation_id":' || json_quote(causation_id)"""
    """ || ',"conversation_id":' || json_quote(conversation_id)"""
    """ || ',"event_id":' || json_quote(event_id) || ',"payload":' || payload"""
    """ || ',"prev_hash":' || json_quote(prev_hash) || ',"seq":' || seq"""
    """ || ',"task_id":' || json_quote(task_id) || ',"ts":' || json_quote(ts)"""
    """ || ',"type":' || json_quote(type) || '}'"""
)
_BATCH_SQL = " ".join(
    (
        "SELECT",
        _FIELDS + ",",
        "{envelope}",
        "FROM ledger_events WHERE seq >= ? ORDER BY seq LIMIT ?",
    )
)


def _envelope_text(row: tuple[Any, ...]) -> str:
    """The canonical envelope of a row whose payload is stored canonical."""
    seq, event_id, ts, type_, conv, task, actor_id, actor_role, cause, payload = row[:10]
    return (
        f'{{"actor":{{"id":{_q(actor_id)},"role":{_q(actor_role)}}},'
        f'"causation_id":{_q(cause)},"conversation_id":{_q(conv)},'
        f'"event_id":{_q(event_id)},"payload":{payload},'
        f'"prev_hash":{_q(row[10])},"seq":{int(seq)},"task_id":{_q(task)},'
        f'"ts":{_q(ts)},"type":{_q(type_)}}}'
    )


def _verifies(row: tuple[Any, ...], event: StoredEvent) -> bool:
    """Whether the row's hash is `event_hash` of its envelope. Fast path: the envelope text
    as SQLite or `_envelope_text` assembled it; only if that fails is the payload
    re-canonicalised, so exactly what `LedgerStore.verify` accepts is accepted."""
    prev_hash, stored_hash, text = row[10], row[11], row[12]
    if hashlib.sha256(f"{prev_hash}{text}".encode()).hexdigest() == stored_hash:
        return True
    envelope = event.public()
    del envelope["hash"]
    return bool(event_hash(prev_hash, envelope) == stored_hash)


def _where(row: tuple[Any, ...], reason: str) -> dict[str, Any]:
    return {"seq": row[0], "event_id": row[1], "reason": reason}


def _fetch(session: Session, after: int, batch: int) -> list[tuple[Any, ...]]:
    """Rows of the ledger from seq `after` on, each with its envelope text last."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        driver = connection.connection.driver_connection
        assert driver is not None
        sql = _BATCH_SQL.format(envelope=_SQLITE_ENVELOPE)
        return list(driver.execute(sql, (after, batch)).fetchall())
    rows = connection.exec_driver_sql(
        _BATCH_SQL.format(envelope="NULL").replace("?", "%s"), (after, batch)
    ).all()
    return [(*r[:12], _envelope_text(tuple(r))) for r in rows]


def read_events(
    session: Session, *, batch: int = 5000, progress: Progress | None = None
) -> Iterator[list[StoredEvent]]:
    """The ledger in `seq` order, in batches, each event's link checked as it is read."""
    head = session.execute(select(LedgerHead.seq, LedgerHead.hash)).one()
    prev_hash, expected = GENESIS, 1
    while True:
        rows = _fetch(session, expected, batch)
        events = []
        for r in rows:
            if r[0] != expected:
                raise ChainBroken(_where(r, f"event {expected} is missing"))
            try:
                payload = json.loads(r[9])
            except json.JSONDecodeError:
                raise ChainBroken(_where(r, "payload is not valid JSON")) from None
            event = StoredEvent(
                r[1], r[0], r[2], r[3], r[4], r[5], Actor(r[6], r[7]), r[8], payload, r[10], r[11]
            )
            if r[10] != prev_hash or not _verifies(r, event):
                raise ChainBroken(_where(r, "the event's hash does not verify"))
            events.append(event)
            prev_hash, expected = r[11], r[0] + 1
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


def _table_rows(session: Session, spec: TableSpec) -> dict[Any, tuple[Any, ...]]:
    """The compared columns of every row (in `spec.columns` order), by key."""
    # Table and column names come from the constant `TABLES`, never from input.
    sql = f"SELECT {spec.key}, {', '.join(spec.columns)} FROM {spec.name}"  # noqa: S608
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        driver = connection.connection.driver_connection
        assert driver is not None
        return {row[0]: row[1:] for row in driver.execute(sql)}
    return {row[0]: tuple(row[1:]) for row in connection.exec_driver_sql(sql)}


def _same(spec: TableSpec, i: int, live: Any, rebuilt: Any, rebuilt_row: tuple[Any, ...]) -> bool:
    if live == rebuilt:
        return True
    if not isinstance(live, str) or not isinstance(rebuilt, str):
        return False
    column = spec.columns[i]
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
        and content_hash(live) == rebuilt_row[spec.columns.index("text_sha256")]
    )


def compare(live: Session, rebuilt: Session, limit: int | None = None) -> list[Difference]:
    """Every difference in the projection columns, table by table, row by row. Tables whose
    rows are identical as stored are passed at once; the rest column by column, where a
    value equal as the ledger would hold it (redacted, or as parsed JSON) is no difference."""
    out: list[Difference] = []
    for spec in TABLES:
        live_rows, new_rows = _table_rows(live, spec), _table_rows(rebuilt, spec)
        if live_rows == new_rows:
            continue
        for key in sorted(live_rows.keys() | new_rows.keys(), key=str):
            a, b = live_rows.get(key), new_rows.get(key)
            if a is None or b is None:
                out.append(Difference(spec.name, key, "missing" if b is None else "extra"))
                continue
            if a == b:
                continue
            for i, column in enumerate(spec.columns):
                if not _same(spec, i, a[i], b[i], b):
                    out.append(Difference(spec.name, key, "changed", column, a[i], b[i]))
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
    # The projection holds every row until it is written: the collector's full passes would
    # rescan it again and again, and a rebuild makes no reference cycles worth collecting.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _rebuild(live, target, batch, progress)
    finally:
        if collecting:
            gc.enable()


def _rebuild(live: Database, target: Path, batch: int, progress: Progress | None) -> RebuildReport:
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
