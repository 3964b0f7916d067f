"""Fixtures shared by every test package: a real Core and real Edge servers on loopback, on
SQLite and on the real PostgreSQL (tests/databases.py)."""

import pytest

from tests.agent.conftest import core_url, edge, make_edge
from tests.databases import database_url, generate_tests, postgres_server

__all__ = ["core_url", "database_url", "edge", "make_edge", "postgres_server"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    generate_tests(metafunc)
