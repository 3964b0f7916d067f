"""Routes of messages, tasks, lanes and task events. They validate, call one service
function and shape the response."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from backend.agent.conversations import list_conversations
from backend.agent.events_stream import seen_the_end, task_event_stream
from backend.auth.deps import CurrentPrincipal
from backend.errors import PayloadTooLarge
from backend.services import Services

router = APIRouter(prefix="/v1/agent", tags=["agent"])
conversations_router = APIRouter(prefix="/v1/conversations", tags=["conversations"])

TaskStatus = Literal["queued", "running", "waiting_approval", "completed", "failed", "cancelled"]


class MessageCreate(BaseModel):
    """A message to Steward."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, description="What you say to Steward.")
    conversation_id: str | None = Field(
        default=None, description="Continue this conversation; omit to start a new one."
    )
    stream: bool = Field(default=False, description="Accepted for clients; use the events URL.")

    @field_validator("text")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("text must not be blank")
        return v


class MessageAccepted(BaseModel):
    task_id: str
    conversation_id: str
    status: str
    events_url: str


class ConversationPublic(BaseModel):
    """A conversation: its id, a title (the start of its first message) and when it began
    and was last active."""

    id: str
    title: str
    created_at: str
    updated_at: str


class ConversationPage(BaseModel):
    data: list[ConversationPublic]
    next_cursor: str | None


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


@router.post("/messages", status_code=202, response_model=MessageAccepted)
def post_message(
    body: MessageCreate,
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    """Queue a task for a message. Retrying with the same `Idempotency-Key` returns the
    same task."""
    services = _services(request)
    limit = services.settings.max_text_chars
    if len(body.text) > limit:
        raise PayloadTooLarge(
            f"The text is {len(body.text)} characters; at most {limit} are accepted.",
            code="text_too_long",
        )
    task, created = services.agent.submit(
        principal, body.text, body.conversation_id, idempotency_key
    )
    accepted = {
        "task_id": task["task_id"],
        "conversation_id": task["conversation_id"],
        "status": task["status"],
        "events_url": f"/v1/agent/tasks/{task['task_id']}/events",
    }
    headers = {"Location": f"/v1/agent/tasks/{task['task_id']}"}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(accepted, status_code=202, headers=headers)


@router.get("/tasks/{task_id}")
def get_task(task_id: str, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """A task: state, reply, timings, error."""
    return _services(request).agent.visible_task(principal, task_id)


@router.get("/tasks")
def list_tasks(
    request: Request,
    principal: CurrentPrincipal,
    conversation_id: str | None = None,
    status: TaskStatus | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Tasks, newest first."""
    return _services(request).agent.list_tasks(principal, conversation_id, status, cursor, limit)


@router.post("/tasks/{task_id}:cancel", status_code=202)
async def cancel_task(
    task_id: str, request: Request, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Cancel a task: queued or waiting ones at once, a running one at its next step."""
    services = _services(request)
    task, running = await asyncio.to_thread(services.agent.cancel, principal, task_id)
    if running:
        services.bus.request_cancel(task_id)
    return task


@router.get("/lanes")
def lanes(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """Each active lane's depth, running task and oldest queued task."""
    return _services(request).agent.lanes(principal)


@router.get("/tasks/{task_id}/events")
async def task_events(
    task_id: str,
    request: Request,
    principal: CurrentPrincipal,
    last_event_id: Annotated[str | None, Header()] = None,
    after: str | None = Query(default=None, description="Resume point, like Last-Event-ID."),
) -> Response:
    """Server-sent events of a task: ledger events and token deltas; resumable."""
    services = _services(request)
    await asyncio.to_thread(services.agent.visible_task, principal, task_id)
    resume = last_event_id or after
    ended = await asyncio.to_thread(seen_the_end, services.db, services.ledger, task_id, resume)
    if ended:
        # 204 tells an EventSource the stream is over for good: it stops reconnecting.
        return Response(status_code=204)
    stream = task_event_stream(task_id, resume, services.db, services.ledger, services.bus)
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@conversations_router.get("", response_model=ConversationPage)
def get_conversations(
    request: Request,
    principal: CurrentPrincipal,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Conversations, most recently active first: a member's own, every one for the owner."""
    services = _services(request)
    return list_conversations(services.db, services.tasks, principal, cursor, limit)
