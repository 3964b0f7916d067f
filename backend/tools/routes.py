"""Routes of tools, tool calls and approvals."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from backend.auth.deps import CurrentPrincipal, OwnerPrincipal
from backend.errors import Unprocessable
from backend.ids import ID_PATTERN, new_id
from backend.services import Services
from backend.tools.call_config import call_policy
from backend.tools.registry import ArgumentsInvalid

router = APIRouter(prefix="/v1", tags=["tools"])


class ToolExecute(BaseModel):
    """A direct tool call."""

    model_config = ConfigDict(extra="forbid")

    tool: str = Field(min_length=1, max_length=80)
    args: dict[str, Any] = Field(default_factory=dict)
    tool_call_id: str | None = Field(
        default=None,
        max_length=200,
        description="Idempotency key: the same id never runs twice. Generated if omitted.",
    )
    conversation_id: str | None = None


class Decision(BaseModel):
    """An approval decision."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=2000)


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


@router.get("/tools")
def list_tools(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """Every tool: name, risk, description, JSON Schema, source."""
    tools = _services(request).tools.registry.all()
    return {"data": [t.public() for t in tools], "next_cursor": None}


@router.post("/tools:rescan")
async def rescan_tools(request: Request, principal: OwnerPrincipal) -> dict[str, Any]:
    """Look for tools again (entry points, MCP servers) and sync the registry table."""
    services = _services(request)
    await services.tool_sources.rescan()
    await asyncio.to_thread(services.tools.sync_registry)
    return list_tools(request, principal)


@router.post("/tools:execute")
async def execute_tool(
    body: ToolExecute, request: Request, principal: CurrentPrincipal
) -> JSONResponse:
    """Run a tool under the policy: at once, or held for the owner's approval (202)."""
    call_id = body.tool_call_id or new_id("tc")
    if not ID_PATTERN.match(call_id.replace(":", "_").replace(".", "_")[:80]):
        raise Unprocessable("tool_call_id may contain letters, digits, '_', '-', ':' and '.'.")
    services = _services(request)
    policy = await asyncio.to_thread(
        call_policy, services, principal, body.tool, body.conversation_id
    )
    try:
        call = await services.tools.execute(
            principal,
            body.tool,
            body.args,
            call_id,
            conversation_id=body.conversation_id,
            policy=policy,
        )
    except ArgumentsInvalid as exc:
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in exc.errors)
        raise Unprocessable(
            f"The arguments for {exc.tool} do not match its schema: {detail}.",
            code="invalid_arguments",
            errors=exc.errors,
        ) from None
    status = 202 if call["status"] == "pending_approval" else 200
    return JSONResponse(call, status_code=status)


@router.get("/tool-calls/{tool_call_id}")
def get_tool_call(
    tool_call_id: str, request: Request, principal: CurrentPrincipal
) -> dict[str, Any]:
    """A tool call's state and result."""
    return _services(request).tools.visible_call(principal, tool_call_id)


@router.get("/approvals")
def list_approvals(
    request: Request,
    principal: CurrentPrincipal,
    status: Literal["pending", "approved", "rejected", "expired"] | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Approval requests, pending first (a member sees only their own)."""
    return _services(request).tools.list_approvals(principal, status, cursor, limit)


@router.get("/approvals/{approval_id}")
def get_approval(approval_id: str, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """One approval request with its tool call."""
    return _services(request).tools.get_approval(principal, approval_id)


@router.post("/approvals/{approval_id}:approve")
async def approve(
    approval_id: str, request: Request, principal: OwnerPrincipal, body: Decision | None = None
) -> dict[str, Any]:
    """Approve (owner only): the tool runs exactly once and the waiting task resumes."""
    reason = body.reason if body else None
    return await _services(request).tools.approve(principal, approval_id, reason)


@router.post("/approvals/{approval_id}:reject")
async def reject(
    approval_id: str, request: Request, principal: OwnerPrincipal, body: Decision | None = None
) -> dict[str, Any]:
    """Reject (owner only): the refusal is recorded and the task continues with it."""
    reason = body.reason if body else None
    return await asyncio.to_thread(_services(request).tools.reject, principal, approval_id, reason)
