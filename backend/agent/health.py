"""The shape of Edge's `/health`: liveness plus the circuit breakers in front of the model
servers, so a person (or the Console) sees at once whether Core is being called."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from backend.core_client import CoreClient

__all__ = ["EdgeHealth", "ModelServerHealth"]


class ModelServerHealth(BaseModel):
    """One model server as Edge sees it."""

    url: str = Field(description="Its address, without credentials.")
    breaker: Literal["closed", "open", "half_open"] = Field(
        description="closed: called normally; open: not called until retry_at; half_open: "
        "the next call tests it."
    )
    consecutive_failures: int
    last_error: str | None = Field(description="Why the last call failed, if it did.")
    opened_at: str | None = None
    retry_at: str | None = Field(default=None, description="When the next test call goes.")
    retry_in_s: float | None = None

    @classmethod
    def of(cls, client: CoreClient) -> ModelServerHealth:
        snap = client.breaker.snapshot()
        return cls(
            url=client.base_url,
            breaker=snap.state.value,
            consecutive_failures=snap.consecutive_failures,
            last_error=snap.last_error,
            opened_at=snap.opened_at,
            retry_at=snap.retry_at,
            retry_in_s=snap.retry_in_s,
        )


class EdgeHealth(BaseModel):
    """Edge answers; `degraded` while Core's breaker is not closed."""

    status: Literal["ok", "degraded", "starting"]
    service: Literal["edge"] = "edge"
    core: ModelServerHealth | None = None
    fallback: ModelServerHealth | None = None
