"""Fixtures for memory: an Edge (mock Core, lexical embeddings) seen by its owner and a
member, and helpers to write and query."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.agent.conftest import EdgeFactory
from tests.approvals.conftest import add_member


@dataclass
class Memory:
    """An Edge's memory API as its owner and a member use it."""

    owner: httpx.Client
    member: httpx.Client
    member_id: str
    data_dir: Path
    database_url: str

    def write(self, text: str, client: httpx.Client | None = None, **kw: Any) -> httpx.Response:
        return (client or self.owner).post("/v1/memory/write", json={"text": text, **kw})

    def query(
        self, text: str, top_k: int = 3, client: httpx.Client | None = None, **kw: Any
    ) -> list[dict[str, Any]]:
        r = (client or self.owner).post(
            "/v1/memory/query", json={"text": text, "top_k": top_k, **kw}
        )
        assert r.status_code == 200, r.text
        data: list[dict[str, Any]] = r.json()["data"]
        return data

    def texts(self, text: str, top_k: int = 3, **kw: Any) -> list[str]:
        return [x["text"] for x in self.query(text, top_k, **kw)]

    def candidates(self, client: httpx.Client | None = None, **params: Any) -> list[dict[str, Any]]:
        r = (client or self.owner).get("/v1/memory/candidates", params=params)
        assert r.status_code == 200, r.text
        data: list[dict[str, Any]] = r.json()["data"]
        return data

    def items(self, client: httpx.Client | None = None, **params: Any) -> list[dict[str, Any]]:
        r = (client or self.owner).get("/v1/memory/items", params={"limit": 1000, **params})
        assert r.status_code == 200, r.text
        data: list[dict[str, Any]] = r.json()["data"]
        return data


@pytest.fixture
def memory(make_edge: EdgeFactory, tmp_path: Path, database_url: str) -> Iterator[Memory]:
    data_dir = tmp_path / "data"
    with make_edge(data_dir=data_dir) as owner:
        member_id, token = add_member(database_url)
        with httpx.Client(
            base_url=owner.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as member:
            yield Memory(owner, member, member_id, data_dir, database_url)
