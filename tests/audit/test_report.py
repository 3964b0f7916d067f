"""The JSON audit report of a task: input, plan, route, recall, tool calls with approvals,
memories written, completion, usage, timings and integrity, all from the ledger."""

from __future__ import annotations

from typing import Any

import httpx

from tests.agent.conftest import EdgeFactory
from tests.agent.polling import send, wait_task
from tests.approvals.conftest import World
from tests.audit.rendering import report, run
from tests.databases import execute
from tests.fakes.webhook import webhook

WAITING = ("waiting_approval", "completed", "failed", "cancelled")


def _pending_approval(client: httpx.Client, task_id: str) -> str:
    wait_task(client, task_id, until=WAITING)
    pending = client.get("/v1/approvals", params={"status": "pending"}).json()["data"]
    [approval] = [a for a in pending if a["task_id"] == task_id]
    return str(approval["approval_id"])


def _owner_id(client: httpx.Client) -> str:
    return str(client.get("/v1/me").json()["user_id"])


def test_plain_task_report_explains_the_answer(edge: httpx.Client) -> None:
    task = run(edge, "hello, what is a ledger?")
    assert task["status"] == "completed"
    r = report(edge, task_id=task["task_id"])

    summary = r["task"]
    assert summary["task_id"] == task["task_id"]
    assert summary["conversation_id"] == task["conversation_id"]
    assert summary["status"] == "completed"
    assert summary["attempts"] == 1
    assert summary["input"]["text"] == "hello, what is a ledger?"
    assert summary["input"]["by"] == {"id": _owner_id(edge), "role": "owner"}
    assert summary["reply"] == task["reply"]
    assert summary["config_revision"] == task["config_revision"]
    assert summary["config_revision"].startswith("rev_")
    assert summary["created_at"] <= summary["started_at"] <= summary["finished_at"]
    assert summary["usage"]["total_tokens"] > 0
    assert summary["usage"]["model_calls"] == 1
    durations = summary["durations"]
    assert durations["queue_wait_ms"] >= 0
    assert durations["run_ms"] >= 0
    assert durations["model_ms"] >= 0
    assert set(durations["time_in_status_ms"]) == {"queued", "running"}

    assert r["plan"]["steps"]
    assert r["plan"]["config_revision"] == task["config_revision"]
    assert r["route"]["backend"] == "mock"
    assert r["route"]["model"]
    assert "routing rule" in r["route"]["reason"]
    assert r["route"]["fallbacks"] == []
    [recall] = r["memories"]["read"]
    assert recall["phase"] in ("recalled", "recall_skipped")
    assert r["memories"]["written"] == []
    assert r["tool_calls"] == []
    assert r["errors"] == []
    assert [c["status"] for c in r["state_changes"]] == ["queued", "running", "completed"]

    types = [e["type"] for e in r["timeline"]]
    assert types == [
        "InputEvent",
        "TaskEvent",
        "TaskEvent",
        "PlanEvent",
        "RouteEvent",
        "MemoryEvent",
        "CompletionEvent",
        "TaskEvent",
    ]
    seqs = [e["seq"] for e in r["timeline"]]
    assert seqs == sorted(seqs)
    assert r["integrity"] == {"verified": True, "checked": len(types), "first_broken": None}

    # The causal tree: everything hangs from the input; each event appears once.
    [root] = r["tree"]
    assert root["type"] == "InputEvent"
    assert sorted(_walk(r["tree"])) == sorted(seqs)
    assert [c["type"] for c in root["children"]] == ["TaskEvent", "PlanEvent"]


def _walk(nodes: list[dict[str, Any]]) -> list[int]:
    seen: list[int] = []
    stack = list(nodes)
    while stack:
        node = stack.pop()
        seen.append(node["seq"])
        stack += node["children"]
    return seen


def test_read_only_tool_call_shows_args_risk_result_and_duration(edge: httpx.Client) -> None:
    task = run(edge, 'what is it [[tool:calculator {"expression": "6 * 7"}]]')
    r = report(edge, task_id=task["task_id"])
    [call] = r["tool_calls"]
    assert call["tool"] == "calculator"
    assert call["tool_call_id"].startswith(task["task_id"] + ":")
    assert call["args"] == {"expression": "6 * 7"}
    assert call["risk"] == "read_only"
    assert call["decision"] == "run"
    assert call["policy_reason"] == "read_only tools run at once"
    assert call["status"] == "completed"
    assert "42" in str(call["result"])
    assert call["error"] is None
    assert call["duration_ms"] >= 0
    assert call["requested_at"] <= call["started_at"] <= call["finished_at"]
    assert call["approval"] is None
    assert r["task"]["durations"]["tools"] == [
        {"tool_call_id": call["tool_call_id"], "tool": "calculator", "ms": call["duration_ms"]}
    ]
    assert r["task"]["usage"]["model_calls"] == 2
    [turn] = r["plan"]["turns"]
    assert [c["name"] for c in turn["tool_calls"]] == ["calculator"]


def test_external_write_shows_who_approved_it_when_and_why(world: World) -> None:
    sent = send(world.owner, 'tell Ann [[tool:send_message {"to": "ann", "text": "hi"}]]')
    approval_id = _pending_approval(world.owner, sent["task_id"])
    world.owner.post(f"/v1/approvals/{approval_id}:approve", json={"reason": "fine by me"})
    wait_task(world.owner, sent["task_id"])
    r = report(world.owner, task_id=sent["task_id"])

    [call] = r["tool_calls"]
    assert call["tool"] == "send_message"
    assert call["risk"] == "external_write"
    assert call["decision"] == "needs_approval"
    assert call["args"] == {"to": "ann", "text": "hi"}
    assert call["status"] == "completed"
    assert call["result"]["delivered"] is True
    approval = call["approval"]
    assert approval["approval_id"] == approval_id
    assert approval["status"] == approval["decision"] == "approved"
    assert approval["decided_by"] == {"id": _owner_id(world.owner), "role": "owner"}
    assert approval["reason"] == "fine by me"
    assert approval["requested_at"] <= approval["decided_at"] <= call["started_at"]
    assert world.hook.count() == 1

    statuses = [c["status"] for c in r["state_changes"]]
    assert statuses == ["queued", "running", "waiting_approval", "queued", "running", "completed"]
    assert r["task"]["attempts"] == 2
    assert r["task"]["durations"]["time_in_status_ms"]["waiting_approval"] >= 0
    assert r["integrity"]["verified"] is True
    # The owner's decision came from outside the task, so it roots its own causal branch.
    roots = {n["type"]: n for n in r["tree"]}
    assert [c["type"] for c in roots["ApprovalEvent"]["children"]] == ["ToolCallEvent"]


def test_rejected_approval_shows_the_refusal(world: World) -> None:
    sent = send(world.owner, '[[tool:send_message {"to": "bob", "text": "hi"}]]')
    approval_id = _pending_approval(world.owner, sent["task_id"])
    world.owner.post(f"/v1/approvals/{approval_id}:reject", json={"reason": "not now"})
    wait_task(world.owner, sent["task_id"])
    r = report(world.owner, task_id=sent["task_id"])

    [call] = r["tool_calls"]
    assert call["status"] == "rejected"
    assert call["result"] is None
    assert "not now" in call["error"]
    assert call["started_at"] is None
    approval = call["approval"]
    assert approval["decision"] == "rejected"
    assert approval["decided_by"]["role"] == "owner"
    assert approval["reason"] == "not now"
    assert world.hook.count() == 0
    assert r["task"]["status"] == "completed"


def test_memory_written_by_the_tool_is_listed(edge: httpx.Client) -> None:
    task = run(edge, 'remember [[tool:memory_write {"text": "I like green tea"}]]')
    r = report(edge, task_id=task["task_id"])
    [written] = r["memories"]["written"]
    assert written["phase"] == "candidate_proposed"
    assert written["text"] == "I like green tea"
    assert written["origin"] == "model"
    [call] = r["tool_calls"]
    assert call["tool"] == "memory_write"
    assert call["result"]["id"] == written["candidate_id"]
    # The write is caused by the tool call's start: it hangs under it in the tree.
    started = next(
        e for e in r["timeline"] if e["type"] == "ToolCallEvent" and e["phase"] == "started"
    )
    memory = next(e for e in r["timeline"] if e["event_id"] == written["event_id"])
    assert memory["causation_id"] == started["event_id"]


def test_report_comes_from_the_ledger_alone(world: World) -> None:
    sent = send(
        world.owner,
        '[[tool:memory_write {"text": "Ann likes tea"}]] '
        '[[tool:send_message {"to": "ann", "text": "x"}]]',
    )
    approval_id = _pending_approval(world.owner, sent["task_id"])
    world.owner.post(f"/v1/approvals/{approval_id}:approve", json={"reason": "ok"})
    task = wait_task(world.owner, sent["task_id"])
    before = report(world.owner, task_id=task["task_id"])

    task_id = {"task": task["task_id"]}
    execute(
        world.database_url,
        ("DELETE FROM approvals WHERE task_id = :task", task_id),
        ("DELETE FROM tool_calls WHERE task_id = :task", task_id),
        ("DELETE FROM memory_candidates WHERE task_id = :task", task_id),
        (
            "UPDATE tasks SET reply = 'forged', config_revision = 'rev_forged' WHERE id = :task",
            task_id,
        ),
    )
    assert world.owner.get(f"/v1/approvals/{approval_id}").status_code == 404
    after = report(world.owner, task_id=task["task_id"])
    assert after == before
    assert [c["tool"] for c in after["tool_calls"]] == ["memory_write", "send_message"]
    assert after["tool_calls"][1]["approval"]["approval_id"] == approval_id
    assert after["memories"]["written"][0]["text"] == "Ann likes tea"
    assert after["task"]["reply"] == task["reply"] != "forged"


def test_expired_approval_is_decided_by_the_system(make_edge: EdgeFactory) -> None:
    with (
        webhook() as hook,
        make_edge(webhook_url=hook.url, approval_ttl_s=0.3, approval_sweep_s=0.1) as owner,
    ):
        task = run(owner, '[[tool:send_message {"to": "late", "text": "too late"}]]')
        r = report(owner, task_id=task["task_id"])
    [call] = r["tool_calls"]
    assert call["status"] == "expired"
    assert call["started_at"] is None
    approval = call["approval"]
    assert approval["decision"] == "expired"
    assert approval["decided_by"] == {"id": "system", "role": "system"}
    assert approval["requested_at"] <= approval["decided_at"]
    assert hook.count() == 0
