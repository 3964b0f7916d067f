"""Core's HTTP API: OpenAI-compatible routes over a chat backend and an optional embedder.

`create_app(settings)` builds the app; `uvicorn core.api:app` gets one built from the
environment on first access. Routes parse the body themselves (orjson + pydantic), so every
malformed or mistyped request becomes a 400 in the OpenAI error envelope, never FastAPI's
422 body and never a 500.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, TypeVar

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.backends import load_backend, load_embedder
from core.errors import (
    AuthenticationFailed,
    CoreError,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
)
from core.gateway import Gateway
from core.guard import CoreGuard
from core.schemas import ChatCompletionRequest, EmbeddingRequest, validation_problem
from core.settings import CoreSettings

__all__ = ["create_app"]

log = logging.getLogger("steward.core")
M = TypeVar("M", bound=BaseModel)

_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _error(exc: CoreError) -> Response:
    return _json(exc.body(), exc.status)


async def _parse(request: Request, model: type[M], limit: int) -> M:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body is over {limit} bytes; send a smaller one.")
    raw = await request.body()
    if len(raw) > limit:
        raise PayloadTooLarge(f"The request body is over {limit} bytes; send a smaller one.")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(
            f"We could not parse the JSON body of your request ({exc}). Send a JSON object "
            "with Content-Type: application/json.",
            code="invalid_json",
        ) from None
    if not isinstance(data, dict):
        raise InvalidRequest("The request body must be a JSON object.", code="invalid_json")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(exc) from None


def _openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """OpenAPI with the request schemas the routes parse by hand."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in (ChatCompletionRequest, EmbeddingRequest):
                js = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(js.pop("$defs", {}))
                components[model.__name__] = js
            app.openapi_schema = schema
        return app.openapi_schema

    return build


def _body_doc(model: type[BaseModel]) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


def create_app(settings: CoreSettings | None = None) -> FastAPI:
    """Build Core's ASGI app around the chat backend `settings.backend` names and the
    embedder `settings.embedding_backend` asks for (if any)."""
    settings = settings or CoreSettings()
    backend = load_backend(settings)
    embedder = load_embedder(settings)
    gateway = Gateway(backend, embedder)
    limit = settings.max_body_bytes

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for each in gateway.router.backends:
                await each.start()
                # Closed in reverse order; one whose start failed was never opened.
                stack.push_async_callback(each.aclose)
            yield

    app = FastAPI(
        title="Steward Core",
        version="0.1.0",
        summary="OpenAI-compatible model gateway (mock, llama.cpp and upstream backends, "
        "local MiniLM embeddings).",
        lifespan=lifespan,
    )
    app.state.gateway = gateway
    app.state.settings = settings
    app.openapi = _openapi(app)  # type: ignore[method-assign]

    @app.exception_handler(CoreError)
    async def core_error(_: Request, exc: CoreError) -> Response:
        return _error(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> Response:
        return _error(InvalidRequest(f"Invalid request: {exc.errors()}"))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            err: CoreError = NotFound(f"Unknown route {request.method} {request.url.path}.")
        else:
            err = InvalidRequest(str(exc.detail), code=f"http_{exc.status_code}")
            err.status = exc.status_code
        return _error(err)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> Response:
        log.exception("unexpected error in Core")
        return _error(CoreError("Core hit an unexpected error; see its log for details."))

    if settings.api_key:
        expected = settings.api_key.get_secret_value().encode()

        @app.middleware("http")
        async def require_key(request: Request, call_next: Any) -> Any:
            if request.url.path != "/health":
                auth = request.headers.get("authorization", "")
                token = auth.removeprefix("Bearer ").strip().encode()
                if not hmac.compare_digest(token, expected):
                    return _error(
                        AuthenticationFailed(
                            "Core requires an API key: send 'Authorization: Bearer <CORE_API_KEY>'."
                        )
                    )
            return await call_next(request)

    # Outermost: a refused host or interface never reaches the key check or a route.
    app.add_middleware(
        CoreGuard, allowed_hosts=settings.allowed_hosts, has_key=settings.api_key is not None
    )

    @app.get("/health")
    async def health() -> Response:
        details = await backend.health()
        body: dict[str, Any] = {
            "status": "ok",
            "backend": backend.name,
            "models": backend.models(),
            **details,
        }
        if embedder is not None:
            embedding = await embedder.health()
            body["embeddings"] = {
                "backend": embedder.name,
                "models": embedder.models(),
                **embedding,
            }
        return _json(body)

    @app.get("/v1/models")
    async def list_models() -> Response:
        return _json(gateway.list_models())

    @app.get("/v1/models/{model_id:path}")
    async def get_model(model_id: str) -> Response:
        return _json(await gateway.get_model(model_id))

    @app.post("/v1/chat/completions", openapi_extra=_body_doc(ChatCompletionRequest))
    async def chat_completions(request: Request) -> Response:
        body = await _parse(request, ChatCompletionRequest, limit)
        if body.stream:
            frames = await gateway.open_stream(body)
            return StreamingResponse(frames, media_type="text/event-stream", headers=_SSE_HEADERS)
        return _json(await gateway.complete(body))

    @app.post("/v1/embeddings", openapi_extra=_body_doc(EmbeddingRequest))
    async def embeddings(request: Request) -> Response:
        body = await _parse(request, EmbeddingRequest, limit)
        return _json(await gateway.embed(body))

    return app


def __getattr__(name: str) -> Any:
    # `uvicorn core.api:app` builds the app from the environment on first access, so
    # importing this module never reads settings.
    if name == "app":
        app = create_app()
        globals()["app"] = app
        return app
    raise AttributeError(name)
