"""Backend registry. Built-ins register exactly as plugins do: by an import path under a
name. Third-party backends add an entry point in the `steward.core_backends` group."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.backends.base import Backend
    from core.settings import CoreSettings

__all__ = ["BUILTIN_BACKENDS", "available_backends", "load_backend"]

BUILTIN_BACKENDS: dict[str, str] = {
    "mock": "core.backends.mock:MockBackend",
    "llamacpp": "core.backends.llamacpp:LlamaCppBackend",
    "openai": "core.backends.openai_compat:OpenAICompatBackend",
}


def available_backends() -> dict[str, str]:
    """Every backend name with its import path, built-ins first."""
    found = dict(BUILTIN_BACKENDS)
    for ep in entry_points(group="steward.core_backends"):
        found.setdefault(ep.name, ep.value)
    return found


def load_backend(settings: CoreSettings) -> Backend:
    """Instantiate the backend `settings.backend` names."""
    backends = available_backends()
    target = backends.get(settings.backend)
    if target is None:
        raise ValueError(
            f"Unknown CORE_BACKEND '{settings.backend}'. Choose one of: {', '.join(backends)}."
        )
    module_name, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    backend: Backend = cls(settings)
    return backend
