"""The embeddings client: Core's `/v1/embeddings`, cached in the database by (served model,
content hash)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import httpx
import numpy as np
import pytest
from sqlalchemy import select

from backend.core_client import CoreClient
from backend.memory.embeddings import EmbeddingClient, content_hash
from backend.storage.db import Database
from backend.storage.models import EmbeddingCacheEntry
from core.api import create_app as create_core
from core.settings import CoreSettings


class Counting(httpx.AsyncBaseTransport):
    """Passes requests to Core in-process, counting the texts sent to be embedded."""

    def __init__(self, inner: httpx.AsyncBaseTransport):
        self.inner = inner
        self.embedded: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/embeddings"):
            self.embedded += json.loads(request.content)["input"]
        return await self.inner.handle_async_request(request)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
async def transport() -> AsyncIterator[Counting]:
    app = create_core(CoreSettings(backend="mock"))
    async with app.router.lifespan_context(app):
        yield Counting(httpx.ASGITransport(app=app))


async def test_a_text_is_embedded_once_and_then_read_from_the_database(
    db: Database, transport: Counting
) -> None:
    async with CoreClient("http://127.0.0.1", transport=transport) as core:
        first = await EmbeddingClient(db, core).embed(["the garden hose", "the boiler"])
        assert first.model == "mock"  # the served model, not the alias asked for
        assert transport.embedded == ["the garden hose", "the boiler"]
        again = EmbeddingClient(db, core)  # a new process: learns the model from Core once
        await again.embed(["the garden hose"])
        transport.embedded.clear()
        second = await again.embed(["the boiler", "the garden hose", "the shed"])
        assert transport.embedded == ["the shed"]
        assert np.allclose(second.vectors[0], first.vectors[1])
        assert np.allclose(np.linalg.norm(second.vectors, axis=1), 1.0, atol=1e-5)
    with db.read() as s:
        keys = set(s.scalars(select(EmbeddingCacheEntry.content_sha256)))
        models = set(s.scalars(select(EmbeddingCacheEntry.model)))
    assert keys == {content_hash(t) for t in ("the garden hose", "the boiler", "the shed")}
    assert models == {"mock"}


async def test_no_texts_means_no_call(db: Database, transport: Counting) -> None:
    async with CoreClient("http://127.0.0.1", transport=transport) as core:
        result = await EmbeddingClient(db, core).embed([])
    assert result.hashes == []
    assert transport.embedded == []
