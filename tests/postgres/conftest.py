"""The real PostgreSQL at 127.0.0.1:5432 (trust auth), one fresh database per test
(tests/databases.py makes and drops them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.databases import PostgresServer


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a new, empty database (no migrations run), dropped after the test."""
    url = postgres_server.create(migrated=False)
    try:
        yield url
    finally:
        postgres_server.drop(url)
