"""POST /v1/tools:execute under the policy: read_only at once, local_write at once for the
owner only, external_write always held; schema violations listed; exactly once per id."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.approvals.conftest import World
from tests.databases import query


def _execute(client: httpx.Client, tool: str, args: dict[str, Any], **extra: Any) -> httpx.Response:
    return client.post("/v1/tools:execute", json={"tool": tool, "args": args, **extra})


def test_tools_are_listed_with_risk_schema_and_source(world: World) -> None:
    tools = {t["name"]: t for t in world.owner.get("/v1/tools").json()["data"]}
    expected = {
        "web_search": "read_only",
        "get_time": "read_only",
        "calculator": "read_only",
        "notes_write": "local_write",
        "send_message": "external_write",
        "http_post": "external_write",
    }
    for name, risk in expected.items():
        assert tools[name]["risk"] == risk
        assert tools[name]["source"] == "builtin"
        assert tools[name]["schema"]["type"] == "object"
    assert "offline" in tools["web_search"]["description"].lower()
    assert tools["calculator"]["schema"]["required"] == ["expression"]
    rows = query(world.database_url, "SELECT name, risk FROM tools_registry")
    assert dict(rows)["send_message"] == "external_write"


def test_read_only_runs_at_once(world: World) -> None:
    r = _execute(world.member, "calculator", {"expression": "2 * (3 + 4)"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "completed"
    assert body["result"]["result"] == 14


def test_schema_violations_are_listed(world: World) -> None:
    r = _execute(world.owner, "notes_write", {"path": 5})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["code"] == "invalid_arguments"
    fields = {e["field"] for e in problem["errors"]}
    assert {"path", "content"} <= fields


def test_unknown_tool_is_404(world: World) -> None:
    r = _execute(world.owner, "format_disk", {})
    assert r.status_code == 404
    assert r.json()["code"] == "tool_not_found"


def test_external_write_waits_for_the_owner_and_runs_once(world: World) -> None:
    r = _execute(world.owner, "send_message", {"to": "friend", "text": "hello"})
    assert r.status_code == 202, r.text
    held = r.json()
    assert held["status"] == "pending_approval"
    approval_id = held["approval_id"]
    assert world.hook.count() == 0
    pending = world.owner.get("/v1/approvals", params={"status": "pending"}).json()["data"]
    assert [a["approval_id"] for a in pending] == [approval_id]
    assert pending[0]["tool"] == "send_message"
    refused = world.member.post(f"/v1/approvals/{approval_id}:approve")
    assert refused.status_code == 403
    assert world.hook.count() == 0
    ok = world.owner.post(f"/v1/approvals/{approval_id}:approve", json={"reason": "fine"})
    assert ok.status_code == 200, ok.text
    decided = ok.json()
    assert decided["status"] == "approved"
    assert decided["reason"] == "fine"
    assert decided["tool_call"]["status"] == "completed"
    assert world.hook.count() == 1
    assert world.owner.post(f"/v1/approvals/{approval_id}:approve").status_code == 409
    assert world.owner.post(f"/v1/approvals/{approval_id}:reject").status_code == 409
    assert world.hook.count() == 1


def test_rejection_is_recorded_and_nothing_runs(world: World) -> None:
    held = _execute(world.owner, "http_post", {"url": world.hook.url, "body": "x"}).json()
    r = world.owner.post(f"/v1/approvals/{held['approval_id']}:reject", json={"reason": "no"})
    assert r.status_code == 200
    assert r.json()["status"] == "rejected"
    call = world.owner.get(f"/v1/tool-calls/{held['tool_call_id']}").json()
    assert call["status"] == "rejected"
    assert world.hook.count() == 0


def test_concurrent_approvals_run_the_tool_exactly_once(world: World) -> None:
    held = _execute(world.owner, "send_message", {"to": "x", "text": "once"}).json()
    url = f"/v1/approvals/{held['approval_id']}:approve"
    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(lambda _: world.owner.post(url).status_code, range(12)))
    assert sorted(codes) == [200] + [409] * 11
    assert world.hook.count() == 1


def test_same_tool_call_id_never_runs_twice(world: World) -> None:
    args = {"path": "diary.md", "content": "one line\n", "mode": "append"}
    first = _execute(world.owner, "notes_write", args, tool_call_id="tc_fixed_1")
    again = _execute(world.owner, "notes_write", args, tool_call_id="tc_fixed_1")
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert (world.data_dir / "workspace" / "diary.md").read_text() == "one line\n"
    clash = _execute(world.owner, "calculator", {"expression": "1"}, tool_call_id="tc_fixed_1")
    assert clash.status_code == 409
    held = _execute(world.owner, "send_message", {"to": "a", "text": "b"}, tool_call_id="tc_2")
    held_again = _execute(
        world.owner, "send_message", {"to": "a", "text": "b"}, tool_call_id="tc_2"
    )
    assert held.json()["approval_id"] == held_again.json()["approval_id"]


def test_local_write_runs_for_the_owner_and_waits_for_a_member(world: World) -> None:
    mine = _execute(world.owner, "notes_write", {"path": "a.md", "content": "owner"})
    assert mine.json()["status"] == "completed"
    theirs = _execute(world.member, "notes_write", {"path": "b.md", "content": "member"})
    assert theirs.status_code == 202
    assert not (world.data_dir / "workspace" / "b.md").exists()
    approval_id = theirs.json()["approval_id"]
    assert world.member.get(f"/v1/approvals/{approval_id}").status_code == 200
    world.owner.post(f"/v1/approvals/{approval_id}:approve")
    assert (world.data_dir / "workspace" / "b.md").read_text() == "member"


def test_workspace_escape_is_a_failed_call_not_a_write(world: World) -> None:
    r = _execute(world.owner, "notes_write", {"path": "../escape.md", "content": "x"})
    assert r.json()["status"] == "failed"
    assert not (world.data_dir / "escape.md").exists()


def test_every_step_is_in_the_ledger_with_its_actor(world: World) -> None:
    held = _execute(world.member, "notes_write", {"path": "c.md", "content": "c"}).json()
    world.owner.post(f"/v1/approvals/{held['approval_id']}:approve")
    rows = query(
        world.database_url,
        "SELECT type, actor_role, payload FROM ledger_events WHERE type IN "
        "('ToolCallEvent', 'ApprovalEvent') AND payload LIKE :call ORDER BY seq",
        call=f"%{held['tool_call_id']}%",
    )
    steps = [(t, role, __import__("json").loads(p)["phase"]) for t, role, p in rows]
    assert steps == [
        ("ToolCallEvent", "member", "requested"),
        ("ApprovalEvent", "member", "requested"),
        ("ApprovalEvent", "owner", "approved"),
        ("ToolCallEvent", "owner", "started"),
        ("ToolCallEvent", "system", "completed"),
    ]
