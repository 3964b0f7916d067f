"""The optional model fallback of the patch compiler: used only when the rules cannot map a
preference and the setting is on; the model's patch is checked like any other."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from tests.agent.conftest import EdgeFactory
from tests.servers import serve


class _Answers:
    content = ""


@pytest.fixture
def model_core() -> Iterator[tuple[str, type[_Answers]]]:
    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "backend": "fake", "models": ["fake"]}

    @app.post("/v1/chat/completions")
    def chat() -> dict[str, Any]:
        message = {"role": "assistant", "content": _Answers.content}
        return {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": "fake",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }

    with serve(app) as url:
        yield url, _Answers


def _propose(edge: Any, text: str) -> Any:
    return edge.post("/v1/config/patches:propose", json={"text": text})


def test_model_patch_is_used_when_the_rules_fail(
    make_edge: EdgeFactory, model_core: tuple[str, type[_Answers]]
) -> None:
    url, answers = model_core
    proposal = {
        "ops": [{"op": "replace", "path": "/reply/tone", "value": "formal"}],
        "rationale": "A butler is formal.",
    }
    answers.content = "Sure! " + json.dumps(proposal)
    with make_edge(core_base_url=url, config_model_fallback=True, workers=0) as edge:
        r = _propose(edge, "talk to me like a butler would")
        assert r.status_code == 201, r.text
        patch = r.json()
        assert patch["intents"] == ["model_fallback"]
        assert patch["risk"] == "L1"
        assert patch["diff"] == [{"path": "/reply/tone", "before": "neutral", "after": "formal"}]
        assert patch["rationale"].startswith("(model suggestion)")
        assert edge.post(f"/v1/config/patches/{patch['patch_id']}:commit").status_code == 201


@pytest.mark.parametrize(
    "content",
    [
        "I think you should be formal.",
        '{"ops": [{"op": "remove", "path": "/reply/tone"}]}',
        '{"ops": [{"op": "replace", "path": "/approvals/external_write", "value": "allow"}]}',
        '{"ops": [{"op": "replace", "path": "/reply/tone", "value": "pirate"}]}',
        '{"ops": []}',
    ],
)
def test_unfit_model_answers_are_refused(
    make_edge: EdgeFactory, model_core: tuple[str, type[_Answers]], content: str
) -> None:
    url, answers = model_core
    answers.content = content
    with make_edge(core_base_url=url, config_model_fallback=True, workers=0) as edge:
        r = _propose(edge, "talk to me like a butler would")
        assert r.status_code == 422
        assert r.json()["code"] == "model_patch_invalid"
        assert edge.get("/v1/config/revisions").json()["data"][0]["kind"] == "seed"


def test_without_the_setting_the_model_is_never_asked(
    make_edge: EdgeFactory, model_core: tuple[str, type[_Answers]]
) -> None:
    url, answers = model_core
    answers.content = json.dumps(
        {"ops": [{"op": "replace", "path": "/reply/tone", "value": "formal"}]}
    )
    with make_edge(core_base_url=url, workers=0) as edge:
        r = _propose(edge, "talk to me like a butler would")
        assert r.status_code == 422
        assert r.json()["code"] == "preference_not_understood"
