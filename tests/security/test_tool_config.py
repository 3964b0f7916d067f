"""`POST /v1/tools:execute` obeys the caller's effective configuration exactly as the agent
loop does: a disabled tool, a member barred from tools, and "ask before" settings cannot be
sidestepped by calling the API directly instead of asking the agent."""

from __future__ import annotations

from typing import Any

import httpx

from tests.security.conftest import World, security_lines


def configure(world: World, text: str, scope: str = "global") -> None:
    proposed = world.owner.post("/v1/config/patches:propose", json={"text": text, "scope": scope})
    assert proposed.status_code == 201, proposed.text
    patch_id = proposed.json()["patch_id"]
    committed = world.owner.post(f"/v1/config/patches/{patch_id}:commit", json={"confirm": True})
    assert committed.status_code == 201, committed.text


def execute(client: httpx.Client, tool: str, args: dict[str, Any]) -> httpx.Response:
    return client.post("/v1/tools:execute", json={"tool": tool, "args": args})


CALC = ("calculator", {"expression": "6 * 7"})
NOTE = ("notes_write", {"path": "n.md", "content": "hello"})


def test_a_disabled_tool_cannot_be_run_through_the_api(world: World) -> None:
    configure(world, "stop using the calculator")
    for client in (world.owner, world.member):
        r = execute(client, *CALC)
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "tool_disabled"
    assert [e["reason"] for e in security_lines(world.data_dir)] == ["tool_disabled"] * 2


def test_a_member_barred_from_tools_cannot_run_one_through_the_api(world: World) -> None:
    configure(world, "members can't use tools")
    r = execute(world.member, *CALC)
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "tools_not_allowed"
    assert execute(world.owner, *CALC).json()["status"] == "completed"


def test_ask_first_settings_hold_a_direct_call_for_approval(world: World) -> None:
    configure(world, "always ask before writing notes")
    held = execute(world.owner, *NOTE)
    assert held.status_code == 202, held.text
    assert held.json()["status"] == "pending_approval"
    assert not (world.data_dir / "workspace" / "n.md").exists()
    assert execute(world.owner, *CALC).json()["status"] == "completed"
    configure(world, "Ask me before using any tool.")
    assert execute(world.owner, *CALC).json()["status"] == "pending_approval"


def test_a_members_own_scope_applies_to_their_direct_calls(world: World) -> None:
    configure(world, "stop using the calculator", scope=f"user:{world.member_id}")
    assert execute(world.member, *CALC).status_code == 403
    assert execute(world.owner, *CALC).json()["status"] == "completed"
