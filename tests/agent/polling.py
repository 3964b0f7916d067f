"""Waiting for task states with a deadline (never a bare sleep)."""

from __future__ import annotations

import time
from typing import Any

import httpx

TERMINAL = ("completed", "failed", "cancelled")


def wait_task(
    client: httpx.Client, task_id: str, until: tuple[str, ...] = TERMINAL, timeout: float = 30
) -> dict[str, Any]:
    """Poll a task until its status is in `until`; fail the test at the deadline."""
    deadline = time.monotonic() + timeout
    task: dict[str, Any] = {}
    while time.monotonic() < deadline:
        r = client.get(f"/v1/agent/tasks/{task_id}")
        r.raise_for_status()
        task = r.json()
        if task["status"] in until:
            return task
        time.sleep(0.02)
    raise AssertionError(f"task {task_id} never reached {until}; last seen: {task}")


def send(client: httpx.Client, text: str, conversation_id: str | None = None) -> dict[str, Any]:
    """Post a message; return the 202 body."""
    body: dict[str, Any] = {"text": text}
    if conversation_id:
        body["conversation_id"] = conversation_id
    r = client.post("/v1/agent/messages", json=body)
    assert r.status_code == 202, r.text
    result: dict[str, Any] = r.json()
    return result


def timeline(client: httpx.Client, conversation_id: str) -> list[dict[str, Any]]:
    """Every event of a conversation, following cursors."""
    events: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 1000}
        if cursor:
            params["cursor"] = cursor
        r = client.get(f"/v1/audit/conversations/{conversation_id}/timeline", params=params)
        r.raise_for_status()
        page = r.json()
        events += page["data"]
        cursor = page["next_cursor"]
        if not cursor:
            return events
