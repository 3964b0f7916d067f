"""Core's `openai` backend when things go wrong: upstream errors mapped to OpenAI errors,
timeouts, an upstream that is down, and the key that never leaks."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import httpx
import openai
import pytest
from openai import OpenAI

from core.api import create_app
from core.backends.openai_compat import OpenAICompatBackend
from core.errors import BackendUnavailable
from core.settings import CoreSettings
from tests import servers
from tests.core.fake_upstream import (
    FakeUpstream,
    Reply,
    chunk,
    completion,
    error_reply,
    json_reply,
    raw_reply,
    stream_reply,
    text_stream,
)
from tests.core.upstream.helpers import KEY, USER, core_settings, openai_client, wait_until
from tests.servers import free_port, serve

# --- error mapping --------------------------------------------------------------------

ERROR_CASES: list[tuple[str, Callable[[], Reply], type[openai.APIStatusError], int, str, str]] = [
    (
        "400",
        lambda: error_reply(
            400, "maximum context length is 8192 tokens", code="context_length_exceeded"
        ),
        openai.BadRequestError,
        400,
        "context_length_exceeded",
        "maximum context length is 8192 tokens",
    ),
    (
        "422",
        lambda: json_reply({"detail": "messages: field required"}, 422),
        openai.BadRequestError,
        400,
        "invalid_request",
        "field required",
    ),
    (
        "401",
        lambda: error_reply(401, f"Incorrect API key provided: {KEY}"),
        openai.InternalServerError,
        502,
        "upstream_auth_failed",
        "CORE_UPSTREAM_API_KEY",
    ),
    (
        "403",
        lambda: error_reply(403, "Forbidden"),
        openai.InternalServerError,
        502,
        "upstream_auth_failed",
        "rejected Core's credentials",
    ),
    (
        "404-model",
        lambda: error_reply(404, 'model "fake-large" not found, try pulling it first'),
        openai.NotFoundError,
        404,
        "model_not_found",
        "try pulling it first",
    ),
    (
        "404-route",
        lambda: json_reply({"detail": "Not Found"}, 404),
        openai.InternalServerError,
        502,
        "backend_error",
        "CORE_UPSTREAM_BASE_URL",
    ),
    (
        "429",
        lambda: error_reply(429, "Rate limit reached", headers={"retry-after": "3"}),
        openai.RateLimitError,
        429,
        "rate_limit_exceeded",
        "retry after 3s",
    ),
    (
        "500",
        lambda: error_reply(500, "CUDA out of memory"),
        openai.InternalServerError,
        502,
        "backend_error",
        "CUDA out of memory",
    ),
    (
        "503",
        lambda: error_reply(503, "Loading model"),
        openai.InternalServerError,
        503,
        "backend_unavailable",
        "Loading model",
    ),
    (
        "502-html",
        lambda: raw_reply("<html><h1>502 Bad Gateway</h1></html>", 502),
        openai.InternalServerError,
        502,
        "backend_error",
        "502 Bad Gateway",
    ),
    (
        "200-garbage",
        lambda: raw_reply("<html>welcome to nginx</html>"),
        openai.InternalServerError,
        502,
        "backend_error",
        "welcome to nginx",
    ),
    (
        "200-no-choices",
        lambda: json_reply({"object": "chat.completion"}),
        openai.InternalServerError,
        502,
        "backend_error",
        "chat completion",
    ),
]


@pytest.mark.parametrize(
    ("reply", "error", "status", "code", "message"),
    [case[1:] for case in ERROR_CASES],
    ids=[case[0] for case in ERROR_CASES],
)
def test_upstream_errors_map_to_openai_errors(
    client: OpenAI,
    upstream: FakeUpstream,
    reply: Callable[[], Reply],
    error: type[openai.APIStatusError],
    status: int,
    code: str,
    message: str,
) -> None:
    upstream.script("chat/completions", reply())
    with pytest.raises(error) as caught:
        client.chat.completions.create(model="default", messages=USER)
    assert caught.value.status_code == status
    assert caught.value.code == code
    assert isinstance(caught.value.body, dict)
    assert message in caught.value.body["message"]
    assert KEY not in json.dumps(caught.value.body)


def test_error_envelope_is_openai_shaped(core_url: str, upstream: FakeUpstream) -> None:
    upstream.script("chat/completions", error_reply(401, "bad key"))
    r = httpx.post(core_url + "/v1/chat/completions", json={"model": "default", "messages": USER})
    assert r.status_code == 502
    assert set(r.json()["error"]) == {"message", "type", "param", "code"}


def test_upstream_timeout_is_503(impatient_core_url: str, upstream: FakeUpstream) -> None:
    slow = json_reply(completion(), gated=True)  # never released during the test
    upstream.script("chat/completions", slow)
    with (
        openai_client(impatient_core_url) as c,
        pytest.raises(openai.InternalServerError) as caught,
    ):
        c.chat.completions.create(model="default", messages=USER)
    assert caught.value.status_code == 503
    assert caught.value.code == "upstream_timeout"
    wait_until(slow.disconnected.is_set)  # Core gave up on the upstream request


def test_upstream_stalling_mid_stream_ends_the_stream_with_a_timeout_error(
    impatient_core_url: str, upstream: FakeUpstream
) -> None:
    reply = text_stream(["started", "never"], gated=True)
    upstream.script("chat/completions", reply)
    reply.release(2)
    pieces: list[str] = []
    with openai_client(impatient_core_url) as c:
        stream = c.chat.completions.create(model="default", messages=USER, stream=True)
        with pytest.raises(openai.APIError, match="did not answer"):  # noqa: PT012
            for event in stream:
                if event.choices and event.choices[0].delta.content:
                    pieces.append(event.choices[0].delta.content)
    assert pieces == ["started"]


# --- upstream down --------------------------------------------------------------------


def test_unreachable_upstream_is_503_with_a_clear_message(
    down_core_url: tuple[str, str],
) -> None:
    core, dead = down_core_url
    with openai_client(core) as c:
        calls: list[Callable[[], object]] = [
            lambda: c.chat.completions.create(model="m1", messages=USER),
            lambda: c.chat.completions.create(model="m1", messages=USER, stream=True),
            lambda: c.embeddings.create(model="m1", input="x"),
        ]
        for call in calls:
            with pytest.raises(openai.InternalServerError) as caught:
                call()
            assert caught.value.status_code == 503
            assert caught.value.code == "backend_unavailable"
            assert isinstance(caught.value.body, dict)
            text = caught.value.body["message"]
            assert f"{dead}/v1 is unreachable" in text
            assert "CORE_UPSTREAM_BASE_URL" in text


def test_health_answers_when_the_upstream_is_down(down_core_url: tuple[str, str]) -> None:
    core, _ = down_core_url
    r = httpx.get(core + "/health")
    assert r.status_code == 200
    body = r.json()
    assert (body["status"], body["upstream"], body["models"]) == ("ok", "unreachable", ["m1"])
    assert "CORE_UPSTREAM_BASE_URL" in body["upstream_error"]


def test_core_started_before_its_upstream_picks_the_models_up_later(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = free_port()
    settings = core_settings(f"http://127.0.0.1:{port}", upstream_api_key=None)
    with serve(create_app(settings)) as core:
        before = httpx.get(core + "/health").json()
        assert (before["upstream"], before["models"]) == ("unreachable", [])

        fake = FakeUpstream(models=("late-model",))
        monkeypatch.setattr(servers, "free_port", lambda: port)
        with serve(fake.app), openai_client(core) as c:
            wait_until(lambda: httpx.get(core + "/health").json()["models"] == ["late-model"])
            reply = c.chat.completions.create(model="default", messages=USER)
            assert reply.model == "late-model"
            [sent] = fake.received("chat/completions")
            assert "authorization" not in sent.headers  # no key configured, none sent


def test_request_while_the_model_list_is_unknown_is_503() -> None:
    settings = core_settings(f"http://127.0.0.1:{free_port()}")
    with serve(create_app(settings)) as core, openai_client(core) as c:
        with pytest.raises(openai.InternalServerError) as caught:
            c.chat.completions.create(model="default", messages=USER)
        assert caught.value.status_code == 503


async def test_start_survives_an_unreachable_upstream(caplog: pytest.LogCaptureFixture) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    backend = OpenAICompatBackend(CoreSettings(backend="openai", upstream_base_url=dead))
    await backend.start()
    try:
        assert backend.models() == []
        assert "without a model list" in caplog.text
        with pytest.raises(BackendUnavailable, match="is unreachable"):
            await backend.ensure_models()
    finally:
        await backend.aclose()


# --- the key stays secret -------------------------------------------------------------


def test_key_never_appears_in_responses_or_logs(
    core_url: str, client: OpenAI, upstream: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    upstream.script(
        "chat/completions",
        error_reply(401, f"Incorrect API key provided: {KEY}"),
        error_reply(500, f"crashed while handling Bearer {KEY}"),
        stream_reply([chunk({"content": "x"}), {"error": {"message": f"bad key {KEY}"}}]),
    )
    seen: list[str] = []
    for stream in (False, False, True):
        body = {"model": "default", "messages": USER, "stream": stream}
        seen.append(httpx.post(core_url + "/v1/chat/completions", json=body).text)
    seen.append(httpx.get(core_url + "/health").text)
    seen.append(client.chat.completions.create(model="default", messages=USER).to_json())
    assert all(KEY not in text for text in seen)
    assert "rejected Core's credentials" in seen[0]
    assert "steward.core.openai" in {r.name for r in caplog.records}  # the failures were logged
    assert KEY not in caplog.text
    assert [r.headers["authorization"] for r in upstream.received("chat/completions")] == [
        f"Bearer {KEY}"
    ] * 4
    assert KEY not in repr(OpenAICompatBackend(core_settings(upstream.url)))
