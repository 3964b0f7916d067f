"""Helpers for the audit tests: render a report, and edit an Edge's SQLite file the way
someone holding the file could."""

from __future__ import annotations

import sqlite3
from pathlib import Path
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


def edit_database(
    data_dir: Path, *statements: tuple[str, tuple[Any, ...]], drop_ledger_guard: bool = False
) -> None:
    """Run `statements` on the Edge's SQLite file directly, bypassing Edge. With
    `drop_ledger_guard`, the ledger's append-only triggers are dropped first: what someone
    holding the file could do."""
    con = sqlite3.connect(data_dir / "edge.db", timeout=30)
    try:
        with con:
            if drop_ledger_guard:
                con.execute("DROP TRIGGER IF EXISTS ledger_events_no_update")
                con.execute("DROP TRIGGER IF EXISTS ledger_events_no_delete")
            for sql, params in statements:
                con.execute(sql, params)
    finally:
        con.close()


def rows(data_dir: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of a query on the Edge's SQLite file."""
    con = sqlite3.connect(data_dir / "edge.db", timeout=30)
    try:
        return list(con.execute(sql, params))
    finally:
        con.close()
