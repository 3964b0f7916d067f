"""`steward ledger rebuild`: every state table rebuilt from the ledger alone equals the live
one, after a real Edge went through every kind of write; a difference or a broken chain is
reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from typer.testing import CliRunner, Result

from backend.cli import app
from backend.ledger.events import SYSTEM, EventType, NewEvent, StoredEvent
from backend.ledger.projection import TABLES, Projection, reduce
from backend.ledger.rebuild import rebuild
from backend.ledger.store import LedgerStore
from backend.storage.db import Database
from tests.agent.conftest import EdgeFactory
from tests.agent.polling import send, wait_task
from tests.approvals.conftest import add_member
from tests.databases import cli_env, drop_ledger_guard, execute, query
from tests.fakes.webhook import webhook
from tests.servers import free_port

runner = CliRunner()
WAITING = ("waiting_approval", "completed", "failed", "cancelled")


def _pending_approval(client: httpx.Client, task_id: str) -> str:
    data = client.get("/v1/approvals", params={"status": "pending"}).json()["data"]
    [approval] = [a for a in data if a["task_id"] == task_id]
    approval_id: str = approval["approval_id"]
    return approval_id


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code < 300, response.text
    body: dict[str, Any] = response.json()
    return body


def _agent(owner: httpx.Client, member: httpx.Client) -> None:
    """Tasks in two lanes, tools run at once, approved, rejected, and a cancelled wait."""
    first = send(owner, "hello there")
    wait_task(owner, first["task_id"])
    cid = first["conversation_id"]
    wait_task(owner, send(owner, "and again, in the same lane", cid)["task_id"])
    wait_task(owner, send(owner, 'look it up [[tool:web_search {"query": "steward"}]]')["task_id"])
    for decision in (":approve", ":reject"):
        sent = send(owner, 'tell Ann [[tool:send_message {"to": "ann", "text": "hi"}]]')
        assert wait_task(owner, sent["task_id"], until=WAITING)["status"] == "waiting_approval"
        approval = _pending_approval(owner, sent["task_id"])
        _ok(owner.post(f"/v1/approvals/{approval}{decision}", json={"reason": "test"}))
        assert wait_task(owner, sent["task_id"])["status"] == "completed"
    held = send(owner, 'tell Bob [[tool:send_message {"to": "bob", "text": "later"}]]')
    assert wait_task(owner, held["task_id"], until=WAITING)["status"] == "waiting_approval"
    _ok(owner.post(f"/v1/agent/tasks/{held['task_id']}:cancel"))
    remember = send(owner, '[[tool:memory_write {"text": "I might like tea"}]]')
    wait_task(owner, remember["task_id"])
    wait_task(member, send(member, "hello from a member")["task_id"])
    _ok(owner.post("/v1/tools:execute", json={"tool": "web_search", "args": {"query": "x"}}))
    args = {"to": "a", "text": "b"}
    _ok(member.post("/v1/tools:execute", json={"tool": "send_message", "args": args}))


def _config(owner: httpx.Client) -> None:
    patch = _ok(owner.post("/v1/config/patches:propose", json={"text": "be more concise"}))
    revision = _ok(owner.post(f"/v1/config/patches/{patch['patch_id']}:commit", json={}))
    wait_task(owner, send(owner, "under the new style")["task_id"])
    _ok(owner.post(f"/v1/config/revisions/{revision['revision_id']}:rollback"))
    _ok(owner.post("/v1/config/patches:propose", json={"text": "be more detailed"}))


def _memory(owner: httpx.Client, member: httpx.Client) -> None:
    def write(text: str, client: httpx.Client = owner, **kw: Any) -> dict[str, Any]:
        return _ok(client.post("/v1/memory/write", json={"text": text, **kw}))

    old = write("I take the 7:40 train to work.")["memory"]
    assert write("I take the 7:40 train to work.")["status"] == "merged"
    newer = write("I take the 8:10 train to work.")
    assert newer["status"] == "candidate"
    url = f"/v1/memory/candidates/{newer['candidate']['candidate_id']}:approve"
    _ok(owner.post(url, json={"reason": "moved"}))
    maybe = write("Maybe I like jazz", confidence=0.2)["candidate"]
    _ok(owner.post(f"/v1/memory/candidates/{maybe['candidate_id']}:reject"))
    write("Maybe I like jazz", confidence=0.3)
    write("My online banking password is Tulip-7781", confidence=0.99)
    write("I live in Lyon", client=member)
    gone = write("I own a red bicycle.")["memory"]
    _ok(owner.delete(f"/v1/memory/items/{gone['memory_id']}"))
    assert old["memory_id"] != gone["memory_id"]


def _statuses(database_url: str, table: str) -> set[str]:
    return {row[0] for row in query(database_url, f"SELECT status FROM {table}")}  # noqa: S608


def _rebuild_cli(data_dir: Path, database_url: str, *options: str) -> Result:
    """`steward ledger rebuild` as an operator runs it, with Edge's environment."""
    args = ["ledger", "rebuild", "--data-dir", str(data_dir), *options]
    return runner.invoke(app, args, env=cli_env(database_url))


def test_a_live_edge_rebuilds_equal_from_its_ledger(
    make_edge: EdgeFactory, tmp_path: Path, database_url: str
) -> None:
    data_dir = tmp_path / "data"
    with webhook() as hook, make_edge(webhook_url=hook.url, data_dir=data_dir) as owner:
        _, token = add_member(database_url)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=owner.base_url, headers=headers, timeout=30) as member:
            _agent(owner, member)
            _config(owner)
            _memory(owner, member)
    # The same data restarted against a Core where nothing listens: a task that fails.
    with make_edge(core_base_url=f"http://127.0.0.1:{free_port()}", data_dir=data_dir) as edge:
        failed = send(edge, "is anyone there?")
        assert wait_task(edge, failed["task_id"], timeout=10)["status"] == "failed"
        # While this Edge runs, exactly as an operator would.
        result = _rebuild_cli(data_dir, database_url)
    assert result.exit_code == 0, result.output
    assert "ok: the rebuilt state equals the live state" in result.output

    # The scenario reached every state the comparison is meant to cover.
    assert _statuses(database_url, "tasks") == {"completed", "failed", "cancelled"}
    assert {"completed", "rejected", "pending_approval"} <= _statuses(database_url, "tool_calls")
    assert _statuses(database_url, "approvals") == {"approved", "rejected", "pending"}
    assert _statuses(database_url, "config_patches") == {"committed", "proposed"}
    assert _statuses(database_url, "memory_items") == {"active", "superseded", "deleted"}
    assert _statuses(database_url, "memory_candidates") == {"approved", "rejected", "pending"}
    db = Database(database_url)
    try:
        report = rebuild(db, tmp_path / "rebuilt.db")
    finally:
        db.dispose()
    assert report.differences == []
    assert all(n > 0 for n in report.rows.values()), report.rows
    assert report.rows["config_revisions"] == 3  # seed, commit, rollback


def test_a_changed_live_row_is_reported(
    edge: httpx.Client, tmp_path: Path, database_url: str
) -> None:
    sent = send(edge, "hello")
    wait_task(edge, sent["task_id"])
    execute(database_url, ("UPDATE tasks SET reply = 'x' WHERE id = :id", {"id": sent["task_id"]}))
    result = _rebuild_cli(tmp_path / "data", database_url)
    assert result.exit_code == 1, result.output
    assert "DIFFERENT: 1 difference(s) (tasks 1)" in result.output
    assert f"tasks[{sent['task_id']}].reply: live 'x'" in result.output


def test_a_deleted_live_row_is_reported_missing(
    edge: httpx.Client, tmp_path: Path, database_url: str
) -> None:
    sent = send(edge, "hello")
    wait_task(edge, sent["task_id"])
    execute(database_url, ("DELETE FROM messages WHERE role = 'assistant'", {}))
    result = _rebuild_cli(tmp_path / "data", database_url)
    assert result.exit_code == 1, result.output
    assert "only in the rebuild" in result.output


def _database(database_url: str) -> Database:
    db = Database(database_url)
    db.migrate()
    return db


def test_an_edited_event_is_refused(tmp_path: Path, database_url: str) -> None:
    db = _database(database_url)
    with db.write() as s:
        for i in range(3):
            LedgerStore().append(s, NewEvent(EventType.INPUT, {"i": i}, conversation_id="c"))
    with db.write() as s:
        drop_ledger_guard(s)
        s.execute(text("UPDATE ledger_events SET payload = :p WHERE seq = 2"), {"p": '{"i":9}'})
    db.dispose()
    result = _rebuild_cli(tmp_path / "data", database_url)
    assert result.exit_code == 2
    assert "does not verify" in result.output
    assert "seq 2" in result.output


def test_an_empty_database_rebuilds_equal_and_can_be_kept(
    tmp_path: Path, database_url: str
) -> None:
    _database(database_url).dispose()
    kept = tmp_path / "kept.db"
    result = _rebuild_cli(tmp_path / "data", database_url, "--keep", str(kept))
    assert result.exit_code == 0, result.output
    assert "0 events replayed" in result.output
    assert kept.exists()
    again = _rebuild_cli(tmp_path / "data", database_url, "--keep", str(kept))
    assert again.exit_code == 2
    assert "already exists" in again.output


def test_a_rebuild_reads_one_snapshot_while_edge_writes(tmp_path: Path, database_url: str) -> None:
    # Regression (PostgreSQL): under READ COMMITTED the state tables, read after the ledger,
    # held a user the ledger read had not seen, and the rebuild reported a difference.
    db, writer, ledger = _database(database_url), Database(database_url), LedgerStore()

    def add_user(name: str) -> None:
        created = {"phase": "created", "user_id": f"usr_{name}", "name": name, "role": "member"}
        with writer.write() as s:
            ledger.append(s, NewEvent(EventType.USER, created))

    add_user("ann")
    try:
        report = rebuild(db, tmp_path / "rebuilt.db", progress=lambda done, total: add_user("bo"))
    finally:
        db.dispose()
        writer.dispose()
    assert report.differences == []
    assert (report.events, report.rows["users"]) == (1, 1)


def test_no_database_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ledger", "rebuild", "--data-dir", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "there is no Steward database" in result.output


def test_an_equivalent_payload_text_still_verifies_as_ledger_verify_says(
    tmp_path: Path, database_url: str
) -> None:
    # The fast hash path assumes the stored payload is canonical; a payload stored with other
    # white space hashes the same once re-canonicalised, and `ledger verify` accepts it.
    db = _database(database_url)
    with db.write() as s:
        for i in range(3):
            LedgerStore().append(s, NewEvent(EventType.INPUT, {"i": i}, conversation_id="c"))
    with db.write() as s:
        drop_ledger_guard(s)
        s.execute(text("UPDATE ledger_events SET payload = :p WHERE seq = 2"), {"p": '{"i": 1}'})
    db.dispose()
    args = ["ledger", "verify", "--data-dir", str(tmp_path / "data")]
    verify = runner.invoke(app, args, env=cli_env(database_url))
    assert verify.exit_code == 0, verify.output
    result = _rebuild_cli(tmp_path / "data", database_url)
    assert result.exit_code == 0, result.output


def _event(seq: int, type_: str, payload: dict[str, Any]) -> StoredEvent:
    return StoredEvent(
        f"evt_{seq}", seq, "2026-01-01T00:00:00.000000Z", type_, None, None, SYSTEM, None, payload
    )


def test_the_reducer_refuses_events_out_of_order() -> None:
    projection = Projection()
    projection.apply(_event(2, "UserEvent", {}))
    with pytest.raises(ValueError, match="out of order"):
        projection.apply(_event(2, "UserEvent", {}))


def test_unknown_event_types_and_phases_change_nothing() -> None:
    projection = reduce(
        [
            _event(1, "SomeFutureEvent", {"phase": "created"}),
            _event(2, "UserEvent", {"phase": "renamed", "user_id": "usr_x"}),
            _event(3, "ToolCallEvent", {"phase": "started", "tool_call_id": "nope"}),
        ]
    )
    assert projection.events == 3
    assert all(projection.rows(spec.name) == [] for spec in TABLES)
