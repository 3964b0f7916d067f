"""HTTP plumbing shared by Edge's routes: problem+json rendering for every error, and a body
size limit enforced before a route reads the body."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.errors import BadRequest, EdgeError, PayloadTooLarge, Unprocessable
from backend.security_log import RECORDED_STATUSES

log = logging.getLogger("steward.edge")
PROBLEM = "application/problem+json"


def problem_response(exc: EdgeError, instance: str | None = None) -> Response:
    """`exc` as an `application/problem+json` response."""
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
    if exc.retry_after_s is not None:
        headers["Retry-After"] = str(exc.retry_after_s)
    return Response(
        orjson.dumps(exc.problem(instance)),
        status_code=exc.status,
        media_type=PROBLEM,
        headers=headers,
    )


def _validation_problem(exc: RequestValidationError) -> EdgeError:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return BadRequest(
            "The request body is not valid JSON. Send a JSON object with "
            "Content-Type: application/json.",
            code="invalid_json",
        )
    issues: list[dict[str, Any]] = []
    for e in errors:
        loc = [str(p) for p in e.get("loc", ()) if p != "body"]
        issues.append({"field": ".".join(loc) or "body", "message": e.get("msg", "invalid")})
    summary = "; ".join(f"{i['field']}: {i['message']}" for i in issues[:5])
    return Unprocessable(f"The request is invalid: {summary}.", errors=issues)


def install_error_handlers(app: FastAPI) -> None:
    """Render every error, expected or not, as problem+json."""

    @app.exception_handler(EdgeError)
    async def edge_error(request: Request, exc: EdgeError) -> Response:
        security = getattr(request.app.state, "security_log", None)
        if security is not None and exc.status in RECORDED_STATUSES:
            security.refused(request.scope, exc.status, exc.code)
        return problem_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return problem_response(_validation_problem(exc), request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        err = EdgeError(str(exc.detail), code=f"http_{exc.status_code}")
        err.status = exc.status_code
        err.title = str(exc.detail)
        if exc.status_code == 404:
            err.detail = f"There is no route {request.method} {request.url.path}."
            err.code = "route_not_found"
        return problem_response(err, request.url.path)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        err = EdgeError("Edge hit an unexpected error; the details are in its log.")
        return problem_response(err, request.url.path)


class BodyLimitMiddleware:
    """Refuse request bodies over `limit` bytes with 413: by Content-Length up front, or by
    counting a chunked body as it arrives (bodies are read whole before the route runs, so a
    route never sees half a body)."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        exc = PayloadTooLarge(
            f"The request body is larger than {self.limit} bytes. Send less (long texts can be "
            "split across messages), or raise STEWARD_MAX_BODY_BYTES."
        )
        response = problem_response(exc, scope.get("path"))
        await response(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
