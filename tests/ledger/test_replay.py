"""`steward replay TASK_ID`: a finished task's decisions, re-run by the real loop and policy
against its recorded model outputs and tool results, reproduce its recorded events; no
tool runs again (the webhook hears nothing new) and the live ledger is not written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from backend.cli import app
from backend.tools import service as tool_service
from backend.tools.policy import Decision
from tests.agent.conftest import EdgeFactory
from tests.agent.polling import send, wait_task
from tests.approvals.conftest import World, world
from tests.databases import cli_env, query
from tests.fakes.webhook import webhook
from tests.servers import free_port

__all__ = ["world"]  # the fixture, shared with tests/approvals

runner = CliRunner()
WAITING = ("waiting_approval", "completed", "failed", "cancelled")


def _head(database_url: str) -> tuple[int, str, int]:
    """The live ledger's head seq and hash, and how many events it holds."""
    [(seq, hash_)] = query(database_url, "SELECT seq, hash FROM ledger_head WHERE id = 1")
    [(count,)] = query(database_url, "SELECT count(*) FROM ledger_events")
    return int(seq), str(hash_), int(count)


def _replay(data_dir: Path, database_url: str, task_id: str) -> Any:
    args = ["replay", task_id, "--data-dir", str(data_dir)]
    return runner.invoke(app, args, env=cli_env(database_url))


def _run(client: httpx.Client, text: str) -> str:
    task_id: str = send(client, text)["task_id"]
    assert wait_task(client, task_id)["status"] == "completed"
    return task_id


def _decided(world: World, text: str, decision: str) -> str:
    owner = world.owner
    task_id: str = send(owner, text)["task_id"]
    assert wait_task(owner, task_id, until=WAITING)["status"] == "waiting_approval"
    pending = owner.get("/v1/approvals", params={"status": "pending"}).json()["data"]
    [approval] = [a["approval_id"] for a in pending if a["task_id"] == task_id]
    r = owner.post(f"/v1/approvals/{approval}:{decision}", json={"reason": "as a test"})
    assert r.status_code == 200, r.text
    assert wait_task(owner, task_id)["status"] == "completed"
    return task_id


def test_finished_tasks_reproduce_without_side_effects(world: World) -> None:
    owner = world.owner
    tasks = {
        "plain": _run(owner, "hello there"),
        "read_only": _run(owner, 'look it up [[tool:web_search {"query": "steward"}]]'),
        "approved": _decided(
            world, 'tell Ann [[tool:send_message {"to": "ann", "text": "hi"}]]', "approve"
        ),
        "rejected": _decided(
            world, 'tell Bob [[tool:send_message {"to": "bob", "text": "no"}]]', "reject"
        ),
        "memory": _run(owner, 'remember [[tool:memory_write {"text": "I like green tea"}]]'),
        "refused": _run(owner, 'tell [[tool:send_message {"text": "no recipient"}]]'),
        "unknown": _run(owner, 'use [[tool:no_such_tool {"x": 1}]]'),
    }
    assert world.hook.count() == 1  # the approved send, live
    before = _head(world.database_url)
    for name, task_id in tasks.items():
        result = _replay(world.data_dir, world.database_url, task_id)
        assert result.exit_code == 0, f"{name}: {result.output}"
        assert "reproduced:" in result.output
        assert "events match" in result.output
    assert world.hook.count() == 1  # the replays sent nothing
    assert _head(world.database_url) == before


def test_an_expired_approval_replays_through_the_real_expiry(
    make_edge: EdgeFactory, tmp_path: Path, database_url: str
) -> None:
    data_dir = tmp_path / "data"
    with webhook() as hook:
        settings = {"webhook_url": hook.url, "approval_ttl_s": 0.5, "approval_sweep_s": 0.1}
        with make_edge(data_dir=data_dir, **settings) as owner:
            task_id = _run(owner, 'tell Ann [[tool:send_message {"to": "ann", "text": "hi"}]]')
        before = _head(database_url)
        result = _replay(data_dir, database_url, task_id)
        assert result.exit_code == 0, result.output
        assert "ApprovalEvent expired send_message" in result.output
        assert "ToolCallEvent expired send_message" in result.output
        assert hook.count() == 0
    assert _head(database_url) == before


def test_a_members_local_write_approved_by_the_owner_replays(world: World) -> None:
    text = 'note it [[tool:notes_write {"path": "a.txt", "content": "x"}]]'
    task_id: str = send(world.member, text)["task_id"]
    assert wait_task(world.owner, task_id, until=WAITING)["status"] == "waiting_approval"
    pending = world.owner.get("/v1/approvals", params={"status": "pending"}).json()["data"]
    [approval] = [a["approval_id"] for a in pending if a["task_id"] == task_id]
    assert world.owner.post(f"/v1/approvals/{approval}:approve", json={}).status_code == 200
    assert wait_task(world.owner, task_id)["status"] == "completed"
    result = _replay(world.data_dir, world.database_url, task_id)
    assert result.exit_code == 0, result.output
    assert "ToolCallEvent requested notes_write" in result.output
    assert "ApprovalEvent approved notes_write" in result.output


def test_a_task_failed_by_an_absent_core_replays(
    make_edge: EdgeFactory, tmp_path: Path, database_url: str
) -> None:
    data_dir = tmp_path / "data"
    with make_edge(data_dir=data_dir, core_base_url=f"http://127.0.0.1:{free_port()}") as edge:
        task_id: str = send(edge, "is anyone there?")["task_id"]
        assert wait_task(edge, task_id)["status"] == "failed"
    result = _replay(data_dir, database_url, task_id)
    assert result.exit_code == 0, result.output
    assert "ErrorEvent" in result.output
    assert "TaskEvent failed" in result.output


def test_tasks_cancelled_while_waiting_or_queued_replay(world: World) -> None:
    owner = world.owner
    held = send(owner, 'tell Di [[tool:send_message {"to": "di", "text": "x"}]]')
    assert wait_task(owner, held["task_id"], until=WAITING)["status"] == "waiting_approval"
    queued = send(owner, "after that", held["conversation_id"])["task_id"]
    for task_id in (queued, held["task_id"]):
        assert owner.post(f"/v1/agent/tasks/{task_id}:cancel").status_code < 300
        assert wait_task(owner, task_id)["status"] == "cancelled"
    for task_id in (queued, held["task_id"]):
        result = _replay(world.data_dir, world.database_url, task_id)
        assert result.exit_code == 0, result.output
        assert "TaskEvent cancelled" in result.output
    assert "TaskEvent running" not in _replay(world.data_dir, world.database_url, queued).output
    assert world.hook.count() == 0


def test_a_task_replays_under_the_config_it_ran_under(world: World) -> None:
    owner = world.owner
    patch = owner.post("/v1/config/patches:propose", json={"text": "be more concise"}).json()
    r = owner.post(f"/v1/config/patches/{patch['patch_id']}:commit", json={})
    assert r.status_code == 201, r.text
    revision = r.json()["revision_id"]
    task_id = _run(owner, "under the concise style")
    r = owner.post(f"/v1/config/revisions/{revision}:rollback")
    assert r.status_code < 300, r.text
    result = _replay(world.data_dir, world.database_url, task_id)
    assert result.exit_code == 0, result.output
    [(payload,)] = query(
        world.database_url,
        "SELECT payload FROM ledger_events WHERE task_id = :task AND type = 'PlanEvent'",
        task=task_id,
    )
    assert json.loads(payload)["config_revision"] == revision  # not the rollback's


def test_replay_lists_each_step_of_an_approved_write(world: World) -> None:
    task_id = _decided(
        world, 'tell Ann [[tool:send_message {"to": "ann", "text": "hi"}]]', "approve"
    )
    result = _replay(world.data_dir, world.database_url, task_id)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "ToolCallEvent requested send_message" in out
    assert "needs_approval" in out
    assert "ApprovalEvent approved send_message" in out
    assert "ToolCallEvent completed send_message" in out
    assert "CompletionEvent" in out
    assert world.hook.count() == 1


def test_a_changed_policy_diverges_at_the_tool_decision(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = _run(world.owner, 'look it up [[tool:web_search {"query": "steward"}]]')
    before = _head(world.database_url)

    def strict(*args: Any, **kwargs: Any) -> Decision:
        return Decision.NEEDS_APPROVAL

    monkeypatch.setattr(tool_service, "decide", strict)
    result = _replay(world.data_dir, world.database_url, task_id)
    assert result.exit_code == 1, result.output
    assert "DIVERGED" in result.output
    assert "field 'decision'" in result.output
    assert "'type': 'ToolCallEvent'" in result.output
    assert "'decision': 'run'" in result.output
    assert "'decision': 'needs_approval'" in result.output
    assert _head(world.database_url) == before


def test_fewer_recorded_turns_than_the_loop_asks_for_diverge(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backend.ledger import replay_recorded

    task_id = _run(world.owner, 'look it up [[tool:web_search {"query": "steward"}]]')
    real = replay_recorded.Recorded.read

    def without_completion(events: Any) -> Any:
        recorded = real(events)
        recorded.turns = recorded.turns[:-1]
        return recorded

    monkeypatch.setattr(replay_recorded.Recorded, "read", staticmethod(without_completion))
    result = _replay(world.data_dir, world.database_url, task_id)
    assert result.exit_code == 1, result.output
    assert "asked for model turn 2, but the task recorded 1" in result.output
    assert "'type': 'CompletionEvent'" in result.output
    assert "'type': 'ErrorEvent'" in result.output


def test_unknown_and_unfinished_tasks_are_refused(world: World, tmp_path: Path) -> None:
    result = _replay(world.data_dir, world.database_url, "task_nope")
    assert result.exit_code == 2
    assert "there is no task 'task_nope'" in result.output
    held = send(world.owner, 'tell Cy [[tool:send_message {"to": "cy", "text": "later"}]]')[
        "task_id"
    ]
    assert wait_task(world.owner, held, until=WAITING)["status"] == "waiting_approval"
    result = _replay(world.data_dir, world.database_url, held)
    assert result.exit_code == 2
    assert "only a finished task replays" in result.output
    missing = runner.invoke(app, ["replay", "task_x", "--data-dir", str(tmp_path / "none")])
    assert missing.exit_code == 2
