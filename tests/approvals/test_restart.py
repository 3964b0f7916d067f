"""Approvals survive kill -9: approve after a restart and the tool runs exactly once, and
the waiting task completes. An external write cut off mid-flight is marked ambiguous and
never silently re-run."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import httpx
import pytest

from backend.tools.service import ToolService
from tests.agent.conftest import EdgeFactory
from tests.agent.polling import send, wait_task
from tests.agent.processes import EdgeProcesses, edge_env
from tests.databases import execute
from tests.fakes.webhook import webhook
from tests.ledger.rebuilt import assert_rebuilds_equal


def test_pending_approval_survives_kill9_and_runs_once(
    tmp_path: Path, core_url: str, database_url: str
) -> None:
    data = tmp_path / "data"
    with webhook() as hook, EdgeProcesses(tmp_path) as edges:
        env = edge_env(data, core_url, webhook_url=hook.url, database_url=database_url)
        first = edges.new("edge-1", env)
        first.start()
        with first.client() as owner:
            sent = send(owner, '[[tool:send_message {"to": "ann", "text": "after restart"}]]')
            wait_task(owner, sent["task_id"], until=("waiting_approval",))
            direct = owner.post(
                "/v1/tools:execute",
                json={"tool": "send_message", "args": {"to": "bo", "text": "direct"}},
            ).json()
            pending = owner.get("/v1/approvals", params={"status": "pending"}).json()["data"]
        assert len(pending) == 2
        first.kill9()
        second = edges.new("edge-2", env)
        second.start()
        with second.client() as owner:
            for approval in pending:
                r = owner.post(f"/v1/approvals/{approval['approval_id']}:approve")
                assert r.status_code == 200, r.text
                assert (
                    owner.post(f"/v1/approvals/{approval['approval_id']}:approve").status_code
                    == 409
                )
            task = wait_task(owner, sent["task_id"])
            assert task["status"] == "completed"
            call = owner.get(f"/v1/tool-calls/{direct['tool_call_id']}").json()
            assert call["status"] == "completed"
            assert owner.get("/v1/audit/verify").json()["ok"] is True
        texts = sorted(json.loads(r["body"])["text"] for r in hook.received)
        assert texts == ["after restart", "direct"]
        assert_rebuilds_equal(database_url)


def test_external_write_cut_off_mid_flight_is_ambiguous(
    tmp_path: Path, core_url: str, database_url: str
) -> None:
    """Simulate a crash between intent and receipt: a `running` external call whose executor
    is a dead process. On restart it is marked ambiguous, not re-run."""
    data = tmp_path / "data"
    with webhook() as hook, EdgeProcesses(tmp_path) as edges:
        env = edge_env(data, core_url, webhook_url=hook.url, database_url=database_url)
        first = edges.new("edge-1", env)
        first.start()
        with first.client() as owner:
            held = owner.post(
                "/v1/tools:execute",
                json={"tool": "send_message", "args": {"to": "x", "text": "maybe"}},
            ).json()
        first.kill9()
        dead = f"{__import__('socket').gethostname()}/999999/dead"
        execute(
            database_url,
            (
                "UPDATE tool_calls SET status = 'running', executor = :dead WHERE id = :id",
                {"dead": dead, "id": held["tool_call_id"]},
            ),
            (
                "UPDATE approvals SET status = 'approved' WHERE tool_call_id = :id",
                {"id": held["tool_call_id"]},
            ),
        )
        second = edges.new("edge-2", env)
        second.start()
        with second.client() as owner:
            call = owner.get(f"/v1/tool-calls/{held['tool_call_id']}").json()
        assert call["status"] == "ambiguous"
        assert "may or may not" in call["error"]
        assert hook.count() == 0


def test_a_crash_after_the_approved_call_ran_still_resumes_the_task(
    make_edge: EdgeFactory, tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The crash window between an approved call's receipt and putting its task back in the
    lane: the task must not stay `waiting_approval` forever. Found by the kill -9 loop."""
    data = tmp_path / "data"
    crashed = []

    def crash(self: ToolService, task_id: str | None, approval_id: str | None) -> None:
        crashed.append(task_id)
        raise RuntimeError("Edge died here")

    with webhook() as hook, make_edge(data_dir=data, webhook_url=hook.url) as owner:
        sent = send(owner, '[[tool:send_message {"to": "ann", "text": "once"}]]')
        wait_task(owner, sent["task_id"], until=("waiting_approval",))
        [approval] = owner.get("/v1/approvals", params={"status": "pending"}).json()["data"]
        with monkeypatch.context() as patched:
            patched.setattr(ToolService, "_resume_task", crash)
            # The request dies with the "crash", on a connection of its own.
            with (
                httpx.Client(base_url=owner.base_url, headers=owner.headers) as doomed,
                contextlib.suppress(httpx.HTTPError),
            ):
                doomed.post(f"/v1/approvals/{approval['approval_id']}:approve")
        assert crashed == [sent["task_id"]]
        assert owner.get(f"/v1/agent/tasks/{sent['task_id']}").json()["status"] == (
            "waiting_approval"
        )
    with make_edge(data_dir=data, webhook_url=hook.url) as owner:
        task = wait_task(owner, sent["task_id"])
        assert task["status"] == "completed", task
        assert owner.get("/v1/audit/verify").json()["ok"] is True
    assert hook.count() == 1
    assert_rebuilds_equal(database_url)
