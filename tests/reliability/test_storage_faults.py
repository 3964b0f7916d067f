"""A full disk and a database locked by another process (SPEC §9): every write gets a clear
problem+json (507 `storage_full`, 503 `database_busy` with Retry-After), never a 500; reads
keep working; nothing is half-written; the task that was running when it happened pauses
instead of failing or burning an attempt, and finishes once; afterwards the same requests
succeed, the ledger verifies, rebuilds to the live tables, and SQLite's integrity check passes.

The disk really fills: Edge's data folder is on a small tmpfs of its own, topped up with a
filler file (so it needs root, or CAP_SYS_ADMIN, to mount; elsewhere the test is skipped). The
lock is really held: a second process opens the SQLite file and holds `BEGIN EXCLUSIVE`.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from core.api import create_app as create_core
from core.settings import CoreSettings
from tests.agent.conftest import EdgeFactory
from tests.agent.polling import send, timeline, wait_task
from tests.agent.processes import wait_until
from tests.databases import sqlite_url
from tests.ledger.rebuilt import assert_rebuilds_equal
from tests.servers import serve

# Long enough that its reply streams for a few seconds, so the fault lands mid-task.
LONG = "Please tell me a long story about " + " ".join(f"word{i}" for i in range(80))
LOCKER = (
    "import sqlite3, sys\n"
    "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "db.execute('BEGIN EXCLUSIVE')\n"
    "print('locked', flush=True)\n"
    "sys.stdin.readline()\n"
    "db.execute('ROLLBACK')\n"
)
Write = Callable[[httpx.Client], httpx.Response]


@pytest.fixture
def slow_core() -> Iterator[str]:
    """The real Core on its mock backend, streaming replies slowly."""
    with serve(create_core(CoreSettings(backend="mock", mock_stream_delay_s=0.06))) as url:
        yield url


@pytest.fixture
def slow_edge(make_edge: EdgeFactory, slow_core: str) -> EdgeFactory:
    """`with slow_edge(**settings) as client:` a real Edge, two workers, on the slow Core."""
    return functools.partial(make_edge, core_base_url=slow_core, workers=2)


@pytest.fixture
def worker_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """The warnings of Edge's workers (served in this process)."""
    caplog.set_level(logging.WARNING, logger="steward.edge.worker")
    return caplog


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 MB tmpfs of the test's own, to fill up."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(disk)]
    mounted = subprocess.run(mount, capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill (needs root): {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)


def _fill(disk: Path, database: Path) -> Path:
    """Empty SQLite's write-ahead log into the database file (so no write can reuse its
    space), then take every byte left on `disk`."""

    def checkpointed() -> bool:
        with sqlite3.connect(database, timeout=10) as db:
            return bool(db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0)

    wait_until(checkpointed, "a full checkpoint of Edge's database")
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * (1 << 20))
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
    finally:
        os.close(fd)
    return filler


def _writes(client: httpx.Client) -> dict[str, Write]:
    """One write of each kind; the config patch is proposed now and committed by the write."""
    proposed = client.post("/v1/config/patches:propose", json={"text": "回复更简洁"})
    assert proposed.status_code == 201, proposed.text
    patch_id = proposed.json()["patch_id"]
    return {
        "message": lambda c: c.post("/v1/agent/messages", json={"text": "hello again"}),
        "memory": lambda c: c.post("/v1/memory/write", json={"text": "I live in Lyon"}),
        "config": lambda c: c.post(f"/v1/config/patches/{patch_id}:commit", json={}),
        "tool": lambda c: c.post("/v1/tools:execute", json={"tool": "get_time", "args": {}}),
    }


def _each(writes: dict[str, Write], client: httpx.Client) -> Iterator[httpx.Response]:
    for write in writes.values():
        yield write(client)


def _assert_refused(r: httpx.Response, status: int, code: str, *words: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == code, body
    for word in words:
        assert word in body["detail"], body["detail"]


def _paused(caplog: pytest.LogCaptureFixture, task_id: str) -> Callable[[], bool]:
    def check() -> bool:
        return any(f"task {task_id} paused" in r.getMessage() for r in caplog.records)

    return check


def _running_long_task(client: httpx.Client) -> str:
    """Post LONG; return its task id once it streams its reply (route recorded)."""
    sent = send(client, LONG)

    def routed() -> bool:
        events = timeline(client, sent["conversation_id"])
        return any(e["type"] == "RouteEvent" for e in events)

    wait_until(routed, "the long task to reach its model call")
    return str(sent["task_id"])


def _assert_whole(client: httpx.Client, accepted: int, paused: str) -> None:
    """Every accepted message is one completed task with one input and one completion; the
    paused task kept its first attempt; the ledger verifies."""
    tasks = client.get("/v1/agent/tasks", params={"limit": 100}).json()["data"]
    assert len(tasks) == accepted, tasks
    for listed in tasks:
        task = wait_task(client, listed["task_id"])
        assert task["status"] == "completed", task
        events = timeline(client, task["conversation_id"])
        kinds = [e["type"] for e in events if e["task_id"] == task["task_id"]]
        assert kinds.count("InputEvent") == 1, kinds
        assert kinds.count("CompletionEvent") == 1, kinds
        assert "ErrorEvent" not in kinds, kinds
        if task["task_id"] == paused:
            assert task["attempts"] == 1, task
    verify = client.get("/v1/audit/verify")
    assert verify.status_code == 200, verify.text
    assert verify.json()["verified"], verify.text


def _assert_intact(data_dir: Path) -> None:
    assert_rebuilds_equal(sqlite_url(data_dir))
    with sqlite3.connect(data_dir / "edge.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_full_disk_refuses_writes_clearly_and_loses_nothing(
    slow_edge: EdgeFactory, small_disk: Path, worker_log: pytest.LogCaptureFixture
) -> None:
    data_dir = small_disk / "data"
    with slow_edge(data_dir=data_dir) as client:
        writes = _writes(client)
        running = _running_long_task(client)
        filler = _fill(small_disk, data_dir / "edge.db")
        for r in _each(writes, client):
            _assert_refused(r, 507, "storage_full", "full", str(data_dir), "Free space")
        assert client.get(f"/v1/agent/tasks/{running}").json()["status"] == "running"
        wait_until(_paused(worker_log, running), "the running task to pause on the full disk")

        filler.unlink()
        for r in _each(writes, client):
            assert r.status_code in (200, 201, 202), r.text
        assert wait_task(client, running)["status"] == "completed"
        _assert_whole(client, accepted=2, paused=running)
    _assert_intact(data_dir)


def test_locked_database_answers_busy_keeps_reading_and_runs_queued_tasks_once(
    slow_edge: EdgeFactory, tmp_path: Path, worker_log: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    with slow_edge(data_dir=data_dir, sqlite_busy_timeout_s=0.3) as client:
        writes = _writes(client)
        running = _running_long_task(client)
        lane = client.get(f"/v1/agent/tasks/{running}").json()["conversation_id"]
        queued = send(client, "and then?", lane)["task_id"]  # waits behind the running one
        locker = subprocess.Popen(
            [sys.executable, "-c", LOCKER, str(data_dir / "edge.db")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert locker.stdout is not None
            assert locker.stdout.readline() == "locked\n"
            for r in _each(writes, client):
                _assert_refused(r, 503, "database_busy", "busy", "another process", "Retry")
                assert int(r.headers["Retry-After"]) > 0
            assert client.get(f"/v1/agent/tasks/{queued}").json()["status"] == "queued"
            assert timeline(client, lane)
            wait_until(_paused(worker_log, running), "the running task to pause on the lock")
            claims = "cannot claim a task"
            wait_until(
                lambda: any(claims in r.getMessage() for r in worker_log.records),
                "an idle worker to back off from the lock",
            )
        finally:
            locker.communicate("release\n", timeout=30)
        for r in _each(writes, client):
            assert r.status_code in (200, 201, 202), r.text
        assert wait_task(client, queued, timeout=60)["status"] == "completed"
        _assert_whole(client, accepted=3, paused=running)
    _assert_intact(data_dir)
