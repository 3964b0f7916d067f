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

import gc
import json
import multiprocessing
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from backend.ledger.chain_check import (
    BATCH_SQL,
    SQLITE_ENVELOPE,
    first_broken,
    hash_matches,
)
from backend.ledger.events import Actor, StoredEvent
from backend.ledger.hashing import GENESIS
from backend.ledger.projection import TABLES, Projection, Row, TableSpec
from backend.ledger.redact import REDACTED, redact
from backend.memory.embeddings import content_hash
from backend.storage.db import Database
from backend.storage.models import Base, LedgerEvent, LedgerHead

__all__ = ["ChainBroken", "Difference", "RebuildReport", "read_events", "rebuild"]

Progress = Callable[[int, int], None]
_EVENTS = LedgerEvent.__table__
_INSERT_CHUNK = 5000
# Below this many events a second process costs more than it saves.
BESIDE_FROM = 20_000


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


def _where(row: tuple[Any, ...], reason: str) -> dict[str, Any]:
    return {"seq": row[0], "event_id": row[1], "reason": reason}


def _fetch(session: Session, after: int, batch: int, verify: bool) -> list[tuple[Any, ...]]:
    """Rows of the ledger from seq `after` on; with `verify`, each with its envelope text
    last (assembled by SQLite where it can)."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        driver = connection.connection.driver_connection
        assert driver is not None
        sql = BATCH_SQL.format(envelope=SQLITE_ENVELOPE if verify else "NULL")
        return list(driver.execute(sql, (after, batch)).fetchall())
    rows = connection.exec_driver_sql(
        BATCH_SQL.format(envelope="NULL").replace("?", "%s"), (after, batch)
    ).all()
    return [tuple(r) for r in rows]


def read_events(
    session: Session,
    *,
    batch: int = 5000,
    progress: Progress | None = None,
    hashes: bool = True,
) -> Iterator[list[StoredEvent]]:
    """The ledger in `seq` order, in batches, each event's link to its predecessor checked
    as it is read, and its hash too unless `hashes` is False (the caller checks them)."""
    head = session.execute(select(LedgerHead.seq, LedgerHead.hash)).one()
    prev_hash, expected = GENESIS, 1
    while True:
        rows = _fetch(session, expected, batch, hashes)
        events = []
        for r in rows:
            if r[0] != expected:
                raise ChainBroken(_where(r, f"event {expected} is missing"))
            try:
                payload = json.loads(r[9])
            except json.JSONDecodeError:
                raise ChainBroken(_where(r, "payload is not valid JSON")) from None
            if r[10] != prev_hash or (hashes and not hash_matches(r)):
                raise ChainBroken(_where(r, "the event's hash does not verify"))
            events.append(
                StoredEvent(
                    r[1],
                    r[0],
                    r[2],
                    r[3],
                    r[4],
                    r[5],
                    Actor(r[6], r[7]),
                    r[8],
                    payload,
                    r[10],
                    r[11],
                )
            )
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
    beside_from: int = BESIDE_FROM,
) -> RebuildReport:
    """Replay `live`'s ledger into a new SQLite file at `target` and compare the two.
    Raises `ChainBroken` if the ledger does not verify. A SQLite ledger of `beside_from`
    events or more has its hashes checked by a second process while this one rebuilds."""
    # The projection holds every row until it is written: the collector's full passes would
    # rescan it again and again, and a rebuild makes no reference cycles worth collecting.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _rebuild(live, target, batch, progress, beside_from)
    finally:
        if collecting:
            gc.enable()


@contextmanager
def _hashes_beside(live: Database, s: Session, from_events: int) -> Iterator[Future[Any] | None]:
    """Check the chain's hashes in a second process while this one rebuilds (a SQLite file
    with at least `from_events` events); None when this process must check them itself."""
    path = live.reader.url.database
    head = s.execute(select(LedgerHead.seq, LedgerHead.hash)).one()
    if live.dialect != "sqlite" or not path or path == ":memory:" or head.seq < from_events:
        yield None
        return
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool.submit(first_broken, path, head.seq, head.hash)


def _rebuild(
    live: Database, target: Path, batch: int, progress: Progress | None, beside_from: int
) -> RebuildReport:
    report = RebuildReport()
    projection = Projection()
    with live.read() as s, _hashes_beside(live, s, beside_from) as beside:
        started = time.perf_counter()
        reducing = 0.0
        for events in read_events(s, batch=batch, progress=progress, hashes=beside is None):
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
        if beside is not None:
            mark = time.perf_counter()
            broken = beside.result()
            report.seconds["verify_wait"] = time.perf_counter() - mark
            if broken is not None:
                raise ChainBroken(broken)
    return report
