"""Edge's HTTP client for Core, the OpenAI-compatible model gateway.

Edge never imports `core`: it talks to Core over HTTP through `CoreClient` only.
"""

from backend.core_client.breaker import BreakerSnapshot, BreakerState, CoreCircuitOpen
from backend.core_client.errors import (
    CoreClientError,
    CoreFailed,
    CoreRejected,
    CoreTimeout,
    CoreUnavailable,
)
from backend.core_client.openai_compat import CoreClient, OnDelta
from backend.core_client.results import ChatCompletion, EmbeddingsResult, ToolCall, Usage

__all__ = [
    "BreakerSnapshot",
    "BreakerState",
    "ChatCompletion",
    "CoreCircuitOpen",
    "CoreClient",
    "CoreClientError",
    "CoreFailed",
    "CoreRejected",
    "CoreTimeout",
    "CoreUnavailable",
    "EmbeddingsResult",
    "OnDelta",
    "ToolCall",
    "Usage",
]
