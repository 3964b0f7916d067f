"""A copy of Edge's database, as one read session sees it, in a scratch SQLite file
(`steward replay` works on the copy).

Invariants:
- The copy is the read session's snapshot (`Database.read` gives one on SQLite and on
  PostgreSQL), whatever Edge commits meanwhile.
- `copy_to_sqlite` writes that view into a new file migrated with Edge's own migrations, so
  the copy has the live schema's triggers and indexes whichever database it came from.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from backend.storage.db import Database

_CHUNK = 5000


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
