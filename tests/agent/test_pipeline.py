"""Message -> task in a lane -> Core -> reply, every step in the ledger; idempotency; bad
input; listing and cancelling; Core down."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.agent.conftest import EdgeFactory
from tests.agent.polling import send, timeline, wait_task
from tests.servers import free_port


def _problem(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert {"type", "title", "status", "detail", "code"} <= set(body)
    assert body["status"] == status
    if code:
        assert body["code"] == code, body
    return body


def test_message_becomes_a_completed_task_with_its_story(edge: httpx.Client) -> None:
    sent = send(edge, "How should I plan my week?")
    assert sent["task_id"].startswith("task_")
    assert sent["conversation_id"].startswith("conv_")
    task = wait_task(edge, sent["task_id"])
    assert task["status"] == "completed"
    assert task["reply"]
    assert task["error"] is None
    assert task["created_at"] <= task["started_at"] <= task["finished_at"]
    events = timeline(edge, sent["conversation_id"])
    types = [e["type"] for e in events]
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
    assert [e["payload"].get("status") for e in events if e["type"] == "TaskEvent"] == [
        "queued",
        "running",
        "completed",
    ]
    by_id = {e["event_id"]: e for e in events}
    completion = events[6]
    assert completion["payload"]["text"] == task["reply"]
    assert completion["payload"]["usage"]["completion_tokens"] > 0
    recall = by_id[completion["causation_id"]]
    assert (recall["type"], recall["payload"]["phase"]) == ("MemoryEvent", "recalled")
    assert by_id[recall["causation_id"]]["type"] == "RouteEvent"
    assert events[4]["payload"]["backend"] == "mock"
    assert events[4]["payload"]["model"] == "mock"
    assert events[0]["actor"]["role"] == "owner"
    assert edge.get("/v1/audit/verify").json()["ok"] is True


def test_history_is_part_of_the_prompt(edge: httpx.Client) -> None:
    first = send(edge, "My cat is called Miso.")
    wait_task(edge, first["task_id"])
    second = send(edge, "What did I tell you?", first["conversation_id"])
    wait_task(edge, second["task_id"])
    plan = next(
        e
        for e in timeline(edge, first["conversation_id"])
        if e["type"] == "PlanEvent" and e["task_id"] == second["task_id"]
    )
    assert plan["payload"]["history_messages"] == 2


def test_idempotency_key_returns_the_same_task(edge: httpx.Client) -> None:
    key = {"Idempotency-Key": "retry-1"}
    a = edge.post("/v1/agent/messages", json={"text": "once"}, headers=key)
    b = edge.post("/v1/agent/messages", json={"text": "once"}, headers=key)
    assert a.status_code == b.status_code == 202
    assert a.json()["task_id"] == b.json()["task_id"]
    assert b.headers.get("idempotent-replayed") == "true"
    other = edge.post("/v1/agent/messages", json={"text": "something else"}, headers=key)
    _problem(other, 409, "idempotency_key_reused")
    listed = edge.get("/v1/agent/tasks").json()["data"]
    assert sum(t["input"] == "once" for t in listed) == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"text": ""}, 422, "validation_failed"),
        ({"text": "   "}, 422, "validation_failed"),
        ({}, 422, "validation_failed"),
        ({"text": 5}, 422, "validation_failed"),
        ({"text": "hi", "surprise": 1}, 422, "validation_failed"),
        ({"text": "hi", "conversation_id": "bad id!"}, 422, "bad_conversation_id"),
    ],
)
def test_bad_messages_are_problems(
    edge: httpx.Client, body: dict[str, Any], status: int, code: str
) -> None:
    problem = _problem(edge.post("/v1/agent/messages", json=body), status, code)
    assert problem["detail"]


def test_malformed_json_is_400(edge: httpx.Client) -> None:
    r = edge.post(
        "/v1/agent/messages", content=b"{oops", headers={"content-type": "application/json"}
    )
    _problem(r, 400, "invalid_json")


def test_oversized_bodies_are_413_declared_or_chunked(make_edge: EdgeFactory) -> None:
    with make_edge(max_body_bytes=2000, max_text_chars=500) as edge:
        _problem(edge.post("/v1/agent/messages", json={"text": "x" * 5000}), 413)
        chunked = edge.post(
            "/v1/agent/messages",
            content=iter([b'{"text": "', b"y" * 3000, b'"}']),
            headers={"content-type": "application/json"},
        )
        _problem(chunked, 413, "payload_too_large")
        _problem(edge.post("/v1/agent/messages", json={"text": "z" * 800}), 413, "text_too_long")
        assert edge.get("/v1/agent/tasks").json()["data"] == []  # nothing half-written


def test_unknown_ids_are_404(edge: httpx.Client) -> None:
    _problem(edge.get("/v1/agent/tasks/task_nope"), 404, "task_not_found")
    _problem(edge.post("/v1/agent/tasks/task_nope:cancel"), 404, "task_not_found")
    _problem(edge.get("/v1/agent/tasks/task_nope/events"), 404, "task_not_found")
    _problem(edge.get("/v1/audit/conversations/conv_nope/timeline"), 404, "conversation_not_found")
    _problem(edge.get("/v1/no/such/route"), 404, "route_not_found")


def test_list_filters_and_paginates(edge: httpx.Client) -> None:
    a = send(edge, "first")
    for i in range(4):
        send(edge, f"more {i}", a["conversation_id"])
    b = send(edge, "elsewhere")
    for t in edge.get("/v1/agent/tasks").json()["data"]:
        wait_task(edge, t["task_id"])
    in_a = edge.get("/v1/agent/tasks", params={"conversation_id": a["conversation_id"]}).json()
    assert len(in_a["data"]) == 5
    assert all(t["conversation_id"] == a["conversation_id"] for t in in_a["data"])
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, "status": "completed"}
        if cursor:
            params["cursor"] = cursor
        page = edge.get("/v1/agent/tasks", params=params).json()
        seen += [t["task_id"] for t in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 6
    assert b["task_id"] == seen[0]  # newest first
    _problem(edge.get("/v1/agent/tasks", params={"status": "sleeping"}), 422)
    _problem(edge.get("/v1/agent/tasks", params={"cursor": "garbage"}), 422, "bad_cursor")


def test_cancel_queued_task_and_refuse_finished_ones(make_edge: EdgeFactory) -> None:
    with make_edge(workers=0) as edge:
        sent = send(edge, "never mind")
        r = edge.post(f"/v1/agent/tasks/{sent['task_id']}:cancel")
        assert r.status_code == 202
        assert r.json()["status"] == "cancelled"
        assert wait_task(edge, sent["task_id"])["status"] == "cancelled"
        _problem(edge.post(f"/v1/agent/tasks/{sent['task_id']}:cancel"), 409, "task_finished")
        lanes = edge.get("/v1/agent/lanes").json()["data"]
        assert lanes == []


def test_lanes_show_depth_and_head(make_edge: EdgeFactory) -> None:
    with make_edge(workers=0) as edge:
        a = send(edge, "one")
        send(edge, "two", a["conversation_id"])
        [lane] = edge.get("/v1/agent/lanes").json()["data"]
        assert lane == {
            "conversation_id": a["conversation_id"],
            "depth": 2,
            "running_task_id": None,
            "oldest_queued_task_id": a["task_id"],
        }


def test_core_down_fails_fast_with_a_readable_reason(make_edge: EdgeFactory) -> None:
    with make_edge(core_base_url=f"http://127.0.0.1:{free_port()}") as edge:
        sent = send(edge, "hello?")
        task = wait_task(edge, sent["task_id"], timeout=10)
        assert task["status"] == "failed"
        assert task["error"]["code"] == "core_unavailable"
        assert "unreachable" in task["error"]["message"]
        assert "127.0.0.1" in task["error"]["message"]
        events = timeline(edge, sent["conversation_id"])
        error = next(e for e in events if e["type"] == "ErrorEvent")
        assert error["payload"]["code"] == "core_unavailable"
        assert events[-1]["payload"]["status"] == "failed"
        assert events[-1]["causation_id"] == error["event_id"]


def test_every_task_event_after_the_input_has_a_cause(edge: httpx.Client) -> None:
    sent = send(edge, "Explain causation")
    wait_task(edge, sent["task_id"])
    events = timeline(edge, sent["conversation_id"])
    ids = {e["event_id"] for e in events}
    assert events[0]["type"] == "InputEvent"
    assert events[0]["causation_id"] is None
    for event in events[1:]:
        assert event["causation_id"] in ids, event
