"""Audit routes: a conversation's timeline, the ledger's verification, and the report that
explains a task or a conversation from the ledger alone."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Self

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from backend.audit.service import AuditService, Format
from backend.auth.deps import CurrentPrincipal
from backend.errors import NotFound, Unprocessable
from backend.services import Services

router = APIRouter(prefix="/v1/audit", tags=["audit"])


class RenderRequest(BaseModel):
    """What to explain: one task or one conversation, and in which format."""

    model_config = ConfigDict(extra="forbid")

    task_id: str | None = Field(default=None, min_length=1, max_length=80)
    conversation_id: str | None = Field(default=None, min_length=1, max_length=80)
    format: Format = Field(default="json", description="json, markdown or html.")

    @model_validator(mode="after")
    def _exactly_one_id(self) -> Self:
        if (self.task_id is None) == (self.conversation_id is None):
            raise ValueError("give exactly one of task_id and conversation_id")
        return self


@router.get("/conversations/{conversation_id}/timeline")
def timeline(
    conversation_id: str,
    request: Request,
    principal: CurrentPrincipal,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """The conversation's events in order; `next_cursor` continues after the last one."""
    services: Services = request.app.state.services
    if cursor is not None and not cursor.isdigit():
        raise Unprocessable("The cursor is not one this API returned.", code="bad_cursor")
    after = int(cursor) if cursor else 0
    with services.db.read() as s:
        conv = services.tasks.conversation(s, conversation_id)
        if conv is None or not principal.may_see(conv.user_id):
            raise NotFound(f"No conversation '{conversation_id}'.", code="conversation_not_found")
        events = services.ledger.for_conversation(
            s, conversation_id, after_seq=after, limit=limit + 1
        )
    data = [e.public() for e in events[:limit]]
    next_cursor = str(events[limit - 1].seq) if len(events) > limit else None
    return {"data": data, "next_cursor": next_cursor}


@router.get("/verify")
async def verify(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """Walk the whole hash chain; report the first broken link, if any."""
    services: Services = request.app.state.services
    return await asyncio.to_thread(AuditService(services.db).verify)


@router.post("/render")
def render(body: RenderRequest, request: Request, principal: CurrentPrincipal) -> Response:
    """Explain a task (or every task of a conversation) from the ledger alone: input, plan,
    route, memories, tool calls with approvals, completion, usage, timings, the causal tree
    and whether the events verify."""
    services: Services = request.app.state.services
    rendered = AuditService(services.db).render(
        principal,
        task_id=body.task_id,
        conversation_id=body.conversation_id,
        fmt=body.format,
    )
    return Response(rendered.body, media_type=rendered.media_type)
