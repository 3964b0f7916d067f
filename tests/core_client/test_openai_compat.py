"""Edge's `CoreClient` against real servers on loopback: Core on the mock backend, and a
scripted fake Core (`fake_core.py`) for the failures the real one does not produce."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from backend.core_client import (
    CoreClient,
    CoreClientError,
    CoreFailed,
    CoreRejected,
    CoreTimeout,
    CoreUnavailable,
)
from core.api import create_app
from core.settings import CoreSettings
from tests.core_client.fake_core import MODEL, PARTIAL_TEXT, STREAM_TEXT, FakeCore
from tests.servers import free_port, serve

SECRET = "sk-steward-test-0123456789"
BACKOFF = 0.01  # keeps retry tests quick; the schedule is what is under test
USER = [{"role": "user", "content": "How should I plan a week of work on the new lanes?"}]
TOOLS = [
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}},
    {"type": "function", "function": {"name": "calculator", "parameters": {"type": "object"}}},
]
TOOL_ASK = [
    {
        "role": "user",
        "content": 'Check [[tool:get_time {"tz": "Europe/Paris"}]] and '
        '[[tool:calculator {"expression": "6*7"}]] please',
    }
]


class CountingTransport(httpx.AsyncBaseTransport):
    """The real HTTP transport, counting the requests it is asked to send."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.attempts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class Deltas:
    """An `on_delta` callback that keeps what it was given."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def __call__(self, text: str) -> None:
        self.seen.append(text)


def _dot(u: list[float], v: list[float]) -> float:
    return sum(x * y for x, y in zip(u, v, strict=True))


@pytest.fixture(scope="module")
def core_url() -> Iterator[str]:
    with serve(create_app(CoreSettings(backend="mock"))) as url:
        yield url


@pytest.fixture(scope="module")
def keyed_core_url() -> Iterator[str]:
    with serve(create_app(CoreSettings(backend="mock", api_key=SECRET))) as url:
        yield url


@pytest.fixture(scope="module")
def fake_server() -> Iterator[tuple[FakeCore, str]]:
    fake = FakeCore()
    with serve(fake.app) as url:
        yield fake, url
        fake.reset()


@pytest.fixture
def fake(fake_server: tuple[FakeCore, str]) -> Iterator[FakeCore]:
    fake_server[0].reset()
    yield fake_server[0]
    fake_server[0].reset()


@pytest.fixture
def fake_url(fake_server: tuple[FakeCore, str]) -> str:
    return fake_server[1]


@pytest.fixture
async def core(core_url: str) -> AsyncIterator[CoreClient]:
    async with CoreClient(core_url) as client:
        yield client


@pytest.fixture
async def faky(fake: FakeCore, fake_url: str) -> AsyncIterator[CoreClient]:
    async with CoreClient(fake_url, read_timeout=5.0, backoff=BACKOFF) as client:
        yield client


# --- happy paths against the real Core -----------------------------------------------------


async def test_health_and_models_come_from_core(core: CoreClient) -> None:
    health = await core.health()
    assert health["status"] == "ok"
    assert health["backend"] == "mock"
    assert await core.models() == health["models"] == ["mock"]


async def test_chat_returns_content_and_usage(core: CoreClient) -> None:
    reply = await core.chat(USER)
    assert reply.content
    assert reply.tool_calls == []
    assert reply.finish_reason == "stop"
    assert reply.model == "mock"
    assert reply.usage.prompt_tokens > 0
    assert reply.usage.completion_tokens > 0
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens


async def test_stream_deltas_concatenate_to_final_and_non_streaming_content(
    core: CoreClient,
) -> None:
    deltas = Deltas()
    streamed = await core.chat_stream(USER, on_delta=deltas)
    plain = await core.chat(USER)
    assert len(deltas.seen) > 3
    assert "".join(deltas.seen) == streamed.content == plain.content
    assert streamed.finish_reason == plain.finish_reason == "stop"
    assert streamed.usage == plain.usage
    assert streamed.usage.total_tokens > 0


async def test_tool_calls_are_the_same_streamed_and_not(core: CoreClient) -> None:
    deltas = Deltas()
    plain = await core.chat(TOOL_ASK, tools=TOOLS, tool_choice="auto")
    streamed = await core.chat_stream(TOOL_ASK, tools=TOOLS, tool_choice="auto", on_delta=deltas)
    for reply in (plain, streamed):
        assert reply.finish_reason == "tool_calls"
        assert reply.content is None
        assert [c.name for c in reply.tool_calls] == ["get_time", "calculator"]
        assert [json.loads(c.arguments) for c in reply.tool_calls] == [
            {"tz": "Europe/Paris"},
            {"expression": "6*7"},
        ]
        assert all(c.id.startswith("call_") for c in reply.tool_calls)
    assert streamed.tool_calls == plain.tool_calls
    assert deltas.seen == []


async def test_max_tokens_and_stop_reach_core(core: CoreClient) -> None:
    cut = await core.chat(USER, max_tokens=3, temperature=0.0)
    assert cut.finish_reason == "length"
    assert cut.usage.completion_tokens <= 3
    full = await core.chat(USER)
    assert full.content is not None
    word = full.content.split()[3]
    stopped = await core.chat(USER, stop=[word])
    assert stopped.content is not None
    assert word not in stopped.content
    assert full.content.startswith(stopped.content)


async def test_embeddings_give_one_float_vector_per_input(core: CoreClient) -> None:
    texts = ["lanes run tasks in order", "tasks in a lane run in order", "the cat sat"]
    result = await core.embeddings(texts)
    assert result.model == "mock"
    assert result.prompt_tokens > 0
    assert len(result.vectors) == 3
    assert len({len(v) for v in result.vectors}) == 1
    a, b, c = result.vectors
    assert _dot(a, b) > _dot(a, c)


async def test_no_inputs_embed_to_nothing_without_a_call(fake: FakeCore, faky: CoreClient) -> None:
    result = await faky.embeddings([])
    assert result.vectors == []
    assert fake.hits["/v1/embeddings"] == 0


@pytest.mark.parametrize("stream", [False, True])
async def test_unknown_model_is_rejected_with_model_not_found(
    core: CoreClient, stream: bool
) -> None:
    call = core.chat_stream if stream else core.chat
    with pytest.raises(CoreRejected) as info:
        await call(USER, model="no-such-model")
    err = info.value
    assert err.status == 404
    assert err.code == "model_not_found"
    assert not err.retryable
    assert "no-such-model" in err.reason


async def test_base_url_may_end_in_v1(core_url: str) -> None:
    async with CoreClient(core_url + "/v1/") as client:
        assert await client.models() == ["mock"]
        assert client.base_url == core_url


# --- the wire details, against the fake ----------------------------------------------------


async def test_stream_asks_core_for_usage_and_reports_it(fake: FakeCore, faky: CoreClient) -> None:
    deltas = Deltas()
    reply = await faky.chat_stream(USER, on_delta=deltas)
    body = fake.requests[-1].body
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert deltas.seen == STREAM_TEXT
    assert reply.content == "".join(STREAM_TEXT)
    assert reply.model == MODEL
    assert (reply.usage.prompt_tokens, reply.usage.total_tokens) == (5, 8)


async def test_streamed_tool_call_fragments_are_assembled_by_index(
    fake: FakeCore, faky: CoreClient
) -> None:
    fake.script("tool_fragments")
    reply = await faky.chat_stream(TOOL_ASK)
    assert reply.finish_reason == "tool_calls"
    assert [(c.id, c.name) for c in reply.tool_calls] == [
        ("call_a", "search"),
        ("call_b", "get_time"),
    ]
    assert json.loads(reply.tool_calls[0].arguments) == {"query": "lanes and queues"}
    assert json.loads(reply.tool_calls[1].arguments) == {}


async def test_embeddings_ask_for_floats_and_keep_input_order(
    fake: FakeCore, faky: CoreClient
) -> None:
    result = await faky.embeddings(["zero", "one", "two"], model="fake")
    body = fake.requests[-1].body
    assert body == {"model": "fake", "input": ["zero", "one", "two"], "encoding_format": "float"}
    assert [v[0] for v in result.vectors] == [0.0, 1.0, 2.0]
    assert result.prompt_tokens == 7


async def test_on_delta_exception_propagates_and_is_not_retried(
    fake: FakeCore, faky: CoreClient
) -> None:
    async def explode(text: str) -> None:
        raise RuntimeError(f"subscriber failed on {text!r}")

    with pytest.raises(RuntimeError, match="subscriber failed"):
        await faky.chat_stream(USER, on_delta=explode)
    assert fake.hits["/v1/chat/completions"] == 1


# --- failures --------------------------------------------------------------------------


@pytest.mark.parametrize("retries", [0, 2])
async def test_core_down_is_unavailable_after_retries_plus_one_tries(retries: int) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    transport = CountingTransport()
    async with CoreClient(url, retries=retries, transport=transport) as client:
        with pytest.raises(CoreUnavailable) as info:
            await client.chat(USER)
    err = info.value
    assert transport.attempts == retries + 1
    assert err.retryable
    assert url in err.reason
    assert "unreachable" in err.reason
    assert "connection refused" in err.reason
    assert ("once" if retries == 0 else f"{retries + 1} times") in err.reason
    assert "steward up" in err.reason


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A port that accepts no connections: its listen queue is full, so a connect hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port: int = server.getsockname()[1]
    fillers = [socket.socket() for _ in range(4)]
    for filler in fillers:
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
    yield port
    for s in [*fillers, server]:
        s.close()


async def test_connect_timeout_does_not_retry_past_the_deadline(unanswered_port: int) -> None:
    # Deadline: connect_timeout plus the backoff schedule (0.3 + 0.01 + 0.02 s). The first
    # try uses up the connect window, so no retry fits: Core being down never costs
    # (retries + 1) connect timeouts.
    transport = CountingTransport()
    url = f"http://127.0.0.1:{unanswered_port}"
    async with CoreClient(url, connect_timeout=0.3, backoff=BACKOFF, transport=transport) as c:
        with pytest.raises(CoreUnavailable) as info:
            await c.health()
    assert transport.attempts == 1
    assert "connecting timed out" in info.value.reason
    assert url in info.value.reason


@pytest.mark.parametrize("stream", [False, True])
async def test_503_then_200_succeeds_after_one_retry(
    fake: FakeCore, faky: CoreClient, stream: bool
) -> None:
    fake.script("503")
    deltas = Deltas()
    if stream:
        reply = await faky.chat_stream(USER, on_delta=deltas)
        assert deltas.seen == STREAM_TEXT
    else:
        reply = await faky.chat(USER)
    assert reply.content == "".join(STREAM_TEXT)
    assert fake.hits["/v1/chat/completions"] == 2


async def test_503_every_time_gives_up_as_unavailable(fake: FakeCore, fake_url: str) -> None:
    fake.script("503", "503", "503", "503")
    async with CoreClient(fake_url, retries=2, backoff=BACKOFF) as client:
        with pytest.raises(CoreUnavailable) as info:
            await client.chat(USER)
    err = info.value
    assert fake.hits["/v1/chat/completions"] == 3
    assert (err.status, err.code) == (503, "scripted_503")
    assert "Scripted failure 503" in err.reason
    assert "Tried 3 times" in err.reason


@pytest.mark.parametrize(
    ("status", "kind"), [("500", CoreFailed), ("502", CoreFailed), ("400", CoreRejected)]
)
async def test_errors_other_than_503_are_not_retried(
    fake: FakeCore, faky: CoreClient, status: str, kind: type[CoreClientError]
) -> None:
    fake.script(status, status, status)
    with pytest.raises(kind) as info:
        await faky.chat(USER)
    assert fake.hits["/v1/chat/completions"] == 1
    assert info.value.status == int(status)
    assert info.value.code == f"scripted_{status}"
    assert f"Scripted failure {status}" in info.value.reason


@pytest.mark.parametrize("stream", [False, True])
async def test_garbage_body_is_failed_and_not_retried(
    fake: FakeCore, faky: CoreClient, stream: bool
) -> None:
    fake.script("garbage", "garbage")
    with pytest.raises(CoreFailed) as info:
        await (faky.chat_stream(USER) if stream else faky.chat(USER))
    assert fake.hits["/v1/chat/completions"] == 1
    assert not info.value.retryable
    assert "502 Bad Gateway" in info.value.reason


async def test_mid_stream_error_fails_after_deltas_without_retry(
    fake: FakeCore, faky: CoreClient
) -> None:
    fake.script("stream_error")
    deltas = Deltas()
    with pytest.raises(CoreFailed) as info:
        await faky.chat_stream(USER, on_delta=deltas)
    assert deltas.seen == PARTIAL_TEXT
    assert fake.hits["/v1/chat/completions"] == 1
    assert info.value.code == "backend_error"
    assert "The backend fell over" in info.value.reason
    assert "after 2 deltas" in info.value.reason


async def test_stream_that_ends_without_done_fails(fake: FakeCore, faky: CoreClient) -> None:
    fake.script("truncated")
    deltas = Deltas()
    with pytest.raises(CoreFailed, match=r"ended before `data: \[DONE\]`"):
        await faky.chat_stream(USER, on_delta=deltas)
    assert deltas.seen == STREAM_TEXT[:2]


@pytest.mark.parametrize("stream", [False, True])
async def test_core_that_stalls_before_answering_times_out(
    fake: FakeCore, fake_url: str, stream: bool
) -> None:
    fake.script("stall")
    async with CoreClient(fake_url, read_timeout=0.3, backoff=BACKOFF) as client:
        with pytest.raises(CoreTimeout) as info:
            await (client.chat_stream(USER) if stream else client.chat(USER))
    assert fake.hits["/v1/chat/completions"] == 1
    assert "read timeout" in info.value.reason
    assert fake_url in info.value.reason


async def test_stream_that_stalls_after_deltas_times_out(fake: FakeCore, fake_url: str) -> None:
    fake.script("stream_stall")
    deltas = Deltas()
    async with CoreClient(fake_url, read_timeout=0.3, backoff=BACKOFF) as client:
        with pytest.raises(CoreTimeout, match="went silent mid-stream"):
            await client.chat_stream(USER, on_delta=deltas)
    # The deltas arrived as Core sent them, before it went silent.
    assert deltas.seen == STREAM_TEXT[:2]
    assert fake.hits["/v1/chat/completions"] == 1


# --- the API key -----------------------------------------------------------------------


async def test_api_key_is_sent_as_bearer(
    fake: FakeCore, fake_url: str, keyed_core_url: str
) -> None:
    async with CoreClient(fake_url, api_key=SECRET) as client:
        await client.chat(USER)
    assert fake.requests[-1].headers["authorization"] == f"Bearer {SECRET}"
    async with CoreClient(keyed_core_url, api_key=SECRET) as client:
        assert await client.models() == ["mock"]


async def test_wrong_api_key_is_rejected_without_revealing_it(keyed_core_url: str) -> None:
    wrong = SECRET + "-wrong"
    async with CoreClient(keyed_core_url, api_key=wrong) as client:
        with pytest.raises(CoreRejected) as info:
            await client.chat(USER)
    err = info.value
    assert (err.status, err.code) == (401, "invalid_api_key")
    assert SECRET not in f"{err} {err!r} {err.reason}"


async def test_api_key_core_echoes_back_is_redacted(fake: FakeCore, faky: CoreClient) -> None:
    fake.script("echo_auth")
    async with CoreClient(str(faky.base_url), api_key=SECRET) as client:
        with pytest.raises(CoreRejected) as info:
            await client.chat(USER)
    assert "We did not like your header" in info.value.reason
    assert "***" in info.value.reason
    assert SECRET not in f"{info.value} {info.value!r} {info.value.args}"


async def test_api_key_is_absent_from_errors_and_logs_when_core_is_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"http://127.0.0.1:{free_port()}"
    async with CoreClient(url, api_key=SECRET, backoff=BACKOFF) as client:
        with pytest.raises(CoreUnavailable) as info:
            await client.chat_stream(USER)
    assert "retrying" in caplog.text
    assert SECRET not in caplog.text
    assert SECRET not in f"{info.value} {info.value!r} {client!r}"
