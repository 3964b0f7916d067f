"""Fixtures for Edge: a real Core (mock backend) and real Edge servers on loopback, each
test's Edge on its own database: the SQLite file under tmp_path, or a fresh PostgreSQL
database (`database_url`, tests/databases.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.agent.api import create_app as create_edge
from backend.settings import EdgeSettings
from core.api import create_app as create_core
from core.settings import CoreSettings
from tests.databases import is_postgres
from tests.servers import serve

OWNER_TOKEN = "stw_test-owner-token-000000000000000000"

EdgeFactory = Callable[..., AbstractContextManager[httpx.Client]]


@pytest.fixture(scope="session")
def core_url() -> Iterator[str]:
    """A real Core on the mock backend, shared by the session."""
    with serve(create_core(CoreSettings(backend="mock"))) as url:
        yield url


def edge_settings(data_dir: Path, core: str, **overrides: Any) -> EdgeSettings:
    """Settings for a test Edge: its own data dir, the given Core, a known owner token."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": None,
        "core_base_url": core,
        "owner_token": OWNER_TOKEN,
        "poll_interval_s": 0.1,
        **overrides,
    }
    return EdgeSettings(**values)


@pytest.fixture
def make_edge(tmp_path: Path, core_url: str, database_url: str) -> EdgeFactory:
    """`with make_edge(**settings) as client:` a real Edge on the test's database; the client
    carries the owner token. On SQLite that is the file Edge resolves in its data dir
    (`database_url` names it for the default one, `tmp_path / "data"`)."""

    @contextmanager
    def factory(**overrides: Any) -> Iterator[httpx.Client]:
        core = overrides.pop("core_base_url", core_url)
        data_dir = overrides.pop("data_dir", tmp_path / "data")
        overrides.setdefault("database_url", database_url if is_postgres(database_url) else None)
        with running_edge(edge_settings(data_dir, core, **overrides)) as client:
            yield client

    return factory


@contextmanager
def running_edge(settings: EdgeSettings) -> Iterator[httpx.Client]:
    """A real Edge with `settings` on a loopback port, and a client carrying the owner token."""
    with (
        serve(create_edge(settings)) as url,
        httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {OWNER_TOKEN}"}, timeout=30
        ) as client,
    ):
        yield client


@pytest.fixture
def edge(make_edge: EdgeFactory) -> Iterator[httpx.Client]:
    """A real Edge with default settings, as the owner."""
    with make_edge() as client:
        yield client
