"""Fixtures for tools and approvals: an Edge whose webhook is a recording server, and a
member user."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from backend.auth.store import UserStore
from backend.ledger.store import LedgerStore
from backend.storage.db import Database
from tests.agent.conftest import EdgeFactory
from tests.fakes.webhook import Webhook, webhook


@dataclass
class World:
    """An Edge as seen by its owner and a member, and the outside world."""

    owner: httpx.Client
    member: httpx.Client
    member_id: str
    hook: Webhook
    data_dir: Path
    database_url: str


def add_member(database_url: str, name: str = "mia") -> tuple[str, str]:
    """Create a member in an Edge's database; returns (user id, token)."""
    db = Database(database_url)
    try:
        with db.write() as s:
            principal, token = UserStore(LedgerStore()).create(s, name, "member")
    finally:
        db.dispose()
    return principal.user_id, token


@pytest.fixture
def world(make_edge: EdgeFactory, tmp_path: Path, database_url: str) -> Iterator[World]:
    data_dir = tmp_path / "data"
    with webhook() as hook, make_edge(webhook_url=hook.url, data_dir=data_dir) as owner:
        member_id, token = add_member(database_url)
        with httpx.Client(
            base_url=owner.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as member:
            yield World(owner, member, member_id, hook, data_dir, database_url)
