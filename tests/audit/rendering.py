"""Helpers for the audit tests: render a report, run a task."""

from __future__ import annotations

from typing import Any

import httpx

from tests.agent.polling import send, wait_task


def render(client: httpx.Client, **body: Any) -> httpx.Response:
    """POST /v1/audit/render with `body`."""
    return client.post("/v1/audit/render", json=body)


def report(client: httpx.Client, **body: Any) -> dict[str, Any]:
    """The JSON report for `body`; fails the test unless it is a 200."""
    r = render(client, **body)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    result: dict[str, Any] = r.json()
    return result


def run(client: httpx.Client, text: str, conversation_id: str | None = None) -> dict[str, Any]:
    """Send `text` and wait for its task to end; returns the task."""
    sent = send(client, text, conversation_id)
    return wait_task(client, sent["task_id"])
