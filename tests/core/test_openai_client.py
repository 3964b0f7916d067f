"""Core is wire-compatible with the official `openai` client and with raw SSE parsing."""

from __future__ import annotations

import asyncio
import json
import math

import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from openai.types.chat import ChatCompletionToolParam

TOOLS: list[ChatCompletionToolParam] = [
    {
        "type": "function",
        "function": {
            "name": "web_search",
            "description": "search",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
        },
    }
]
ASK_TOOL = 'find it [[tool:web_search {"query": "sqlite wal"}]]'


@pytest.fixture
def client(mock_core_url: str) -> OpenAI:
    return OpenAI(base_url=mock_core_url + "/v1", api_key="unused", max_retries=0)


@pytest.fixture
def aclient(mock_core_url: str) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=mock_core_url + "/v1", api_key="unused", max_retries=0)


def test_models_list(client: OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["mock"]


def test_completion_with_usage(client: OpenAI) -> None:
    r = client.chat.completions.create(model="mock", messages=[{"role": "user", "content": "Hi"}])
    assert r.object == "chat.completion"
    assert r.choices[0].message.role == "assistant"
    assert r.choices[0].message.content
    assert r.choices[0].finish_reason == "stop"
    assert r.usage is not None
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens > 0


def test_streaming_in_several_chunks_with_usage(client: OpenAI) -> None:
    stream = client.chat.completions.create(
        model="mock",
        messages=[{"role": "user", "content": "Tell me about lanes"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    full = client.chat.completions.create(
        model="mock", messages=[{"role": "user", "content": "Tell me about lanes"}]
    )
    assert len(chunks) > 3
    assert text == full.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None
    assert full.usage is not None
    assert chunks[-1].usage.completion_tokens == full.usage.completion_tokens
    assert len({c.id for c in chunks}) == 1


def test_tool_call(client: OpenAI) -> None:
    r = client.chat.completions.create(
        model="mock",
        tools=TOOLS,
        messages=[{"role": "user", "content": ASK_TOOL}],
    )
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls or []
    assert call.type == "function"
    assert call.function.name == "web_search"
    assert json.loads(call.function.arguments) == {"query": "sqlite wal"}


def test_tool_call_round_trip_summarises_results(client: OpenAI) -> None:
    first = client.chat.completions.create(
        model="mock",
        tools=TOOLS,
        messages=[{"role": "user", "content": ASK_TOOL}],
    )
    call = (first.choices[0].message.tool_calls or [])[0]
    second = client.chat.completions.create(
        model="mock",
        tools=TOOLS,
        messages=[
            {"role": "user", "content": ASK_TOOL},
            first.choices[0].message.model_dump(exclude_none=True),  # type: ignore[list-item]
            {
                "role": "tool",
                "tool_call_id": call.id,
                "content": "WAL mode allows concurrent readers",
            },
        ],
    )
    assert "WAL mode allows concurrent readers" in (second.choices[0].message.content or "")
    assert second.choices[0].finish_reason == "stop"


def test_streamed_tool_call(client: OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="mock",
            tools=TOOLS,
            messages=[{"role": "user", "content": ASK_TOOL}],
            stream=True,
        )
    )
    calls = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert calls[0].function is not None
    assert calls[0].function.name == "web_search"
    assert json.loads(calls[0].function.arguments or "") == {"query": "sqlite wal"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_embeddings_string_and_list(client: OpenAI) -> None:
    one = client.embeddings.create(model="mock", input="the cat sat on the mat")
    many = client.embeddings.create(
        model="mock", input=["the cat sat on the mat", "a cat sat on a mat", "tax deadline"]
    )
    assert len(one.data) == 1
    assert [d.index for d in many.data] == [0, 1, 2]
    v = [d.embedding for d in many.data]
    assert v[0] == one.data[0].embedding
    assert math.isclose(sum(x * x for x in v[0]), 1.0, rel_tol=1e-6)
    near = sum(a * b for a, b in zip(v[0], v[1], strict=True))
    far = sum(a * b for a, b in zip(v[0], v[2], strict=True))
    assert near > far + 0.5
    assert many.usage.prompt_tokens > 0


def test_error_types(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as nf:
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    assert nf.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(
            model="mock", messages=[{"role": "user", "content": "x"}], n=3
        )
    assert bad.value.code == "unsupported_parameter"
    assert bad.value.param == "n"


async def test_async_client_streaming_and_concurrency(aclient: AsyncOpenAI) -> None:
    async def one(i: int) -> str:
        r = await aclient.chat.completions.create(
            model="mock", messages=[{"role": "user", "content": f"question {i}"}]
        )
        return r.choices[0].message.content or ""

    replies = await asyncio.gather(*(one(i) for i in range(50)))
    assert all(replies)
    stream = await aclient.chat.completions.create(
        model="mock", messages=[{"role": "user", "content": "stream please"}], stream=True
    )
    pieces = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    assert len(pieces) > 3


async def test_async_client_error_type(aclient: AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        await aclient.embeddings.create(model="nope", input="x")


def test_raw_sse_frames(mock_core_url: str) -> None:
    body = {"model": "mock", "stream": True, "messages": [{"role": "user", "content": "Tell me"}]}
    with httpx.stream("POST", mock_core_url + "/v1/chat/completions", json=body) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        raw = r.read().decode()
    frames = [f for f in raw.split("\n\n") if f]
    assert all(f.startswith("data: ") for f in frames)
    assert frames[-1] == "data: [DONE]"
    chunks = [json.loads(f.removeprefix("data: ")) for f in frames[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
