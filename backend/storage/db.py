"""Engines, sessions and migrations.

SQLite: WAL journal, foreign keys on, a busy timeout, and every write transaction opened
with `BEGIN IMMEDIATE`, so writers queue for the lock up front instead of failing on a lock
upgrade; reads use a second engine with deferred transactions, which WAL lets run beside a
writer. PostgreSQL: one pool for both, writes READ COMMITTED and reads REPEATABLE READ (one
snapshot per read session), `lock_timeout` set to the busy timeout. A write transaction
there takes the ledger head's row lock as its first statement, so write transactions
serialise exactly as under SQLite's `BEGIN IMMEDIATE` (every write appends to the one hash
chain anyway, whose head each append locks) and each of their statements sees every
earlier commit; read-then-write code is therefore race-free on both. Only lease renewals
pass `serial=False`: they update rows of running tasks and append nothing. Anything that
appends must not take a row lock before the head: a writer holding the head and waiting
for that row would deadlock with it (PostgreSQL's row locks, even those `FOR UPDATE SKIP
LOCKED` takes on a row it then rejects, last until commit). Migrations (Alembic) run at
start, serialised by an advisory lock on PostgreSQL so several processes may start at
once. A full disk or a lock held past the busy timeout leaves a session as `StorageFull` /
`StorageBusy` (backend.storage.faults), after the transaction rolled back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from backend.storage.faults import StorageFaults

MIGRATIONS = Path(__file__).parent / "migrations"
# Ledger events appended in a session wait under this key until the transaction commits.
PENDING_EVENTS = "ledger_appended"
CommitListener = Callable[[list[Any]], None]
# Called inside the transaction, just before it commits, with the events it appended.
PrecommitListener = Callable[[Session, list[Any]], None]
_MIGRATION_LOCK = 7_355_608
_SERIALISE = text("SELECT seq FROM ledger_head WHERE id = 1 FOR UPDATE")


def _sqlite_engine(url: str, *, immediate: bool, busy_timeout_s: float) -> Engine:
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_s},
        pool_size=10,
        max_overflow=30,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy's "begin" event opens transactions
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _postgres_engine(url: str, *, lock_timeout_s: float) -> Engine:
    engine = create_engine(url, pool_size=10, max_overflow=30, pool_pre_ping=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _: Any) -> None:
        # A lock held elsewhere past the busy timeout fails the statement (StorageBusy)
        # instead of stalling the request forever.
        with dbapi_conn.cursor() as cur:
            cur.execute(f"SET lock_timeout = '{int(lock_timeout_s * 1000)}ms'")
        dbapi_conn.commit()

    return engine


class Database:
    """Edge's store: a writer and a reader session factory over one database."""

    def __init__(self, url: str, *, busy_timeout_s: float = 30.0):
        parsed = make_url(url)
        if parsed.drivername in ("postgresql", "postgres"):
            # `postgresql://...` as users write it: psycopg 3, the driver Steward ships.
            parsed = parsed.set(drivername="postgresql+psycopg")
            url = parsed.render_as_string(hide_password=False)
        self.url = url
        self.faults = StorageFaults(url, busy_timeout_s)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.writer = _sqlite_engine(url, immediate=True, busy_timeout_s=busy_timeout_s)
            self.reader = _sqlite_engine(url, immediate=False, busy_timeout_s=busy_timeout_s)
        else:
            self.writer = _postgres_engine(url, lock_timeout_s=busy_timeout_s)
            # One snapshot per read session, as SQLite's read transactions give (READ
            # COMMITTED would show each statement a newer one).
            self.reader = self.writer.execution_options(isolation_level="REPEATABLE READ")
        self._write = sessionmaker(self.writer, expire_on_commit=False)
        self._read = sessionmaker(self.reader, expire_on_commit=False)
        self._listeners: list[CommitListener] = []
        self._precommit: list[PrecommitListener] = []
        event.listen(self._write, "before_commit", self._before_commit)
        event.listen(self._write, "after_commit", self._after_commit)
        event.listen(self._write, "after_rollback", self._after_rollback)

    def on_commit(self, listener: CommitListener) -> None:
        """Call `listener(events)` after each commit that appended ledger events; it runs on
        the committing thread, so it must be thread-safe and quick."""
        self._listeners.append(listener)

    def before_commit(self, listener: PrecommitListener) -> None:
        """Call `listener(session, events)` inside each transaction that appended ledger
        events, just before it commits (what it writes commits with them)."""
        self._precommit.append(listener)

    def _before_commit(self, session: Session) -> None:
        events = session.info.get(PENDING_EVENTS)
        if events:
            for listener in self._precommit:
                listener(session, events)

    def _after_commit(self, session: Session) -> None:
        events = session.info.pop(PENDING_EVENTS, None)
        if events:
            for listener in self._listeners:
                listener(events)

    @staticmethod
    def _after_rollback(session: Session) -> None:
        session.info.pop(PENDING_EVENTS, None)

    @contextmanager
    def write(self, *, serial: bool = True) -> Iterator[Session]:
        """A session in one write transaction: committed on success, rolled back on error.
        The transaction and its write lock (SQLite's, or the ledger head's row on
        PostgreSQL) start here, so times taken inside the block are ordered like the
        commits. `serial=False` (PostgreSQL only) skips the head lock, for code that only
        updates rows it locks itself and appends nothing."""
        with self.faults.translated(), self._write.begin() as session:
            connection = session.connection()
            if serial and self.dialect == "postgresql":
                connection.execute(_SERIALISE)
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads (a consistent snapshot for its duration)."""
        with self.faults.translated(), self._read.begin() as session:
            yield session

    def migrate(self) -> None:
        """Bring the schema to the newest revision."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.writer.begin() as conn:
            if self.dialect == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()
