"""Chat in the Console: a reply streams in and ends as the task's reply; the conversation
survives a reload; a tool that writes to the outside world waits for the owner's approval
inline, and runs exactly once after it."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Page, expect

from tests.console.conftest import OWNER_TOKEN, PHONE, Steward, shot
from tests.console.ui import (
    WATCH_TESTIDS,
    conversation_from_url,
    ever_seen,
    get_json,
    messages,
    poll,
    sign_in,
    tid,
)


def _send(page: Page, text: str) -> None:
    box = tid(page, "chat-input")
    box.fill(text)
    box.press("Enter")


def _only_task(steward: Steward, conversation_id: str) -> dict[str, Any]:
    tasks = poll(
        lambda: get_json(steward.owner, "/v1/agent/tasks", conversation_id=conversation_id),
        lambda page: len(page["data"]) == 1,
        "the conversation's task",
    )
    task: dict[str, Any] = tasks["data"][0]
    return task


def _finished(steward: Steward, task_id: str) -> dict[str, Any]:
    task: dict[str, Any] = poll(
        lambda: get_json(steward.owner, f"/v1/agent/tasks/{task_id}"),
        lambda t: t["status"] in ("completed", "failed", "cancelled"),
        f"task {task_id}",
    )
    return task


def test_a_reply_streams_in_and_the_conversation_survives_a_reload(
    page: Page, steward: Steward
) -> None:
    page.add_init_script(WATCH_TESTIDS)
    sign_in(page, OWNER_TOKEN)
    page.goto("/chat/")
    tid(page, "new-conversation").click()
    text = "Hello Steward, how should I organise my week of errands?"
    _send(page, text)
    expect(messages(page, "user").last).to_contain_text(text)
    poll(lambda: ever_seen(page, "message-streaming"), bool, "message-streaming to appear")

    conversation_id = conversation_from_url(page)
    task = _finished(steward, _only_task(steward, conversation_id)["task_id"])
    assert task["status"] == "completed", task
    reply = " ".join(task["reply"].split())
    assistant = messages(page, "assistant")
    expect(assistant.last).to_contain_text(reply)
    expect(tid(page, "message-streaming")).to_have_count(0)
    expect(tid(page, "conversation-item").filter(has_text="organise my week")).to_be_visible()
    shot(page, "chat")

    page.reload()
    expect(messages(page, "user")).to_contain_text([text])
    expect(assistant).to_have_count(1)
    expect(assistant.first).to_contain_text(reply)

    page.set_viewport_size(PHONE)
    expect(assistant.first).to_be_visible()
    shot(page, "chat")


def test_an_external_write_waits_for_approval_inline_and_runs_once(
    page: Page, steward: Steward
) -> None:
    sign_in(page, OWNER_TOKEN)
    page.goto("/chat/")
    tid(page, "new-conversation").click()
    args = {"to": "ann", "text": "Dinner at eight? (from the Console test)"}
    delivered_before = steward.hook.count()
    _send(page, f"Tell Ann about dinner [[tool:send_message {json.dumps(args)}]]")

    card = tid(page, "approval-card")
    expect(card).to_be_visible()
    expect(tid(page, "tool-call").first).to_have_attribute("data-status", "pending_approval")
    conversation_id = conversation_from_url(page)
    task_id = _only_task(steward, conversation_id)["task_id"]
    pending = [
        a
        for a in get_json(steward.owner, "/v1/approvals", status="pending")["data"]
        if a["task_id"] == task_id
    ]
    assert len(pending) == 1, pending
    assert steward.hook.count() == delivered_before  # nothing left the house yet
    shot(page, "chat-approval")

    tid(card, "approval-reason").fill("Ann expects this message")
    tid(card, "approval-approve").click()
    expect(tid(page, "tool-call").first).to_have_attribute("data-status", "completed")
    expect(tid(page, "approval-approve")).to_have_count(0)  # decided: nothing left to approve

    approval = get_json(steward.owner, f"/v1/approvals/{pending[0]['approval_id']}")
    assert approval["status"] == "approved"
    assert approval["reason"] == "Ann expects this message"
    call = get_json(steward.owner, f"/v1/tool-calls/{approval['tool_call_id']}")
    assert call["status"] == "completed"
    assert call["args"] == args
    assert _finished(steward, task_id)["status"] == "completed"
    assert steward.hook.count() == delivered_before + 1  # it ran exactly once
    shot(page, "chat-approved")
