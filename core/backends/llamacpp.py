"""The llamacpp backend: real local inference in-process with llama-cpp-python on a GGUF file.

Invariants:
- The model is `CORE_MODEL_PATH`, or by default the bundled Gemma 3 270M GGUF assembled on
  first use into `CORE_MODEL_DIR` (`llamacpp_model`). It is advertised as `CORE_MODEL_ID`, or
  the file's stem.
- Every llama call runs on one worker thread, in arrival order (`llamacpp_worker`): loading at
  `start()`, generations, embeddings. Concurrent requests queue; none fails for being second.
- A stream hands tokens from the thread to the event loop as they are produced; closing it
  (a client disconnecting) stops the generation at its next token, and the next request runs.
- The model cannot call tools, so `Capability.TOOLS` is not declared: the gateway refuses a
  forced `tool_choice`, and with "auto" the model answers in text.
- A model that cannot be loaded fails `start()` with a `ModelLoadError` saying which file and
  how to fix it; without `start()` (an app run without lifespan) the model loads on the first
  request, and a load failure is a `BackendUnavailable` (503) with the same message.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import TYPE_CHECKING, Any

from core.backends.base import Backend, Capability, ChatDelta, ChatResult, EmbeddingResult
from core.backends.llamacpp_model import ModelLoadError, ensure_model_file, model_file
from core.backends.llamacpp_prompt import completion_args
from core.backends.llamacpp_worker import Job, Worker
from core.errors import BackendUnavailable
from core.schemas import ChatCompletionRequest
from core.settings import CoreSettings

if TYPE_CHECKING:
    from core.backends.llamacpp_engine import LlamaEngine

__all__ = ["LlamaCppBackend"]


def _engine_class() -> type[LlamaEngine]:
    try:
        from core.backends.llamacpp_engine import LlamaEngine
    except ImportError as exc:
        raise ModelLoadError(
            f"The llamacpp backend needs llama-cpp-python ({exc}). Install it with "
            "`uv sync --extra llamacpp`, or choose another CORE_BACKEND."
        ) from None
    return LlamaEngine


class LlamaCppBackend(Backend):
    """A GGUF model run in-process by llama.cpp, one request at a time."""

    name = "llamacpp"
    capabilities = frozenset({Capability.STREAM, Capability.EMBEDDINGS})

    def __init__(self, settings: CoreSettings | None = None) -> None:
        self.settings = settings or CoreSettings(backend="llamacpp")
        self._path = model_file(self.settings)
        self._model_id = self.settings.model_id or self._path.stem
        self._worker = Worker()
        self._engine: LlamaEngine | None = None
        self._load_error: str | None = None

    def models(self) -> list[str]:
        return [self._model_id]

    async def start(self) -> None:
        """Load the model (assembling the bundled one if needed) on the worker thread."""
        await self._worker.call(self._load, Job())

    def _load(self) -> LlamaEngine:
        """The loaded engine, loading it first if needed. Worker thread only."""
        if self._engine is None:
            try:
                engine_class = _engine_class()
                path = ensure_model_file(self.settings)
                self._engine = engine_class(
                    path, n_ctx=self.settings.n_ctx, n_threads=self.settings.n_threads
                )
            except ModelLoadError as exc:
                self._load_error = str(exc)
                raise
            self._path, self._load_error = path, None
        return self._engine

    def _ready(self) -> LlamaEngine:
        """`_load()`, with a load failure as the 503 a client sees. Worker thread only."""
        try:
            return self._load()
        except ModelLoadError as exc:
            raise BackendUnavailable(str(exc)) from None

    async def chat(self, request: ChatCompletionRequest, model: str) -> ChatResult:
        args = completion_args(request)
        job = Job()
        return await self._worker.call(lambda: self._ready().complete(args, job), job)

    def chat_stream(
        self, request: ChatCompletionRequest, model: str
    ) -> AsyncGenerator[ChatDelta, None]:
        # The worker's own async generator is returned as is, so closing it (the gateway does
        # when the client goes away) cancels the job directly.
        args = completion_args(request)
        job = Job()

        def produce(emit: Callable[[ChatDelta], None]) -> None:
            self._ready().stream(args, job, emit)

        return self._worker.stream(produce, job)

    async def embed(self, inputs: list[str], model: str) -> EmbeddingResult:
        return await self._worker.call(lambda: self._ready().embed(inputs), Job())

    async def health(self) -> dict[str, Any]:
        engine = self._engine
        if engine is None and self._load_error is not None:
            raise BackendUnavailable(self._load_error)
        waiting, running = self._worker.depth()
        return {
            "model": self._model_id,
            "model_path": str(self._path.absolute()),
            "loaded": engine is not None,
            "n_ctx": engine.n_ctx if engine else self.settings.n_ctx,
            "chat_template": engine.chat_template if engine else None,
            "embeddings_loaded": engine.embeddings_loaded if engine else False,
            "queue_depth": waiting,
            "busy": running > 0,
        }

    async def aclose(self) -> None:
        """Stop the worker (cancelling queued and running jobs) and free the model."""
        await self._worker.aclose()
        if self._engine is not None:
            self._engine.close()
            self._engine = None
