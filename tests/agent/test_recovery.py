"""Crash recovery (SPEC §3 durability, §9): a task running when its process dies is picked up
again and completes once; queued work survives and lanes stay FIFO; a live worker's lease is
respected until it expires; a task that keeps losing its worker ends `failed`.

The crash tests run Edge as a real subprocess, kill it with SIGKILL and restart it on the same
SQLite file, against a fake Core that streams slowly (the only fake: the model)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.agent.api import create_app as create_edge
from backend.agent.worker import WorkerPool
from backend.auth.principal import Principal
from backend.clock import now, rfc3339
from backend.services import Services
from backend.storage.models import Task
from tests.agent.conftest import OWNER_TOKEN, edge_settings
from tests.agent.polling import TERMINAL, send, timeline, wait_task
from tests.agent.processes import EdgeProcesses, edge_env, wait_until
from tests.fakes.slow_core import SlowCoreState, slow_core_app
from tests.ledger.rebuilt import assert_rebuilds_equal
from tests.servers import serve

# Far longer than any test here may take: a recovery that waited for the lease would time out.
LONG_LEASE_S = 120


@pytest.fixture
def slow_core() -> Iterator[tuple[str, SlowCoreState]]:
    """A fake Core (its state is tuned per test) on a loopback port."""
    state = SlowCoreState()
    with serve(slow_core_app(state)) as url:
        yield url, state


def _first_delta(client: httpx.Client, task_id: str) -> dict[str, Any]:
    """Open the task's event stream and return the first token delta's data."""
    with client.stream("GET", f"/v1/agent/tasks/{task_id}/events", timeout=10) as r:
        assert r.status_code == 200, r.read()
        event = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event == "delta":
                data: dict[str, Any] = json.loads(line.removeprefix("data: "))
                return data
    raise AssertionError(f"the event stream of {task_id} ended without a delta")


def _of_task(events: list[dict[str, Any]], task_id: str) -> list[dict[str, Any]]:
    return [e for e in events if e["task_id"] == task_id]


def _story(events: list[dict[str, Any]]) -> list[str]:
    """Each event as `Type` or `TaskEvent:<status>[/<phase>]`, for comparing sequences."""
    out = []
    for e in events:
        if e["type"] == "TaskEvent":
            phase = e["payload"].get("phase")
            out.append(f"TaskEvent:{e['payload']['status']}" + (f"/{phase}" if phase else ""))
        else:
            out.append(e["type"])
    return out


def test_kill9_mid_stream_task_completes_once_after_restart_without_waiting_for_lease(
    tmp_path: Path, slow_core: tuple[str, SlowCoreState], database_url: str
) -> None:
    core_url, core = slow_core
    core.chunks, core.chunk_delay_s = 40, 0.25  # a 10 s answer: surely mid-stream at the kill
    env = edge_env(
        tmp_path / "data",
        core_url,
        workers=2,
        lease_seconds=LONG_LEASE_S,
        database_url=database_url,
    )
    with EdgeProcesses(tmp_path) as edges:
        first = edges.new("edge-before-crash", env)
        first.start()
        with first.client() as client:
            sent = send(client, "Tell me a long story.")
            task_id = sent["task_id"]
            wait_task(client, task_id, until=("running",), timeout=10)
            delta = _first_delta(client, task_id)
            assert delta["text"] == "part0 "
            running = client.get(f"/v1/agent/tasks/{task_id}").json()
            assert running["status"] == "running"
            assert running["attempts"] == 1
        first.kill9()

        core.chunk_delay_s = 0.005  # the second attempt streams quickly
        second = edges.new("edge-after-restart", env)
        second.start()
        with second.client() as client:
            # Well inside the 120 s lease: the restart saw the dead pid and did not wait.
            task = wait_task(client, task_id, timeout=15)
            assert task["status"] == "completed", task
            assert task["attempts"] == 2
            expected = "".join(f"part{i} " for i in range(40))
            assert task["reply"] == expected
            events = _of_task(timeline(client, sent["conversation_id"]), task_id)
            assert _story(events) == [
                "InputEvent",
                "TaskEvent:queued",
                "TaskEvent:running",
                "PlanEvent",
                "RouteEvent",  # recorded once: the retry does not repeat them
                "MemoryEvent",
                "TaskEvent:queued/recovered",
                "TaskEvent:running",
                "CompletionEvent",
                "TaskEvent:completed",
            ]
            [completion] = [e for e in events if e["type"] == "CompletionEvent"]
            assert completion["payload"]["text"] == expected
            recovered = next(e for e in events if e["payload"].get("phase") == "recovered")
            assert recovered["actor"]["role"] == "system"
            assert recovered["payload"]["reason"]
            attempts = [
                e["payload"]["attempt"]
                for e in events
                if e["type"] == "TaskEvent" and e["payload"]["status"] == "running"
            ]
            assert attempts == [1, 2]
            assert core.calls == 2
            assert client.get("/v1/agent/lanes").json()["data"] == []
            verify = client.get("/v1/audit/verify").json()
            assert verify["ok"] is True, verify
            assert_rebuilds_equal(database_url)


def test_kill9_with_twenty_queued_tasks_loses_none_and_keeps_lanes_fifo(
    tmp_path: Path, slow_core: tuple[str, SlowCoreState], database_url: str
) -> None:
    core_url, core = slow_core
    core.chunks, core.chunk_delay_s = 3, 0.0
    core.gate = threading.Event()  # held: each lane's head stays mid-request until the crash
    env = edge_env(
        tmp_path / "data",
        core_url,
        workers=4,
        lease_seconds=LONG_LEASE_S,
        database_url=database_url,
    )
    lanes = [f"lane-{n}" for n in range(4)]
    submitted: dict[str, list[str]] = {lane: [] for lane in lanes}
    with EdgeProcesses(tmp_path) as edges:
        first = edges.new("edge-before-crash", env)
        first.start()
        with first.client() as client:
            for i in range(5):
                for lane in lanes:
                    sent = send(client, f"message {i} in {lane}", lane)
                    submitted[lane].append(sent["task_id"])

            def running() -> list[dict[str, Any]]:
                page = client.get("/v1/agent/tasks", params={"status": "running", "limit": 50})
                data: list[dict[str, Any]] = page.json()["data"]
                return data

            wait_until(lambda: len(running()) == 4 and core.active == 4, "4 lanes mid-request")
            heads = {t["conversation_id"]: t["task_id"] for t in running()}
            assert heads == {lane: ids[0] for lane, ids in submitted.items()}
            queued = client.get("/v1/agent/tasks", params={"status": "queued", "limit": 50})
            assert len(queued.json()["data"]) == 16
        first.kill9()

        core.gate.set()
        second = edges.new("edge-after-restart", env)
        second.start()
        with second.client() as client:
            every_id = [tid for ids in submitted.values() for tid in ids]
            tasks = {tid: wait_task(client, tid, timeout=20) for tid in every_id}
            assert {t["status"] for t in tasks.values()} == {"completed"}
            for lane, ids in submitted.items():
                events = timeline(client, lane)
                completions = [e["task_id"] for e in events if e["type"] == "CompletionEvent"]
                assert completions == ids, f"{lane} did not complete in submission order"
                recovered = [
                    e["task_id"] for e in events if e["payload"].get("phase") == "recovered"
                ]
                assert recovered == [ids[0]], f"only {lane}'s head was running at the crash"
                assert [tasks[t]["attempts"] for t in ids] == [2, 1, 1, 1, 1]
            verify = client.get("/v1/audit/verify").json()
            assert verify["ok"] is True, verify
            assert_rebuilds_equal(database_url)


# --- leases, in-process: the worker pool's own claim and sweep on a real SQLite file ---------


@dataclass
class Rig:
    """Edge as its app factory builds it, on a fresh SQLite file, started with no runners:
    the tests drive its worker pool's `claim` and `sweep` themselves."""

    services: Services
    pool: WorkerPool
    owner: Principal

    @property
    def max_attempts(self) -> int:
        return self.services.settings.max_attempts

    def submit(self, text: str, lane: str) -> str:
        task, _ = self.services.agent.submit(self.owner, text, lane, None)
        task_id: str = task["task_id"]
        return task_id

    def task(self, task_id: str) -> Task:
        with self.services.db.read() as s:
            task = self.services.tasks.get(s, task_id)
            assert task is not None
            return task

    def lease(self, task_id: str, owner: str, expires_in_s: float) -> None:
        """Give a running task's lease to `owner`, expiring `expires_in_s` from now."""
        with self.services.db.write() as s:
            task = self.services.tasks.get(s, task_id)
            assert task is not None
            assert task.status == "running"
            task.lease_owner = owner
            task.lease_expires_at = rfc3339(now() + timedelta(seconds=expires_in_s))

    def task_events(self, task_id: str) -> list[dict[str, Any]]:
        with self.services.db.read() as s:
            return [e.public() for e in self.services.ledger.for_task(s, task_id)]


@pytest.fixture
async def rig(tmp_path: Path, database_url: str) -> AsyncIterator[Rig]:
    # workers=0: the pool is built but never started, so nothing claims or sweeps on its own.
    settings = edge_settings(
        tmp_path / "data",
        "http://127.0.0.1:9",
        workers=0,
        lease_seconds=30,
        max_attempts=2,
        database_url=database_url,
    )
    app = create_edge(settings)
    async with app.router.lifespan_context(app):
        services: Services = app.state.services
        with services.db.read() as s:
            owner = services.users.resolve(s, OWNER_TOKEN)
        assert owner is not None
        yield Rig(services, app.state.workers, owner)


def _dead_pid() -> int:
    """The pid of a process of this host that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


async def test_live_foreign_lease_is_not_stolen_before_it_expires_and_is_after(rig: Rig) -> None:
    head, second = rig.submit("first", "lane-a"), rig.submit("second", "lane-a")
    pool = rig.pool
    claimed = pool.claim()
    assert claimed is not None
    assert claimed.task_id == head
    rig.lease(head, "another-host/4242/0123456789ab", expires_in_s=60)

    assert pool.sweep() == 0
    held = rig.task(head)
    assert (held.status, held.lease_owner) == ("running", "another-host/4242/0123456789ab")
    assert pool.claim() is None, "the lane is busy: neither its head nor the next may start"

    rig.lease(head, "another-host/4242/0123456789ab", expires_in_s=-1)
    assert pool.sweep() == 1
    put_back = rig.task(head)
    assert (put_back.status, put_back.lease_owner, put_back.attempts) == ("queued", None, 1)
    last = rig.task_events(head)[-1]
    assert last["payload"]["status"] == "queued"
    assert last["payload"]["phase"] == "recovered"
    again = pool.claim()
    assert again is not None
    assert (again.task_id, again.attempt) == (head, 2), "a requeued task heads its lane"
    assert rig.task(second).status == "queued"


async def test_same_host_lease_of_live_pid_is_kept_and_of_dead_pid_is_taken_at_once(
    rig: Rig,
) -> None:
    alive, dead = rig.submit("alive", "lane-live"), rig.submit("dead", "lane-dead")
    host = socket.gethostname()
    pool = rig.pool
    for _ in range(2):
        assert pool.claim() is not None
    rig.lease(alive, f"{host}/{os.getppid()}/0123456789ab", expires_in_s=60)
    rig.lease(dead, f"{host}/{_dead_pid()}/0123456789ab", expires_in_s=60)

    assert pool.sweep() == 1
    assert rig.task(alive).status == "running"
    assert rig.task(dead).status == "queued", "a dead owner's lease is not waited out"


async def test_task_that_keeps_losing_its_worker_fails_after_max_attempts(rig: Rig) -> None:
    assert rig.max_attempts == 2
    doomed, after = rig.submit("doomed", "lane-b"), rig.submit("after", "lane-b")
    pool = rig.pool
    for attempt in (1, 2):
        claimed = pool.claim()
        assert claimed is not None
        assert (claimed.task_id, claimed.attempt) == (doomed, attempt)
        rig.lease(doomed, "gone-host/1/0123456789ab", expires_in_s=-1)
        assert pool.sweep() == 1

    failed = rig.task(doomed)
    assert failed.status == "failed"
    assert failed.finished_at is not None
    assert failed.lease_owner is None
    assert failed.error is not None
    error = json.loads(failed.error)
    assert error["code"] == "worker_lost"
    assert "2 times" in error["message"]
    last = rig.task_events(doomed)[-1]
    assert last["type"] == "TaskEvent"
    assert last["payload"]["status"] == "failed"
    assert last["payload"]["reason"] == error["message"]
    assert pool.sweep() == 0, "a failed task is not swept again"

    # The lane is not stuck behind it: the next task starts, and nothing else is claimable.
    nxt = pool.claim()
    assert nxt is not None
    assert nxt.task_id == after
    assert pool.claim() is None
    assert rig.task(doomed).status in TERMINAL
    assert_rebuilds_equal(rig.services.db)
