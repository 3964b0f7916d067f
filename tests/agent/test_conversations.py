"""GET /v1/conversations: the caller's conversations, most recently active first, paginated;
a member sees only their own, the owner every one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.agent.conftest import EdgeFactory
from tests.agent.polling import send, wait_task
from tests.approvals.conftest import add_member


@pytest.fixture
def owner_and_member(
    make_edge: EdgeFactory, database_url: str
) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    with make_edge() as owner:
        _, token = add_member(database_url)
        with httpx.Client(
            base_url=owner.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as member:
            yield owner, member


def _all(client: httpx.Client, limit: int = 50) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        r = client.get("/v1/conversations", params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["data"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def test_lists_conversations_most_recently_active_first(edge: httpx.Client) -> None:
    first = send(edge, "Plan my week, please")
    second = send(edge, "What's the weather like?")
    wait_task(edge, second["task_id"])
    # A new message makes the first conversation the most recently active one.
    again = send(edge, "And the weekend too", first["conversation_id"])
    wait_task(edge, again["task_id"])
    items = _all(edge)
    assert [c["id"] for c in items] == [first["conversation_id"], second["conversation_id"]]
    top = items[0]
    assert set(top) == {"id", "title", "created_at", "updated_at"}
    assert top["title"] == "Plan my week, please"
    assert top["created_at"] < top["updated_at"]
    assert items[1]["updated_at"] <= top["updated_at"]


def test_pages_cover_every_conversation_once(edge: httpx.Client) -> None:
    ids = [send(edge, f"Conversation number {i}")["conversation_id"] for i in range(7)]
    r = edge.get("/v1/conversations", params={"limit": 3})
    page = r.json()
    assert len(page["data"]) == 3
    assert page["next_cursor"]
    paged = [c["id"] for c in _all(edge, limit=3)]
    assert paged == [c["id"] for c in _all(edge, limit=500)]
    assert sorted(paged) == sorted(ids)
    assert paged[0] == ids[-1]


def test_member_sees_only_their_own_and_owner_sees_all(
    owner_and_member: tuple[httpx.Client, httpx.Client],
) -> None:
    owner, member = owner_and_member
    mine = send(owner, "The owner's own conversation")["conversation_id"]
    theirs = send(member, "The member's conversation")["conversation_id"]
    assert [c["id"] for c in _all(member)] == [theirs]
    assert {c["id"] for c in _all(owner)} == {mine, theirs}


def test_a_cursor_this_api_never_made_is_refused(edge: httpx.Client) -> None:
    r = edge.get("/v1/conversations", params={"cursor": "garbage"})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "bad_cursor"
    assert edge.get("/v1/conversations", params={"limit": 0}).status_code == 422


def test_an_empty_list_is_an_empty_page(edge: httpx.Client) -> None:
    assert edge.get("/v1/conversations").json() == {"data": [], "next_cursor": None}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}])
def test_conversations_need_a_token(edge: httpx.Client, headers: dict[str, str]) -> None:
    r = httpx.get(str(edge.base_url) + "/v1/conversations", headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
