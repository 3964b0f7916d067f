"""A loaded GGUF model: chat generation and embeddings with llama-cpp-python.

Invariants:
- Every method runs on the backend's one worker thread (`llamacpp_worker`): a llama context
  is not thread-safe, and nothing here locks.
- A generation stops at its next token once its `Job` is cancelled.
- Token counts are llama's own: the prompt as tokenized, the completion as sampled, an
  end-of-generation token not counted (as llama-cpp-python counts them).
- Embeddings come from a second context on the same file (the weights are shared through
  mmap), loaded on first use, mean-pooled and unit-normalised. An input longer than that
  context is refused, never silently truncated.
- With the transcript prompt (a GGUF without a chat template), the space an answer starts
  with after `Assistant:` is dropped, streaming or not, so both give the same text.
- llama's failures leave as `CoreError`s: a prompt over the context window is an
  `InvalidRequest`, anything else a `BackendFailed`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import llama_cpp
from llama_cpp import Llama

from core.backends.base import ChatDelta, ChatResult, EmbeddingResult
from core.backends.llamacpp_model import ModelLoadError
from core.backends.llamacpp_prompt import transcript_chat_handler
from core.backends.llamacpp_worker import Job
from core.errors import BackendFailed, CoreError, InvalidRequest
from core.schemas import FinishReason

__all__ = ["EMBED_MAX_TOKENS", "LlamaEngine"]

EMBED_MAX_TOKENS = 512
_TOO_LONG = re.compile(r"Requested tokens \((\d+)\) exceed context window of (\d+)")


class _MeteredLlama(Llama):
    """A `Llama` whose generations count their tokens into, and stop on, the current `Job`."""

    job: Job | None = None

    def generate(
        self, tokens: Sequence[int], *args: Any, **kwargs: Any
    ) -> Generator[int, Sequence[int] | None, None]:
        job = self.job
        tokens_out = super().generate(tokens, *args, **kwargs)
        if job is None:
            yield from tokens_out
            return
        job.prompt_tokens, job.completion_tokens = len(tokens), 0
        vocab = llama_cpp.llama_model_get_vocab(self.model)
        try:
            for token in tokens_out:
                if job.cancelled:
                    return
                if not llama_cpp.llama_vocab_is_eog(vocab, token):
                    job.completion_tokens += 1
                yield token
        finally:
            tokens_out.close()


def _load(path: Path, cls: type[Llama], **params: Any) -> Any:
    try:
        return cls(model_path=str(path), verbose=False, **params)
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelLoadError(
            f"llama.cpp could not load the model file {path} ({exc}). It may be corrupt or of "
            "an architecture this llama-cpp-python does not support. Set CORE_MODEL_PATH to "
            "another GGUF file, or delete the bundled one to have it re-assembled."
        ) from None


def _finish(reason: str | None) -> FinishReason:
    return "length" if reason == "length" else "stop"


class LlamaEngine:
    """One GGUF model loaded for chat (and, on first use, for embeddings)."""

    def __init__(self, path: Path, *, n_ctx: int, n_threads: int | None) -> None:
        self.path = path
        self._n_threads = n_threads
        self._llm: Any = _load(path, _MeteredLlama, n_ctx=n_ctx, n_threads=n_threads)
        self.chat_template = "gguf"
        if "tokenizer.chat_template" not in self._llm.metadata:
            self._llm.chat_handler = transcript_chat_handler()
            self.chat_template = "transcript"
        self.n_ctx: int = self._llm.n_ctx()
        self._embedder: Any = None

    @property
    def embeddings_loaded(self) -> bool:
        """Whether the embedding context has been loaded."""
        return self._embedder is not None

    @contextmanager
    def _running(self, job: Job) -> Iterator[None]:
        self._llm.job = job
        try:
            yield
        except CoreError:
            raise
        except ValueError as exc:
            if (m := _TOO_LONG.search(str(exc))) is None:
                raise BackendFailed(f"llama.cpp failed: {exc}") from exc
            raise InvalidRequest(
                f"The prompt is {m.group(1)} tokens, which does not fit the model's context "
                f"window of {m.group(2)} tokens. Shorten the conversation, or start Core with "
                "a larger CORE_N_CTX.",
                param="messages",
                code="context_length_exceeded",
            ) from None
        except Exception as exc:
            raise BackendFailed(f"llama.cpp failed: {exc}") from exc
        finally:
            self._llm.job = None

    def complete(self, args: dict[str, Any], job: Job) -> ChatResult:
        """A whole completion."""
        with self._running(job):
            out = self._llm.create_chat_completion(stream=False, **args)
        choice, usage = out["choices"][0], out["usage"]
        return ChatResult(
            content=self._tidy(choice["message"].get("content") or ""),
            finish_reason=_finish(choice["finish_reason"]),
            prompt_tokens=usage["prompt_tokens"],
            completion_tokens=usage["completion_tokens"],
        )

    def stream(self, args: dict[str, Any], job: Job, emit: Callable[[ChatDelta], None]) -> None:
        """Emit a completion piece by piece as llama produces it; the last piece has usage."""
        with self._running(job):
            chunks = self._llm.create_chat_completion(stream=True, **args)
            try:
                for delta in self._deltas(chunks, job):
                    emit(delta)
            finally:
                chunks.close()

    def _deltas(self, chunks: Iterator[dict[str, Any]], job: Job) -> Iterator[ChatDelta]:
        leading = True
        for chunk in chunks:
            if job.cancelled:
                return
            choice = chunk["choices"][0]
            text = choice["delta"].get("content") or ""
            if leading:
                text = self._tidy(text)
                leading = not text
            if choice["finish_reason"] is not None:
                yield ChatDelta(
                    content=text or None,
                    finish_reason=_finish(choice["finish_reason"]),
                    prompt_tokens=job.prompt_tokens,
                    completion_tokens=job.completion_tokens,
                )
                return
            if text:
                yield ChatDelta(content=text)

    def _tidy(self, text: str) -> str:
        # A transcript prompt ends at "Assistant:", so the answer starts with the space after it.
        return text.lstrip(" ") if self.chat_template == "transcript" else text

    def embed(self, inputs: list[str]) -> EmbeddingResult:
        """Unit vectors for `inputs`, in order, and the tokens they cost."""
        embedder = self._embedding_model()
        limit = embedder.n_ctx()
        for i, text in enumerate(inputs):
            n = len(embedder.tokenize(text.encode("utf-8")))
            if n > limit:
                raise InvalidRequest(
                    f"Input {i} is {n} tokens; the llamacpp backend embeds at most {limit} "
                    "tokens per input. Split it into smaller pieces.",
                    param="input",
                    code="context_length_exceeded",
                )
        try:
            vectors, tokens = embedder.embed(inputs, normalize=True, return_count=True)
        except Exception as exc:
            raise BackendFailed(f"llama.cpp failed to embed: {exc}") from exc
        return EmbeddingResult([[float(x) for x in v] for v in vectors], int(tokens))

    def _embedding_model(self) -> Any:
        if self._embedder is None:
            size = min(EMBED_MAX_TOKENS, self.n_ctx)
            self._embedder = _load(
                self.path,
                Llama,
                embedding=True,
                pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN,
                n_ctx=size,
                n_batch=size,
                n_ubatch=size,
                n_threads=self._n_threads,
            )
        return self._embedder

    def close(self) -> None:
        """Free both llama contexts."""
        for llm in (self._llm, self._embedder):
            if llm is not None:
                llm.close()
        self._embedder = None
