"""Routes of users: who am I, and (owner only) list and add users."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from backend.auth.deps import CurrentPrincipal, OwnerPrincipal
from backend.services import Services

router = APIRouter(prefix="/v1", tags=["users"])


class UserCreate(BaseModel):
    """A new user."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.\-]+$")
    role: Literal["member", "owner"] = "member"


@router.get("/me")
def me(principal: CurrentPrincipal) -> dict[str, Any]:
    """The signed-in user and their role."""
    return {"user_id": principal.user_id, "name": principal.name, "role": principal.role}


@router.get("/users")
def list_users(request: Request, principal: OwnerPrincipal) -> dict[str, Any]:
    """Every user and role (owner only; tokens are never shown)."""
    services: Services = request.app.state.services
    with services.db.read() as s:
        users = services.users.all(s)
    return {
        "data": [{"user_id": u.user_id, "name": u.name, "role": u.role} for u in users],
        "next_cursor": None,
    }


@router.post("/users", status_code=201)
def add_user(body: UserCreate, request: Request, principal: OwnerPrincipal) -> JSONResponse:
    """Add a user (owner only). The token is in this response only; it is stored hashed."""
    services: Services = request.app.state.services
    with services.db.write() as s:
        user, token = services.users.create(s, body.name, body.role, actor=principal.actor)
    body_out = {"user_id": user.user_id, "name": user.name, "role": user.role, "token": token}
    return JSONResponse(body_out, status_code=201, headers={"Cache-Control": "no-store"})
