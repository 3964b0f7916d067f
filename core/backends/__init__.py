"""Backend registry. Built-ins register exactly as plugins do: by an import path under a
name. Third-party backends add an entry point in the `steward.core_backends` group.

Core runs one chat backend (`CORE_BACKEND`) and at most one dedicated embedder
(`CORE_EMBEDDING_BACKEND`, see `embedding_backend_name`); both are built the same way.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.backends.base import Backend
    from core.settings import CoreSettings

__all__ = [
    "BUILTIN_BACKENDS",
    "available_backends",
    "embedding_backend_name",
    "load_backend",
    "load_embedder",
]

BUILTIN_BACKENDS: dict[str, str] = {
    "mock": "core.backends.mock:MockBackend",
    "llamacpp": "core.backends.llamacpp:LlamaCppBackend",
    "openai": "core.backends.openai_compat:OpenAICompatBackend",
    "minilm": "core.backends.minilm:MiniLMBackend",
}

# `CORE_EMBEDDING_BACKEND` value meaning "the chat backend serves embeddings itself".
_SAME_AS_CHAT = "backend"
# Chat backends whose own embeddings are a poor fit for retrieval get a dedicated embedder
# when none is configured: a 270M chat model's hidden states are no sentence encoder.
_AUTO_EMBEDDER = {"llamacpp": "minilm"}


def available_backends() -> dict[str, str]:
    """Every backend name with its import path, built-ins first."""
    found = dict(BUILTIN_BACKENDS)
    for ep in entry_points(group="steward.core_backends"):
        found.setdefault(ep.name, ep.value)
    return found


def _instantiate(name: str, setting: str, settings: CoreSettings) -> Backend:
    backends = available_backends()
    target = backends.get(name)
    if target is None:
        raise ValueError(f"Unknown {setting} '{name}'. Choose one of: {', '.join(backends)}.")
    module_name, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    backend: Backend = cls(settings)
    return backend


def load_backend(settings: CoreSettings) -> Backend:
    """Instantiate the chat backend `settings.backend` names."""
    return _instantiate(settings.backend, "CORE_BACKEND", settings)


def embedding_backend_name(settings: CoreSettings) -> str | None:
    """The dedicated embedder's backend name, or None when the chat backend embeds itself.

    Unset means automatic: `minilm` beside `llamacpp`, otherwise the chat backend (mock keeps
    its lexical embeddings, openai passes them through to the upstream). `backend`, or the
    chat backend's own name, also means the chat backend.
    """
    name = settings.embedding_backend
    if name is None:
        name = _AUTO_EMBEDDER.get(settings.backend, _SAME_AS_CHAT)
    if name in (_SAME_AS_CHAT, settings.backend):
        return None
    return name


def load_embedder(settings: CoreSettings) -> Backend | None:
    """Instantiate the dedicated embedder `settings` asks for, if any."""
    name = embedding_backend_name(settings)
    if name is None:
        return None
    return _instantiate(name, "CORE_EMBEDDING_BACKEND", settings)
