"""Fixtures: a fake upstream and real Core servers in front of it (normal, impatient,
and one whose upstream is down)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from openai import AsyncOpenAI, OpenAI

from core.api import create_app
from tests.core.fake_upstream import (
    FakeUpstream,
)
from tests.core.upstream.helpers import core_settings, openai_client
from tests.servers import free_port, serve


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeUpstream]:
    fake = FakeUpstream()
    with serve(fake.app) as url:
        fake.url = url
        yield fake


@pytest.fixture
def upstream(fake_server: FakeUpstream) -> Iterator[FakeUpstream]:
    """The shared fake upstream, clean for this test (every gate opened afterwards)."""
    fake_server.reset()
    yield fake_server
    fake_server.reset()


@pytest.fixture(scope="module")
def core_url(fake_server: FakeUpstream) -> Iterator[str]:
    with serve(create_app(core_settings(fake_server.url))) as url:
        yield url


@pytest.fixture(scope="module")
def impatient_core_url(fake_server: FakeUpstream) -> Iterator[str]:
    """A Core that waits at most 0.3 s for the upstream."""
    with serve(create_app(core_settings(fake_server.url, upstream_timeout_s=0.3))) as url:
        yield url


@pytest.fixture(scope="module")
def down_core_url() -> Iterator[tuple[str, str]]:
    """(Core URL, upstream URL) of a Core whose upstream port has nothing listening."""
    dead = f"http://127.0.0.1:{free_port()}"
    with serve(create_app(core_settings(dead, upstream_models=["m1"]))) as url:
        yield url, dead


@pytest.fixture
def client(core_url: str) -> Iterator[OpenAI]:
    with openai_client(core_url) as c:
        yield c


@pytest.fixture
async def aclient(core_url: str) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(
        base_url=core_url + "/v1", api_key="client-key", max_retries=0, timeout=5.0
    ) as c:
        yield c
