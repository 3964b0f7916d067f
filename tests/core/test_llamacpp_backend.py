"""The llamacpp backend against the real bundled model (Gemma 3 270M, base), over real HTTP.

One Core server serves the module. The assembled GGUF is cached across runs in
`STEWARD_TEST_MODEL_DIR` (default `~/.cache/steward/models`); the first run assembles it.
Completions are kept to a few tokens; prompts are ones this model answers the same way at
temperature 0 (`CAPITAL`) or continues for as long as it is allowed to (`COUNTING`).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from llama_cpp import Llama

from core.api import create_app
from core.backends.llamacpp import LlamaCppBackend
from core.backends.llamacpp_model import BUNDLED_MODEL_NAME, ModelLoadError, ensure_model_file
from core.backends.llamacpp_prompt import llama_messages, transcript_prompt
from core.schemas import ChatCompletionRequest
from core.settings import CoreSettings
from tests.servers import serve

pytestmark = pytest.mark.llamacpp

CAPITAL = "What is the capital of France?"  # -> "The capital of France is Paris."
COUNTING = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,"  # -> "1, 2, 3, ..." until stopped


def _model_dir() -> Path:
    configured = os.environ.get("STEWARD_TEST_MODEL_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "steward" / "models"


@pytest.fixture(scope="module")
def llama_url() -> Iterator[str]:
    """Base URL (without /v1) of a real Core server on the llamacpp backend, serving its own
    embeddings (not the MiniLM embedder Core adds beside llamacpp by default)."""
    settings = CoreSettings(backend="llamacpp", embedding_backend="backend", model_dir=_model_dir())
    with serve(create_app(settings)) as url:
        yield url


@pytest.fixture
def client(llama_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=llama_url + "/v1", api_key="unused", max_retries=0)


def _ask(client: openai.OpenAI, text: str, **params: Any) -> Any:
    params = {"temperature": 0, "max_tokens": 16, **params}
    return client.chat.completions.create(
        model="default", messages=[{"role": "user", "content": text}], **params
    )


def _health(url: str) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(url + "/health", timeout=10).json()
    return body


def _wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        time.sleep(0.02)


def _sse_events(response: httpx.Response) -> Iterator[dict[str, Any] | str]:
    for line in response.iter_lines():
        if line.startswith("data: "):
            data = line.removeprefix("data: ")
            yield data if data == "[DONE]" else json.loads(data)


def _content(event: dict[str, Any] | str) -> str | None:
    if isinstance(event, str) or not event["choices"]:
        return None
    content: str | None = event["choices"][0]["delta"].get("content")
    return content


def _chat_body(text: str, **params: Any) -> dict[str, Any]:
    return {"model": "default", "messages": [{"role": "user", "content": text}], **params}


# --- discovery -----------------------------------------------------------------------------


def test_health_and_models_show_the_model(llama_url: str, client: openai.OpenAI) -> None:
    health = _health(llama_url)
    assert health["status"] == "ok"
    assert health["backend"] == "llamacpp"
    assert health["models"] == ["gemma-3-270m-q4_k_m"]
    assert health["loaded"] is True
    assert health["model_path"] == str((_model_dir() / BUNDLED_MODEL_NAME).absolute())
    assert health["n_ctx"] == 4096
    assert health["chat_template"] == "transcript"  # the GGUF has no template of its own
    assert {"queue_depth", "busy"} <= health.keys()
    assert [m.id for m in client.models.list()] == ["gemma-3-270m-q4_k_m"]


# --- prompting -----------------------------------------------------------------------------


def test_transcript_prompt_opens_with_system_text_and_shows_tool_results_as_user_lines() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "clock", "arguments": "{}"}}
    request = ChatCompletionRequest.model_validate(
        {
            "model": "default",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "developer", "content": "Use English."},
                {"role": "user", "content": "What time is it?"},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "c1", "content": "12:00"},
            ],
        }
    )
    assert transcript_prompt(llama_messages(request.messages)) == (
        "Be brief.\n\nUse English.\n\n"
        "User: What time is it?\n"
        "Assistant: [called tool clock with {}]\n"
        "User: Result of tool clock:\n12:00\n"
        "Assistant:"
    )


# --- completions ---------------------------------------------------------------------------


def test_completion_answers_in_text_with_real_usage(client: openai.OpenAI) -> None:
    short = _ask(client, CAPITAL)
    longer = _ask(client, CAPITAL + " Answer in one short sentence, please.")
    assert "Paris" in short.choices[0].message.content
    assert short.choices[0].finish_reason == "stop"
    assert short.model == "gemma-3-270m-q4_k_m"
    usage = short.usage
    prompt = transcript_prompt([{"role": "user", "content": CAPITAL}]).encode()
    vocab = Llama(str(_model_dir() / BUNDLED_MODEL_NAME), vocab_only=True, verbose=False)
    assert usage.prompt_tokens == len(vocab.tokenize(prompt, add_bos=True, special=True))
    assert 0 < usage.completion_tokens < 16
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert longer.usage.prompt_tokens > usage.prompt_tokens


def test_streaming_usage_matches_non_streaming(client: openai.OpenAI) -> None:
    whole = _ask(client, CAPITAL)
    chunks = list(_ask(client, CAPITAL, stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.prompt_tokens == whole.usage.prompt_tokens
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


def test_stream_sends_tokens_while_generating_and_ends_with_done(llama_url: str) -> None:
    body = _chat_body(COUNTING, stream=True, temperature=0, max_tokens=24)
    events: list[dict[str, Any] | str] = []
    busy_at_first_piece: bool | None = None
    with httpx.stream("POST", llama_url + "/v1/chat/completions", json=body, timeout=60) as r:
        assert r.status_code == 200
        for event in _sse_events(r):
            events.append(event)
            if busy_at_first_piece is None and _content(event):
                busy_at_first_piece = _health(llama_url)["busy"]
    assert busy_at_first_piece is True  # the first piece arrived while the model still ran
    assert len([e for e in events if _content(e)]) >= 8
    assert events[-1] == "[DONE]"
    last = events[-2]
    assert isinstance(last, dict)
    assert last["choices"][0]["finish_reason"] == "length"


def test_max_tokens_ends_with_length_after_exactly_that_many_tokens(client: openai.OpenAI) -> None:
    for params in ({"max_tokens": 8}, {"max_completion_tokens": 8, "max_tokens": None}):
        reply = _ask(client, COUNTING, **params)
        assert reply.choices[0].finish_reason == "length"
        assert reply.usage.completion_tokens == 8
        assert reply.choices[0].message.content


def test_stop_sequence_ends_generation(client: openai.OpenAI) -> None:
    free = _ask(client, CAPITAL).choices[0].message.content
    assert "Paris" in free
    stopped = _ask(client, CAPITAL, stop=["Paris"])
    assert stopped.choices[0].finish_reason == "stop"
    assert stopped.choices[0].message.content == free[: free.index("Paris")]
    streamed = _ask(client, CAPITAL, stop="Paris", stream=True)
    assert (
        "".join(c.choices[0].delta.content or "" for c in streamed) == free[: free.index("Paris")]
    )


def test_same_seed_gives_the_same_completion(client: openai.OpenAI) -> None:
    greedy = [_ask(client, "Tell me about cats.", seed=7).choices[0].message.content for _ in "ab"]
    assert greedy[0] == greedy[1]
    assert greedy[0]
    sampled = [
        _ask(client, "Tell me about cats.", temperature=1.0, seed=11).choices[0].message.content
        for _ in "ab"
    ]
    assert sampled[0] == sampled[1]
    assert sampled[0]


def test_prompt_longer_than_the_context_window_is_refused(client: openai.OpenAI) -> None:
    too_long = "word " * 5000
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError) as caught:
            _ask(client, too_long, stream=stream)
        assert caught.value.code == "context_length_exceeded"
        assert "context window of 4096 tokens" in caught.value.message


# --- concurrency and cancellation ------------------------------------------------------------


async def test_concurrent_requests_queue_and_each_gets_its_own_answer(llama_url: str) -> None:
    prompts = [CAPITAL, COUNTING, "Name three colors.", "What is 2+2?"]
    sync_client = openai.OpenAI(base_url=llama_url + "/v1", api_key="unused", max_retries=0)
    alone = [_ask(sync_client, p).choices[0].message.content for p in prompts]
    async_client = openai.AsyncOpenAI(base_url=llama_url + "/v1", api_key="unused", max_retries=0)
    depths: list[int] = []

    async def watch_queue() -> None:
        async with httpx.AsyncClient() as http:
            while True:
                depths.append((await http.get(llama_url + "/health")).json()["queue_depth"])
                await asyncio.sleep(0.05)

    async def ask(text: str) -> Any:
        return await async_client.chat.completions.create(
            model="default",
            messages=[{"role": "user", "content": text}],
            temperature=0,
            max_tokens=16,
        )

    watcher = asyncio.create_task(watch_queue())
    try:
        together = await asyncio.gather(*(ask(p) for p in prompts))
    finally:
        watcher.cancel()
    assert [r.choices[0].message.content for r in together] == alone
    assert max(depths) >= 1  # some requests waited their turn rather than failing


def test_client_leaving_mid_stream_stops_generation_for_the_next_request(
    llama_url: str, client: openai.OpenAI
) -> None:
    body = _chat_body(COUNTING, stream=True, temperature=0, max_tokens=2000)
    with (
        httpx.Client(timeout=60) as http,
        http.stream("POST", llama_url + "/v1/chat/completions", json=body) as r,
    ):
        pieces = 0
        for event in _sse_events(r):
            pieces += bool(_content(event))
            if pieces == 3:
                break
    assert pieces == 3
    # 2000 tokens take ~30 s at this model's speed; a cancelled stream frees the model at once.
    _wait_until(
        lambda: not (h := _health(llama_url))["busy"] and h["queue_depth"] == 0,
        timeout=10,
        what="the abandoned generation stopping",
    )
    assert "Paris" in (_ask(client, CAPITAL).choices[0].message.content or "")


# --- tools and embeddings ------------------------------------------------------------------


def test_tools_cannot_be_forced_and_auto_answers_in_text(client: openai.OpenAI) -> None:
    tools: Any = [{"type": "function", "function": {"name": "get_time", "parameters": {}}}]
    with pytest.raises(openai.BadRequestError) as caught:
        _ask(client, CAPITAL, tools=tools, tool_choice="required")
    assert caught.value.param == "tool_choice"
    reply = _ask(client, CAPITAL, tools=tools, tool_choice="auto")
    assert reply.choices[0].message.tool_calls is None
    assert "Paris" in (reply.choices[0].message.content or "")


def test_embeddings_are_unit_vectors_and_similar_texts_are_closer(client: openai.OpenAI) -> None:
    texts = ["The cat sat on the mat.", "A kitten is sitting on a rug.", "Quarterly revenue grew."]
    result = client.embeddings.create(model="default", input=texts)
    vectors = [d.embedding for d in result.data]
    assert [len(v) for v in vectors] == [640] * 3
    for v in vectors:
        assert math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, rel_tol=1e-4)

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.1
    assert result.usage.prompt_tokens > len(texts)
    single = client.embeddings.create(model="default", input=texts[0]).data[0].embedding
    assert max(abs(a - b) for a, b in zip(single, vectors[0], strict=True)) < 1e-4


def test_embedding_input_over_the_limit_is_refused(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(model="default", input=["short", "word " * 600])
    assert "Input 1" in caught.value.message
    assert "at most 512 tokens" in caught.value.message


# --- the model file ------------------------------------------------------------------------


async def test_missing_model_file_fails_start_with_the_file_and_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.gguf"
    backend = LlamaCppBackend(CoreSettings(backend="llamacpp", model_path=missing))
    assert backend.models() == ["nowhere"]
    with pytest.raises(ModelLoadError, match="does not exist") as caught:
        await backend.start()
    assert str(missing) in str(caught.value)
    assert "CORE_MODEL_PATH" in str(caught.value)
    await backend.aclose()


async def test_model_that_cannot_load_is_a_503_naming_the_file(tmp_path: Path) -> None:
    # Without lifespan (ASGITransport does not run it) the model loads on the first request.
    corrupt = tmp_path / "corrupt.gguf"
    corrupt.write_bytes(b"GGUF" + bytes(range(256)) * 16)
    app = create_app(CoreSettings(backend="llamacpp", model_path=corrupt))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            assert (await http.get("/health")).json()["loaded"] is False
            r = await http.post("/v1/chat/completions", json=_chat_body("hi"))
            assert r.status_code == 503
            assert str(corrupt) in r.json()["error"]["message"]
            assert "could not load" in r.json()["error"]["message"]
            h = await http.get("/health")
            assert h.status_code == 503
            assert str(corrupt) in h.json()["error"]["message"]
    finally:
        await app.state.gateway.backend.aclose()


def test_a_file_that_is_not_gguf_is_named_as_such(tmp_path: Path) -> None:
    text = tmp_path / "notes.gguf"
    text.write_text("not a model")
    with pytest.raises(ModelLoadError, match="is not a GGUF model"):
        ensure_model_file(CoreSettings(backend="llamacpp", model_path=text))


def test_bundled_model_is_assembled_once_atomically_and_reused(tmp_path: Path) -> None:
    settings = CoreSettings(backend="llamacpp", model_dir=tmp_path / "models")
    path = ensure_model_file(settings)
    assert path == tmp_path / "models" / BUNDLED_MODEL_NAME
    assert [p.name for p in path.parent.iterdir()] == [BUNDLED_MODEL_NAME]  # no temp file left
    assert path.stat().st_mode & 0o777 == 0o644
    stamp = path.stat().st_mtime_ns
    assert ensure_model_file(settings) == path
    assert path.stat().st_mtime_ns == stamp
    with path.open("r+b") as f:  # an interrupted copy from elsewhere: the wrong size
        f.truncate(1024)
    ensure_model_file(settings)
    assert path.stat().st_size > 200_000_000
