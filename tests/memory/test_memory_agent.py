"""Memory inside the agent: recall into the prompt, recorded; the memory tools."""

from __future__ import annotations

import json
from typing import Any

from tests.agent.polling import send, timeline, wait_task
from tests.memory.conftest import Memory


def _task_events(memory: Memory, conversation_id: str, task_id: str) -> list[dict[str, Any]]:
    return [e for e in timeline(memory.owner, conversation_id) if e["task_id"] == task_id]


def _ask(memory: Memory, text: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    sent = send(memory.owner, text)
    task = wait_task(memory.owner, sent["task_id"])
    assert task["status"] == "completed", task
    return task, _task_events(memory, sent["conversation_id"], sent["task_id"])


def test_a_relevant_memory_reaches_the_prompt_and_is_recorded(memory: Memory) -> None:
    fact = "Our neighbour Ana feeds the fish when we travel."
    item = memory.write(fact).json()["memory"]
    memory.write("The boiler was serviced in October.")
    task, events = _ask(memory, "Who feeds the fish when we travel?")
    assert f"From what I remember: {fact}" in task["reply"]
    (recall,) = [e for e in events if e["type"] == "MemoryEvent"]
    assert recall["payload"]["phase"] == "recalled"
    assert recall["payload"]["items"][0]["memory_id"] == item["memory_id"]
    route = next(e for e in events if e["type"] == "RouteEvent")
    assert recall["causation_id"] == route["event_id"]
    completion = next(e for e in events if e["type"] == "CompletionEvent")
    assert completion["causation_id"] == recall["event_id"]


def test_nothing_relevant_means_no_memory_in_the_prompt(memory: Memory) -> None:
    memory.write("The boiler was serviced in October.")
    task, events = _ask(memory, "Tell me a joke about penguins")
    assert "remember" not in task["reply"]
    (recall,) = [e for e in events if e["type"] == "MemoryEvent"]
    assert recall["payload"]["items"] == []


def test_secrets_are_never_put_in_a_prompt(memory: Memory) -> None:
    cand = memory.write("My online banking password is Tulip-7781").json()["candidate"]
    memory.owner.post(f"/v1/memory/candidates/{cand['candidate_id']}:approve")
    assert memory.texts("online banking password")  # the owner can look it up
    task, events = _ask(memory, "What is my online banking password?")
    assert "Tulip" not in task["reply"]
    (recall,) = [e for e in events if e["type"] == "MemoryEvent"]
    assert recall["payload"]["items"] == []


def test_memory_turned_off_skips_recall(memory: Memory) -> None:
    memory.write("Our neighbour Ana feeds the fish when we travel.")
    patch = memory.owner.post(
        "/v1/config/patches:propose", json={"text": "stop remembering things"}
    ).json()
    memory.owner.post(f"/v1/config/patches/{patch['patch_id']}:commit")
    task, events = _ask(memory, "Who feeds the fish when we travel?")
    assert "remember" not in task["reply"]
    (recall,) = [e for e in events if e["type"] == "MemoryEvent"]
    assert recall["payload"]["phase"] == "recall_skipped"


def test_the_model_writing_memory_only_proposes_a_candidate(memory: Memory) -> None:
    args = {"text": "The owner's sister lives in Berlin", "kind": "person"}
    task, events = _ask(memory, f"[[tool:memory_write {json.dumps(args)}]]")
    (cand,) = memory.candidates()
    assert cand["text"] == args["text"]
    assert cand["origin"] == "model"
    assert "origin_model" in cand["reasons"]
    assert cand["task_id"] == task["task_id"]
    started = next(
        e for e in events if e["type"] == "ToolCallEvent" and e["payload"].get("phase") == "started"
    )
    assert cand["source_event_id"] == started["event_id"]
    written = [e for e in events if e["type"] == "MemoryEvent"]
    assert [e["payload"]["phase"] for e in written] == ["recalled", "candidate_proposed"]
    assert written[1]["causation_id"] == started["event_id"]
    assert not memory.texts("where does my sister live")


def test_the_memory_query_tool_finds_items(memory: Memory) -> None:
    memory.write("The garden hose is in the shed.")
    args = {"query": "where is the garden hose"}
    task, events = _ask(memory, f"[[tool:memory_query {json.dumps(args)}]]")
    assert "The garden hose is in the shed." in task["reply"]
    done = next(
        e
        for e in events
        if e["type"] == "ToolCallEvent" and e["payload"].get("phase") == "completed"
    )
    assert done["payload"]["tool"] == "memory_query"
