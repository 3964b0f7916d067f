"""Roles and object-level access: a member sees only their own things; only the owner
decides. Every route that takes an id is checked."""

from __future__ import annotations

from tests.agent.polling import send, wait_task
from tests.approvals.conftest import World


def test_member_sees_only_their_own(world: World) -> None:
    owners = send(world.owner, "owner's private question")
    wait_task(world.owner, owners["task_id"])
    mine = send(world.member, "member's question")
    wait_task(world.member, mine["task_id"])
    held = world.owner.post(
        "/v1/tools:execute", json={"tool": "send_message", "args": {"to": "a", "text": "b"}}
    ).json()
    tid, cid = owners["task_id"], owners["conversation_id"]
    for path in (
        f"/v1/agent/tasks/{tid}",
        f"/v1/agent/tasks/{tid}/events",
        f"/v1/audit/conversations/{cid}/timeline",
        f"/v1/approvals/{held['approval_id']}",
        f"/v1/tool-calls/{held['tool_call_id']}",
    ):
        r = world.member.get(path)
        assert r.status_code == 404, path
    assert world.member.post(f"/v1/agent/tasks/{tid}:cancel").status_code == 404
    posted = world.member.post("/v1/agent/messages", json={"text": "sneak", "conversation_id": cid})
    assert posted.status_code == 404
    listed = {t["task_id"] for t in world.member.get("/v1/agent/tasks").json()["data"]}
    assert listed == {mine["task_id"]}
    assert world.member.get("/v1/approvals").json()["data"] == []
    # the owner sees everything
    assert world.owner.get(f"/v1/agent/tasks/{mine['task_id']}").status_code == 200
    assert len(world.owner.get("/v1/agent/tasks").json()["data"]) == 2


def test_only_the_owner_decides_and_rescans(world: World) -> None:
    held = world.member.post(
        "/v1/tools:execute", json={"tool": "send_message", "args": {"to": "a", "text": "b"}}
    ).json()
    for action in (":approve", ":reject"):
        r = world.member.post(f"/v1/approvals/{held['approval_id']}{action}")
        assert r.status_code == 403
        assert r.json()["code"] == "owner_only"
    assert world.member.post("/v1/tools:rescan").status_code == 403
    assert world.hook.count() == 0


def test_a_role_header_is_never_trusted(world: World) -> None:
    held = world.member.post(
        "/v1/tools:execute", json={"tool": "send_message", "args": {"to": "a", "text": "b"}}
    ).json()
    r = world.member.post(
        f"/v1/approvals/{held['approval_id']}:approve",
        headers={"X-Role": "owner", "X-Steward-Role": "owner"},
    )
    assert r.status_code == 403


def test_owner_adds_users_and_their_tokens_work(world: World) -> None:
    r = world.owner.post("/v1/users", json={"name": "sam"})
    assert r.status_code == 201
    created = r.json()
    assert created["role"] == "member"
    assert created["token"].startswith("stw_")
    me = world.owner.get("/v1/me", headers={"Authorization": f"Bearer {created['token']}"})
    assert me.json() == {"user_id": created["user_id"], "name": "sam", "role": "member"}
    assert world.owner.post("/v1/users", json={"name": "sam"}).status_code == 409
    assert world.owner.post("/v1/users", json={"name": "bad name!"}).status_code == 422
    assert world.owner.post("/v1/users", json={"name": "x", "role": "admin"}).status_code == 422
    assert world.member.post("/v1/users", json={"name": "eve"}).status_code == 403
    assert world.member.get("/v1/users").status_code == 403
    names = {u["name"] for u in world.owner.get("/v1/users").json()["data"]}
    assert names == {"owner", "mia", "sam"}
    assert "token" not in world.owner.get("/v1/users").text
