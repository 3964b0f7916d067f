"""Memory on pgvector: Edge on a PostgreSQL database with the extension keeps its vectors in a
table there (`STEWARD_MEMORY_INDEX=auto`, the default), shared by its processes; where the
extension cannot be used, `auto` keeps the embedded index and `pgvector` refuses to start,
saying how to fix it.

The PostgreSQL with pgvector is pgserver's (`pgvector_server.py`); the one without it is the
system PostgreSQL 15 at 127.0.0.1:5432 that the PostgreSQL suite uses.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg
import pytest
from psycopg import sql

from backend.memory.index_pgvector import PgVectorIndex, PgVectorUnavailable
from backend.memory.vectors import embedded_index, index_factory
from backend.settings import EdgeSettings
from backend.storage.db import Database
from tests.agent.conftest import edge_settings, running_edge
from tests.memory.pgvector_server import PgVectorServer, pgvector_server

__all__ = ["pgvector_server"]

SYSTEM_POSTGRES = "postgresql://postgres@127.0.0.1:5432"

FACTS = [
    "The spare key is under the blue flowerpot.",
    "The boiler was serviced in March.",
    "Ann feeds the fish on Fridays.",
]


@contextmanager
def edge_on(url: str, data_dir: Path, core_url: str, **overrides: Any) -> Iterator[httpx.Client]:
    """A real Edge on the database at `url`, as its owner."""
    with running_edge(edge_settings(data_dir, core_url, database_url=url, **overrides)) as client:
        yield client


def rows(url: str, query: str | sql.Composed) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        statement = query if isinstance(query, sql.Composed) else query.encode()
        return conn.execute(statement).fetchall()


def vector_tables(url: str) -> list[str]:
    found = rows(
        url,
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_name LIKE 'memory\\_vectors\\_%' ORDER BY 1",
    )
    return [name for (name,) in found]


def table_keys(url: str, table: str) -> set[int]:
    query = sql.SQL("SELECT key FROM {}").format(sql.Identifier(table))
    return {key for (key,) in rows(url, query)}


def active_keys(url: str) -> set[int]:
    return {key for (key,) in rows(url, "SELECT key FROM memory_items WHERE status = 'active'")}


@pytest.fixture
def pgvector_url(pgvector_server: PgVectorServer) -> Iterator[str]:
    """A new database on the pgvector server, without the extension created yet."""
    url = pgvector_server.create_database(extension=False)
    try:
        yield url
    finally:
        pgvector_server.drop_database(url)


def test_edge_keeps_memory_in_a_pgvector_table(
    pgvector_url: str, tmp_path: Path, core_url: str
) -> None:
    with edge_on(pgvector_url, tmp_path / "a", core_url) as owner:
        for fact in FACTS:
            r = owner.post("/v1/memory/write", json={"text": fact})
            assert r.status_code == 201, r.text
        found = owner.post("/v1/memory/query", json={"text": "where is the spare key?"}).json()
        assert found["data"][0]["text"] == FACTS[0]
    [table] = vector_tables(pgvector_url)  # `auto` created the extension and one table
    keys = active_keys(pgvector_url)
    assert len(keys) == len(FACTS)
    assert table_keys(pgvector_url, table) == keys
    # A second process finds them in the same table, re-adding nothing; a deletion there
    # takes the vector out of the table for every process.
    with edge_on(pgvector_url, tmp_path / "b", core_url, memory_index="pgvector") as other:
        found = other.post("/v1/memory/query", json={"text": "who feeds the fish"}).json()
        assert found["data"][0]["text"] == FACTS[2]
        boiler = next(x for x in found["data"] if x["text"] == FACTS[1])
        r = other.delete(f"/v1/memory/items/{boiler['memory_id']}")
        assert r.status_code == 200, r.text
        assert vector_tables(pgvector_url) == [table]
        assert table_keys(pgvector_url, table) == active_keys(pgvector_url)
        assert len(active_keys(pgvector_url)) == len(FACTS) - 1
        found = other.post("/v1/memory/query", json={"text": "boiler serviced"}).json()
        assert FACTS[1] not in [x["text"] for x in found["data"]]


def test_auto_uses_pgvector_when_the_extension_can_be_created(pgvector_url: str) -> None:
    db = Database(pgvector_url)
    try:
        factory = index_factory(db, EdgeSettings(memory_index="auto"))
        index = factory("all-MiniLM-L6-v2", 384)
        assert isinstance(index, PgVectorIndex)
        assert vector_tables(pgvector_url) == [index.table]
    finally:
        db.dispose()


def test_searches_go_through_the_hnsw_index(pgvector_url: str) -> None:
    # Guards the contract test: its pgvector runs must exercise the graph, not a full scan.
    db = Database(pgvector_url)
    try:
        index = index_factory(db, EdgeSettings(memory_index="pgvector"))("m", 8)
        assert isinstance(index, PgVectorIndex)
        index.add(range(50), np.random.default_rng(0).standard_normal((50, 8)))
        explain = sql.SQL(
            "EXPLAIN SELECT key FROM {} ORDER BY embedding <=> CAST({} AS vector) LIMIT 10"
        ).format(sql.Identifier(index.table), sql.Literal("[" + ",".join(["0.5"] * 8) + "]"))
        plan = [line for (line,) in rows(pgvector_url, explain)]
        assert any(f"Index Scan using {index.table}_hnsw" in line for line in plan), plan
        assert index.search(np.ones(8), 3)[0][0] in range(50)
    finally:
        db.dispose()


@pytest.fixture
def unprivileged_url(pgvector_server: PgVectorServer) -> Iterator[str]:
    """A database owned by a role that is not a superuser, without the extension: pgvector
    0.6 is not a trusted extension, so that role may not create it."""
    role = f"app_{uuid.uuid4().hex[:8]}"
    url = pgvector_server.create_database(extension=False)
    name = url.split("?")[0].rsplit("/", 1)[1]
    with psycopg.connect(pgvector_server.admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        admin.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(name), sql.Identifier(role)
            )
        )
    try:
        yield url.replace("postgresql://postgres:@", f"postgresql://{role}@", 1)
    finally:
        pgvector_server.drop_database(url)
        with psycopg.connect(pgvector_server.admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_a_role_that_cannot_create_the_extension_is_told_who_can(unprivileged_url: str) -> None:
    db = Database(unprivileged_url)
    try:
        assert index_factory(db, EdgeSettings(memory_index="auto")) is embedded_index
        with pytest.raises(
            PgVectorUnavailable, match=r"a superuser runs `CREATE EXTENSION vector;`"
        ):
            index_factory(db, EdgeSettings(memory_index="pgvector"))
    finally:
        db.dispose()


@pytest.fixture
def postgres_without_pgvector() -> Iterator[str]:
    """A new database on the system PostgreSQL 15, which has no pgvector installed."""
    name = f"steward_nopgv_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(f"{SYSTEM_POSTGRES}/postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise RuntimeError(
            f"This test needs the system PostgreSQL at {SYSTEM_POSTGRES} (trust auth), as the "
            f"PostgreSQL suite does: {exc}. Start it with `pg_ctlcluster "
            "--skip-systemctl-redirect $(ls /etc/postgresql) main start`."
        ) from exc
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield f"{SYSTEM_POSTGRES}/{name}"
        finally:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def test_pgvector_without_the_extension_fails_saying_how_to_install_it(
    postgres_without_pgvector: str,
) -> None:
    db = Database(postgres_without_pgvector)
    try:
        major = rows(postgres_without_pgvector, "SHOW server_version_num")[0][0][:2]
        assert index_factory(db, EdgeSettings(memory_index="auto")) is embedded_index
        with pytest.raises(PgVectorUnavailable) as raised:
            index_factory(db, EdgeSettings(memory_index="pgvector"))
        message = str(raised.value)
        assert "has no pgvector extension" in message
        assert f"apt install postgresql-{major}-pgvector" in message
        assert "STEWARD_MEMORY_INDEX" in message
    finally:
        db.dispose()


def test_pgvector_on_sqlite_fails_and_auto_stays_embedded(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'edge.db'}")
    try:
        assert index_factory(db, EdgeSettings(memory_index="auto")) is embedded_index
        with pytest.raises(PgVectorUnavailable, match="needs PostgreSQL"):
            index_factory(db, EdgeSettings(memory_index="pgvector"))
    finally:
        db.dispose()
