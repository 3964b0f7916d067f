"""The one interface every model backend implements.

Invariants:
- A backend declares its `capabilities` up front; the gateway refuses a request that needs a
  capability the backend lacks *before* dispatching it, with a clear 400.
- `chat` is the one required method. An embedding-only backend still defines it (to refuse)
  and sets `serves_chat = False`, so the gateway refuses chat on its models before dispatch.
- `chat_stream` defaults to one delta carrying the whole result; backends that can stream
  token by token override it.
- A backend raises only `core.errors.CoreError` subclasses for failures a client should see
  (unreachable upstream -> `BackendUnavailable`, bad answer -> `BackendFailed`).
- `models()` lists the model ids it serves; the first is the default (`"default"` aliases it).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from core.errors import BackendUnavailable, InvalidRequest
from core.schemas import ChatCompletionRequest, FinishReason, ToolCallOut

__all__ = [
    "Backend",
    "Capability",
    "ChatDelta",
    "ChatResult",
    "EmbeddingResult",
]


class Capability(StrEnum):
    """What a backend can do beyond plain chat."""

    STREAM = "stream"
    TOOLS = "tools"
    EMBEDDINGS = "embeddings"


@dataclass(slots=True)
class ChatResult:
    """A finished completion."""

    content: str | None
    finish_reason: FinishReason
    prompt_tokens: int
    completion_tokens: int
    tool_calls: list[ToolCallOut] = field(default_factory=list)


@dataclass(slots=True)
class ChatDelta:
    """One piece of a streamed completion.

    `tool_calls` uses the OpenAI streaming shape (each entry has an `index`). The last delta
    of a stream carries `finish_reason`, and `usage` when the backend knows it.
    """

    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    finish_reason: FinishReason | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass(slots=True)
class EmbeddingResult:
    """Vectors in input order, and the tokens they cost."""

    vectors: list[list[float]]
    prompt_tokens: int


class Backend(ABC):
    """A model backend behind Core's OpenAI-compatible API."""

    name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    serves_chat: ClassVar[bool] = True

    @abstractmethod
    def models(self) -> list[str]:
        """Model ids served, default first."""

    async def ensure_models(self) -> list[str]:
        """The served ids, or `BackendUnavailable` saying why there are none yet. Backends
        whose list can be empty for a while (an upstream that is down) override this to
        look again."""
        served = self.models()
        if not served:
            raise BackendUnavailable(f"The {self.name} backend has no model to serve yet.")
        return served

    @abstractmethod
    async def chat(self, request: ChatCompletionRequest, model: str) -> ChatResult:
        """Complete `request` with `model` (already resolved to a served id)."""

    async def chat_stream(
        self, request: ChatCompletionRequest, model: str
    ) -> AsyncGenerator[ChatDelta, None]:
        """Stream a completion; by default the whole result in one delta."""
        result = await self.chat(request, model)
        tool_calls = [{"index": i, **tc} for i, tc in enumerate(result.tool_calls)] or None
        yield ChatDelta(
            content=result.content,
            tool_calls=tool_calls,
            finish_reason=result.finish_reason,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
        )

    async def embed(self, inputs: list[str], model: str) -> EmbeddingResult:
        """Embed `inputs`; only backends declaring `Capability.EMBEDDINGS` override this."""
        raise InvalidRequest(
            f"The {self.name} backend does not serve embeddings.", code="unsupported_operation"
        )

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Prepare resources (load a model, open a client). Called once at app start."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release resources. Called once at app shutdown."""

    async def health(self) -> dict[str, Any]:
        """Backend-specific health details; raise `BackendUnavailable` when not ready."""
        return {}
