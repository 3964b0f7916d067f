"""The cloud fallback (SPEC §9): it answers only when Core cannot, only before the first
token, only when configured and allowed by the owner's config; each use is a recorded
`FallbackEvent` that the audit shows and a replay reproduces.

The "cloud" here is a second real Core on the mock backend, on loopback: any
OpenAI-compatible endpoint will do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from backend.cli import app
from tests.agent.conftest import EdgeFactory
from tests.agent.polling import send, timeline, wait_task
from tests.core_client.fake_core import FakeCore
from tests.ledger.rebuilt import assert_rebuilds_equal
from tests.servers import free_port, serve

ALLOW = "you can use the cloud model"


def _allow_cloud(edge: httpx.Client) -> None:
    proposed = edge.post("/v1/config/patches:propose", json={"text": ALLOW})
    assert proposed.status_code == 201, proposed.text
    assert proposed.json()["risk"] == "L2"
    committed = edge.post(f"/v1/config/patches/{proposed.json()['patch_id']}:commit", json={})
    assert committed.status_code == 201, committed.text


def _run(edge: httpx.Client, text: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    sent = send(edge, text)
    task = wait_task(edge, sent["task_id"], timeout=15)
    events = [e for e in timeline(edge, sent["conversation_id"]) if e["task_id"] == task["task_id"]]
    return task, events


def _settle(edge: httpx.Client) -> None:
    assert edge.get("/v1/audit/verify").json()["ok"] is True


@pytest.fixture
def nowhere() -> str:
    return f"http://127.0.0.1:{free_port()}"


def test_the_fallback_answers_only_once_the_owner_allows_it(
    make_edge: EdgeFactory, tmp_path: Path, core_url: str, nowhere: str, database_url: str
) -> None:
    data = tmp_path / "data"
    settings = {"core_base_url": nowhere, "fallback_base_url": core_url}
    with make_edge(data_dir=data, **settings) as edge:
        task, events = _run(edge, "hello?")
        assert task["status"] == "failed"
        assert "does not allow it" in task["error"]["message"], task["error"]
        assert ALLOW in task["error"]["message"]
        assert "FallbackEvent" not in [e["type"] for e in events]

        _allow_cloud(edge)
        task, events = _run(edge, "hello again?")
        assert task["status"] == "completed", task
        types = [e["type"] for e in events]
        fallback = events[types.index("FallbackEvent")]
        assert types.index("FallbackEvent") < types.index("CompletionEvent")
        assert fallback["payload"]["from"] == nowhere
        assert fallback["payload"]["to"] == core_url
        assert "unreachable" in fallback["payload"]["reason"]
        assert edge.get("/health").json()["fallback"]["breaker"] == "closed"

        report = edge.post(
            "/v1/audit/render", json={"task_id": task["task_id"], "format": "markdown"}
        )
        assert report.status_code == 200, report.text
        assert "Fallback at" in report.text
        _settle(edge)
    replay = CliRunner().invoke(app, ["replay", task["task_id"], "--data-dir", str(data)])
    assert replay.exit_code == 0, replay.output
    assert_rebuilds_equal(database_url)


def test_no_fallback_after_the_first_token(
    make_edge: EdgeFactory, tmp_path: Path, core_url: str, database_url: str
) -> None:
    fake = FakeCore()
    data = tmp_path / "data"
    with (
        serve(fake.app) as url,
        make_edge(data_dir=data, core_base_url=url, fallback_base_url=core_url) as edge,
    ):
        _allow_cloud(edge)
        fake.script("stream_error")
        task, events = _run(edge, "a long answer, please")
        assert task["status"] == "failed", task
        assert "middle of a streamed reply" in task["error"]["message"]
        assert "FallbackEvent" not in [e["type"] for e in events]
        _settle(edge)
        fake.reset()
    assert_rebuilds_equal(database_url)


def test_a_failing_fallback_names_both_failures(
    make_edge: EdgeFactory, tmp_path: Path, nowhere: str, database_url: str
) -> None:
    data = tmp_path / "data"
    cloud = f"http://127.0.0.1:{free_port()}"
    with make_edge(data_dir=data, core_base_url=nowhere, fallback_base_url=cloud) as edge:
        _allow_cloud(edge)
        task, events = _run(edge, "anyone at all?")
        assert task["status"] == "failed", task
        message = task["error"]["message"]
        assert f"fell back to {cloud}" in message, message
        assert nowhere in message
        assert [e["type"] for e in events].count("FallbackEvent") == 1
        _settle(edge)
    assert_rebuilds_equal(database_url)
