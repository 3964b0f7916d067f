"""One consistent view of Edge's database for tools that read all of it (`steward ledger
rebuild`, `steward replay`), and a copy of that view in a scratch SQLite file.

Invariants:
- Every statement of a `snapshot` session sees the same committed state, however long it
  runs and whatever Edge commits meanwhile: SQLite's read transactions do that in WAL mode;
  PostgreSQL's default READ COMMITTED gives each statement a new snapshot, so the session
  runs REPEATABLE READ there (read-only work never fails to serialise under it).
- `copy_to_sqlite` writes that view into a new file migrated with Edge's own migrations, so
  the copy has the live schema's triggers and indexes whichever database it came from.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from backend.storage.db import Database

_CHUNK = 5000


@contextmanager
def snapshot(db: Database) -> Iterator[Session]:
    """A read session in which every statement sees one snapshot of `db`."""
    with db.read() as session:
        if db.dialect == "postgresql":
            # Applies to the connection the session procures first, which is this one.
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield session


def copy_to_sqlite(session: Session, path: Path) -> None:
    """Copy the database `session` reads, as its transaction sees it, to a new SQLite file
    at `path`."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        # The backup reads through this session's connection, inside its read transaction.
        raw: Any = connection.connection.dbapi_connection
        target = sqlite3.connect(path)
        try:
            raw.backup(target)
        finally:
            target.close()
        return
    fresh = Database(f"sqlite:///{path}")
    try:
        fresh.migrate()
    finally:
        fresh.dispose()
    live_tables = set(inspect(connection).get_table_names())
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        tables = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' AND name != 'alembic_version'"
        ).fetchall()
        for (table,) in tables:
            if table in live_tables:
                _copy_table(connection.exec_driver_sql, conn, table)
        conn.execute("COMMIT")
    finally:
        conn.close()


def _copy_table(live: Any, copy: sqlite3.Connection, table: str) -> None:
    # Names come from the fresh file's own catalogue, never from input.
    columns = [row[1] for row in copy.execute(f"PRAGMA table_info({table})")]
    names = ", ".join(f'"{c}"' for c in columns)
    copy.execute(f"DELETE FROM {table}")  # noqa: S608 (rows the migrations seeded)
    insert = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' for _ in columns)})"  # noqa: S608
    result = live(f"SELECT {names} FROM {table}")  # noqa: S608
    while rows := result.fetchmany(_CHUNK):
        copy.executemany(insert, [tuple(row) for row in rows])
