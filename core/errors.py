"""Core's error root. Every error carries its HTTP status and a stable OpenAI `type`/`code`.

One handler (in `core.api`) renders any `CoreError` as the OpenAI error envelope
`{"error": {"message", "type", "param", "code"}}` so OpenAI clients raise their typed errors.
Messages say what was wrong and how to fix it.
"""

from __future__ import annotations

from typing import Any


class CoreError(Exception):
    """Base class of every error Core reports to a client."""

    status: int = 500
    type: str = "server_error"
    code: str = "internal_error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code

    def body(self) -> dict[str, Any]:
        """The OpenAI error envelope for this error."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


class InvalidRequest(CoreError):
    """The request is malformed or asks for something Core does not do (400)."""

    status = 400
    type = "invalid_request_error"
    code = "invalid_request"


class AuthenticationFailed(CoreError):
    """A Core API key is configured and the request did not present it (401)."""

    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class NotFound(CoreError):
    """The route does not exist (404)."""

    status = 404
    type = "invalid_request_error"
    code = "not_found"


class ModelNotFound(CoreError):
    """The requested model is not served by the configured backend (404)."""

    status = 404
    type = "invalid_request_error"
    code = "model_not_found"


class PayloadTooLarge(CoreError):
    """The body exceeds `CORE_MAX_BODY_BYTES` (413)."""

    status = 413
    type = "invalid_request_error"
    code = "payload_too_large"


class RateLimited(CoreError):
    """The upstream asked us to slow down (429)."""

    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"


class BackendFailed(CoreError):
    """The backend answered, but with an error or nonsense (502)."""

    status = 502
    type = "api_error"
    code = "backend_error"


class BackendUnavailable(CoreError):
    """The backend cannot be reached or is not ready (503)."""

    status = 503
    type = "api_error"
    code = "backend_unavailable"


class HostNotAllowed(CoreError):
    """The `Host` header names neither a loopback host nor one in `CORE_ALLOWED_HOSTS`
    (421)."""

    status = 421
    type = "invalid_request_error"
    code = "host_not_allowed"


class KeyRequired(CoreError):
    """A request reached Core on a non-loopback address and no `CORE_API_KEY` is set (403)."""

    status = 403
    type = "permission_error"
    code = "api_key_required"
