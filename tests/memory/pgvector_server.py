"""A real PostgreSQL 16 with pgvector for the tests of memory on pgvector, started from the
`pgserver` wheel (the system PostgreSQL at 127.0.0.1:5432 has no pgvector).

pgserver runs `initdb` and `pg_ctl` from its wheel in a fresh temporary directory and
listens on a Unix socket there only (no TCP port). PostgreSQL refuses to run as root, so
when the tests run as root pgserver runs it as a system user `pgserver`, which it creates
with `useradd` if missing, and it chowns the data directory to that user and opens read and
traverse permission on the wheel's binaries and the directories above them.

One server serves the whole session (about a second to start); each test gets its own
database or its own tables in it. `pgvector_server` fails the test, saying why, when the
server cannot start: nothing is skipped.
"""

from __future__ import annotations

import contextlib
import functools
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql


class PgVectorServer:
    """The pgserver instance: creates databases (with the `vector` extension) and stops."""

    def __init__(self) -> None:
        with warnings.catch_warnings():
            # platformdirs warns at import when XDG_RUNTIME_DIR is unset (as under root).
            warnings.simplefilter("ignore")
            from pgserver.postgres_server import PostgresServer, get_server
        self.data_dir = Path(tempfile.mkdtemp(prefix="steward-pgvector-"))
        try:
            self._server: PostgresServer = get_server(self.data_dir, cleanup_mode="delete")
        except Exception as exc:
            log = self.data_dir / "log"
            tail = log.read_text()[-2000:] if log.exists() else "(no server log)"
            raise RuntimeError(
                f"pgserver could not start PostgreSQL with pgvector in {self.data_dir}: "
                f"{exc!r}. As root it needs `useradd` (to create the `pgserver` user). "
                f"Server log:\n{tail}"
            ) from exc
        # postgresql://postgres:@/postgres?host=<socket dir>
        self.admin_url = self._server.get_uri()

    def url(self, database: str) -> str:
        """The URL of `database`, as a user writes it (Edge picks psycopg 3 itself)."""
        return str(self._server.get_uri(database))

    def create_database(self, *, extension: bool = True) -> str:
        """A new empty database (with `CREATE EXTENSION vector` unless told not to)."""
        name = f"steward_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        if extension:
            with psycopg.connect(self.url(name), autocommit=True) as conn:
                conn.execute("CREATE EXTENSION vector")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop the database at `url`, closing whatever is still connected to it."""
        name = str(psycopg.conninfo.conninfo_to_dict(url)["dbname"])
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def stop(self) -> None:
        """Stop the server and delete its directory (idempotent)."""
        with contextlib.suppress(Exception):
            self._server.cleanup()


@functools.cache
def _shared() -> PgVectorServer:
    # Several test modules import the fixture below, and pytest gives each its own session
    # fixture: they share this one server.
    return PgVectorServer()


@pytest.fixture(scope="session")
def pgvector_server() -> Iterator[PgVectorServer]:
    """The session's PostgreSQL 16 with pgvector (pgserver)."""
    server = _shared()
    try:
        yield server
    finally:
        server.stop()  # at the end of the session; a second call does nothing
