"""The whole path on the real local model: a message to Edge, answered by Gemma 3 270M
through Core's llamacpp backend, streamed, recorded and verifiable."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.api import create_app
from core.settings import CoreSettings
from tests.agent.conftest import EdgeFactory
from tests.agent.polling import send, timeline, wait_task
from tests.servers import serve

pytestmark = pytest.mark.llamacpp


@pytest.fixture(scope="module")
def real_core() -> Iterator[str]:
    configured = os.environ.get("STEWARD_TEST_MODEL_DIR")
    model_dir = Path(configured) if configured else Path.home() / ".cache" / "steward" / "models"
    with serve(create_app(CoreSettings(backend="llamacpp", model_dir=model_dir))) as url:
        yield url


def test_edge_answers_with_the_real_local_model(make_edge: EdgeFactory, real_core: str) -> None:
    with make_edge(core_base_url=real_core, max_reply_tokens=24) as edge:
        sent = send(edge, "What is the capital of France?")
        task = wait_task(edge, sent["task_id"], timeout=120)
        assert task["status"] == "completed", task
        assert task["reply"].strip()
        events = timeline(edge, sent["conversation_id"])
        route = next(e for e in events if e["type"] == "RouteEvent")
        assert route["payload"]["backend"] == "llamacpp"
        assert route["payload"]["model"] == "gemma-3-270m-q4_k_m"
        completion = next(e for e in events if e["type"] == "CompletionEvent")
        usage = completion["payload"]["usage"]
        assert 0 < usage["completion_tokens"] <= 24
        assert edge.get("/v1/audit/verify").json()["ok"] is True
