"""Say it, see the diff, commit, undo: preference patches end to end through Edge, and the
behaviour they change (the mock model follows the reply style Edge asks for)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.agent.polling import send, timeline, wait_task
from tests.approvals.conftest import World
from tests.databases import query

QUESTION = "How should I organise my week?"


def _ask(client: httpx.Client, text: str = QUESTION) -> dict[str, Any]:
    sent = send(client, text)
    return wait_task(client, sent["task_id"])


def _propose(client: httpx.Client, text: str, scope: str = "global") -> httpx.Response:
    return client.post("/v1/config/patches:propose", json={"text": text, "scope": scope})


def _commit(client: httpx.Client, patch_id: str, **body: Any) -> httpx.Response:
    return client.post(f"/v1/config/patches/{patch_id}:commit", json=body)


def _verbosity(client: httpx.Client, scope: str = "global") -> str:
    eff = client.get("/v1/config/effective", params={"scope": scope}).json()
    value: str = eff["config"]["reply"]["verbosity"]
    return value


def test_commit_changes_the_next_reply_and_rollback_restores_it(world: World) -> None:
    owner = world.owner
    before = _ask(owner)
    proposed = _propose(owner, "回复更简洁")
    assert proposed.status_code == 201, proposed.text
    patch = proposed.json()
    assert patch["risk"] == "L1"
    assert patch["status"] == "proposed"
    assert {"path": "/reply/verbosity", "before": "normal", "after": "concise"} in patch["diff"]
    assert _verbosity(owner) == "normal"  # nothing changes before the commit
    committed = _commit(owner, patch["patch_id"])
    assert committed.status_code == 201, committed.text
    revision = committed.json()
    assert revision["kind"] == "commit"
    assert revision["patch_id"] == patch["patch_id"]
    after = _ask(owner)
    assert len(after["reply"]) * 2 < len(before["reply"])
    assert after["config_revision"] == revision["revision_id"]
    rolled = owner.post(f"/v1/config/revisions/{revision['revision_id']}:rollback")
    assert rolled.status_code == 201, rolled.text
    assert rolled.json()["kind"] == "rollback"
    assert rolled.json()["rolls_back"] == revision["revision_id"]
    restored = _ask(owner)
    assert restored["reply"] == before["reply"]
    assert restored["config_revision"] == rolled.json()["revision_id"]
    kinds = [r["kind"] for r in owner.get("/v1/config/revisions").json()["data"]]
    assert kinds == ["rollback", "commit", "seed"]  # history is never rewritten
    assert owner.get("/v1/audit/verify").json()["ok"] is True


def test_patch_events_are_in_the_ledger(world: World) -> None:
    patch = _propose(world.owner, "be more formal").json()
    _commit(world.owner, patch["patch_id"])
    rows = query(
        world.database_url,
        "SELECT actor_role, payload FROM ledger_events WHERE type = 'PatchEvent' ORDER BY seq",
    )
    phases = [(role, __import__("json").loads(p)["phase"]) for role, p in rows]
    assert phases == [("system", "seeded"), ("owner", "proposed"), ("owner", "committed")]


def test_members_propose_but_only_the_owner_commits(world: World) -> None:
    patch = _propose(world.member, "be more concise", scope=f"user:{world.member_id}")
    assert patch.status_code == 201
    refused = _commit(world.member, patch.json()["patch_id"])
    assert refused.status_code == 403
    assert _commit(world.owner, patch.json()["patch_id"]).status_code == 201
    assert _verbosity(world.member, f"user:{world.member_id}") == "concise"
    assert _verbosity(world.owner) == "normal"  # only the member's scope changed
    revision = world.owner.get("/v1/config/revisions").json()["data"][0]["revision_id"]
    assert world.member.post(f"/v1/config/revisions/{revision}:rollback").status_code == 403


def test_security_changes_need_confirmation(world: World) -> None:
    patch = _propose(world.owner, "members can't use tools").json()
    assert patch["risk"] == "L3"
    first = _commit(world.owner, patch["patch_id"])
    assert first.status_code == 422
    assert first.json()["code"] == "confirmation_required"
    assert _commit(world.owner, patch["patch_id"], confirm=True).status_code == 201


def test_racing_commits_from_one_base_one_wins(world: World) -> None:
    a = _propose(world.owner, "be more concise").json()
    b = _propose(world.owner, "reply in English").json()
    assert a["base_revision"] == b["base_revision"]
    assert _commit(world.owner, a["patch_id"]).status_code == 201
    late = _commit(world.owner, b["patch_id"])
    assert late.status_code == 409
    assert late.json()["code"] == "stale_patch"
    assert _commit(world.owner, a["patch_id"]).status_code == 409  # decided once


def test_rolling_back_an_older_revision_that_later_ones_touched(world: World) -> None:
    first = _commit(world.owner, _propose(world.owner, "be more concise").json()["patch_id"]).json()
    _commit(world.owner, _propose(world.owner, "be more formal").json()["patch_id"])
    third = _commit(
        world.owner, _propose(world.owner, "be very detailed").json()["patch_id"]
    ).json()
    conflict = world.owner.post(f"/v1/config/revisions/{first['revision_id']}:rollback")
    assert conflict.status_code == 409
    assert conflict.json()["later_revisions"] == [third["revision_id"]]
    forced = world.owner.post(
        f"/v1/config/revisions/{first['revision_id']}:rollback", json={"force": True}
    )
    assert forced.status_code == 201
    eff = world.owner.get("/v1/config/effective").json()["config"]["reply"]
    assert eff["verbosity"] == "normal"  # the value from before the first revision
    assert eff["tone"] == "formal"  # untouched by the rollback
    again = world.owner.post(f"/v1/config/revisions/{first['revision_id']}:rollback")
    assert again.status_code == 409


def test_the_seed_cannot_be_rolled_back(world: World) -> None:
    [seed] = world.owner.get("/v1/config/revisions").json()["data"]
    assert seed["kind"] == "seed"
    assert (
        world.owner.post(f"/v1/config/revisions/{seed['revision_id']}:rollback").status_code == 409
    )


def test_unmappable_text_is_422_with_what_was_understood(world: World) -> None:
    r = _propose(world.owner, "what's the weather like in Lisbon?")
    assert r.status_code == 422
    problem = r.json()
    assert problem["code"] == "preference_not_understood"
    assert problem["examples"]
    assert "understood" in problem


def test_bad_scopes_and_ids(world: World) -> None:
    assert _propose(world.owner, "be concise", scope="planet:mars").status_code == 422
    assert _propose(world.owner, "be concise", scope="conversation:conv_nope").status_code == 404
    assert _commit(world.owner, "pat_nope").status_code == 404
    assert world.owner.post("/v1/config/revisions/rev_nope:rollback").status_code == 404
    assert world.owner.get("/v1/config/patches/pat_nope").status_code == 404


def test_a_conversation_scope_changes_only_that_conversation(world: World) -> None:
    sent = send(world.owner, "first message")
    wait_task(world.owner, sent["task_id"])
    scope = f"conversation:{sent['conversation_id']}"
    patch = _propose(world.owner, "answer in bullet points", scope=scope).json()
    _commit(world.owner, patch["patch_id"])
    inside = send(world.owner, "Explain backups", sent["conversation_id"])
    inside_task = wait_task(world.owner, inside["task_id"])
    outside_task = _ask(world.owner, "Explain backups")
    assert inside_task["reply"].count("\n- ") >= 2
    assert "\n- " not in outside_task["reply"]


def test_turning_a_tool_off_stops_the_agent_using_it(world: World) -> None:
    patch = _propose(world.owner, "don't use web search anymore").json()
    assert patch["risk"] == "L2"
    _commit(world.owner, patch["patch_id"])
    sent = send(world.owner, '[[tool:web_search {"query": "sqlite"}]]')
    wait_task(world.owner, sent["task_id"])
    refused = [
        e["payload"]
        for e in timeline(world.owner, sent["conversation_id"])
        if e["type"] == "ToolCallEvent"
    ]
    assert [p["phase"] for p in refused] == ["refused"]
    assert "turned off" in refused[0]["error"]


def test_asking_before_every_tool_holds_even_read_only_calls(world: World) -> None:
    patch = _propose(world.owner, "Ask me before using any tool.").json()
    assert patch["risk"] == "L3"
    assert _commit(world.owner, patch["patch_id"], confirm=True).status_code == 201
    sent = send(world.owner, '[[tool:calculator {"expression": "1+1"}]]')
    task = wait_task(world.owner, sent["task_id"], until=("waiting_approval", "completed"))
    assert task["status"] == "waiting_approval"
