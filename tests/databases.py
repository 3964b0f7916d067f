"""Which database a test's Edge runs on: the backend suites run once on SQLite and once on the
real PostgreSQL at 127.0.0.1:5432 (trust auth), each test in a database of its own.

- `database_url` (function scope, ids `sqlite` and `postgres`): on SQLite, Edge's usual file
  under the test's data dir (`<tmp_path>/data/edge.db`, what Edge resolves by itself); on
  PostgreSQL, a new database copied from a template migrated once per session (`CREATE
  DATABASE ... TEMPLATE`, a few tens of milliseconds instead of running every migration),
  dropped `WITH (FORCE)` after the test. The template sorts text linguistically (see
  `_LINGUISTIC`).
- `pytest_generate_tests` (hooked in tests/conftest.py) gives every test that uses
  `database_url`, directly or through `make_edge`/`edge`, both backends, except the tests
  `SQLITE_ONLY` lists with the reason. Those, and any test run with
  `STEWARD_TEST_DATABASES=sqlite`, get the SQLite one without a parameter.
- Names carry the pid and a random part (`steward_t<pid>_...`), so parallel runs never
  collide; databases left by a run that was killed are dropped by the next one.
- `query` and `execute` run SQL on either backend, for tests that look at or tamper with the
  database behind Edge's back.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.storage.db import Database

SERVER = "postgresql://postgres@127.0.0.1:5432"
BACKENDS = ("sqlite", "postgres")
START_HINT = (
    "Start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, "
    "or run only the SQLite variants with STEWARD_TEST_DATABASES=sqlite."
)
# Test databases sort text linguistically (ICU's en-US: case and punctuation weigh less than
# letters), as most servers are set up, unlike this machine's byte-order C.UTF-8 default:
# code that relied on byte order (ids, timestamps, cursors) fails here, not in production.
_LINGUISTIC = (
    "CREATE DATABASE {} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
)
_PREFIX = "steward_t"
_NAME = re.compile(rf"^{_PREFIX}(\d+)_[0-9a-f]+(_tpl)?$")

# Tests that run on SQLite only, by node id prefix, and why. Everything else that uses
# `database_url` runs on both backends.
SQLITE_ONLY: dict[str, str] = {
    "tests/postgres/": "PostgreSQL-only already; each test makes its own database (pg_url)",
    "tests/storage/test_db.py::test_migrate_creates_the_file_with_wal": "SQLite's own file "
    "and pragmas",
    "tests/reliability/": "faults of the SQLite file (a tiny tmpfs, BEGIN EXCLUSIVE from "
    "another process) and a hundred kill -9s over one file; Core faults, the fallback and "
    "the schema fuzzing (15 s; no 5xx on PostgreSQL either, run once by hand) do not depend "
    "on the store",
    "tests/agent/test_lanes_multiprocess.py": "several processes on one SQLite file (the "
    "PostgreSQL scale-out has its own suite)",
    "tests/memory/test_real_embeddings.py": "the real embedding model's quality (16 s more on "
    "PostgreSQL); memory on PostgreSQL is tests/memory/test_memory_api.py's",
    "tests/console/": "the browser drives the UI; the store behind it is covered below it",
    "tests/e2e/": "whole-system flows through `steward up` with its default store",
    "tests/security/": "HTTP authn/authz and host checks, independent of the store",
    "tests/properties/": "pure functions, no database",
}


def sqlite_only_reason(nodeid: str) -> str | None:
    """Why the test `nodeid` runs on SQLite only, or None if it runs on both."""
    for prefix, reason in SQLITE_ONLY.items():
        if nodeid.startswith(prefix):
            return reason
    return None


def backends_for(nodeid: str) -> tuple[str, ...]:
    """The backends a test that uses `database_url` runs on."""
    if os.environ.get("STEWARD_TEST_DATABASES", "").strip().lower() == "sqlite":
        return ("sqlite",)
    return ("sqlite",) if sqlite_only_reason(nodeid) else BACKENDS


def sqlite_url(data_dir: Path) -> str:
    """The SQLite URL Edge resolves for `data_dir` by itself."""
    return f"sqlite:///{(data_dir / 'edge.db').resolve()}"


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql", "postgres:"))


class PostgresServer:
    """Creates and drops test databases on the PostgreSQL at `SERVER`."""

    def __init__(self, server: str = SERVER):
        self.server = server
        self._template: str | None = None
        try:
            self._admin = psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as exc:
            raise RuntimeError(
                f"The PostgreSQL variants of the tests need a server at {server} (trust auth) "
                f"and could not connect:\n{str(exc).strip()}\n{START_HINT}"
            ) from exc
        self._drop_orphans()

    def url(self, name: str) -> str:
        """A URL as a user writes it (Edge picks psycopg 3 itself)."""
        return f"{self.server}/{name}"

    def _new_name(self, suffix: str = "") -> str:
        return f"{_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:12]}{suffix}"

    def _drop_orphans(self) -> None:
        """Drop test databases whose run is gone (killed before it could clean up): no
        process with its pid, and nobody connected."""
        names = self._admin.execute(
            "SELECT datname FROM pg_database d WHERE datname LIKE %s AND NOT EXISTS "
            "(SELECT 1 FROM pg_stat_activity a WHERE a.datid = d.oid)",
            (f"{_PREFIX}%",),
        ).fetchall()
        for (name,) in names:
            match = _NAME.match(name)
            if match and not Path(f"/proc/{match.group(1)}").exists():
                self._drop(name)

    def _drop(self, name: str) -> None:
        self._admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )

    def _migrated_template(self) -> str:
        if self._template is None:
            name = self._new_name("_tpl")
            try:
                self._admin.execute(sql.SQL(_LINGUISTIC).format(sql.Identifier(name)))
            except psycopg.Error:  # a server without ICU, or before 15: its own default
                self._admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            db = Database(self.url(name))
            try:
                db.migrate()
            finally:
                db.dispose()  # a template must have no open connection to be copied
            self._template = name
        return self._template

    def create(self, *, migrated: bool = True) -> str:
        """A new database (migrated to the newest revision, or empty); returns its URL."""
        name = self._new_name()
        if migrated:
            statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(self._migrated_template())
            )
        else:
            statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        self._admin.execute(statement)
        return self.url(name)

    def drop(self, url: str) -> None:
        """Drop the database at `url`, closing whatever is still connected to it."""
        self._drop(url.rsplit("/", 1)[1])

    def close(self) -> None:
        """Drop the template and close the admin connection."""
        if self._template is not None:
            self._drop(self._template)
            self._template = None
        self._admin.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The test PostgreSQL, connected on first use; fails every PostgreSQL variant with how
    to start it when it is unreachable."""
    server = PostgresServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of this test's Edge database (see the module docstring)."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        yield sqlite_url(tmp_path / "data")
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create()
    try:
        yield url
    finally:
        server.drop(url)


def generate_tests(metafunc: pytest.Metafunc) -> None:
    """`pytest_generate_tests`: both backends for `database_url`, unless SQLite-only."""
    if "database_url" not in metafunc.fixturenames:
        return
    backends = backends_for(metafunc.definition.nodeid)
    if len(backends) > 1:
        metafunc.parametrize("database_url", backends, indirect=True, ids=backends)


def cli_env(url: str) -> dict[str, str | None]:
    """The environment in which `steward` commands given `--data-dir <tmp_path>/data` open
    the database at `url`: none on SQLite, where the data dir names it, as an operator
    runs them; `DATABASE_URL` on PostgreSQL."""
    if is_postgres(url):
        return {"DATABASE_URL": url, "STEWARD_DATABASE_URL": None}
    return {"DATABASE_URL": None, "STEWARD_DATABASE_URL": None}


def query(url: str, statement: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows of `statement` (`:name` parameters) on the database at `url`."""
    db = Database(url)
    try:
        with db.read() as s:
            return [tuple(row) for row in s.execute(text(statement), params)]
    finally:
        db.dispose()


def execute(url: str, *statements: tuple[str, dict[str, Any]], unguarded: bool = False) -> None:
    """Run `statements` (SQL with `:name` parameters, and the parameters) in one
    transaction on the database at `url`, bypassing Edge. With `unguarded`, the ledger's
    append-only triggers are dropped first: what someone holding the database could do."""
    db = Database(url)
    try:
        with db.write() as s:
            if unguarded:
                drop_ledger_guard(s)
            for statement, params in statements:
                s.execute(text(statement), params)
    finally:
        db.dispose()


def drop_ledger_guard(session: Session) -> None:
    """Drop the triggers that keep `ledger_events` append-only, in `session`'s transaction."""
    if session.get_bind().dialect.name == "postgresql":
        for trigger in ("ledger_events_no_update", "ledger_events_no_truncate"):
            session.execute(text(f"DROP TRIGGER IF EXISTS {trigger} ON ledger_events"))
        return
    for trigger in ("ledger_events_no_update", "ledger_events_no_delete"):
        session.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
