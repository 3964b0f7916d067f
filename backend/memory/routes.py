"""Routes of memory: write, query, items, candidates (SPEC §7)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from backend.auth.deps import CurrentPrincipal, OwnerPrincipal
from backend.memory.records import WriteContext
from backend.memory.store import MemoryFilters
from backend.services import Services

router = APIRouter(prefix="/v1/memory", tags=["memory"])

Origin = Literal["user", "tool", "model"]
Kind = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_\-]*$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


class MemoryWrite(_Strict):
    """Something to remember. `confidence` defaults to an estimate from the wording and the
    origin; `origin` says who it comes from (`user`: the person writing says it)."""

    text: str = Field(min_length=1, max_length=2000)
    kind: Kind = "fact"
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    source: str | None = Field(default=None, max_length=200)
    origin: Origin = "user"

    _check_text = field_validator("text")(_text)


class QueryFilters(_Strict):
    kind: Kind | None = None
    origin: Origin | None = None


class MemoryQuery(_Strict):
    """A question to find memories for."""

    text: str = Field(min_length=1, max_length=2000)
    top_k: int = Field(default=5, ge=1, le=100)
    filters: QueryFilters = Field(default_factory=QueryFilters)

    _check_text = field_validator("text")(_text)


class Decision(_Strict):
    reason: str | None = Field(default=None, max_length=1000)


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


@router.post("/write", status_code=201)
async def write(
    body: MemoryWrite, request: Request, response: Response, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Remember something: stored (201), proposed as a candidate for the owner (202), or
    merged into the same fact already known (200)."""
    result = await _services(request).memory.write(
        principal,
        body.text,
        kind=body.kind,
        confidence=body.confidence,
        ctx=WriteContext(origin=body.origin, source=body.source),
    )
    response.status_code = {"stored": 201, "candidate": 202}.get(result["status"], 200)
    return result


@router.post("/query")
async def query(body: MemoryQuery, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """Your memories nearest to `text`, best first, each with its cosine `score`."""
    filters = MemoryFilters(kind=body.filters.kind, origin=body.filters.origin)
    data = await _services(request).memory.query(principal, body.text, body.top_k, filters)
    return {"data": data, "next_cursor": None}


@router.get("/items")
def list_items(
    request: Request,
    principal: CurrentPrincipal,
    status: Literal["active", "deleted", "superseded"] | None = "active",
    kind: Kind | None = None,
    origin: Origin | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    """Memory items, newest first (a member sees only their own)."""
    filters = MemoryFilters(kind=kind, origin=origin)
    return _services(request).memory.list_items(principal, status, filters, cursor, limit)


@router.get("/items/{memory_id}")
def get_item(memory_id: str, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """One memory item with its provenance."""
    return _services(request).memory.get_item(principal, memory_id)


@router.delete("/items/{memory_id}")
def delete_item(
    memory_id: str,
    request: Request,
    principal: OwnerPrincipal,
    reason: Annotated[str | None, Query(max_length=1000)] = None,
) -> dict[str, Any]:
    """Forget an item for good (owner only; recorded in the ledger)."""
    return _services(request).memory.delete(principal, memory_id, reason)


@router.get("/candidates")
def list_candidates(
    request: Request,
    principal: CurrentPrincipal,
    status: Literal["pending", "approved", "rejected"] | None = "pending",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    """Candidates awaiting the owner's review (pending by default), newest first, each with
    the reasons it needs review and the item it would supersede."""
    return _services(request).memory.list_candidates(principal, status, cursor, limit)


@router.get("/candidates/{candidate_id}")
def get_candidate(
    candidate_id: str, request: Request, principal: CurrentPrincipal
) -> dict[str, Any]:
    """One candidate."""
    return _services(request).memory.get_candidate(principal, candidate_id)


@router.post("/candidates/{candidate_id}:approve")
async def approve(
    candidate_id: str, request: Request, principal: OwnerPrincipal, body: Decision | None = None
) -> dict[str, Any]:
    """Remember it (owner only); an item it contradicts is superseded."""
    reason = body.reason if body else None
    return await _services(request).memory.approve(principal, candidate_id, reason)


@router.post("/candidates/{candidate_id}:reject")
async def reject(
    candidate_id: str, request: Request, principal: OwnerPrincipal, body: Decision | None = None
) -> dict[str, Any]:
    """Do not remember it (owner only)."""
    reason = body.reason if body else None
    return await asyncio.to_thread(
        _services(request).memory.reject, principal, candidate_id, reason
    )
