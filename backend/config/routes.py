"""Routes of configuration: effective config, propose/commit patches, revisions, rollback."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from backend.auth.deps import CurrentPrincipal, OwnerPrincipal
from backend.config.model_fallback import model_patch
from backend.errors import Unprocessable
from backend.services import Services

router = APIRouter(prefix="/v1/config", tags=["config"])


class Propose(BaseModel):
    """A preference in plain words."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=2000)
    scope: str = "global"


class Commit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    confirm: bool = False


class Rollback(BaseModel):
    model_config = ConfigDict(extra="forbid")

    force: bool = False


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


@router.get("/effective")
def effective(
    request: Request, principal: CurrentPrincipal, scope: str = "global"
) -> dict[str, Any]:
    """The configuration in force for a scope, and its newest revision."""
    return _services(request).config.effective(principal, scope)


@router.post("/patches:propose", status_code=201)
async def propose(body: Propose, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """Turn a preference into a reviewed patch: ops, risk, diff, rationale. Nothing changes
    until the owner commits it."""
    services = _services(request)
    tools = [t.name for t in services.tools.registry.all()]
    try:
        return await asyncio.to_thread(
            services.config.propose, principal, body.text, body.scope, tools
        )
    except Unprocessable as exc:
        if exc.code != "preference_not_understood" or not services.settings.config_model_fallback:
            raise
    eff = await asyncio.to_thread(services.config.effective_data, principal, body.scope)
    ops, rationale = await model_patch(services.core, services.settings.model, body.text, eff.data)
    return await asyncio.to_thread(
        services.config.propose_ops, principal, body.text, body.scope, ops, rationale, eff.revision
    )


@router.get("/patches/{patch_id}")
def get_patch(patch_id: str, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """One patch."""
    return _services(request).config.get_patch(principal, patch_id)


@router.post("/patches/{patch_id}:commit", status_code=201)
def commit(
    patch_id: str, request: Request, principal: OwnerPrincipal, body: Commit | None = None
) -> dict[str, Any]:
    """Commit a patch as a new revision (owner; L3 needs `confirm: true`)."""
    return _services(request).config.commit(principal, patch_id, bool(body and body.confirm))


@router.get("/revisions")
def revisions(
    request: Request,
    principal: CurrentPrincipal,
    scope: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Revisions, newest first."""
    return _services(request).config.revisions(principal, scope, cursor, limit)


@router.post("/revisions/{revision_id}:rollback", status_code=201)
def rollback(
    revision_id: str, request: Request, principal: OwnerPrincipal, body: Rollback | None = None
) -> dict[str, Any]:
    """Add a revision restoring what `revision_id` changed (owner)."""
    return _services(request).config.rollback(principal, revision_id, bool(body and body.force))


PatchStatus = Literal["proposed", "committed"]
