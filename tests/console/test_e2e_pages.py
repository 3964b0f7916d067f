"""The Console's read-mostly pages against real data: a completed task's audit timeline with
its integrity verified; tasks filtered by state, linking to their audit; tools with risk
grades and schemas; approvals."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.console.conftest import OWNER_TOKEN, Steward, shot
from tests.console.ui import get_json, poll, sign_in, tid


def _completed_task(steward: Steward, text: str) -> dict[str, Any]:
    sent = steward.owner.post("/v1/agent/messages", json={"text": text})
    assert sent.status_code == 202, sent.text
    task_id = sent.json()["task_id"]
    task: dict[str, Any] = poll(
        lambda: get_json(steward.owner, f"/v1/agent/tasks/{task_id}"),
        lambda t: t["status"] == "completed",
        f"task {task_id} completed",
    )
    return task


def test_a_completed_task_audit_timeline_with_verified_integrity(
    page: Page, steward: Steward
) -> None:
    task = _completed_task(steward, "What is a good way to keep a plant alive?")
    report = steward.owner.post(
        "/v1/audit/render", json={"task_id": task["task_id"], "format": "json"}
    )
    assert report.status_code == 200, report.text
    assert report.json()["integrity"]["verified"] is True
    sign_in(page, OWNER_TOKEN)
    page.goto("/audit/")
    tid(page, "audit-task-input").fill(task["task_id"])
    tid(page, "audit-open").click()
    expect(page).to_have_url(re.compile(r"/audit/\?(.*&)?task=" + task["task_id"]))
    entries = tid(page, "audit-entry")
    expect(tid(page, "audit-timeline")).to_be_visible()
    expect(entries.first).to_be_visible()
    assert entries.count() >= 5, entries.count()  # input, plan, route, completion, states
    expect(tid(page, "audit-timeline")).to_contain_text("Completion")
    expect(tid(page, "audit-integrity")).to_contain_text(re.compile("verified", re.I))

    timeline = get_json(
        steward.owner, f"/v1/audit/conversations/{task['conversation_id']}/timeline"
    )["data"]
    [recorded] = [
        e for e in timeline if e["task_id"] == task["task_id"] and e["type"] == "CompletionEvent"
    ]
    completion = entries.filter(has_text="Completion").first
    expect(tid(page, "audit-entry-details")).to_have_count(0)
    completion.click()
    details = tid(page, "audit-entry-details")
    expect(details).to_be_visible()
    expect(details).to_contain_text(recorded["event_id"])
    expect(details).to_contain_text(recorded["hash"])
    shot(page, "audit")

    page.goto(f"/audit/?task={task['task_id']}")  # a direct link opens it too
    expect(tid(page, "audit-entry").first).to_be_visible()


def test_tasks_filter_by_state_and_link_to_their_audit(page: Page, steward: Steward) -> None:
    task = _completed_task(steward, "Suggest a name for a grey cat.")
    sign_in(page, OWNER_TOKEN)
    page.goto("/tasks/")
    expect(tid(page, "task-row").first).to_be_visible()
    tid(page, "task-filter-status").select_option("completed")
    expect(tid(page, "task-row").first).to_have_attribute("data-status", "completed")
    others = page.locator('[data-testid="task-row"]:not([data-status="completed"])')
    expect(others).to_have_count(0)
    tid(page, "task-filter-status").select_option("waiting_approval")
    expect(tid(page, "task-row").filter(has_text=task["task_id"])).to_have_count(0)
    tid(page, "task-filter-status").select_option("completed")
    row = tid(page, "task-row").filter(has_text="grey cat").first
    expect(row).to_be_visible()
    shot(page, "tasks")
    tid(row, "task-audit-link").click()
    expect(page).to_have_url(re.compile(r"/audit/\?(.*&)?task=" + task["task_id"]))
    expect(tid(page, "audit-entry").first).to_be_visible()


def test_tools_show_risk_grades_and_schemas(page: Page, steward: Steward) -> None:
    tools = get_json(steward.owner, "/v1/tools")["data"]
    sign_in(page, OWNER_TOKEN)
    page.goto("/tools/")
    rows = tid(page, "tool-row")
    expect(rows).to_have_count(len(tools))
    send = rows.filter(has_text="send_message")
    expect(tid(send, "tool-risk")).to_contain_text(re.compile(r"external.write", re.I))
    calculator = rows.filter(has_text="calculator")
    expect(tid(calculator, "tool-risk")).to_contain_text(re.compile(r"read.only", re.I))
    schema = tid(send, "tool-schema")
    if not schema.is_visible():
        send.click()  # schemas may fold away until a tool is opened
    expect(tid(send, "tool-schema")).to_contain_text("text")
    shot(page, "tools")


def test_approvals_page_lists_a_pending_request(page: Page, steward: Steward) -> None:
    held = steward.owner.post(
        "/v1/tools:execute",
        json={"tool": "http_post", "args": {"url": "http://127.0.0.1:9/console", "body": "x"}},
    ).json()
    assert held["status"] == "pending_approval", held
    sign_in(page, OWNER_TOKEN)
    page.goto("/approvals/")
    row = tid(page, "approval-row").filter(has_text="http_post").first
    expect(row).to_be_visible()
    expect(row).to_have_attribute("data-status", "pending")
    shot(page, "approvals")
    tid(row, "approval-reason").fill("not today")
    tid(row, "approval-reject").click()
    decided = poll(
        lambda: get_json(steward.owner, f"/v1/approvals/{held['approval_id']}"),
        lambda a: a["status"] != "pending",
        "the approval decided",
    )
    assert decided["status"] == "rejected"
    assert decided["reason"] == "not today"
