"""Core's `openai` backend, end to end: a real Core server in front of a real fake upstream
(`fake_upstream`), driven by the official `openai` client (sync and async) and raw httpx:
models, chat, streaming pass-through, embeddings."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from openai.types.chat import ChatCompletionToolParam

from core.backends.openai_compat import OpenAICompatBackend
from core.schemas import ChatCompletionRequest
from tests.core.fake_upstream import (
    FakeUpstream,
    chunk,
    completion,
    error_reply,
    json_reply,
    stream_reply,
    text_stream,
)
from tests.core.upstream.helpers import KEY, USER, core_settings, wait_until

# --- models and health ----------------------------------------------------------------


def test_models_are_fetched_from_the_upstream(client: OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["fake-large", "fake-small"]


def test_health_reports_the_upstream_without_the_key(core_url: str, upstream: FakeUpstream) -> None:
    r = httpx.get(core_url + "/health")
    assert r.status_code == 200
    body = r.json()
    assert body["backend"] == "openai"
    assert body["upstream"] == "ok"
    assert body["upstream_url"] == upstream.url + "/v1"
    assert body["models"] == ["fake-large", "fake-small"]
    assert KEY not in r.text


def test_health_refreshes_the_fetched_model_list(core_url: str, upstream: FakeUpstream) -> None:
    upstream.models = ["fake-large", "fake-small", "fake-new"]
    assert httpx.get(core_url + "/health").json()["models"][-1] == "fake-new"
    upstream.models = list(upstream.default_models)
    assert httpx.get(core_url + "/health").json()["models"] == ["fake-large", "fake-small"]


# --- chat -----------------------------------------------------------------------------


def test_chat_forwards_the_request_with_the_key_and_resolved_model(
    client: OpenAI, upstream: FakeUpstream
) -> None:
    reply = client.chat.completions.create(
        model="default",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        temperature=0.2,
        max_tokens=50,
        stop=["\n\n"],
    )
    assert reply.choices[0].message.content == "You said: hi"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.model == "fake-large"
    assert reply.usage is not None
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (7, 5)
    [sent] = upstream.received("chat/completions")
    assert sent.headers["authorization"] == f"Bearer {KEY}"  # Core's key, not the client's
    assert sent.body == {
        "model": "fake-large",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hi"},
        ],
        "stream": False,
        "temperature": 0.2,
        "max_tokens": 50,
        "stop": ["\n\n"],
    }


def test_chat_with_a_named_model_sends_that_model(client: OpenAI, upstream: FakeUpstream) -> None:
    client.chat.completions.create(model="fake-small", messages=USER)
    assert upstream.received("chat/completions")[0].body["model"] == "fake-small"


def test_unknown_model_is_refused_without_calling_the_upstream(
    client: OpenAI, upstream: FakeUpstream
) -> None:
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=USER)
    assert upstream.received("chat/completions") == []


def test_missing_usage_is_reported_as_zero(client: OpenAI, upstream: FakeUpstream) -> None:
    upstream.script("chat/completions", json_reply(completion("ok", usage=None)))
    reply = client.chat.completions.create(model="default", messages=USER)
    assert reply.usage is not None
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (0, 0)


def test_chat_tool_calls_are_mapped(client: OpenAI, upstream: FakeUpstream) -> None:
    calls: list[dict[str, Any]] = [
        {
            "id": "call_9",
            "type": "function",
            "function": {"name": "calculator", "arguments": '{"expr": "2+2"}'},
        },
        # Some servers send arguments as an object and no id.
        {"function": {"name": "get_time", "arguments": {"tz": "UTC"}}},
    ]
    upstream.script(
        "chat/completions",
        json_reply(completion(None, tool_calls=calls, finish_reason="tool_calls")),
    )
    tools: list[ChatCompletionToolParam] = [
        {"type": "function", "function": {"name": n, "parameters": {"type": "object"}}}
        for n in ("calculator", "get_time")
    ]
    reply = client.chat.completions.create(
        model="default",
        messages=USER,
        tools=tools,
        tool_choice="auto",
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    first, second = [tc.model_dump() for tc in choice.message.tool_calls or []]
    assert first == {
        "id": "call_9",
        "type": "function",
        "function": {"name": "calculator", "arguments": '{"expr": "2+2"}'},
    }
    assert second["function"]["name"] == "get_time"
    assert json.loads(second["function"]["arguments"]) == {"tz": "UTC"}
    assert second["id"].startswith("call_")
    sent = upstream.received("chat/completions")[0].body
    assert [t["function"]["name"] for t in sent["tools"]] == ["calculator", "get_time"]
    assert sent["tool_choice"] == "auto"


# --- streaming ------------------------------------------------------------------------


def test_stream_is_passed_through_chunk_by_chunk(client: OpenAI, upstream: FakeUpstream) -> None:
    reply = text_stream(["Hel", "lo", " world"], usage=(9, 3), gated=True)
    upstream.script("chat/completions", reply)
    reply.release(2)  # the role chunk and "Hel"; "lo" stays held
    pieces: list[str] = []
    usage = None
    with client.chat.completions.create(
        model="default",
        messages=USER,
        stream=True,
        stream_options={"include_usage": True},
    ) as stream:
        for event in stream:
            usage = event.usage or usage
            if event.choices and event.choices[0].delta.content:
                pieces.append(event.choices[0].delta.content)
                # Core handed this piece on while the upstream still holds the next frame.
                assert reply.sent == 1 + len(pieces)
                assert not reply.gates[reply.sent].is_set()
                if len(pieces) < 3:
                    reply.release()
                else:
                    reply.release_all()
    assert pieces == ["Hel", "lo", " world"]
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (9, 3)
    [sent] = upstream.received("chat/completions")
    assert sent.body["stream"] is True
    assert sent.body["stream_options"] == {"include_usage": True}
    assert sent.headers["authorization"] == f"Bearer {KEY}"


async def test_async_client_streams_chunk_by_chunk(
    aclient: AsyncOpenAI, upstream: FakeUpstream
) -> None:
    reply = text_stream(["one", " two"], gated=True)
    upstream.script("chat/completions", reply)
    reply.release(2)
    pieces: list[str] = []
    finish = None
    stream = await aclient.chat.completions.create(
        model="default",
        messages=USER,
        stream=True,
    )
    async with stream:
        async for event in stream:
            if not event.choices:
                continue
            finish = event.choices[0].finish_reason or finish
            if event.choices[0].delta.content:
                pieces.append(event.choices[0].delta.content)
                assert reply.sent == 1 + len(pieces)
                reply.release_all() if len(pieces) == 2 else reply.release()
    assert pieces == ["one", " two"]
    assert finish == "stop"


async def test_async_client_chat(aclient: AsyncOpenAI, upstream: FakeUpstream) -> None:
    reply = await aclient.chat.completions.create(model="default", messages=USER)
    assert reply.choices[0].message.content == "You said: hi"


def test_streamed_tool_calls_keep_their_streaming_shape(
    core_url: str, client: OpenAI, upstream: FakeUpstream
) -> None:
    def call_delta(**fields: Any) -> dict[str, Any]:
        return {"tool_calls": [{"index": 0, **fields}]}

    events: list[dict[str, Any] | str] = [
        chunk({"role": "assistant", "content": None}),
        chunk(
            call_delta(id="call_1", type="function", function={"name": "get_time", "arguments": ""})
        ),
        chunk(call_delta(function={"arguments": '{"tz":'})),
        chunk(call_delta(function={"arguments": ' "UTC"}'})),
        chunk({}, "tool_calls"),
        chunk(usage=(20, 8)),
        "[DONE]",
    ]
    upstream.script("chat/completions", stream_reply(events))
    body = {"model": "default", "messages": USER, "stream": True}
    with httpx.stream("POST", core_url + "/v1/chat/completions", json=body, timeout=5) as r:
        frames = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: {")]
    deltas = [f["choices"][0]["delta"].get("tool_calls") for f in frames if f["choices"]]
    calls = [c for d in deltas if d for c in d]
    assert [c["index"] for c in calls] == [0, 0, 0]
    assert calls[0]["id"] == "call_1"
    assert "".join(c["function"]["arguments"] for c in calls) == '{"tz": "UTC"}'
    assert frames[-1]["choices"][0]["finish_reason"] == "tool_calls"

    # The official client assembles the same call.
    upstream.script("chat/completions", stream_reply(events))
    with client.chat.completions.create(
        model="default",
        messages=USER,
        stream=True,
        stream_options={"include_usage": True},
    ) as stream:
        events_out = list(stream)
    args = "".join(
        tc.function.arguments or ""
        for e in events_out
        if e.choices
        for tc in e.choices[0].delta.tool_calls or []
        if tc.function
    )
    assert json.loads(args) == {"tz": "UTC"}
    usage = events_out[-1].usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (20, 8)


def test_consumer_stopping_early_closes_the_upstream_stream(
    core_url: str, upstream: FakeUpstream
) -> None:
    reply = text_stream(["first", "second", "third"], gated=True)
    upstream.script("chat/completions", reply)
    reply.release(2)
    body = {"model": "default", "messages": USER, "stream": True}
    with httpx.stream("POST", core_url + "/v1/chat/completions", json=body, timeout=5) as r:
        for line in r.iter_lines():
            if '"first"' in line:
                break
    wait_until(reply.disconnected.is_set)  # Core hung up on the upstream
    assert reply.sent == 2
    assert not reply.finished.is_set()


async def test_closing_the_delta_generator_closes_the_upstream_response(
    upstream: FakeUpstream,
) -> None:
    reply = text_stream(["first", "second"], gated=True)
    upstream.script("chat/completions", reply)
    reply.release(2)
    backend = OpenAICompatBackend(core_settings(upstream.url, upstream_models=["fake-large"]))
    await backend.start()
    try:
        request = ChatCompletionRequest.model_validate({"model": "fake-large", "messages": USER})
        deltas = backend.chat_stream(request, "fake-large")
        assert (await anext(deltas)).content == ""  # the role chunk
        assert (await anext(deltas)).content == "first"
        await deltas.aclose()
        wait_until(reply.disconnected.is_set)
        assert reply.sent == 2
    finally:
        await backend.aclose()


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([{"error": {"message": "the GPU caught fire"}}], "the GPU caught fire"),
        (["this is not json"], "stream chunk"),
        ([], "closed the stream before finishing"),
    ],
    ids=["error-event", "garbage-chunk", "truncated"],
)
def test_upstream_failure_mid_stream_becomes_an_sse_error(
    client: OpenAI, upstream: FakeUpstream, events: list[dict[str, Any] | str], message: str
) -> None:
    script: list[dict[str, Any] | str] = [chunk({"role": "assistant"}), chunk({"content": "par"})]
    upstream.script("chat/completions", stream_reply(script + events))
    pieces: list[str] = []
    stream = client.chat.completions.create(model="default", messages=USER, stream=True)
    with pytest.raises(openai.APIError, match=message):  # noqa: PT012 - fails while iterating
        for event in stream:
            if event.choices and event.choices[0].delta.content:
                pieces.append(event.choices[0].delta.content)
    assert pieces == ["par"]


def test_stream_options_refused_upstream_is_retried_without(
    client: OpenAI, upstream: FakeUpstream
) -> None:
    upstream.script(
        "chat/completions",
        error_reply(400, "Unrecognized request argument supplied: stream_options"),
    )
    with client.chat.completions.create(
        model="default",
        messages=USER,
        stream=True,
    ) as stream:
        text = "".join(e.choices[0].delta.content or "" for e in stream if e.choices)
    assert text == "You said: hi"
    first, second = upstream.received("chat/completions")
    assert "stream_options" in first.body
    assert "stream_options" not in second.body


def test_stream_refused_before_it_starts_is_an_http_error(
    client: OpenAI, upstream: FakeUpstream
) -> None:
    upstream.script("chat/completions", error_reply(429, "slow down"))
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="default", messages=USER, stream=True)


# --- embeddings -----------------------------------------------------------------------


def test_embeddings_in_input_order(client: OpenAI, upstream: FakeUpstream) -> None:
    # The client's default encoding is base64; Core encodes, the client decodes.
    result = client.embeddings.create(model="default", input=["a", "bbb"])
    assert [d.embedding for d in result.data] == [[1.0, 0.0, 1.0], [3.0, 1.0, 1.0]]
    assert result.usage.prompt_tokens == 4
    one = client.embeddings.create(model="fake-small", input="hello", encoding_format="float")
    assert one.data[0].embedding == [5.0, 0.0, 1.0]
    first, second = upstream.received("embeddings")
    assert first.body == {"model": "fake-large", "input": ["a", "bbb"]}
    assert second.body == {"model": "fake-small", "input": ["hello"]}
    assert first.headers["authorization"] == f"Bearer {KEY}"


def test_embeddings_count_mismatch_is_a_backend_failure(
    client: OpenAI, upstream: FakeUpstream
) -> None:
    upstream.script("embeddings", json_reply({"data": [{"index": 0, "embedding": [1.0]}]}))
    with pytest.raises(openai.InternalServerError) as caught:
        client.embeddings.create(model="default", input=["a", "b"], encoding_format="float")
    assert caught.value.status_code == 502
