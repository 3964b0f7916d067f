"""Core misbehaving in every way a model server can, with a real Edge in front (SPEC §9).

Core refuses connections, answers 500, answers 429 with Retry-After, hangs, stalls in the
middle of a stream, or is killed (SIGKILL) in the middle of one. Each time the task fails at
once with a reason a person can act on, nothing hangs, the circuit breaker opens and closes
as it should, and afterwards the ledger verifies and rebuilds into the very tables Edge
wrote. The scripted stand-in is a real HTTP server on loopback (`FakeCore`); the kill is of
a real Core process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.agent.conftest import EdgeFactory
from tests.agent.polling import send, timeline, wait_task
from tests.core_client.fake_core import FakeCore
from tests.ledger.rebuilt import assert_rebuilds_equal
from tests.servers import free_port, serve

FAST = {
    "core_read_timeout_s": 1.0,
    "core_breaker_threshold": 3,
    "core_breaker_cooldown_s": 30.0,
}


@pytest.fixture
def fake() -> Iterator[tuple[FakeCore, str]]:
    core = FakeCore()
    with serve(core.app) as url:
        yield core, url
        core.reset()


def _failed(edge: httpx.Client, text: str, conversation: str | None = None) -> dict[str, Any]:
    """Send `text`; the task must fail within 10 s; return its error."""
    task = wait_task(edge, send(edge, text, conversation)["task_id"], timeout=10)
    assert task["status"] == "failed", task
    error: dict[str, Any] = task["error"]
    return error


def _sound(edge: httpx.Client) -> None:
    verify = edge.get("/v1/audit/verify").json()
    assert verify["ok"] is True, verify


def _breaker(edge: httpx.Client) -> dict[str, Any]:
    core: dict[str, Any] = edge.get("/health").json()["core"]
    return core


def test_refused_connections_fail_fast_then_the_breaker_stops_calling(
    make_edge: EdgeFactory, tmp_path: Path, database_url: str
) -> None:
    data = tmp_path / "data"
    nowhere = f"http://127.0.0.1:{free_port()}"
    with make_edge(data_dir=data, core_base_url=nowhere, **FAST) as edge:
        assert _breaker(edge)["breaker"] == "closed"
        for n in range(3):
            error = _failed(edge, f"hello {n}")
            assert error["code"] == "core_unavailable"
            assert "unreachable" in error["message"]
            assert "connection refused" in error["message"]
        health = edge.get("/health").json()
        assert health["status"] == "degraded"
        assert health["core"]["breaker"] == "open"
        assert health["core"]["consecutive_failures"] == 3
        assert 0 < health["core"]["retry_in_s"] <= 30
        # Open: the next task fails without trying, saying when Core will be tried again.
        error = _failed(edge, "and now?")
        assert "paused calls" in error["message"], error
        assert health["core"]["retry_at"] in error["message"]
        assert "No cloud fallback is configured" in error["message"]
        _sound(edge)
    assert_rebuilds_equal(database_url)


def test_500s_open_the_breaker_and_health_checks_close_it(
    make_edge: EdgeFactory, tmp_path: Path, fake: tuple[FakeCore, str], database_url: str
) -> None:
    core, url = fake
    data = tmp_path / "data"
    quick = {**FAST, "core_breaker_cooldown_s": 0.3, "core_health_interval_s": 0.05}
    with make_edge(data_dir=data, core_base_url=url, **quick) as edge:
        core.script("500", "500", "500")
        for n in range(3):
            error = _failed(edge, f"try {n}")
            assert error["code"] == "core_failed", error
            assert "HTTP 500" in error["message"], error
        assert core.hits["/v1/chat/completions"] == 3
        # The health monitor tests Core once the cool-down passed; Core answers; it closes.
        deadline = time.monotonic() + 10
        while _breaker(edge)["breaker"] != "closed":
            assert time.monotonic() < deadline, _breaker(edge)
            time.sleep(0.05)
        task = wait_task(edge, send(edge, "are you back?")["task_id"])
        assert task["status"] == "completed", task
        assert edge.get("/health").json()["status"] == "ok"
        _sound(edge)
    assert_rebuilds_equal(database_url)


def test_429_with_retry_after_opens_the_breaker_for_as_long_as_asked(
    make_edge: EdgeFactory, tmp_path: Path, fake: tuple[FakeCore, str], database_url: str
) -> None:
    core, url = fake
    data = tmp_path / "data"
    with make_edge(data_dir=data, core_base_url=url, **FAST) as edge:
        core.script("429:120")
        error = _failed(edge, "busy?")
        assert "HTTP 429" in error["message"], error
        assert "120 s" in error["message"], error
        breaker = _breaker(edge)
        assert breaker["breaker"] == "open"
        assert 60 < breaker["retry_in_s"] <= 120  # Retry-After, not the 30 s cool-down
        calls = core.hits["/v1/chat/completions"]
        error = _failed(edge, "still busy?")
        assert "paused calls" in error["message"]
        assert core.hits["/v1/chat/completions"] == calls  # nothing was sent
        _sound(edge)
    assert_rebuilds_equal(database_url)


@pytest.mark.parametrize(
    ("mode", "words"),
    [("stall", "went silent on"), ("stream_stall", "went silent mid-stream")],
)
def test_a_hanging_or_stalled_core_times_out(
    make_edge: EdgeFactory,
    tmp_path: Path,
    fake: tuple[FakeCore, str],
    mode: str,
    words: str,
    database_url: str,
) -> None:
    core, url = fake
    data = tmp_path / "data"
    with make_edge(data_dir=data, core_base_url=url, **FAST) as edge:
        core.script(mode)
        started = time.monotonic()
        error = _failed(edge, "anyone?")
        assert time.monotonic() - started < 8  # the 1 s read timeout, not the 10 s stall
        assert error["code"] == "core_timeout", error
        assert words in error["message"], error
        _sound(edge)
    assert_rebuilds_equal(database_url)


def _start_core(port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CORE_BACKEND": "mock", "CORE_MOCK_STREAM_DELAY_S": "0.3"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "core.api:app", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, "Core exited at start"
        assert time.monotonic() < deadline, "Core did not start within 60 s"
        time.sleep(0.1)


def _first_delta(edge: httpx.Client, task_id: str) -> None:
    """Read the task's event stream until the first token of the reply arrives."""
    with edge.stream("GET", f"/v1/agent/tasks/{task_id}/events", timeout=30) as stream:
        for line in stream.iter_lines():
            if line.startswith("id:") and "." in line:
                return
    raise AssertionError("the stream ended before any token")


def test_core_killed_mid_stream_fails_the_task_with_no_half_reply_kept(
    make_edge: EdgeFactory, tmp_path: Path, database_url: str
) -> None:
    data = tmp_path / "data"
    port = free_port()
    proc = _start_core(port)
    try:
        with make_edge(data_dir=data, core_base_url=f"http://127.0.0.1:{port}", **FAST) as edge:
            sent = send(edge, "tell me a long story")
            _first_delta(edge, sent["task_id"])
            os.killpg(proc.pid, signal.SIGKILL)
            task = wait_task(edge, sent["task_id"], timeout=10)
            assert task["status"] == "failed", task
            assert task["error"]["code"] in ("core_failed", "core_unavailable"), task
            assert (
                "mid-stream" in task["error"]["message"]
                or "before `data: [DONE]`" in (task["error"]["message"])
            )
            types = [e["type"] for e in timeline(edge, sent["conversation_id"])]
            assert "CompletionEvent" not in types
            assert "FallbackEvent" not in types
            _sound(edge)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert_rebuilds_equal(database_url)
