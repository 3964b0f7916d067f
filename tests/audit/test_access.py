"""Who may render what, and which requests are refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.approvals.conftest import World
from tests.audit.rendering import render, report, run


def _problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["code"] == code
    return body


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"task_id": "task_nope"}, "task_not_found"),
        ({"conversation_id": "conv_nope"}, "conversation_not_found"),
        ({"task_id": "task_nope", "format": "html"}, "task_not_found"),
    ],
)
def test_unknown_ids_are_404(edge: httpx.Client, body: dict[str, Any], code: str) -> None:
    _problem(render(edge, **body), 404, code)


def test_member_cannot_render_the_owners_work_but_can_render_their_own(world: World) -> None:
    owners = run(world.owner, "the owner's private question")
    members = run(world.member, "the member's question")

    denied = render(world.member, task_id=owners["task_id"])
    unknown = render(world.member, task_id="task_00000000000000000000")
    assert _problem(denied, 404, "task_not_found")["detail"].startswith("No task")
    assert denied.json()["title"] == unknown.json()["title"]
    _problem(
        render(world.member, conversation_id=owners["conversation_id"]),
        404,
        "conversation_not_found",
    )
    _problem(render(world.member, task_id=owners["task_id"], format="html"), 404, "task_not_found")

    mine = report(world.member, task_id=members["task_id"])
    assert mine["task"]["input"]["by"] == {"id": world.member_id, "role": "member"}
    assert report(world.member, conversation_id=members["conversation_id"])["tasks"]
    # The owner may render anyone's.
    assert report(world.owner, task_id=members["task_id"]) == mine


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"format": "json"},
        {"task_id": "task_a", "conversation_id": "conv_a"},
        {"task_id": "task_a", "format": "pdf"},
        {"task_id": "task_a", "extra": 1},
        {"task_id": ""},
        {"task_id": 5},
    ],
)
def test_bad_bodies_are_422(edge: httpx.Client, body: dict[str, Any]) -> None:
    _problem(edge.post("/v1/audit/render", json=body), 422, "validation_failed")


def test_render_needs_a_valid_token(edge: httpx.Client) -> None:
    """As tests/auth checks for the other routes: no token, no report, whatever the body."""
    url = str(edge.base_url) + "/v1/audit/render"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        for body in ({"task_id": "t"}, {"text": "x"}):
            r = httpx.post(url, headers=headers, json=body)
            assert r.status_code == 401, r.text
            assert r.headers["content-type"] == "application/problem+json"
            assert r.headers["www-authenticate"] == "Bearer"
