"""FastAPI dependencies: the request's principal from its bearer token, and role checks.
A self-declared role is never trusted: the role comes from the token's user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from backend.auth.principal import Principal
from backend.errors import Forbidden, Unauthorized
from backend.security_log import remember_principal
from backend.services import Services


def current_principal(request: Request) -> Principal:
    """The authenticated user, or 401."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "Send 'Authorization: Bearer <token>'. The owner's token was printed when Steward "
            "first started; `steward users add NAME` creates more.",
            code="missing_token",
        )
    services: Services = request.app.state.services
    with services.db.read() as session:
        principal = services.users.resolve(session, token.strip())
    if principal is None:
        raise Unauthorized("The bearer token is not valid (unknown or revoked).", code="bad_token")
    remember_principal(request.scope, principal.user_id)
    return principal


def require_owner(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """The principal, if it is the owner; 403 otherwise."""
    if not principal.is_owner:
        raise Forbidden("Only the owner may do this.", code="owner_only")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
OwnerPrincipal = Annotated[Principal, Depends(require_owner)]
