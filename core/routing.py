"""Which backend serves a requested model id: Core's chat backend, or its dedicated embedder.

Invariants:
- Core holds one chat backend and at most one dedicated embedder. `/v1/models` lists the chat
  backend's models, then the embedder's; an id both serve is listed once, for the first.
- An explicit id goes to the backend that serves it (for chat the chat backend is asked first,
  for embeddings the embedder). `default` means the chat backend's first model for chat and
  for model lookup, and the embedder's first model (if there is an embedder) for embeddings.
- Chat on a model whose backend cannot chat, and embeddings on a model whose backend cannot
  embed, are refused with a 400 `unsupported_operation` naming the model to use instead,
  before any backend is called.
- An id no backend serves is a 404 `model_not_found` listing the ids that exist. A backend
  with no models yet (an upstream that is down) is asked again (`ensure_models`) before that;
  if it still has none, that is its 503.
"""

from __future__ import annotations

from typing import NamedTuple

from core.backends.base import Backend, Capability
from core.errors import InvalidRequest, ModelNotFound

__all__ = ["DEFAULT_ALIAS", "ModelRouter", "Route"]

DEFAULT_ALIAS = "default"


class Route(NamedTuple):
    """A served model id and the backend that serves it (unpacks as `backend, model`)."""

    backend: Backend
    model: str


class ModelRouter:
    """Resolves model ids across the chat backend and the optional embedder."""

    def __init__(self, chat: Backend, embedder: Backend | None = None) -> None:
        self.chat = chat
        self.embedder = embedder

    @property
    def backends(self) -> list[Backend]:
        """The chat backend, then the embedder if there is one."""
        return [self.chat] if self.embedder is None else [self.chat, self.embedder]

    def served(self) -> list[Route]:
        """Every model served right now, each id once, chat backend first."""
        seen: dict[str, Route] = {}
        for backend in self.backends:
            for model in backend.models():
                seen.setdefault(model, Route(backend, model))
        return list(seen.values())

    async def lookup(self, requested: str) -> Route:
        """The model `requested` names, whatever it serves (`GET /v1/models/{id}`)."""
        return await self._resolve(requested, self.backends)

    async def for_chat(self, requested: str) -> Route:
        """The route of a chat completion, refused if that model cannot chat."""
        route = await self._resolve(requested, self.backends)
        if not route.backend.serves_chat:
            raise InvalidRequest(
                f"The model '{route.model}' serves embeddings only; it cannot answer chat "
                f"completions. {self._chat_hint()}",
                param="model",
                code="unsupported_operation",
            )
        return route

    async def for_embeddings(self, requested: str) -> Route:
        """The route of an embeddings request, refused if that model cannot embed."""
        order = self.backends if self.embedder is None else [self.embedder, self.chat]
        route = await self._resolve(requested, order)
        if Capability.EMBEDDINGS not in route.backend.capabilities:
            raise InvalidRequest(
                f"The {route.backend.name} backend does not serve embeddings "
                f"(model '{route.model}'). Set CORE_EMBEDDING_BACKEND=minilm for local "
                "embeddings.",
                param="model",
                code="unsupported_operation",
            )
        return route

    def _chat_hint(self) -> str:
        chat_models = self.chat.models() if self.chat.serves_chat else []
        if chat_models:
            return f"Use the model '{chat_models[0]}' (or 'default') for chat."
        if self.chat.serves_chat:
            return "Use the model 'default' for chat."
        return (
            f"This Core has no chat model: CORE_BACKEND is '{self.chat.name}'. Set it to mock, "
            "llamacpp or openai for chat."
        )

    async def _resolve(self, requested: str, order: list[Backend]) -> Route:
        """`requested` as served by the first backend of `order` that serves it."""
        for backend in order:
            if requested in backend.models():
                return Route(backend, requested)
        if requested == DEFAULT_ALIAS:
            first = order[0]
            served = first.models() or await first.ensure_models()
            return Route(first, served[0])
        for backend in order:
            if not backend.models() and requested in await backend.ensure_models():
                return Route(backend, requested)
        available = ", ".join(r.model for r in self.served()) or "none"
        names = " and ".join(f"'{b.name}'" for b in self.backends)
        plural = "s" if self.embedder is not None else ""
        raise ModelNotFound(
            f"The model '{requested}' does not exist on this Core (backend{plural} {names}). "
            f"Available: {available}.",
            param="model",
        )
